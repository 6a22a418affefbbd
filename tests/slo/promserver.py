"""A real Prometheus (Debian's /usr/bin/prometheus, 2.42 here) for the SLOs on Prometheus queries.

Its TSDB is filled before it starts with ``promtool tsdb create-blocks-from openmetrics``
(Prometheus's backfill: docs/prometheus/latest/storage.md, "Backfilling from OpenMetrics
format"), so a month of counters sampled every 5 minutes up to ``END`` is known exactly; it also
scrapes, every second, a metrics file a small HTTP server in the test serves and rewrites
(counters that advance while the test runs). Outside CI a missing binary skips with how to
install it; on CI (CI=true, .ci/run installs it) it fails.

Prometheus 2 includes a range's left boundary, so at ``END`` (a sample's time)
``increase(x[W])`` for W a multiple of the 5-minute step reads the samples at END - W and END:
exactly the events of the steps in (END - W, END], nothing extrapolated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.checks.servers import HTTPTestServer, Reply
from tests.real_servers.harness import free_port, running, wait_for

HOW = "install Debian's prometheus (apt-get install prometheus), as .ci/run does"
DEADLINE = 60.0  # seconds: the first scrape can take a few on two busy cores
STEP = timedelta(minutes=5)
DAYS = 31  # of backfilled samples: the 30-day window plus the hour before it
TOTAL_PER_STEP = 100


@dataclass
class Backfill:
    """The backfilled counters' increments per 5-minute step, the last step ending at END."""

    end: datetime
    errors: list[int]  # req_errors_total's increment at each step; req_total's is 100
    young_steps: int  # young_total starts this many steps before END

    def events(self, window: timedelta) -> tuple[int, int]:
        """(bad, total) in (END - window, END]: the steps there, counted by the test itself
        (young's too, for a window inside its history)."""
        n = int(window / STEP)
        return sum(self.errors[-n:]), n * TOTAL_PER_STEP


def backfill_plan(end: datetime) -> Backfill:
    steps = int(timedelta(days=DAYS) / STEP)
    errors = [0] * steps
    for i in range(0, steps - 12 * 24 * 3, 997):  # a bad event now and then, days apart
        errors[i] = 1
    errors[-3:] = [20, 20, 20]  # an outage in the last 15 minutes: 20% of the requests fail
    return Backfill(end, errors, young_steps=12 * 24 * 2)  # young: two days of history


def _openmetrics(plan: Backfill) -> str:
    n = len(plan.errors)
    times = [int((plan.end - STEP * (n - 1 - i)).timestamp()) for i in range(n)]
    out: list[str] = []

    def family(name: str, values: list[int], start: int = 0) -> None:
        out.append(f"# TYPE {name} counter")
        out.extend(
            f'{name}_total{{job="api"}} {v} {t}' for t, v in zip(times[start:], values, strict=True)
        )

    total = [TOTAL_PER_STEP * (i + 1) for i in range(n)]
    errors, ok, acc = [], [], 0
    for i, e in enumerate(plan.errors):
        acc += e
        errors.append(acc)
        ok.append(total[i] - acc)
    family("req", total)
    family("req_errors", errors)
    family("req_ok", ok)
    young = n - plan.young_steps
    family("young", [TOTAL_PER_STEP * (i + 1) for i in range(plan.young_steps)], young)
    family("young_errors", errors[young:], young)
    out.append("# EOF")
    return "\n".join(out) + "\n"


class Target:
    """A /metrics endpoint of two counters the test advances."""

    def __init__(self, directory: Path):
        self.file = directory / "metrics.txt"
        self.set(0, 0)
        self.server = HTTPTestServer({"/metrics": self._serve}).start()
        self.address = self.server.url.removeprefix("http://")

    def set(self, total: int, errors: int) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(
            "# TYPE live_total counter\n"
            f'live_total{{job="live"}} {total}\n'
            "# TYPE live_errors_total counter\n"
            f'live_errors_total{{job="live"}} {errors}\n'
        )
        tmp.replace(self.file)  # a scrape never reads half a file

    def _serve(self, _handler) -> Reply:
        return Reply(200, self.file.read_text(), {"Content-Type": "text/plain; version=0.0.4"})


@dataclass
class Prometheus:
    url: str
    plan: Backfill
    target: Target

    def values(self, query: str, at: datetime | None = None) -> list[str]:
        """The values of an instant query, read without the code under test."""
        return values(self.url, query, at)


def values(url: str, query: str, at: datetime | None = None) -> list[str]:
    params = {"query": query} | ({} if at is None else {"time": f"{at.timestamp():.3f}"})
    full = f"{url}/api/v1/query?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(full, timeout=5) as resp:
            answer = json.load(resp)
    except OSError:
        return []
    return [item["value"][1] for item in answer["data"]["result"]]


def _binaries() -> tuple[str, str]:
    found = shutil.which("prometheus"), shutil.which("promtool")
    if None in found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"prometheus or promtool is not installed on CI: {HOW}")
        pytest.skip(f"prometheus or promtool is not installed: {HOW}")
    return found  # type: ignore[return-value]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A running Prometheus with the backfilled month and the scraped target, once both are
    queryable."""
    prometheus_bin, promtool = _binaries()
    root = tmp_path_factory.mktemp("prometheus")
    now = datetime.now(UTC)
    end = datetime.fromtimestamp(int(now.timestamp()) // 300 * 300, UTC) - 3 * STEP
    plan = backfill_plan(end)
    (root / "backfill.om").write_text(_openmetrics(plan))
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "backfill.om", "data"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    target = Target(root)
    (root / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: live\n"
        f"    static_configs: [{{targets: ['{target.address}']}}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        prometheus_bin,
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        "--storage.tsdb.retention.time=90d",  # the backfilled month is kept
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    try:
        with running(
            "prometheus", argv, cwd=root, ready_url=f"{url}/-/ready", ready=lambda s: s == 200
        ) as proc:
            wait_for("the scrape", lambda: values(url, "up") == ["1"], DEADLINE, proc)
            wait_for("the backfill", lambda: values(url, "req_total", end) != [], DEADLINE, proc)
            yield Prometheus(url, plan, target)
    finally:
        target.server.stop()
