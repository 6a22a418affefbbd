"""When the next status update is due, and whether it is overdue.

While an incident is open, an update is due ``every`` (per severity, `update_every:` in
oncall.yaml) after the last `status_update`, or after the declaration when there was none.
Past that time the update is overdue; each further ``every`` without one is a new overdue
period. Each period is recorded once as an `update_overdue` event (its data names the due
time), by whichever process notices first: the check runs with the incident locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.incidents.lifecycle import OPEN_STATUSES


@dataclass(frozen=True)
class Cadence:
    """An incident's update cadence at one moment."""

    every: timedelta | None  # None: this severity has no cadence, or the incident is not open
    last_update: datetime | None
    due: datetime | None  # the time the current (or next) update was due
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        """`incident show --json`'s "updates" (docs/communication.md)."""
        return {
            "every_seconds": int(self.every.total_seconds()) if self.every else None,
            "last_at": rfc3339(self.last_update),
            "next_due_at": rfc3339(self.due),
            "overdue": self.overdue,
        }

    def line(self, now: datetime) -> str | None:
        """'update overdue by 12m' / 'next update in 8m', or None without a cadence."""
        if self.due is None:
            return None
        if self.overdue:
            return f"update overdue by {format_duration(now - self.due)}"
        return f"next update in {format_duration(self.due - now)}"


def cadence(
    row: Any, last_update: datetime | None, every: dict[str, timedelta], now: datetime
) -> Cadence:
    """The cadence of an incident row (its severity, status and declaration) at ``now``.
    ``due`` is the start of the current overdue period: the first due time plus whole
    intervals, so it stays put for one interval and each period has one due time."""
    interval = every.get(row.severity)
    if interval is None or row.status not in OPEN_STATUSES or row.is_drill:
        return Cadence(None, last_update, None, False)
    base = last_update or row.declared_at or row.created_at
    due = base + interval
    if now <= due:
        return Cadence(interval, last_update, due, False)
    periods = (now - due) // interval
    return Cadence(interval, last_update, due + periods * interval, True)
