"""bentoml against a real BentoML server: ready, not ready (503 with its reason), dead, gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.real_servers.harness import free_port, probe_preset, running, venv_or_skip

APP = Path(__file__).parent / "apps" / "bentoml_gate.py"


@pytest.fixture(scope="session")
def bentoml_server(tmp_path_factory):
    server = venv_or_skip("bentoml")
    root = tmp_path_factory.mktemp("bentoml")
    shutil.copy(APP, root / "service.py")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    files = {"READY_FILE": root / "ready", "DEAD_FILE": root / "dead"}
    argv = [
        str(server.bin("bentoml")),
        "serve",
        "service:Gated",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {k: str(v) for k, v in files.items()}
    env["BENTOML_DO_NOT_TRACK"] = "True"
    env["BENTOML_HOME"] = str(root / "bentoml-home")
    with running(
        "bentoml", argv, cwd=root, ready_url=f"{base}/livez", ready=lambda s: s == 200, env=env
    ) as proc:
        yield base, files, proc


async def test_bentoml(tmp_path, bentoml_server):
    base, files, proc = bentoml_server
    entry = f"  - {{id: b, preset: bentoml, base_url: '{base}'}}\n"
    assert await probe_preset(tmp_path, entry) == {
        "b.live": ("up", None, "ok"),
        "b.ready": (
            "down",
            "http_status",
            "[STATUS] = 503, expected == 200 "
            "(body: 'Service is not ready because .__is_ready__() returns False.')",
        ),
    }
    files["READY_FILE"].touch()
    assert await probe_preset(tmp_path, entry) == {
        "b.live": ("up", None, "ok"),
        "b.ready": ("up", None, "ok"),
    }
    files["DEAD_FILE"].touch()
    assert (await probe_preset(tmp_path, entry))["b.live"][:2] == ("down", "http_status")
    proc.stop()
    assert (await probe_preset(tmp_path, entry))["b.live"][:2] == ("down", "connect")
