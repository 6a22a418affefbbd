"""The TUI's ctrl+e exports: written by the one output writer, from a worker thread."""

from __future__ import annotations

from pathlib import Path


def export_document(screen, session, path: Path, text: str) -> Path | None:
    """Write an export by the output rules: an existing file is kept and the export gets the
    next free numbered name (INC-0001-2.md); a refusal is shown, not raised (in a worker)."""
    from mlops_oncall.reports.output import OutputRefused, Protected, write_document

    try:
        protected = Protected.of_workspace(session.workspace, session.store.url)
        written = write_document(path, text, protected=protected, numbered=True)
    except OutputRefused as exc:
        screen.app.call_from_thread(screen.notify, str(exc), severity="error", timeout=10)
        return None
    if written != path:
        screen.app.call_from_thread(
            screen.notify, f"{path.name} already exists, so it was kept", timeout=10
        )
    return written
