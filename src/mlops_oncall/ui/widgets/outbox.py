"""The banner while the team database is unreachable or writes wait in the local outbox
(incidents/outbox.py): persistent, cleared when they are delivered. While the database is
unreachable what the screens show is their last read, so the banner says it is stale."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from mlops_oncall.ui.widgets.banner import ErrorLine


class OutboxBanner(ErrorLine):
    def __init__(self) -> None:
        super().__init__("", id="outbox-banner")

    def on_mount(self) -> None:
        self.show(self.app)

    def show(self, app: Any) -> None:
        text = getattr(app, "outbox_banner_text", None)
        if not text:
            self.remove_class("-on")
            return
        self.update(Text(text))
        self.add_class("-on")


def outbox_banner_text(
    down_since: datetime | None,
    counts: dict[str, int],
    oldest_pending: datetime | None,
    zone: tzinfo,
) -> str | None:
    """The banner's line, or None when the database is reachable and nothing waits."""

    def hhmm(at: datetime) -> str:
        return at.astimezone(zone).strftime("%H:%M")

    pending, refused = counts.get("pending", 0), counts.get("undeliverable", 0)
    parts = []
    if down_since is not None:
        parts.append(
            f"Database unreachable: showing the last known state, stale since {hhmm(down_since)}"
        )
    if pending:
        since = f", since {hhmm(oldest_pending)}" if oldest_pending else ""
        then = "delivered when it returns" if down_since is not None else "delivering"
        parts.append(f"{pending} pending in the local outbox{since}; {then}")
    if refused:
        parts.append(f"{refused} could not be delivered (mlops-oncall db outbox)")
    return " · ".join(parts) or None
