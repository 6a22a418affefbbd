"""Alerts from the team's monitoring (Alertmanager): grouping into incidents, routing, the
inbox, silences. Its SQL lives in alerts/records.py."""
