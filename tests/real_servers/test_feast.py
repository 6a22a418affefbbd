"""feast against a real Feast feature server: an empty 200 when it can read its registry, and
down when it is gone. (Its 503, for a registry it cannot read, is not reliably reproducible:
the server falls back to its cached registry on the next request.)"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.real_servers.harness import free_port, probe_preset, running, venv_or_skip

STORE = """\
project: oncall
registry:
  path: data/registry.db
  cache_ttl_seconds: 0
provider: local
online_store:
  type: sqlite
  path: data/online.db
entity_key_serialization_version: 3
"""
ENV = {"FEAST_USAGE": "False"}


@pytest.fixture(scope="session")
def feast_server(tmp_path_factory):
    server = venv_or_skip("feast")
    root = tmp_path_factory.mktemp("feast")
    (root / "data").mkdir()
    (root / "feature_store.yaml").write_text(STORE)
    subprocess.run(
        [str(server.bin("feast")), "apply"],
        cwd=root,
        check=True,
        timeout=300,
        capture_output=True,
        env={**os.environ, **ENV},
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(server.bin("feast")), "serve", "-h", "127.0.0.1", "-p", str(port)]
    with running(
        "feast", argv, cwd=root, ready_url=f"{base}/health", ready=lambda s: s == 200, env=ENV
    ) as proc:
        yield base, proc


async def test_feast_feature_server(tmp_path, feast_server):
    base, proc = feast_server
    entry = f"  - {{id: f, preset: feast, base_url: '{base}'}}\n"
    assert await probe_preset(tmp_path, entry) == {"f.health": ("up", None, "ok")}
    proc.stop()
    assert (await probe_preset(tmp_path, entry))["f.health"][:2] == ("down", "connect")
