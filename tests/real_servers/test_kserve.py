"""kserve_v1 and oip_v2 against KServe's Python model server: up, and down while a model loads.

KServe's server-ready is always 200 (it does not look at the models), so it has no degraded
state of its own: the per-model check is the whole verdict.
"""

from __future__ import annotations

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

APP = Path(__file__).parent / "apps" / "kserve_gate.py"


@pytest.fixture(scope="session")
def kserve(tmp_path_factory):
    server = venv_or_skip("kserve")
    root = tmp_path_factory.mktemp("kserve")
    port = free_port()
    gate = root / "slow.gate"
    base = f"http://127.0.0.1:{port}"
    argv = [str(server.python), str(APP), "--http_port", str(port), "--enable_grpc", "false"]
    with running(
        "kserve",
        argv,
        cwd=root,
        ready_url=f"{base}/v1/models/iris",
        ready=lambda status: status == 200,
        env={"GATE": str(gate)},
    ) as proc:
        yield base, gate, proc


async def test_kserve_v1_and_v2(tmp_path, kserve):
    base, gate, proc = kserve

    def entry(preset, model):
        return f"  - {{id: k, preset: {preset}, base_url: '{base}', model: {model}}}\n"

    assert await probe_preset(tmp_path, entry("kserve_v1", "iris")) == {
        "k.live": ("up", None, "ok"),
        "k.model-ready": ("up", None, "ok"),
    }
    assert (await probe_preset(tmp_path, entry("kserve_v1", "slow")))["k.model-ready"] == (
        "down",
        "http_status",
        "[STATUS] = 503, expected == 200; [BODY].ready: path not found "
        '(body: \'{"error":"Model with name slow is not ready."}\')',
    )
    assert await probe_preset(tmp_path, entry("oip_v2", "slow")) == {
        "k.live": ("up", None, "ok"),
        "k.ready": ("up", None, "ok"),  # KServe's server-ready ignores the models
        "k.model-ready": (
            "down",
            "http_status",
            "[STATUS] = 503, expected == 200 "
            '(body: \'{"error":"Model with name slow is not ready."}\')',
        ),
    }
    gate.touch()
    wait_for("slow ready", lambda: http_status(f"{base}/v1/models/slow") == 200, 60, proc)
    assert set(states(await probe_preset(tmp_path, entry("kserve_v1", "slow"))).values()) == {"up"}
    assert set(states(await probe_preset(tmp_path, entry("oip_v2", "slow"))).values()) == {"up"}
    assert (await probe_preset(tmp_path, entry("kserve_v1", "nope")))["k.model-ready"][:2] == (
        "down",
        "http_status",
    )
    proc.stop()
    assert (await probe_preset(tmp_path, entry("kserve_v1", "iris")))["k.live"][:2] == (
        "down",
        "connect",
    )
