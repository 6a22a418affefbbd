"""Persistent banners: DRILL while the app runs a drill; refused checks while checks.yaml has
errors (a toast would fade before anyone read it)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


class DrillBanner(Static):
    def __init__(self) -> None:
        super().__init__("", id="drill-banner")

    def on_mount(self) -> None:
        text = getattr(self.app, "drill_banner_text", None)
        if text:
            self.update(text)
            self.add_class("-on")


class ErrorLine(Static):
    """One bold line on an error background, shown while it has something to say (-on)."""

    DEFAULT_CSS = """
    ErrorLine {
        height: 1;
        width: 100%;
        background: $error 30%;
        color: $text;
        text-style: bold;
        padding: 0 1;
        display: none;
    }
    ErrorLine.-on { display: block; }
    """


class ChecksBanner(ErrorLine):
    """How many checks the checks file refused, or that the file was refused as a whole."""

    def __init__(self) -> None:
        super().__init__("", id="checks-banner")

    def show(self, app: Any) -> None:
        text = checks_banner_text(app)
        if text is None:
            self.remove_class("-on")
            return
        self.update(Text(text))  # plain: problems quote placeholders such as [STATUS]
        self.add_class("-on")


def checks_banner_text(app: Any) -> str | None:
    error = getattr(app, "checks_error", None)
    specs = getattr(app, "specs", {})
    if error:
        first = str(error[0])
        more = f" (+{len(error) - 1} more)" if len(error) > 1 else ""
        if specs:
            return (
                f"⚠ checks file not reloaded: {first}{more}. "
                f"Still polling the last good {len(specs)} check{'s' * (len(specs) != 1)}."
            )
        return f"⚠ checks file refused, no check is polled: {first}{more}"
    refused = getattr(app, "refused_checks", [])
    if refused:
        n = len(refused)
        return (
            f"⚠ {n} check{'s' * (n != 1)} refused by the checks file (shown as ✗ config; "
            f"select one for why). The other {len(specs)} keep polling."
        )
    return None
