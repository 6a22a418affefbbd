"""Every way a timestamp is written as text, in one place.

UTC forms: ``rfc3339`` for JSON (milliseconds only when there are any), ``utc_seconds`` for
text that quotes a time (event lines, runbook placeholders), and the document forms of
reports (``utc_stamp``, ``utc_minute``, ``utc_clock``, ``utc_day``). Local forms, in the
workspace's display zone: ``local_text`` and ``local_clock``. A missing time is ``NONE``.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
