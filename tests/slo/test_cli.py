"""`slo status` and `slo eval`: the JSON shape, text, history files and their errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.rollup import Rollup
from mlops_oncall.store import checks_history as ch
from mlops_oncall.store.db import open_store

SLOS = "slos:\n  - {id: predict, checks: [a], objective: 99.9, min_bad_events: 1}\n"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "oncall.db"))
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    (tmp_path / "checks.yaml").write_text('checks:\n  - {id: a, url: "http://127.0.0.1:9/"}\n')
    (tmp_path / "slos.yaml").write_text(SLOS)
    return tmp_path


def _polls(end: datetime, days: int, bad_last: int):
    n = days * 1440
    start = end.replace(second=0, microsecond=0) - timedelta(minutes=n)
    for i in range(n):
        at = start + timedelta(minutes=i, seconds=30)
        if at <= end:
            yield "a", at, "down" if i >= n - bad_last else "up"


def _history(path, polls):
    with open(path, "w") as fh:
        for check, at, state in polls:
            fh.write(json.dumps({"check": check, "at": at.isoformat(), "state": state}) + "\n")


def test_status_json_from_the_store(ws, cli, backend_url, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    now = datetime.now(UTC)
    r = Rollup()
    for check, at, state in _polls(now, 4, 3):
        r.add(Result(check, state, None, "", 40.0, 200, [], at))
    store = open_store(backend_url)
    ch.merge_rollups(store, r.drain(None))
    ch.merge_minutes(store, r.drain_minutes(), now=now)
    store.close()
    res = cli("slo", "status", "--json")
    assert res.code == 0, res.err
    got = json.loads(res.out)
    (s,) = got["slos"]
    assert set(s) == {
        "id", "objective", "window", "checks", "count_degraded", "at", "state",
        "budget_remaining", "bad", "total", "history_from", "burn_rate", "burn_rates",
        "firing", "time_to_exhaustion",
    }  # fmt: skip
    assert (s["id"], s["objective"], s["window"], s["bad"]) == ("predict", 99.9, "30d", 3)
    assert s["state"] == "insufficient history"  # four days of a 30-day window
    assert {"long": "1h", "short": "5m", "severity": "page"} in s["firing"]
    row = s["burn_rates"][0]
    assert set(row) == {
        "long", "short", "threshold", "severity", "state", "firing", "long_rate",
        "short_rate", "long_bad", "long_total", "short_bad", "short_total",
    }  # fmt: skip
    assert (row["long_bad"], row["state"], row["firing"]) == (3, "firing", True)
    text = cli("slo", "status")
    assert text.code == 0
    assert text.out.startswith("predict  99.9% over 30d: ")
    assert "FIRING 1h/5m page" in text.out


def test_eval_of_a_history_file(ws, cli):
    at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    _history(ws / "h.jsonl", _polls(at + timedelta(hours=2), 4, 0))
    res = cli("slo", "eval", "--at", "2026-11-28T12:00:00Z", "--history", "h.jsonl", "--json")
    assert res.code == 0, res.err
    (s,) = json.loads(res.out)["slos"]
    assert (s["at"], s["bad"], s["total"], s["budget_remaining"]) == (
        "2026-11-28T12:00:00Z",
        0,
        4 * 1440 - 120,  # polls after --at are left out
        100.0,
    )
    assert [r["state"] for r in s["burn_rates"]] == ["ok"] * 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "h.jsonl:2: not JSON: Expecting value"),
        ('{"check": "a", "at": "2026-11-28T00:00:00", "state": "up"}', "h.jsonl:2: at: "),
        ('{"check": "a", "at": "2026-11-28T00:00:00Z", "state": "sad"}', "h.jsonl:2: state: "),
        ('{"check": "a", "at": "2026-11-28T00:00:00Z", "state": "up", "x": 1}', "h.jsonl:2: "),
        ("[1]", "h.jsonl:2: expected an object"),
    ],
)
def test_a_bad_history_line_is_one_located_error(ws, cli, line, message):
    (ws / "h.jsonl").write_text(
        '{"check": "a", "at": "2026-11-28T00:00:00Z", "state": "up"}\n' + line + "\n"
    )
    res = cli("slo", "eval", "--at", "2026-11-28T12:00:00Z", "--history", "h.jsonl")
    assert res.code == 1 and res.out == ""
    assert res.err.startswith(f"error: {message}") and res.err.count("\n") == 1


def test_an_invalid_slos_file_is_located_and_exit_2(ws, cli):
    (ws / "slos.yaml").write_text("slos:\n  - {id: p, checks: [a], objective: 101}\n")
    res = cli("slo", "status")
    assert res.code == 2
    assert res.err.splitlines() == [
        f"{ws / 'slos.yaml'}:2:37: slos[0].objective: expected a percentage above 0 and "
        "below 100, such as 99.5, got 101",
        "error: the SLOs file is invalid",
    ]


def test_no_slos_file_is_an_empty_list(ws, cli):
    (ws / "slos.yaml").unlink()
    assert json.loads(cli("slo", "status", "--json").out)["slos"] == []
    assert cli("slo", "status").out == "no SLOs (slos.yaml)\n"


def test_a_bad_time_is_a_usage_error(ws, cli):
    res = cli("slo", "eval", "--at", "soon")
    assert res.code == 2 and "cannot read the time 'soon'" in res.err
