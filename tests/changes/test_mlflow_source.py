"""The MLflow registry source against MLflow's real tracking server (3.17, from its cached
venv): registry moves become `model` deploys once each, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import pytest

from tests.changes.registry_client import RegistryWriter
from tests.real_servers.harness import free_port
from tests.real_servers.mlflow_server import tracking_server

pytestmark = [pytest.mark.real_server, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory):
    with tracking_server(tmp_path_factory.mktemp("mlflow-registry")) as (base, _proc):
        yield base


def workspace(tmp_path, monkeypatch, url: str, models: str, extra: str = "") -> None:
    (tmp_path / "oncall.yaml").write_text(
        f"me: alice\nchanges:\n  mlflow:\n    url: {url}\n    models: {models}\n{extra}"
    )
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))


@pytest.fixture
def registry(mlflow, tmp_path, backend_url, monkeypatch) -> RegistryWriter:
    """A fresh registered model (a name of its own: the server is shared) mapped to fraud-api."""
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    writer = RegistryWriter(mlflow, f"fraud model {uuid.uuid4().hex[:8]}")
    writer.create()
    workspace(tmp_path, monkeypatch, mlflow, f'{{"{writer.model}": fraud-api}}')
    return writer


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def poll(cli) -> list[dict]:
    r = cli("changes", "poll", "--once", "--json")
    assert r.code == 0, r.err
    (only,) = r.json()["polls"]
    assert (only["source"], only["ok"], only["errors"]) == ("mlflow", True, [])
    return only["recorded"]


def test_each_registry_move_is_recorded_once(cli, registry):
    model = registry.model
    _v1, created1 = registry.version()
    (d,) = poll(cli)
    assert (d["service"], d["version"], d["kind"], d["outcome"], d["actor"]) == (
        "fraud-api",
        f"{model}/1",
        "model",
        "succeeded",
        "mlflow",
    )
    assert d["notes"].startswith(f"MLflow {model} version 1: new version 1 (first poll) ")
    assert abs((ts(d["at"]) - created1).total_seconds()) < 0.002  # the registry's time
    assert poll(cli) == []  # a new process, same store: nothing twice

    _v2, created2 = registry.version()
    (d,) = poll(cli)
    assert d["version"] == f"{model}/2"
    assert "new version 2 (previous 1)" in d["notes"]
    assert abs((ts(d["at"]) - created2).total_seconds()) < 0.002
    assert poll(cli) == []

    registry.alias("champion", 1)
    (d,) = poll(cli)
    assert d["version"] == f"{model}/1" and "alias @champion 1 (first poll)" in d["notes"]
    registry.alias("champion", 2)  # the alias moves: a deploy of the new version
    (d,) = poll(cli)
    assert d["version"] == f"{model}/2" and "alias @champion 1 → 2" in d["notes"]
    registry.alias("champion", 1)  # and back: a move again, not a duplicate
    (d,) = poll(cli)
    assert d["version"] == f"{model}/1" and "alias @champion 2 → 1" in d["notes"]
    assert poll(cli) == []

    moved = registry.stage(2, "Production")  # a legacy stage move, at the registry's time
    (d,) = poll(cli)
    assert d["version"] == f"{model}/2" and "stage Production 2 (first poll)" in d["notes"]
    assert abs((ts(d["at"]) - moved).total_seconds()) < 0.002
    assert poll(cli) == []

    listed = cli("deploy", "list", "--service", "fraud-api", "--json").json()
    assert len(listed) == 6 and {d["actor"] for d in listed} == {"mlflow"}


def test_one_deploy_for_a_version_that_moved_on_several_tracks(cli, registry):
    registry.version()
    poll(cli)
    v2, _ = registry.version()
    registry.alias("champion", v2)
    registry.stage(v2, "Staging")
    (d,) = poll(cli)
    assert "new version 2 (previous 1)" in d["notes"]
    assert "alias @champion 2 (first poll)" in d["notes"]
    assert "stage Staging 2 (first poll)" in d["notes"]
    assert poll(cli) == []


def test_only_the_configured_aliases_are_followed(cli, registry, tmp_path, monkeypatch):
    workspace(
        tmp_path,
        monkeypatch,
        registry.base,
        f'{{"{registry.model}": fraud-api}}',
        "    aliases: [champion]\n",
    )
    registry.version()
    poll(cli)
    registry.alias("challenger", 1)
    assert poll(cli) == []
    registry.alias("champion", 1)
    (d,) = poll(cli)
    assert "alias @champion" in d["notes"] and "challenger" not in d["notes"]


def test_the_first_poll_records_the_current_state_not_the_history(cli, registry):
    for _ in range(3):
        registry.version()
    (d,) = poll(cli)
    assert d["version"].endswith("/3") and "new version 3 (first poll)" in d["notes"]
    registry.version()
    registry.version()
    got = poll(cli)  # two versions between polls: each recorded, each with its previous
    assert [d["version"].rsplit("/", 1)[1] for d in got] == ["4", "5"]
    assert "new version 4 (previous 3)" in got[0]["notes"]
    assert "new version 5 (previous 4)" in got[1]["notes"]


def test_a_restarted_runner_records_nothing_twice(cli, registry):
    """What `serve` runs: run_sources on a new Session records what moved, and only that."""
    from mlops_oncall.changes.runner import run_sources
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    registry.version()
    registry.alias("champion", 1)
    assert len(poll(cli)) == 1

    async def one_poll(session) -> list:
        seen: list = []
        done = asyncio.Event()

        def on_poll(got) -> None:
            seen.append(got)
            done.set()

        task = asyncio.create_task(run_sources(session, on_poll=on_poll))
        await asyncio.wait_for(done.wait(), 60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    session = Session(load_workspace())
    try:
        (got,) = asyncio.run(one_poll(session))
        assert got.ok and got.recorded == []
        registry.version()
        (got,) = asyncio.run(one_poll(session))
        assert [d.version for d in got.recorded] == [f"{registry.model}/2"]
    finally:
        session.close()
    assert poll(cli) == []


def test_a_model_missing_from_the_registry_is_an_error_the_others_still_record(
    cli, registry, tmp_path, monkeypatch
):
    workspace(
        tmp_path,
        monkeypatch,
        registry.base,
        f'{{"{registry.model}": fraud-api, "no such model": ranker}}',
    )
    registry.version()
    r = cli("changes", "poll", "--once", "--json")
    assert r.code == 1
    (got,) = r.json()["polls"]
    assert [d["service"] for d in got["recorded"]] == ["fraud-api"]
    assert got["errors"] == [
        f"no such model: registered model 'no such model' not found in {registry.base}"
    ]


def test_mlflow_down_fails_the_poll_in_one_line_and_records_nothing(
    cli, tmp_path, backend_url, monkeypatch
):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    workspace(tmp_path, monkeypatch, down, "{fraud: fraud-api}")
    r = cli("changes", "poll", "--once")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith(f"error: mlflow: cannot reach {down}: ") and r.err.count("\n") == 1
    assert "Traceback" not in r.err
    r = cli("changes", "poll", "--once", "--json")
    assert r.code == 1
    (got,) = r.json()["polls"]
    assert (got["source"], got["url"], got["ok"], got["recorded"]) == ("mlflow", down, False, [])
    assert len(got["errors"]) == 1 and got["at"] is not None
    assert cli("deploy", "list", "--json").json() == []
    (source,) = cli("changes", "sources", "--json").json()
    assert source["last_poll"]["ok"] is False and source["last_recorded"] is None
    assert source["last_poll"]["errors"][0].startswith(f"mlflow: cannot reach {down}")


def test_changes_sources_json(cli, registry):
    (before,) = cli("changes", "sources", "--json").json()
    assert before == {
        "source": "mlflow",
        "url": registry.base,
        "interval_seconds": 60.0,
        "models": {registry.model: "fraud-api"},
        "aliases": None,
        "token": False,
        "last_poll": None,
        "last_recorded": None,
    }
    registry.version()
    (d,) = poll(cli)
    (after,) = cli("changes", "sources", "--json").json()
    assert after["last_poll"]["ok"] is True and after["last_poll"]["recorded"] == 1
    assert after["last_recorded"] == {
        "id": d["id"],
        "service": "fraud-api",
        "version": d["version"],
        "at": d["at"],
    }
    r = cli("changes", "sources")
    assert r.code == 0 and f"{registry.base}  every 60s  {registry.model} -> fraud-api" in r.out
    assert f"last recorded: deploy {d['id']} fraud-api {d['version']}" in r.out


def test_a_registry_change_is_in_the_postmortems_what_changed(cli, registry):
    registry.version()
    registry.alias("champion", 1)
    poll(cli)
    registry.version()
    registry.alias("champion", 2)
    (d,) = poll(cli)
    inc = cli(
        "incident", "declare", "--title", "fraud scores drift", "--severity", "SEV2",
        "--service", "fraud-api",
    ).out.strip()  # fmt: skip
    r = cli("postmortem", inc)
    assert r.code == 0, r.err
    deploys = r.out.split("### Deploys", 1)[1].split("### Checks", 1)[0]
    new, old = f"{registry.model}/2", f"{registry.model}/1"
    assert f"| fraud-api | {old} | model | succeeded | no |" in deploys
    assert f"| fraud-api | {new} | model | succeeded | no |" in deploys
    when = d["at"][:19].replace("T", " ")
    assert (
        f"- {when} UTC fraud-api {new}: MLflow {registry.model} version 2: "
        "new version 2 (previous 1); alias @champion 1 → 2 " in deploys
    )


def test_the_runner_retries_a_registry_that_is_down_and_logs_one_line(
    tmp_path, backend_url, monkeypatch, caplog
):
    """What `serve` sees with MLflow down: each failure logged as one line and retried (1 s,
    then 2 s), the loop alive until cancelled, nothing recorded."""
    from mlops_oncall.changes.runner import run_sources
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", backend_url)
    down = f"http://127.0.0.1:{free_port()}"
    workspace(tmp_path, monkeypatch, down, "{fraud: fraud-api}")
    session = Session(load_workspace())

    async def two_polls() -> list:
        seen: list = []
        twice = asyncio.Event()

        def on_poll(got) -> None:
            seen.append(got)
            if len(seen) == 2:
                twice.set()

        task = asyncio.create_task(run_sources(session, on_poll=on_poll))
        await asyncio.wait_for(twice.wait(), 60)
        assert not task.done()  # a failed poll never ends the loop
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    try:
        with caplog.at_level("ERROR", logger="mlops_oncall.changes"):
            seen = asyncio.run(two_polls())
        assert [(g.failed, g.recorded) for g in seen] == [(True, []), (True, [])]
        lines = [r.getMessage() for r in caplog.records if r.name == "mlops_oncall.changes"]
        assert lines[0].startswith(f"changes: mlflow: cannot reach {down}: ")
        assert lines[0].endswith("(retrying in 1s)") and lines[1].endswith("(retrying in 2s)")
        assert all("\n" not in line for line in lines)
        assert session.deploys.list() == []
    finally:
        session.close()


def test_changes_poll_loops_until_ctrl_c(registry, tmp_path):
    """Without --once: a poll on each interval, one JSON object per line; Ctrl-C ends it
    cleanly (exit 130, no traceback). A real process: the signal is the terminal's."""
    import os
    import signal
    import subprocess

    from tests.conftest import console_script

    registry.version()
    proc = subprocess.Popen(
        [console_script(), "changes", "poll", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        first = proc.stdout.readline()  # blocks until the first poll is printed
        got = json.loads(first)
        assert (got["ok"], [d["version"] for d in got["recorded"]]) == (
            True,
            [f"{registry.model}/1"],
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err
