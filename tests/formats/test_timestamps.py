"""The one module that writes timestamps as text: each form, pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from mlops_oncall.formats import timestamps as ts

AT = datetime(2026, 11, 26, 22, 40, 5, 120_000, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_rfc3339_has_milliseconds_only_when_there_are_any():
    assert ts.rfc3339(AT) == "2026-11-26T22:40:05.120Z"
    assert ts.rfc3339(AT.replace(microsecond=0)) == "2026-11-26T22:40:05Z"
    assert ts.rfc3339(AT.astimezone(BERLIN)) == "2026-11-26T22:40:05.120Z"
    assert ts.rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive: UTC
    assert ts.rfc3339(None) is None


def test_utc_forms():
    other = AT.astimezone(timezone(timedelta(hours=-5)))
    assert ts.utc_seconds(other) == "2026-11-26T22:40:05Z"
    assert ts.utc_stamp(other) == "2026-11-26 22:40:05 UTC"
    assert ts.utc_minute(other) == "2026-11-26 22:40 UTC"
    assert ts.utc_minute(other, label=False) == "2026-11-26 22:40"
    assert ts.utc_day(AT.astimezone(BERLIN)) == "2026-11-26"  # 23:40 in Berlin, same day
    assert ts.utc_day(datetime(2026, 11, 26, 0, 30, tzinfo=BERLIN)) == "2026-11-25"
    assert ts.utc_clock(other) == "22:40:05"


def test_local_forms_carry_the_offset_or_z():
    assert ts.local_text(AT, BERLIN) == "2026-11-26 23:40:05+0100"
    assert ts.local_text(AT, UTC) == "2026-11-26 22:40:05Z"
    assert ts.local_text(AT, ZoneInfo("Europe/London")) == "2026-11-26 22:40:05Z"  # winter
    assert ts.local_clock(AT, BERLIN) == "23:40:05"


def test_a_missing_time_is_a_dash_never_a_made_up_one():
    for fn in (ts.utc_stamp, ts.utc_minute, ts.utc_day, ts.utc_clock):
        assert fn(None) == "–"
    assert ts.local_text(None, BERLIN) == ts.local_clock(None, BERLIN) == "–"
