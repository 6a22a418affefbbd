"""Due dates as people type them, and a due date before the incident refused by the core."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.dates import DateError, local_day, parse_day, parse_due
from mlops_oncall.incidents.service import BadInput, Incidents

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-20", date(2026, 12, 20)),
        ("today", TODAY),
        (" Tomorrow ", TODAY + timedelta(days=1)),
        ("+3d", TODAY + timedelta(days=3)),
        ("+2w", TODAY + timedelta(days=14)),
        ("+0d", TODAY),
    ],
)
def test_forms_people_type(text, day):
    assert parse_day(text, TODAY) == day


@pytest.mark.parametrize("text", ["12/20", "next week", "+3", "-3d", "2026-13-01", "20261220", ""])
def test_what_cannot_be_read_says_the_forms(text):
    with pytest.raises(DateError) as err:
        parse_day(text, TODAY)
    assert "use YYYY-MM-DD, today, tomorrow or +3d" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_huge_offset_is_one_line_not_an_overflow():
    with pytest.raises(DateError):
        parse_day("+99999999d", TODAY)


def test_due_before_the_incident():
    with pytest.raises(DateError, match="before the incident"):
        parse_due("2026-11-27", today=TODAY, incident_day=TODAY)
    assert parse_due("today", today=TODAY, incident_day=TODAY) == TODAY


def test_today_is_the_workspace_day():
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert local_day(late, ZoneInfo("Europe/Berlin")) == date(2026, 11, 29)


def test_the_service_refuses_a_due_date_before_the_incident(backend_url):
    from mlops_oncall.store.db import open_store

    store = open_store(backend_url)
    svc = Incidents(store, clock=FixedClock(datetime(2026, 11, 28, 3, tzinfo=UTC)), actor="a")
    inc = svc.declare("x", "SEV3").id
    with pytest.raises(
        BadInput, match=r"due 2025-12-20 is before the incident \(declared 2026-11-28\)"
    ):
        svc.action_add(inc, "gate", type="prevent", owner="me", due=date(2025, 12, 20))
    assert svc.get(inc).actions == []
    svc.action_add(inc, "gate", type="prevent", owner="me", due=date(2026, 11, 28))
    store.close()


def test_clock_times_are_the_latest_such_moment_not_after_now():
    from mlops_oncall.incidents.dates import parse_when

    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    utc = ZoneInfo("UTC")
    assert parse_when("02:41", utc, now) == datetime(2026, 11, 28, 2, 41, tzinfo=UTC)
    assert parse_when("23:50", utc, now) == datetime(2026, 11, 27, 23, 50, tzinfo=UTC)
    berlin = parse_when("03:30", ZoneInfo("Europe/Berlin"), now)  # 02:30 UTC
    assert berlin == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert parse_when("-25m", utc, now) == now - timedelta(minutes=25)
    with pytest.raises(DateError, match="00:00 to 23:59"):
        parse_when("25:10", utc, now)
    with pytest.raises(BadInput, match="cannot read the time"):
        parse_when("banana", utc, now)
