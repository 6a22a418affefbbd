"""mlflow_tracking and mlflow_scoring against MLflow's two real servers.

The tracking server (``mlflow server``) has /health ("OK") and /version but no /ping, so the
old ``mlflow`` preset, which probes the scoring server's /ping, reads it as down: the reason
the preset was split. Neither server has a degraded state.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.real_servers.harness import free_port, probe_preset, running, venv_or_skip
from tests.real_servers.mlflow_server import ENV, tracking_server

APP = Path(__file__).parent / "apps" / "mlflow_model.py"


@pytest.fixture(scope="session")
def tracking(tmp_path_factory):
    with tracking_server(tmp_path_factory.mktemp("mlflow-tracking")) as (base, proc):
        yield base, proc


@pytest.fixture(scope="session")
def scoring(tmp_path_factory):
    server = venv_or_skip("mlflow")
    root = tmp_path_factory.mktemp("mlflow-scoring")
    model = root / "model"
    subprocess.run(
        [str(server.python), str(APP), str(model)],
        cwd=root,
        check=True,
        timeout=300,
        capture_output=True,
        env={**os.environ, **ENV},
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [
        str(server.bin("mlflow")),
        "models",
        "serve",
        "-m",
        str(model),
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    # the scoring server execs uvicorn by name: its venv's bin goes first on PATH
    path = f"{server.venv / 'bin'}:{os.environ.get('PATH', '')}"
    with running(
        "mlflow-scoring",
        argv,
        cwd=root,
        ready_url=f"{base}/ping",
        ready=lambda s: s == 200,
        env={**ENV, "PATH": path},
    ) as proc:
        yield base, proc


async def test_mlflow_tracking_server(tmp_path, tracking):
    base, proc = tracking
    assert await probe_preset(
        tmp_path, f"  - {{id: t, preset: mlflow_tracking, base_url: '{base}'}}\n"
    ) == {
        "t.live": ("up", None, "ok"),
        "t.ready": ("up", None, "ok"),  # a one-row registry search through the REST API
    }
    # the old preset probes /ping, which the tracking server does not have
    old = await probe_preset(tmp_path, f"  - {{id: t, preset: mlflow, base_url: '{base}'}}\n")
    assert old["t.live"][:2] == ("down", "http_status")
    assert old["t.live"][2].startswith("[STATUS] = 404, expected == 200")
    proc.stop()
    gone = await probe_preset(
        tmp_path, f"  - {{id: t, preset: mlflow_tracking, base_url: '{base}'}}\n"
    )
    assert gone["t.live"][:2] == ("down", "connect")


async def test_mlflow_scoring_server(tmp_path, scoring):
    base, proc = scoring
    entry = f"  - {{id: s, preset: mlflow_scoring, base_url: '{base}'}}\n"
    assert await probe_preset(tmp_path, entry) == {
        "s.live": ("up", None, "ok"),
        "s.ready": ("up", None, "ok"),
    }
    # the deprecated name is the scoring server's preset, same ids
    assert await probe_preset(tmp_path, entry.replace("mlflow_scoring", "mlflow")) == {
        "s.live": ("up", None, "ok"),
        "s.ready": ("up", None, "ok"),
    }
    # the tracking preset against a scoring server: its /health is "\n", not "OK"
    wrong = await probe_preset(tmp_path, entry.replace("mlflow_scoring", "mlflow_tracking"))
    assert wrong["s.live"][0] == "down"
    proc.stop()
    assert (await probe_preset(tmp_path, entry))["s.live"][:2] == ("down", "connect")
