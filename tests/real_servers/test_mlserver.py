"""oip_v2 against a real MLServer: up, degraded while another model loads, down when unloaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.real_servers.harness import (
    free_port,
    http_status,
    probe_preset,
    running,
    states,
    venv_or_skip,
    wait_for,
)

APP = Path(__file__).parent / "apps" / "mlserver_gate.py"


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory):
    server = venv_or_skip("mlserver")
    root = tmp_path_factory.mktemp("mlserver")
    shutil.copy(APP, root / APP.name)
    port = free_port()
    settings = {
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": 0,
        "host": "127.0.0.1",
    }
    (root / "settings.json").write_text(json.dumps(settings))
    gate = root / "slow.gate"
    for name, extra in (("fraud", {}), ("slow", {"gate": str(gate)})):
        (root / name).mkdir()
        model = {"name": name, "implementation": "mlserver_gate.GatedModel"}
        if extra:
            model["parameters"] = {"extra": extra}
        (root / name / "model-settings.json").write_text(json.dumps(model))
    base = f"http://127.0.0.1:{port}"
    with running(
        "mlserver",
        [str(server.bin("mlserver")), "start", str(root)],
        cwd=root,
        ready_url=f"{base}/v2/models/fraud/ready",
        ready=lambda status: status == 200,
        env={"PYTHONPATH": str(root)},
    ) as proc:
        yield base, gate, proc


async def test_oip_v2_grpc_against_mlserver(tmp_path, mlserver):
    """The same states over MLServer's own gRPC endpoint (settings.json's grpc_port). Runs
    before the REST test, which stops the server: it leaves "slow" loading and "fraud" loaded."""
    pytest.importorskip("grpc", reason="pip install -e '.[test]' (grpcio)")
    base, gate, proc = mlserver
    port = json.loads((gate.parent / "settings.json").read_text())["grpc_port"]

    def entry(model):
        return f"  - {{id: m, preset: oip_v2_grpc, base_url: 'grpc://127.0.0.1:{port}', model: {model}}}\n"

    # "slow" is still loading: ServerReady is false (all models), fraud's ModelReady true
    assert await probe_preset(tmp_path, entry("fraud")) == {
        "m.live": ("up", None, "ok"),
        "m.ready": ("degraded", "condition", "[BODY].ready = false, expected == true"),
        "m.model-ready": ("up", None, "ok"),
    }
    assert states(await probe_preset(tmp_path, entry("slow"))) == {
        "m.live": "up",
        "m.ready": "degraded",
        "m.model-ready": "down",
    }
    assert http_status_post(f"{base}/v2/repository/models/fraud/unload") == 200
    assert (await probe_preset(tmp_path, entry("fraud")))["m.model-ready"] == (
        "down",
        "grpc_status",
        # MLServer 1.7.1's gRPC servicer lets ModelNotFound through as UNKNOWN
        f"/inference.GRPCInferenceService/ModelReady on 127.0.0.1:{port} ended UNKNOWN: "
        "Unexpected <class 'mlserver.errors.ModelNotFound'>: Model fraud with version  not found",
    )
    assert http_status_post(f"{base}/v2/repository/models/fraud/load") == 200
    wait_for(
        "fraud reloaded", lambda: http_status(f"{base}/v2/models/fraud/ready") == 200, 60, proc
    )


async def test_oip_v2_against_mlserver(tmp_path, mlserver):
    base, gate, proc = mlserver

    def entry(model):
        return f"  - {{id: m, preset: oip_v2, base_url: '{base}', model: {model}}}\n"

    # "slow" is still loading: MLServer's server-ready is 400 (all models), fraud's is 200
    assert await probe_preset(tmp_path, entry("fraud")) == {
        "m.live": ("up", None, "ok"),
        "m.ready": ("degraded", "http_status", "[STATUS] = 400, expected == 200"),
        "m.model-ready": ("up", None, "ok"),
    }
    assert states(await probe_preset(tmp_path, entry("slow"))) == {
        "m.live": "up",
        "m.ready": "degraded",
        "m.model-ready": "down",
    }
    gate.touch()
    wait_for("slow loaded", lambda: http_status(f"{base}/v2/health/ready") == 200, 60, proc)
    assert states(await probe_preset(tmp_path, entry("fraud"))) == {
        "m.live": "up",
        "m.ready": "up",
        "m.model-ready": "up",
    }
    # unloaded through the repository API: MLServer's 404 with its JSON error
    assert http_status_post(f"{base}/v2/repository/models/fraud/unload") == 200
    assert (await probe_preset(tmp_path, entry("fraud")))["m.model-ready"] == (
        "down",
        "http_status",
        '[STATUS] = 404, expected == 200 (body: \'{"error":"Model fraud not found"}\')',
    )
    proc.stop()
    result = await probe_preset(tmp_path, entry("fraud"))
    assert result["m.live"][:2] == ("down", "connect")


def http_status_post(url: str) -> int | None:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
