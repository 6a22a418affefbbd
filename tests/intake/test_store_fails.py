"""A store that fails for real (its PostgreSQL stopped): the daemon answers 503 (so a sender
retries) and /healthz 503; once the server is back, the retried delivery is stored once."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session
from tests import pgcluster
from tests.intake.daemon import Daemon


@pytest.fixture
def cluster():
    """A PostgreSQL cluster of this test's own (it is stopped and started again), outside
    pytest's temporary folder: that is 0700, which locks the postgres user out."""
    if pgcluster.bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no PostgreSQL server binaries on CI (apt-get install postgresql)")
        pytest.skip("needs PostgreSQL's server binaries: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="mlops-oncall-intake-pg-")) / "cluster"
    try:
        yield root, pgcluster.start(root)
    finally:
        pgcluster.stop(root)
        shutil.rmtree(root.parent, ignore_errors=True)


def _start_again(root: Path, url: str) -> None:
    """pg_ctl start on the same folder and port as pgcluster.start."""
    port = urlsplit(url).port
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    pg_ctl = str(pgcluster.bindir() / "pg_ctl")
    pgcluster._run(
        [pg_ctl, "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start"]
    )


def test_a_failed_store_write_is_503_and_the_retry_is_stored_once(tmp_path, cluster):
    root, pg_url = cluster
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(f"name: intake\ndatabase: {pg_url}\n")
    daemon = Daemon(ws, "--listen", "127.0.0.1:0")
    try:
        base = daemon.url()
        change = {"service": "ranker", "version": "v3", "at": "2026-12-01T10:00:00Z"}
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
            pgcluster.stop(root)
            r = client.post("/changes", json=change)
            assert r.status_code == 503
            assert r.json()["error"].startswith("the store could not record it: ")
            health = client.get("/healthz")
            assert health.status_code == 503 and health.text.startswith("store unavailable: ")

            _start_again(root, pg_url)
            # as Alertmanager does: retry while 5xx (a pooled connection may fail once more)
            deadline = time.monotonic() + 30
            while (r := client.post("/changes", json=change)).status_code == 503:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.1)
            assert r.status_code == 201
            again = client.post("/changes", json=change)
            assert again.status_code == 200
            assert again.json()["id"] == r.json()["id"]
            assert client.get("/healthz").status_code == 200
            metrics = client.get("/metrics").text
        assert (
            'mlops_oncall_intake_rejected_total{endpoint="/changes",reason="store_failed"}'
            in metrics
        )
        assert 'mlops_oncall_intake_stored_total{endpoint="/changes"} 2.0' in metrics
    finally:
        daemon.terminate()
        assert daemon.wait() == 0
    session = Session(Workspace(config=Config()), database_url=pg_url)
    try:
        assert [(d.service, d.version) for d in session.deploys.list()] == [("ranker", "v3")]
    finally:
        session.store.close()
