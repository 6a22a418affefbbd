"""A persistent line saying how many workspace runbooks the library refused.

A broken runbook file is left out of the list, the matcher and the declare dialog; a toast
would fade before anyone read it, so this stays on screen until the files are fixed, and
ctrl+r (app.refused_runbooks) lists each refusal with its file, line and column."""

from __future__ import annotations

from rich.text import Text

from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import ErrorLine


class RefusedBanner(ErrorLine):
    DEFAULT_CSS = """
    RefusedBanner { dock: top; }
    """

    def __init__(self) -> None:
        super().__init__("", classes="refused-banner")

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        """Show the count once the library is loaded (the app loads it while booting)."""
        app = oncall(self)
        if not getattr(app, "ready", False):
            return
        refused = app.session.library.refused
        if not refused:
            self.remove_class("-on")
            return
        n = len(refused)
        self.update(
            Text(
                f"⚠ {n} runbook{'s' * (n != 1)} refused: left out of the list and of suggestions. "
                "ctrl+r shows why."
            )
        )
        self.add_class("-on")
