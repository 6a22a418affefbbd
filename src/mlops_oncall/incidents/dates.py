"""Days and times typed by people: due dates of action items, `--at` moments.

`YYYY-MM-DD`, `today`, `tomorrow` and `+3d` (days from today; `+2w` weeks). "Today" is the
workspace's day, not UTC's: at 23:30 in Berlin `tomorrow` is the day after, whatever UTC says.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mlops_oncall.formats.durations import parse_duration
from mlops_oncall.formats.errors import BadInput

FORMS = "YYYY-MM-DD, today, tomorrow or +3d"
_RELATIVE = re.compile(r"\+\s*(\d{1,4})\s*([dw])", re.ASCII)


class DateError(BadInput):
    """A day that cannot be read, or one the item cannot have: one line."""


def local_day(ts: datetime, zone: ZoneInfo) -> date:
    return ts.astimezone(zone).date()


def parse_day(text: str, today: date) -> date:
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    m = _RELATIVE.fullmatch(value)
    if m:
        n = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        return today + timedelta(days=n)
    try:
        return date.fromisoformat(value) if len(value) == 10 else _unreadable(text)
    except ValueError:
        return _unreadable(text)


def _unreadable(text: str) -> date:
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise DateError(f"cannot read the date {shown!r}; use {FORMS}")


def check_due(due: date, incident_day: date | None) -> date:
    """A due date before the incident began is a typo (12/20 read as last December)."""
    if incident_day is not None and due < incident_day:
        raise DateError(
            f"due {due.isoformat()} is before the incident (declared {incident_day.isoformat()})"
        )
    return due


def parse_due(text: str, *, today: date, incident_day: date | None = None) -> date:
    return check_due(parse_day(text, today), incident_day)


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A moment typed in a dialog: what `--at` takes (ISO 8601, 'now', '-10m', '10m ago'), or
    a clock time such as 02:41, the latest such moment not after now, in the workspace's zone."""
    m = _CLOCK.fullmatch(text.strip())
    if m is None:
        return parse_time(text, zone, now)
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise DateError(f"cannot read the time {text.strip()!r}; a clock time is 00:00 to 23:59")
    local = now.astimezone(zone)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at > local:
        at -= timedelta(days=1)
    return at.astimezone(now.tzinfo or zone)


_AGO = re.compile(r"^(?:-\s*(?P<a>.+)|(?P<b>.+?)\s+ago)$")


def parse_time(text: str, zone: ZoneInfo | None = None, now: datetime | None = None) -> datetime:
    """ISO 8601 (naive means the workspace's zone), 'now', or relative: '-10m', '10m ago'."""
    s = text.strip()
    now = now or datetime.now(UTC)
    if s.lower() == "now":
        return now
    m = _AGO.match(s)
    if m:
        try:
            return now - parse_duration((m.group("a") or m.group("b")).replace(" ", ""))
        except ValueError:
            pass
    try:
        ts = datetime.fromisoformat(s.replace(" ", "T", 1) if " " in s and "T" not in s else s)
    except ValueError:
        raise BadInput(
            f"cannot read the time '{text}'; use ISO 8601 such as 2026-11-28T03:12:00Z, or '-10m'"
        ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone or UTC)
    return ts.astimezone(UTC)


def parse_since(text: str, now: datetime, zone: ZoneInfo | None = None, flag: str = "") -> datetime:
    """A --since/--until value: a duration meaning that long ago (7d), else a date or a
    timestamp (naive means ``zone``)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_time(text, zone, now)
    except BadInput:
        what = f"{flag} '{text}'" if flag else f"'{text}'"
        raise BadInput(
            f"cannot read {what}; use a date (2026-11-23), a timestamp, "
            "or a duration ago such as 7d"
        ) from None


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"cannot read the date '{text}'; use YYYY-MM-DD") from None
