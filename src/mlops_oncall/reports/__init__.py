"""Postmortem, risk log and weekly status documents."""
