"""`deploy update`: a deploy marked after the fact, with one-line errors and stable exit codes."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def db(backend_url, monkeypatch):
    """Every command of this module on each backend."""
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)


def record(cli, version, *extra):
    r = cli(
        "deploy", "record", "--service", "fraud", "--version", version, "--kind", "model",
        "--outcome", "succeeded", "--at", "-30m", "--json", *extra,
    )  # fmt: skip
    assert r.code == 0, r.err
    return r.json()


def test_deploy_update_marks_a_deploy_after_the_fact(cli):
    inc = cli("incident", "declare", "--title", "p99", "--severity", "SEV2").out.strip()
    record(cli, "v41")
    v42 = record(cli, "v42")
    r = cli(
        "deploy", "update", str(v42["id"]), "--outcome", "rolled_back", "--incident", inc,
        "--rolled-back-to", "v41", "--at", "-10m",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert r.out == f"deploy {v42['id']}: fraud v42 (model, rolled_back, {inc}, back to v41)\n"
    d = cli("deploy", "list", "--json").json()[0]
    assert (d["id"], d["outcome"], d["incident"], d["rolled_back_to"]) == (
        v42["id"],
        "rolled_back",
        inc,
        "v41",
    )
    assert d["outcome_at"] is not None and d["updated_at"] is not None


def test_deploy_update_errors_are_one_line(cli):
    d = record(cli, "v1")
    r = cli("deploy", "update", "7", "--outcome", "failed")
    assert (r.code, r.err) == (1, "error: unknown deploy '7' (see deploy list)\n")
    r = cli("deploy", "update", str(d["id"]))
    assert r.code == 2 and r.err.count("\n") == 1 and "nothing to update" in r.err
    r = cli("deploy", "update", str(d["id"]), "--outcome", "failed", "--at", "-2h")
    assert r.code == 1 and r.err.count("\n") == 1 and "is before deploy" in r.err
    r = cli("deploy", "update", str(d["id"]), "--incident", "INC-0042")
    assert (r.code, r.err) == (1, "error: unknown incident 'INC-0042'\n")
    # the version rolled back *to* is not recorded as a rollback
    record(cli, "v2")
    r = cli(
        "deploy", "record", "--service", "fraud", "--version", "v1", "--kind", "model",
        "--outcome", "rolled_back",
    )  # fmt: skip
    assert r.code == 1 and "a rollback is recorded on the version rolled back" in r.err
    assert len(cli("deploy", "list", "--json").json()) == 2
