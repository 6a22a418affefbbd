"""Incident lifecycle, triage session and metrics (no UI)."""
