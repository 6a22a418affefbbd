"""Role claims: two people taking the same role at once, exactly one wins and the other is
told who holds it (exit 1); taking a role over is explicit and recorded; claiming a role you
hold changes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import psycopg
import pytest

from tests.conftest import console_script

pytestmark = pytest.mark.timeout(60)


def _claim(actor: str) -> subprocess.Popen:
    return subprocess.Popen(
        [console_script(), "incident", "assign", "INC-0001", "--role", "commander"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"MLOPS_ONCALL_ACTOR": actor},
    )


def _waiting_on_lock(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def _events(cli_proc) -> list[dict]:
    out = json.loads(cli_proc("incident", "timeline", "INC-0001", "--json").out)
    return out["events"] if isinstance(out, dict) else out


def test_two_claims_at_once_exactly_one_wins(database, cli_proc):
    assert cli_proc("incident", "declare", "--title", "t", "--severity", "SEV2").code == 0
    held = None
    if database.startswith("postgresql"):
        # hold the incident row until both claims wait on it, so they race for it at once
        held = psycopg.connect(database)
        held.execute("SELECT id FROM incident WHERE id = 1 FOR UPDATE")
    claims = {actor: _claim(actor) for actor in ("alice", "bob")}
    if held is not None:
        end = time.monotonic() + 20
        while _waiting_on_lock(database) < 2:
            assert time.monotonic() < end, "the two claims never both waited for the incident"
            time.sleep(0.01)  # polling a condition, bounded by the deadline
        held.rollback()
        held.close()
    results = {actor: (p.wait(30), *p.communicate()) for actor, p in claims.items()}
    codes = sorted(code for code, _out, _err in results.values())
    assert codes == [0, 1], results
    winner = next(a for a, (code, _o, _e) in results.items() if code == 0)
    loser = "bob" if winner == "alice" else "alice"
    _code, _out, err = results[loser]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"INC-0001's commander is {winner} (since " in lines[0]
    assert "--take-over" in lines[0]
    shown = cli_proc("incident", "show", "INC-0001", "--json").json()
    assert shown["roles"] == {"commander": winner}
    claimed = [e for e in _events(cli_proc) if e["kind"] == "role_assigned"]
    assert [(e["actor"], e["data"]["who"]) for e in claimed] == [(winner, winner)]
    assert cli_proc("incident", "verify", "INC-0001").code == 0


def test_claim_again_take_over_and_refusal(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", f"sqlite:///{tmp_path / 'oncall.db'}")
    assert cli("incident", "declare", "--title", "t", "--severity", "SEV2").code == 0
    r = cli("incident", "assign", "INC-0001", "--role", "commander")  # yourself: tester
    assert (r.code, r.out.strip()) == (0, "INC-0001 commander: tester")
    before = cli("incident", "show", "INC-0001", "--json").json()["head"]["seq"]
    r = cli("incident", "assign", "INC-0001", "--role", "commander", "--who", "tester")
    assert (r.code, r.out.strip()) == (0, "INC-0001 commander: tester")
    assert cli("incident", "show", "INC-0001", "--json").json()["head"]["seq"] == before

    r = cli("incident", "assign", "INC-0001", "--role", "commander", "--who", "bob")
    assert r.code == 1
    assert re.fullmatch(
        r"error: INC-0001's commander is tester \(since \S+Z\); add --take-over to take it\n", r.err
    )
    assert cli("incident", "show", "INC-0001", "--json").json()["head"]["seq"] == before

    r = cli("incident", "assign", "INC-0001", "--role", "commander", "--who", "bob", "--take-over")
    assert (r.code, r.out.strip()) == (0, "INC-0001 commander: bob")
    last = json.loads(cli("incident", "timeline", "INC-0001", "--json").out)
    last = (last["events"] if isinstance(last, dict) else last)[-1]
    assert last["kind"] == "role_assigned"
    assert last["text"] == "commander: bob (taken over from tester)"
    assert last["data"] == {
        "role": "commander",
        "who": "bob",
        "previous": "tester",
        "take_over": True,
    }
    assert last["actor"] == "tester"
    # --take-over on a free role is an ordinary assignment
    r = cli("incident", "assign", "INC-0001", "--role", "scribe", "--who", "cy", "--take-over")
    assert r.code == 0
    assert cli("incident", "verify", "INC-0001").code == 0
