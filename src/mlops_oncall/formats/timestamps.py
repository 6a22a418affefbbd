"""Every way a timestamp is written as text, in one place.

UTC forms: ``rfc3339`` for JSON (milliseconds only when there are any), ``utc_seconds`` for
text that quotes a time (event lines, runbook placeholders), and the document forms of
reports (``utc_stamp``, ``utc_minute``, ``utc_clock``, ``utc_day``). Local forms, in the
workspace's display zone: ``local_text`` and ``local_clock``. A missing time is ``NONE``.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

NONE = "–"  # shown where a time is missing; never a made-up one


def rfc3339(ts: datetime | None) -> str | None:
    """2026-11-26T22:40:05Z, or 2026-11-26T22:40:05.120Z; a naive time is taken as UTC."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    ts = ts.astimezone(UTC)
    text = ts.isoformat(timespec="milliseconds" if ts.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def utc_seconds(ts: datetime) -> str:
    """2026-11-26T22:40:05Z: a time quoted in text, to the second (stored data keeps more)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_stamp(ts: datetime | None) -> str:
    """2026-11-26 22:40:05 UTC (documents are in UTC, whatever the display zone)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else NONE


def utc_minute(ts: datetime | None, *, label: bool = True) -> str:
    """2026-11-26 22:40 UTC, or without the " UTC" label where a heading says so."""
    if not ts:
        return NONE
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC" if label else "%Y-%m-%d %H:%M")


def utc_day(ts: datetime | None) -> str:
    """2026-11-26"""
    return ts.astimezone(UTC).strftime("%Y-%m-%d") if ts else NONE


def utc_clock(ts: datetime | None) -> str:
    """22:40:05, in UTC."""
    return local_clock(ts, UTC)


def local_text(ts: datetime | None, zone: tzinfo) -> str:
    """A time in the display zone, to the second, with its offset (Z for UTC):
    2026-11-26 23:40:05+0100."""
    if ts is None:
        return NONE
    local = ts.astimezone(zone)
    offset = local.utcoffset()
    suffix = "Z" if offset is not None and offset.total_seconds() == 0 else local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S") + suffix


def local_clock(ts: datetime | None, zone: tzinfo) -> str:
    """23:40:05, in the display zone."""
    if ts is None:
        return NONE
    return ts.astimezone(zone).strftime("%H:%M:%S")
