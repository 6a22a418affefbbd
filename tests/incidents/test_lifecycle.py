"""The lifecycle on a fixed clock: moves, ack, milestones and their corrections, roles, actions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mlops_oncall.formats.refs import parse_ref
from mlops_oncall.incidents.dates import parse_time
from mlops_oncall.incidents.service import BadInput, IncidentError

from .conftest import T0


def kinds(svc, ref):
    return [e.kind for e in svc.events(ref)]


def test_declare_sets_milestones_and_ids(svc):
    a = svc.declare("p99 up", "sev2", service="fraud-scoring")
    b = svc.declare("drift", "3")
    assert (a.id, b.id) == ("INC-0001", "INC-0002")
    assert a.row.severity == "SEV2" and b.row.severity == "SEV3"
    assert a.row.status == "triage"
    assert a.row.declared_at == a.row.detected_at == T0
    assert (a.row.declared_source, a.row.detected_source) == ("manual", "manual")
    assert kinds(svc, a.id) == ["declared", "milestone", "milestone"]


def test_declared_from_a_check_uses_the_first_failing_poll(svc, clock):
    first_fail = T0 - timedelta(minutes=4)
    v = svc.declare(
        "p99",
        "SEV2",
        detected_at=first_fail,
        declared_from_check="fraud.model-ready",
        impact_started_at=T0 - timedelta(minutes=9),
    )
    assert v.row.detected_at == first_fail and v.row.detected_source == "check"
    assert v.to_json()["metrics"]["ttd"] == 300.0


def test_ack_moves_triage_to_investigating(svc, clock):
    ref = svc.declare("p99", "SEV2").id
    clock.advance(90)
    v = svc.ack(ref)
    assert v.row.status == "investigating"
    assert v.row.acknowledged_at == T0 + timedelta(seconds=90)
    assert v.to_json()["metrics"]["tta"] == 90.0
    with pytest.raises(IncidentError) as err:
        svc.ack(ref)
    assert str(err.value) == "INC-0001 was already acknowledged at 2026-11-28T03:01:30.000000Z"


def test_full_path_and_resolve_sets_mitigated(svc, clock):
    ref = svc.declare("p99", "SEV2").id
    svc.ack(ref)
    clock.advance(60)
    svc.set_status(ref, "identified")
    clock.advance(60)
    v = svc.resolve(ref)
    assert v.row.status == "resolved"
    assert v.row.mitigated_at == v.row.resolved_at == T0 + timedelta(seconds=120)
    m = v.to_json()["metrics"]
    assert (m["ttm"], m["ttr"], m["ttd"]) == (120.0, 120.0, None)
    svc.close(ref)
    with pytest.raises(IncidentError) as err:
        svc.set_status(ref, "investigating")
    assert str(err.value) == "INC-0001 is closed; no further moves are allowed"


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        (
            [],
            "resolved",
            "cannot move INC-0001 from triage to resolved; allowed: investigating, declined",
        ),
        (
            ["investigating"],
            "closed",
            "cannot move INC-0001 from investigating to closed; allowed: identified, mitigated, resolved",
        ),
        (
            ["investigating", "mitigated"],
            "identified",
            "cannot move INC-0001 from mitigated to identified; allowed: resolved, investigating",
        ),
        (["investigating"], "investigating", "INC-0001 is already investigating"),
        (["declined"], "investigating", "INC-0001 is declined; no further moves are allowed"),
        (
            [],
            "paused",
            "unknown status 'paused'; expected one of triage, investigating, identified, mitigated, resolved, closed, declined",
        ),
    ],
)
def test_invalid_moves_name_the_allowed_ones(svc, path, target, message):
    ref = svc.declare("x", "SEV4").id
    for s in path:
        svc.set_status(ref, s)
    with pytest.raises(IncidentError) as err:
        svc.set_status(ref, target)
    assert str(err.value) == message


def test_mitigated_then_back_to_investigating_keeps_first_mitigation(svc, clock):
    ref = svc.declare("x", "SEV2").id
    svc.ack(ref)
    clock.advance(60)
    svc.mitigate(ref)
    clock.advance(60)
    svc.set_status(ref, "investigating", note="it came back")
    clock.advance(60)
    v = svc.resolve(ref)
    assert v.row.mitigated_at == T0 + timedelta(seconds=60)  # the first setting counts
    assert v.row.resolved_at == T0 + timedelta(seconds=180)
    texts = [e.text for e in svc.events(ref) if e.kind == "status_changed"]
    assert "status mitigated → investigating: it came back" in texts


def test_milestone_correction_wins_and_is_an_event(svc, clock):
    ref = svc.declare("x", "SEV2").id
    clock.advance(300)
    svc.ack(ref)
    earlier = T0 - timedelta(minutes=7)
    v = svc.milestone(ref, "detected", earlier)
    assert v.row.detected_at == earlier and v.row.detected_source == "manual"
    ev = svc.events(ref)[-1]
    assert ev.kind == "milestone"
    assert ev.data == {
        "name": "detected",
        "at": "2026-11-28T02:53:00.000000Z",
        "source": "manual",
        "correction": True,
        "previous": {"at": "2026-11-28T03:00:00.000000Z", "source": "manual"},
    }
    assert v.to_json()["metrics"]["tta"] == 720.0


def test_milestone_errors(svc, clock):
    ref = svc.declare("x", "SEV2").id
    clock.advance(60)
    with pytest.raises(
        BadInput, match="unknown milestone 'found'; expected one of impact_started, detected"
    ):
        svc.milestone(ref, "found", T0)
    with pytest.raises(IncidentError) as err:
        svc.milestone(ref, "impact_started", T0 + timedelta(seconds=30))
    assert str(err.value) == (
        "impact_started (2026-11-28T03:00:30.000000Z) cannot be after detected (2026-11-28T03:00:00.000000Z)"
    )
    with pytest.raises(IncidentError) as err:
        svc.milestone(ref, "mitigated", T0 - timedelta(minutes=1))
    assert str(err.value) == (
        "2026-11-28T02:59:00.000000Z is before INC-0001 began (2026-11-28T03:00:00.000000Z)"
    )


def test_times_in_the_future_or_before_the_start_are_refused(svc, clock):
    ref = svc.declare("x", "SEV2").id
    with pytest.raises(IncidentError) as err:
        svc.note(ref, "later", at=T0 + timedelta(hours=1))
    assert (
        str(err.value)
        == "2026-11-28T04:00:00.000000Z is in the future (now is 2026-11-28T03:00:00.000000Z)"
    )
    with pytest.raises(IncidentError) as err:
        svc.note(ref, "before", at=T0 - timedelta(hours=1))
    assert (
        str(err.value)
        == "2026-11-28T02:00:00.000000Z is before INC-0001 began (2026-11-28T03:00:00.000000Z)"
    )
    # written down afterwards: a past time inside the incident is fine
    clock.advance(3600)
    ev = svc.note(ref, "at 03:30 we saw it", at=T0 + timedelta(minutes=30))
    assert ev.ts == T0 + timedelta(minutes=30)


def test_severity_roles_and_fields(svc):
    ref = svc.declare("x", "SEV3").id
    svc.set_severity(ref, "SEV1")
    with pytest.raises(IncidentError, match="INC-0001 is already SEV1"):
        svc.set_severity(ref, "sev1")
    with pytest.raises(BadInput) as err:
        svc.set_severity(ref, "SEV5")
    assert str(err.value) == "unknown severity 'SEV5'; expected one of SEV1, SEV2, SEV3, SEV4"
    svc.assign(ref, "commander", "alice")
    v = svc.assign(ref, "commander", "bob", take_over=True)
    assert v.roles == {"commander": "bob"}
    assert svc.events(ref)[-1].text == "commander: bob (taken over from alice)"
    with pytest.raises(
        BadInput,
        match="unknown role 'chief'; expected one of commander, operations, communications, scribe",
    ):
        svc.assign(ref, "chief", "x")
    v = svc.set_field(ref, "root_cause", "An unpinned dependency.")
    assert v.row.root_cause == "An unpinned dependency."
    with pytest.raises(BadInput, match="postmortem status must be draft or final, not 'done'"):
        svc.set_field(ref, "postmortem_status", "done")


def test_action_items(svc):
    ref = svc.declare("x", "SEV3").id
    a1 = svc.action_add(ref, "Add canary alert", type="prevent", owner="bob", due=date(2026, 12, 1))
    a2 = svc.action_add(ref, "Write the runbook step", type="process", owner="eve")
    assert (a1.number, a2.number) == (1, 2)
    done = svc.action_done(ref, 1)
    assert done.status == "done"
    with pytest.raises(IncidentError, match="action item 1 of INC-0001 is already done"):
        svc.action_done(ref, 1)
    with pytest.raises(IncidentError, match="INC-0001 has no action item 9"):
        svc.action_done(ref, 9)
    with pytest.raises(
        BadInput, match="unknown action type 'fix'; expected one of mitigate, prevent, process"
    ):
        svc.action_add(ref, "x", type="fix", owner="o")
    assert [a.status for a in svc.get(ref).actions] == ["done", "open"]


def test_drills_are_flagged(svc):
    v = svc.declare("drill: latency", "SEV2", drill=True)
    assert v.row.is_drill is True
    assert v.row.declared_source == "drill"
    assert [r.id for r in svc.list(drills=False)] == []


def test_unknown_incident(svc):
    with pytest.raises(IncidentError) as err:
        svc.get("INC-0042")
    assert str(err.value) == "unknown incident 'INC-0042'"
    with pytest.raises(IncidentError) as err:
        parse_ref("INC-x")
    assert str(err.value) == "unknown incident 'INC-x' (ids look like INC-0001)"


def test_parse_time_forms():
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert parse_time("-10m", now=now) == now - timedelta(minutes=10)
    assert parse_time("2h ago", now=now) == now - timedelta(hours=2)
    assert parse_time("2026-11-28T02:00:00+01:00") == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    assert parse_time("2026-11-28 04:00", ZoneInfo("Europe/Berlin")) == datetime(
        2026, 11, 28, 3, 0, tzinfo=UTC
    )
    with pytest.raises(BadInput) as err:
        parse_time("yesterday-ish")
    assert str(err.value) == (
        "cannot read the time 'yesterday-ish'; use ISO 8601 such as 2026-11-28T03:12:00Z, or '-10m'"
    )


def test_secrets_in_notes_are_redacted_before_storage(svc, store):
    ref = svc.declare("x", "SEV3").id
    svc.note(ref, "tried curl -H 'Authorization: Bearer abcdefghijklmnop123' and it 401s")
    with store.read() as conn:
        raw = conn.exec_driver_sql("SELECT text FROM event WHERE kind='note'").scalar()
    assert "abcdefghijklmnop123" not in raw and "Bearer ***" in raw
