"""The persistent DRILL banner: on every screen while the app runs a drill."""

from __future__ import annotations

from textual.widgets import Static


class DrillBanner(Static):
    def __init__(self) -> None:
        super().__init__("", id="drill-banner")

    def on_mount(self) -> None:
        text = getattr(self.app, "drill_banner_text", None)
        if text:
            self.update(text)
            self.add_class("-on")
