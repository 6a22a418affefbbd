"""The update cadence on a fixed clock, on both backends: due after the declaration, then
after each status update; overdue periods one interval long, each recorded once as
update_overdue whoever notices (two sessions on one database); per-severity intervals from
update_every:, none for a severity without one, for a closed incident or a drill."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.conftest import T0


def test_due_and_overdue_on_a_fixed_clock(make, clock):
    s = make()
    view = s.incidents.declare("fraud p99 up", "SEV1")
    row = lambda: s.incidents.get(view.id).row  # noqa: E731
    c = s.notify.cadence(row())
    assert (c.every, c.due, c.overdue) == (timedelta(minutes=30), T0 + timedelta(minutes=30), False)
    assert c.line(clock.now()) == "next update in 30m"
    clock.advance(timedelta(minutes=30))
    assert not s.notify.cadence(row()).overdue  # due at, not yet over
    clock.advance(timedelta(minutes=12))
    c = s.notify.cadence(row())
    assert c.overdue and c.due == T0 + timedelta(minutes=30)
    assert c.line(clock.now()) == "update overdue by 12m"
    s.notify.post(view.id, "Investigating.", None)  # recorded, sent by other means
    c = s.notify.cadence(row())
    assert not c.overdue and c.due == clock.now() + timedelta(minutes=30)
    assert c.last_update == clock.now()
    assert c.to_json() == {
        "every_seconds": 1800,
        "last_at": "2026-11-28T03:42:00Z",
        "next_due_at": "2026-11-28T04:12:00Z",
        "overdue": False,
    }


def test_overdue_is_recorded_once_per_period_by_whoever_notices(make, clock):
    a, b = make(), make()
    view = a.incidents.declare("fraud p99 up", "SEV2")
    row = a.incidents.get(view.id).row
    assert a.notify.note_overdue(row) is None  # not due yet
    clock.advance(timedelta(minutes=61))
    first = a.notify.note_overdue(row)
    assert first is not None and first.kind == "update_overdue" and first.actor == "monitor"
    assert first.data == {"due": "2026-11-28T04:00:00Z", "every_seconds": 3600}
    assert b.notify.note_overdue(b.incidents.get(view.id).row) is None  # the other process
    assert a.notify.note_overdue(row) is None
    clock.advance(timedelta(minutes=60))  # a second interval without an update
    second = b.notify.note_overdue(row)
    assert second is not None and second.data["due"] == "2026-11-28T05:00:00Z"
    kinds = [e.kind for e in a.incidents.events(view.id)]
    assert kinds.count("update_overdue") == 2


def test_per_severity_intervals_and_no_cadence(make, clock):
    s = make({"update_every": {"SEV1": "15m", "SEV3": "4h"}})
    sev1 = s.incidents.declare("a", "SEV1")
    sev2 = s.incidents.declare("b", "SEV2")  # not listed: the mapping replaced the default
    sev3 = s.incidents.declare("c", "SEV3")
    drill = s.incidents.declare("d", "SEV1", drill=True)
    rows = [s.incidents.get(v.id).row for v in (sev1, sev2, sev3, drill)]
    got = s.notify.cadences(rows)
    assert [got[r.id].every for r in rows] == [
        timedelta(minutes=15),
        None,
        timedelta(hours=4),
        None,
    ]
    s.incidents.set_status(sev1.id, "declined")
    clock.advance(timedelta(hours=1))
    c = s.notify.cadence(s.incidents.get(sev1.id).row)
    assert (c.due, c.overdue) == (None, False)
