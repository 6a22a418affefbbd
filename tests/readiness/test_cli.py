"""`readiness run|report|history`: shapes, exit codes, kept reviews, errors as one line."""

from __future__ import annotations

import json

import pytest

from .conftest import drill


@pytest.fixture
def ws(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(workspace / "oncall.yaml"))
    return workspace


def _run(cli, *extra):
    return cli(
        "readiness",
        "run",
        "fraud-scoring",
        "--checklist",
        "checklist.yaml",
        "--answers",
        "answers.yaml",
        *extra,
    )


def test_run_json_shape_and_the_kept_file(cli, ws):
    r = _run(cli, "--json")
    assert r.code == 0, r.err
    review = r.json()
    assert list(review) == [
        "version",
        "service",
        "at",
        "actor",
        "checklist",
        "score",
        "categories",
        "items",
        "gaps",
        "risks",
        "file",
    ]
    assert review["version"] == 1 and review["actor"] == "tester"
    assert review["checklist"] == {
        "id": "small",
        "title": "A small checklist",
        "file": "checklist.yaml",
    }
    # the latency runbook was never drilled here: partial, 2 of its 4 points
    assert review["score"] == {"percent": 66.7, "points": 16.0, "max": 24}
    assert review["categories"][0] == {
        "category": "monitoring",
        "percent": 100.0,
        "points": 10.0,
        "max": 10,
    }
    item = review["items"][0]
    assert item == {
        "id": "ready",
        "title": "Ready endpoint up",
        "category": "monitoring",
        "weight": 5,
        "evidence": {"kind": "check", "target": "fraud.ready"},
        "status": "pass",
        "prefilled": True,
        "source": "tool",
        "detail": "fraud.ready is up",
        "note": "",
        "output": "",
    }
    assert review["gaps"][0] == {
        "id": "pii",
        "title": "PII handled",
        "category": "security",
        "weight": 6,
        "status": "partial",
        "lost": 3.0,
    }
    kept = ws / "readiness" / "fraud-scoring"
    files = sorted(p.name for p in kept.iterdir())
    assert files == [review["file"].rsplit("/", 1)[1]]
    on_disk = json.loads((kept / files[0]).read_text())
    assert on_disk == {k: v for k, v in review.items() if k != "file"}


def test_run_without_answers_names_the_items(cli, ws):
    r = cli("readiness", "run", "fraud-scoring", "--checklist", "checklist.yaml")
    assert r.code == 2
    assert r.err == ("error: 2 items need an answer: pii, doc (give them with --answers FILE)\n")
    assert not (ws / "readiness").exists()


def test_a_bad_checklist_is_located(cli, ws):
    (ws / "checklist.yaml").write_text(
        (ws / "checklist.yaml").read_text().replace("weight: 4", "weight: four")
    )
    r = _run(cli)
    assert r.code == 2
    assert r.err.splitlines() == [
        "checklist.yaml:12:13: items[2].weight: expected a whole number, got 'four'",
        "error: the checklist checklist.yaml is invalid",
    ]


def test_a_service_name_that_cannot_name_a_folder(cli, ws):
    r = cli("readiness", "history", "../etc")
    assert r.code == 2
    assert "expected a service name" in r.err


def test_report_and_history_track_reviews(cli, ws, workspace):
    assert cli("readiness", "report", "fraud-scoring").code == 1
    assert _run(cli).code == 0
    # the second review: the latency runbook has been drilled since (the CLI's clock is real)
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    s = Session(load_workspace(workspace / "oncall.yaml"))
    drill(s, "latency-after-rollout", days_ago=1)
    s.close()
    assert _run(cli).code == 0
    r = cli("readiness", "history", "fraud-scoring", "--json")
    assert r.code == 0
    rows = r.json()
    assert [row["percent"] for row in rows] == [66.7, 75.0]
    assert list(rows[0]) == ["at", "actor", "checklist", "percent", "categories", "gaps", "file"]
    r = cli("readiness", "report", "fraud-scoring")
    assert r.code == 0, r.err
    text = r.out
    assert text.startswith("# Production readiness: fraud-scoring\n")
    assert "## Score: 75.0%" in text
    assert "Previous review " in text and ": 66.7%." in text
    assert "| on-call | 80.0% | 4.0 / 5 | 40.0% |" in text
    gaps = text.split("## Gaps, heaviest first")[1].split("## Open risks")[0]
    rows = [line for line in gaps.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[1] for row in rows] == [
        "PII handled",
        "Rollback drilled",
        "A runbook nobody wrote",
        "Documented",
    ]
    out = ws / "assessment.md"
    r = cli("readiness", "report", "fraud-scoring", "-o", str(out))
    assert r.code == 0
    # the same page; only the last line's generation time differs
    assert out.read_text().splitlines()[:-1] == text.splitlines()[:-1]
    assert cli("readiness", "report", "fraud-scoring", "-o", str(out)).code == 2  # no --force


def test_a_secret_in_a_note_never_reaches_the_kept_review(cli, ws, monkeypatch):
    secret = "tok-9f8e7d6c5b4a3210"
    monkeypatch.setenv("FRAUD_TOKEN", secret)
    checks = (ws / "checks.yaml").read_text()
    (ws / "checks.yaml").write_text(
        checks.replace(
            "    service: fraud-scoring\n",
            '    service: fraud-scoring\n    headers: {Authorization: "Bearer ${env:FRAUD_TOKEN}"}\n',
        )
    )
    (ws / "answers.yaml").write_text(
        f"pii: {{answer: partial, note: 'the token {secret} is in a notebook'}}\ndoc: no\n"
    )
    r = _run(cli, "--json")
    assert r.code == 0, r.err
    assert secret not in r.out
    kept = next((ws / "readiness" / "fraud-scoring").iterdir()).read_text()
    assert secret not in kept
    assert "the token" in kept  # the note is kept, masked


def test_on_a_terminal_the_waiting_items_are_asked(ws):
    """A real pseudo-terminal: each waiting item is asked in turn; the command item is not
    offered to run while allow_commands is off, so it is answered too."""
    import os
    import pty
    import subprocess

    from tests.conftest import console_script

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [console_script(), "readiness", "run", "fraud-scoring", "--checklist", "checklist.yaml"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ws,
        env={**os.environ, "MLOPS_ONCALL_CONFIG": str(ws / "oncall.yaml")},
    )
    os.close(slave)
    os.write(master, b"partial\nmasked in logs\nno\n\n")  # pii: partial + note; doc: no
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the command has exited
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0, seen.decode(errors="replace")
    os.close(master)
    text = seen.decode(errors="replace")
    assert "Is PII handled?" in text
    assert "not offered to run: commands are off (allow_commands: false)" in text
    review = json.loads(next((ws / "readiness" / "fraud-scoring").iterdir()).read_text())
    items = {i["id"]: i for i in review["items"]}
    assert (items["pii"]["status"], items["pii"]["note"]) == ("partial", "masked in logs")
    assert (items["doc"]["status"], items["doc"]["source"]) == ("fail", "answer")
