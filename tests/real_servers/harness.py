"""Start a real server from its cached venv, wait until it answers, and always stop it.

Servers bind 127.0.0.1 only. Readiness is a bounded poll of one URL; if the process exits or
the deadline passes, the test fails with the tail of the server's own log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.real_servers.venvs import SERVERS, Server

START_DEADLINE = 180.0  # seconds; an import-heavy server on 2 busy cores
POLL_EVERY = 0.2


def venv_or_skip(name: str) -> Server:
    server = SERVERS[name]
    if not server.ready:
        pytest.skip(
            f"{name}-{server.version} is not installed in {server.venv}; "
            f"build it with: python -m tests.real_servers.venvs {name}"
        )
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status code of a GET, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def wait_for(what: str, done: Callable[[], bool], deadline: float, proc: Running | None = None):
    """Poll ``done`` until it is true; fail with the server's log when the deadline passes."""
    end = time.monotonic() + deadline
    while not done():
        if proc is not None and proc.process.poll() is not None:
            pytest.fail(
                f"{proc.name} exited ({proc.process.returncode}) before {what}\n{proc.tail()}"
            )
        if time.monotonic() > end:
            tail = proc.tail() if proc is not None else ""
            pytest.fail(f"{what}: not within {deadline:.0f}s\n{tail}")
        time.sleep(POLL_EVERY)


@dataclass
class Running:
    name: str
    process: subprocess.Popen
    log: Path
    started: float
    ready_after: float = 0.0

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the whole process group and wait until every member is gone (servers fork
        workers that outlive their parent), SIGKILL whatever lingers."""
        group = self.process.pid  # start_new_session: the leader's pid is the group id
        # Ray's raylet starts its workers and HTTP proxy in sessions of their own: they are
        # outside the group but still descendants, so they are listed before anything dies
        strays = [p for p in _descendants(group) if _pgid(p) != group]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        _signal_all(strays, signal.SIGTERM)
        for _after in ("SIGTERM", "SIGKILL"):
            end = time.monotonic() + 20
            while time.monotonic() < end:
                self.process.poll()  # reap the leader, or the group never empties
                if not _group_alive(group) and not any(_alive(p) for p in strays):
                    return
                time.sleep(POLL_EVERY)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            _signal_all(strays, signal.SIGKILL)
        self.process.wait(timeout=15)


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: fields follow the last ')'
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _descendants(pid: int) -> list[int]:
    if not Path("/proc").is_dir():
        return []
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is gone for our purpose (it no longer listens); its parent reaps it
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    ready_url: str,
    ready: Callable[[int | None], bool] = lambda status: status is not None,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """Run ``argv`` in its own process group until the block ends, however it ends."""
    log = cwd / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Running(name, proc, log, time.monotonic())
    try:
        wait_for(
            f"{name} answering {ready_url}",
            lambda: ready(http_status(ready_url)),
            START_DEADLINE,
            run,
        )
        run.ready_after = time.monotonic() - run.started
        yield run
    finally:
        run.stop()


async def probe_preset(tmp_path: Path, entry: str, env: dict[str, str] | None = None) -> dict:
    """Load one checks.yaml entry the way the app does and probe every check it expands to."""
    from datetime import UTC, datetime

    from mlops_oncall.checks.probe import Prober
    from mlops_oncall.clock import FixedClock
    from tests.checks.helpers import load_ok

    cs = load_ok(tmp_path, "defaults: {timeout: 10s}\nchecks:\n" + entry, env=env)
    clock = FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    async with Prober(redactor=cs.redactor, clock=clock) as prober:
        results = {spec.id: await prober.probe(spec) for spec in cs}
    return {k: (r.state, r.error_class, r.message) for k, r in results.items()}


def states(summary: dict) -> dict[str, str]:
    return {k: v[0] for k, v in summary.items()}
