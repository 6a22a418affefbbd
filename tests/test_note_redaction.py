"""A secret the workspace's checks resolve from the environment never reaches the database."""

from __future__ import annotations

import sqlite3


def test_token_from_checks_env_is_masked_in_notes(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_TOKEN", "tok-3f9a8b7c6d5e")
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    (tmp_path / "checks.yaml").write_text(
        "checks:\n  - id: m\n    url: http://127.0.0.1:9/ready\n"
        '    headers: {X-Api: "${env:MODEL_TOKEN}"}\n'
    )
    ref = cli("incident", "declare", "--title", "x", "--severity", "SEV3").out.strip()
    r = cli("incident", "note", ref, "curl -H 'X-Api: tok-3f9a8b7c6d5e' fails with 500")
    assert r.code == 0, r.err
    con = sqlite3.connect(tmp_path / "oncall.db")
    stored = " ".join(row[0] for row in con.execute("SELECT text || data FROM event"))
    assert "tok-3f9a8b7c6d5e" not in stored
    assert "X-Api: ***' fails" in stored
    assert "tok-3f9a8b7c6d5e" not in cli("incident", "timeline", ref).out
