"""Action items carry a priority and a tracking link; the ML impact fields are narrative fields.
Both are in the hash chain, so incident verify replays them."""

from __future__ import annotations

import pytest

from mlops_oncall.incidents.service import BadInput


def test_priority_and_link_are_kept_and_verified(svc):
    inc = svc.declare("p99", "SEV2").id
    item = svc.action_add(
        inc, "Alert on canary p99", type="prevent", owner="bob", priority="p1",
        link="https://tracker.example/OPS-123",
    )  # fmt: skip
    assert (item.priority, item.link) == ("P1", "https://tracker.example/OPS-123")
    plain = svc.action_add(inc, "Write it down", type="process", owner="carol")
    assert (plain.priority, plain.link) == (None, None)
    items = svc.get(inc).to_json()["action_items"]
    assert [(a["number"], a["priority"], a["link"]) for a in items] == [
        (1, "P1", "https://tracker.example/OPS-123"),
        (2, None, None),
    ]
    assert svc.verify(inc).ok


def test_a_tampered_priority_is_found_by_verify(svc, store):
    from sqlalchemy import update

    from mlops_oncall.store.tables import ActionItem

    inc = svc.declare("p99", "SEV2").id
    svc.action_add(inc, "Pin the image", type="prevent", owner="dan", priority="P0")
    with store.write() as conn:
        conn.execute(update(ActionItem).values(priority="P3"))
    verdict = svc.verify(inc)
    assert not verdict.ok
    assert any(m.column == "action_item[1].priority" for m in verdict.mismatches)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"priority": "urgent"}, "unknown priority 'urgent'; expected one of P0, P1, P2, P3"),
        ({"link": "see the ticket"}, "a tracking link is a URL or a ticket id with no spaces"),
        ({"link": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_priority_or_link_is_refused(svc, kw, message):
    inc = svc.declare("p99", "SEV2").id
    with pytest.raises(BadInput, match=message):
        svc.action_add(inc, "t", type="prevent", owner="o", **kw)
    assert svc.get(inc).actions == []


def test_ml_impact_fields(svc):
    inc = svc.declare("scores drifted", "SEV2").id
    for name, value in (
        ("model_versions", "fraud v42 (bad), v41 (rolled back to)"),
        ("predictions_affected", "about 18,000 scores between 22:40 and 01:30"),
        ("decisions_to_review", "1,240 declined payments"),
        ("labels_confirm_by", "chargeback labels arrive by 2026-12-28"),
    ):
        svc.set_field(inc, name, value)
    narrative = svc.get(inc).to_json()["narrative"]
    assert narrative["model_versions"] == "fraud v42 (bad), v41 (rolled back to)"
    assert narrative["labels_confirm_by"] == "chargeback labels arrive by 2026-12-28"
    assert svc.verify(inc).ok


def test_cli_action_add_priority_link_and_ml_impact(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "cli.db"))
    inc = cli("incident", "declare", "--title", "p99", "--severity", "SEV2").out.strip()
    r = cli(
        "incident", "action", "add", inc, "--type", "prevent", "--owner", "bob",
        "--priority", "P0", "--link", "OPS-481", "Alert on canary p99", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert (r.json()["priority"], r.json()["link"]) == ("P0", "OPS-481")
    r = cli("incident", "action", "add", inc, "--type", "prevent", "--owner", "b",
            "--priority", "soon", "x")  # fmt: skip
    assert (r.code, r.err) == (
        2,
        "error: unknown priority 'soon'; expected one of P0, P1, P2, P3 (P0 most urgent)\n",
    )
    r = cli("incident", "set", inc, "--model-versions", "fraud v42", "--labels-confirm-by",
            "chargebacks by 2026-12-27", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["narrative"]["model_versions"] == "fraud v42"
    assert cli("incident", "verify", inc).code == 0


def test_overdue_items_are_open_ones_due_before_the_day_longest_overdue_first(svc, clock):
    from datetime import date

    a = svc.declare("a", "SEV2").id
    b = svc.declare("b drill", "SEV3", drill=True).id
    svc.action_add(a, "late", type="prevent", owner="o", due=date(2026, 12, 3))
    svc.action_add(b, "later", type="process", owner="o", due=date(2026, 12, 1))
    done = svc.action_add(a, "done", type="prevent", owner="o", due=date(2026, 12, 1))
    svc.action_done(a, done.number)
    svc.action_add(a, "not due", type="prevent", owner="o", due=date(2026, 12, 10))
    svc.action_add(a, "no date", type="prevent", owner="o")
    got = svc.overdue_actions(date(2026, 12, 5))
    assert [(i.text, drill) for i, drill in got] == [("later", True), ("late", False)]


def test_in_window_lists_incidents_or_drills_declared_in_it_oldest_first(svc, clock):
    from datetime import timedelta

    first = svc.declare("first", "SEV2").id
    clock.advance(3600)
    svc.declare("drill", "SEV3", drill=True)
    second = svc.declare("second", "SEV2").id
    start = clock.now() - timedelta(hours=2)
    assert [r.title for r in svc.in_window(start, clock.now() + timedelta(1), drills=False)] == [
        "first",
        "second",
    ]
    assert [r.title for r in svc.in_window(start, clock.now(), drills=False)] == ["first"]
    assert [r.title for r in svc.in_window(start, clock.now() + timedelta(1), drills=True)] == [
        "drill"
    ]
    assert (first, second) == ("INC-0001", "INC-0003")
