"""Production-readiness reviews: a runbook-shaped checklist of evidence, scored per category."""
