"""kind: prometheus checks against a real Prometheus (Debian's /usr/bin/prometheus, 2.42 here).

Prometheus runs on 127.0.0.1 with a temporary config and TSDB, scraping a metrics file that a
small HTTP server in the test serves every second. Outside CI a missing binary skips with how to
install it; on CI (CI=true, .ci/run installs it) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mlops_oncall.checks.probe import Prober
from tests.checks.helpers import load_ok, write
from tests.checks.servers import HTTPTestServer, Reply
from tests.real_servers.harness import free_port, running, wait_for

HOW = "install Debian's prometheus (apt-get install prometheus), as .ci/run does"
DEADLINE = 60.0  # seconds: the first scrape can take a few on two busy cores


@pytest.fixture(scope="module")
def prometheus_bin() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"prometheus is not installed on CI: {HOW}")
        pytest.skip(f"prometheus is not installed: {HOW}")
    return found


class Target:
    """A /metrics endpoint whose text the test rewrites."""

    def __init__(self, directory: Path):
        self.file = directory / "metrics.txt"
        self.set(3)
        self.server = HTTPTestServer({"/metrics": self._serve}).start()
        self.address = self.server.url.removeprefix("http://")

    def set(self, depth: float) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(
            "# HELP model_queue_depth Requests waiting.\n"
            "# TYPE model_queue_depth gauge\n"
            f'model_queue_depth{{model="fraud"}} {depth}\n'
        )
        tmp.replace(self.file)  # a scrape never reads half a file

    def _serve(self, _handler) -> Reply:
        return Reply(200, self.file.read_text(), {"Content-Type": "text/plain; version=0.0.4"})


@pytest.fixture(scope="module")
def prometheus(prometheus_bin, tmp_path_factory):
    """(Prometheus's base URL, the scraped target), once `up == 1`."""
    root = tmp_path_factory.mktemp("prometheus")
    target = Target(root)
    (root / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: model\n"
        f"    static_configs: [{{targets: ['{target.address}']}}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        prometheus_bin,
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    try:
        with running(
            "prometheus", argv, cwd=root, ready_url=f"{url}/-/ready", ready=lambda s: s == 200
        ) as proc:
            wait_for("up == 1", lambda: _values(url, "up") == ["1"], DEADLINE, proc)
            yield url, target
    finally:
        target.server.stop()


def _values(url: str, query: str) -> list[str]:
    """The values of an instant query, read without the code under test."""
    full = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        with urllib.request.urlopen(full, timeout=2) as resp:
            answer = json.load(resp)
    except OSError:
        return []
    return [item["value"][1] for item in answer["data"]["result"]]


def _checks(tmp_path: Path, url: str) -> Path:
    return write(
        tmp_path,
        f"""
        defaults: {{timeout: 5s}}
        checks:
          - id: queue
            kind: prometheus
            url: {url}
            query: model_queue_depth
            conditions: ["[VALUE] < 10"]
          - id: broken
            kind: prometheus
            url: {url}
            query: 'sum(model_queue_depth'
            conditions: ["[VALUE] < 10"]
          - id: clash
            kind: prometheus
            method: POST
            url: {url}
            query: '{{__name__=~"up|scrape_samples_scraped"}} + 0'
            conditions: ["[VALUE] < 10"]
          - id: missing
            kind: prometheus
            url: {url}
            query: no_such_metric
            conditions: ["[VALUE] < 10"]
        """,
    )


async def test_check_goes_down_when_the_scraped_value_crosses(prometheus, tmp_path):
    url, target = prometheus
    checkset = load_ok(tmp_path, _checks(tmp_path, url).read_text())
    spec = checkset.specs["queue"]
    async with Prober(redactor=checkset.redactor) as prober:
        target.set(3)
        r = await _poll(prober, spec, "up")
        assert r.message == "[VALUE] < 10: 1 series matches"
        target.set(42)
        r = await _poll(prober, spec, "down")
        assert r.error_class == "condition"
        series = f'model_queue_depth{{instance="{target.address}", job="model", model="fraud"}}'
        assert r.message == f"{series}: [VALUE] = 42, expected < 10"
        assert r.conditions[0].observed == {series: 42}
        target.set(3)
        await _poll(prober, spec, "up")


async def test_prometheus_errors_and_empty_answers(prometheus, tmp_path):
    url, _ = prometheus
    checkset = load_ok(tmp_path, _checks(tmp_path, url).read_text())
    async with Prober(redactor=checkset.redactor) as prober:
        broken = await prober.probe(checkset.specs["broken"])
        clash = await prober.probe(checkset.specs["clash"])
        missing = await prober.probe(checkset.specs["missing"])
    assert (broken.state, broken.error_class, broken.status) == ("down", "promql_bad_data", 400)
    assert broken.message.startswith("Prometheus answered 400: bad_data: invalid parameter")
    assert (clash.state, clash.error_class, clash.status) == ("down", "promql_execution", 422)
    assert "same labelset" in clash.message
    assert (missing.state, missing.error_class) == ("unknown", "no_data")


def test_check_run_cli(prometheus, tmp_path, cli_proc):
    url, target = prometheus
    path = _checks(tmp_path, url)
    target.set(3)
    wait_for("the value 3", lambda: _values(url, "model_queue_depth") == ["3"], DEADLINE)
    r = cli_proc("check", "run", "--checks", path, "--only", "queue", "--json")
    assert r.code == 0, r.err
    (row,) = json.loads(r.out)
    assert (row["id"], row["state"], row["error_class"]) == ("queue", "up", None)
    assert row["conditions"][0]["condition"] == "[VALUE] < 10"
    target.set(42)
    wait_for("the value 42", lambda: _values(url, "model_queue_depth") == ["42"], DEADLINE)
    r = cli_proc("check", "run", "--checks", path, "--only", "queue")
    assert r.code == 1
    assert "down        queue" in r.out
    assert f'model_queue_depth{{instance="{target.address}", job="model", model="fraud"}}' in r.out
    assert "[VALUE] = 42, expected < 10" in r.out
    target.set(3)


async def _poll(prober: Prober, spec, state: str):
    """Probe until the check reports ``state`` (a scrape a second; the deadline is generous)."""
    end = time.monotonic() + DEADLINE
    while True:
        r = await prober.probe(spec)
        if r.state == state or time.monotonic() > end:
            assert r.state == state, r.message
            return r
        await _tick()


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.2)  # a poll interval, not synchronisation: the loop re-checks
