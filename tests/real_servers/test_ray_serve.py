"""ray_serve against a real Ray Serve proxy: up, routes down once the application is deleted
(the proxy still answers /-/healthz), down when stopped."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.real_servers.harness import (
    free_port,
    probe_preset,
    running,
    venv_or_skip,
)

APP = Path(__file__).parent / "apps" / "ray_serve_app.py"
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0"}


@pytest.fixture(scope="session")
def ray_serve(tmp_path_factory):
    server = venv_or_skip("ray")
    root = tmp_path_factory.mktemp("ray")
    # Ray's AF_UNIX socket paths must fit 107 bytes: a short temp dir, removed afterwards
    short = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(server.python), str(APP), str(port), str(root)]
    # HOME too: Ray writes its cluster token under ~/.ray
    env = {**ENV, "RAY_TMPDIR": str(short), "HOME": str(root)}
    try:
        with running(
            "ray", argv, cwd=root, ready_url=f"{base}/echo", ready=lambda s: s == 200, env=env
        ) as proc:
            yield base, root, proc
    finally:
        shutil.rmtree(short, ignore_errors=True)


async def test_ray_serve(tmp_path, ray_serve):
    base, control, proc = ray_serve
    entry = f"  - {{id: r, preset: ray_serve, base_url: '{base}'}}\n"
    assert await probe_preset(tmp_path, entry) == {
        "r.health": ("up", None, "ok"),
        "r.routes": ("up", None, "ok"),
    }
    (control / "delete").touch()

    async def routes():
        return (await probe_preset(tmp_path, entry))["r.routes"]

    # the deletion reaches the proxy asynchronously: poll the probe itself, bounded
    for _ in range(300):
        if (await routes())[0] == "down":
            break
        await asyncio.sleep(0.1)
    assert await probe_preset(tmp_path, entry) == {
        "r.health": ("up", None, "ok"),
        "r.routes": ("down", "condition", '[BODY] = "{}", expected != {}'),
    }
    proc.stop()
    assert (await probe_preset(tmp_path, entry))["r.health"][:2] == ("down", "connect")
