"""Alerts.receive_many, the daemon's group commit: several notifications in one transaction,
on SQLite and PostgreSQL. Each gets its own answer; one the store refuses is answered with
that error alone while the others are stored; a notification of the batch sees the rows of
the ones before it; a declared incident's chain verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from mlops_oncall.alerts.payload import PayloadError
from mlops_oncall.alerts.service import Received
from mlops_oncall.store.errors import StoreError
from tests.alerts.conftest import alert, payload, resolved
from tests.conftest import raw_sql

DECLARE = {"routes": [{"name": "pages", "matchers": ['severity="critical"'], "declare": True}]}
POISON = "poisoned-group"


def _poison(s, url: str) -> None:
    """Make the database itself refuse a new group whose groupKey is POISON (a trigger), as a
    store failing for one delivery only would."""
    if url.startswith("sqlite"):

        def refuse(key):
            raise RuntimeError(f"refused {key}")

        engine = s.store.engine
        event.listen(engine, "connect", lambda c, _r: c.create_function("refuse", 1, refuse))
        engine.dispose()  # new connections, with the function
        raw_sql(
            url,
            "CREATE TRIGGER poison BEFORE INSERT ON alert_group "
            f"WHEN NEW.group_key = '{POISON}' BEGIN SELECT refuse(NEW.group_key); END",
        )
    else:
        raw_sql(
            url,
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.group_key = "
            f"'{POISON}' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'disk_full'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql",
        )
        raw_sql(
            url,
            "CREATE TRIGGER poison BEFORE INSERT ON alert_group FOR EACH ROW "
            "EXECUTE FUNCTION refuse()",
        )


def _groups(s) -> dict[str, int]:
    return {g.row["group_key"]: len(g.alerts) for g in s.alerts.groups(all=True)}


def test_a_batch_answers_each_notification_and_stores_all_but_the_refused(make, backend_url):
    s = make(DECLARE)
    _poison(s, backend_url)
    a1, a2, a3 = alert("f001"), alert("f002"), alert("f003")
    warn = {"severity": "warning"}
    batch = [
        payload(a1, a2, group_key="paged"),
        {"version": "3"},
        payload(alert("f100", labels=warn), group_key=POISON, commonLabels=warn),
        payload(resolved(a1), a2, a3, group_key="paged"),  # sees the first's rows
        payload(alert("f200", labels=warn), group_key="inbox", commonLabels=warn),
    ]
    got = s.alerts.receive_many(batch)

    assert isinstance(got[1], PayloadError)
    assert isinstance(got[2], StoreError)
    first, again, inbox = got[0], got[3], got[4]
    assert isinstance(first, Received) and isinstance(again, Received)
    assert isinstance(inbox, Received)
    assert (first.state, first.incident, first.fired) == ("declared", "INC-0001", ["f001", "f002"])
    assert (again.group, again.fired, again.resolved) == (first.group, ["f003"], ["f001"])
    assert (inbox.state, inbox.incident, inbox.fired) == ("inbox", None, ["f200"])
    assert _groups(s) == {"paged": 3, "inbox": 1}  # nothing of the refused one

    kinds = [e.kind for e in s.incidents.events("INC-0001")]
    assert kinds.count("alert_fired") == 3 and kinds.count("alerts_resolved") == 1
    assert s.incidents.verify("INC-0001").ok


def test_a_batch_delivered_again_records_nothing_twice(make):
    s = make(DECLARE)
    batch = [payload(alert("f001"), group_key="g1"), payload(alert("f002"), group_key="g2")]
    assert [r.fired for r in s.alerts.receive_many(batch)] == [["f001"], ["f002"]]
    assert [r.fired for r in s.alerts.receive_many(batch + batch)] == [[], [], [], []]
    assert _groups(s) == {"g1": 1, "g2": 1}
    for ref in ("INC-0001", "INC-0002"):
        assert [e.kind for e in s.incidents.events(ref)].count("alert_fired") == 1


def test_receive_raises_what_receive_many_answers(make):
    s = make(DECLARE)
    with pytest.raises(PayloadError, match="version"):
        s.alerts.receive({"version": "3"})
    assert s.alerts.receive(payload(alert("f001"))).fired == ["f001"]


@pytest.mark.sqlite_only("RAISE(ROLLBACK) is SQLite's")
def test_a_failure_that_ends_the_transaction_runs_the_others_again(make, backend_url):
    """A trigger's RAISE(ROLLBACK) ends SQLite's whole transaction, savepoints and all, as a
    full disk may: the notification that met it is answered with a StoreError, and the
    others, rolled back with it, are stored by a new transaction."""
    s = make(DECLARE)
    s.store  # noqa: B018 - the schema, before the trigger
    raw_sql(
        backend_url,
        "CREATE TRIGGER poison BEFORE INSERT ON alert_group "
        f"WHEN NEW.group_key = '{POISON}' BEGIN SELECT RAISE(ROLLBACK, 'refused'); END",
    )
    batch = [payload(alert(f"f00{i}"), group_key=key) for i, key in enumerate("a" + POISON[0])]
    batch[1]["groupKey"] = POISON
    batch.append(payload(alert("f009"), group_key="b"))
    first, poisoned, last = s.alerts.receive_many(batch)
    assert isinstance(poisoned, StoreError)
    assert (first.fired, last.fired) == (["f000"], ["f009"])
    assert _groups(s) == {"a": 1, "b": 1}
    assert [e.kind for e in s.incidents.events(first.incident)].count("alert_fired") == 1
    assert s.incidents.verify(first.incident).ok


def test_stored_alerts_are_resolved_once_and_only_seen_again(make, clock):
    from datetime import timedelta

    s = make({"declare": False})
    a1, a2 = alert("f001"), alert("f002")
    s.alerts.receive(payload(a1, a2))
    clock.advance(timedelta(minutes=1))
    got = s.alerts.receive(payload(resolved(a1), resolved(a1), a2))  # a1 listed twice
    assert (got.fired, got.resolved) == ([], ["f001"])
    again = s.alerts.receive(payload(resolved(a1), a2))
    assert (again.fired, again.resolved) == ([], [])
    by_fp = {a["fingerprint"]: a for a in s.alerts.get(got.group).alerts}
    assert by_fp["f001"]["status"] == "resolved" and by_fp["f001"]["ends_at"] is not None
    assert by_fp["f002"]["last_seen"] == clock.now() and by_fp["f002"]["status"] == "firing"


def test_fired_events_carry_the_stored_redacted_labels(make):
    """alert_fired's data is built from the alert as stored (redacted once), not walked
    through the redactor again: secrets in label values, under a secret-sounding label name
    and in the URL still never reach the chain."""
    s = make(DECLARE)
    token = "ghp_" + "B" * 36
    a = alert("f001", labels={"api_key": "plain-looking-value", "pod": f"p {token}"})
    a["generatorURL"] = "http://admin:hunter2hunter2@prometheus:9090/graph"
    got = s.alerts.receive(payload(a))
    (fired,) = [e for e in s.incidents.events(got.incident) if e.kind == "alert_fired"]
    assert fired.data["labels"]["api_key"] == "***"
    assert token not in str(fired.data) and "hunter2hunter2" not in str(fired.data)
    assert fired.data["labels"] == s.alerts.get(got.group).alerts[0]["labels"]
    assert s.incidents.verify(got.incident).ok
