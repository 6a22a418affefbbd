"""Service-level objectives and error budgets, computed from the checks' history."""
