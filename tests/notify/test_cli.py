"""`mlops-oncall incident update` and the cadence in `incident show`, on both backends: the
draft, posting a file's text, the --json shapes, exit codes (1 refused, 2 unusable input),
and the webhook's secret never in an output or the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notify.conftest import SECRET, Answer

pytestmark = pytest.mark.timeout(60)

DELIVERY_KEYS = {
    "destination", "type", "update_seq", "state", "attempts", "http_status", "body_sha256",
    "idempotency_key", "external_id", "error", "response", "updated_at",
}  # fmt: skip


@pytest.fixture
def ws(tmp_path, backend_url, monkeypatch, receiver, cli):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    (tmp_path / "oncall.yaml").write_text(
        "name: t\nwitness: false\nnotify:\n"
        "  hook:\n    type: webhook\n    url: ${env:HOOK_URL}\n    retries: 0\n"
        "  unset:\n    type: slack\n    url: ${env:NOT_SET_ANYWHERE}\n"
    )
    r = cli(
        "incident", "declare", "--title", "fraud p99 up", "--severity", "SEV1",
        "--service", "fraud-api", "--at", "-45m",
    )  # fmt: skip
    assert r.code == 0, r.err
    return receiver


def test_draft(cli, ws):
    cli("incident", "note", "INC-0001", "rolled back fraud-model to v41")
    r = cli("incident", "update", "INC-0001", "--draft")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "[SEV1] INC-0001: fraud p99 up"
    assert lines[1] == "Status: triage · Service: fraud-api"
    assert lines[2] == "Impact: being assessed"
    assert "What happened so far:" in lines
    assert any(line.endswith("note: rolled back fraud-model to v41") for line in lines)
    assert lines[-1].startswith("Next update by ")
    j = cli("incident", "update", "INC-0001", "--json")
    assert j.code == 0
    data = j.json()
    assert set(data) == {"incident", "draft", "updates"}
    assert data["updates"]["overdue"] is True and data["updates"]["every_seconds"] == 1800
    assert ws.seen == []  # a draft sends nothing


def test_post_a_file_and_json_shape(cli, ws, tmp_path):
    (tmp_path / "u.txt").write_text("We rolled back; error rate falling.\n")
    r = cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert set(data) == {"incident", "update", "new_update", "sent", "delivery"}
    assert set(data["delivery"]) == DELIVERY_KEYS
    assert data["update"]["kind"] == "status_update"
    assert data["update"]["text"] == "We rolled back; error rate falling."
    assert data["delivery"]["state"] == "delivered" and data["delivery"]["http_status"] == 200
    assert ws.seen[0].json["update"]["text"] == "We rolled back; error rate falling."
    again = cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt")
    assert again.code == 0
    assert again.out.endswith("→ hook: delivered already, not sent again\n")
    assert len(ws.seen) == 1
    shown = cli("incident", "show", "INC-0001", "--json").json()
    assert shown["updates"]["overdue"] is False
    assert shown["updates"]["every_seconds"] == 1800
    text = cli("incident", "show", "INC-0001").out
    assert "updates: next update in 30m" in text
    verify = cli("incident", "verify", "INC-0001")
    assert verify.code == 0, verify.out + verify.err  # the new events are on the hash chain


def test_refused_is_exit_1_and_recorded(cli, ws, tmp_path):
    ws.script.append(Answer(400, f"bad payload at /hooks/{SECRET}"))
    (tmp_path / "u.txt").write_text("Investigating.\n")
    r = cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt")
    assert r.code == 1
    assert r.err.startswith("INC-0001 update #") and "failed: destination 'hook' (webhook)" in (
        r.err
    )
    assert "HTTP 400" in r.err and SECRET not in r.err + r.out
    j = cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt", "--json")
    assert j.code == 0  # the same update resent with its key, now answered 200
    assert j.json()["new_update"] is False and j.json()["delivery"]["attempts"] == 2
    assert SECRET not in j.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--post", "nowhere"], "no destination 'nowhere' (known: hook, unset)"),
        (["--post", "unset"], "uses ${env:NOT_SET_ANYWHERE}, which is not set"),
        (["--draft", "--post", "hook"], "--draft prints the draft only"),
        (["--post", "hook", "--text", "missing.txt"], "--text missing.txt: cannot read it"),
    ],
)
def test_unusable_input_is_exit_2(cli, ws, args, message):
    r = cli("incident", "update", "INC-0001", *args)
    assert r.code == 2 and message in r.err, r.err
    assert ws.seen == []


def test_overdue_in_show_and_once_on_the_timeline(cli, ws):
    r = cli("incident", "show", "INC-0001")
    assert "updates: update overdue by 15m" in r.out
    cli("incident", "show", "INC-0001", "--json")
    events = cli("incident", "timeline", "INC-0001", "--json")
    assert events.code == 0, events.err
    overdue = [e for e in events.json() if e["kind"] == "update_overdue"]
    assert len(overdue) == 1 and overdue[0]["actor"] == "monitor"
    assert overdue[0]["data"]["every_seconds"] == 1800


@pytest.mark.sqlite_only("greps the SQLite database file for the secret")
def test_the_secret_is_not_in_the_database_file(cli, ws, tmp_path):
    (tmp_path / "u.txt").write_text(f"the hook is /hooks/{SECRET}\n")
    r = cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt", "--json")
    assert r.code == 0 and SECRET not in r.out
    for f in Path(tmp_path).glob("oncall.db*"):
        assert SECRET.encode() not in f.read_bytes()


def test_the_postmortem_timeline_names_an_update(cli, ws, tmp_path):
    (tmp_path / "u.txt").write_text("Rolled back.\nWatching p99.\n")
    assert cli("incident", "update", "INC-0001", "--post", "hook", "--text", "u.txt").code == 0
    r = cli("postmortem", "INC-0001")
    assert r.code == 0, r.err
    (line,) = [x for x in r.out.splitlines() if "status update" in x]
    assert "status update (to hook): Rolled back. / Watching p99." in line
