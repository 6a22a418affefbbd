"""Health checks: config, conditions, probes, state machine and poller."""
