"""The gallery: every screen and modal in a fixed, seeded state (`scenes`), on a workspace with
fixed checks and check states (`workspace`). scripts/screenshots.py draws it and the snapshot
tests pin it. `workspace` imports no Textual, so non-UI tests can use its runbooks."""
