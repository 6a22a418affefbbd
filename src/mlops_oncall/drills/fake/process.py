"""The fake ML system in a child process, for the demo.

The demo's TUI should not serve the fake system's traffic (and run its random walks) on its own
interpreter, and the child starts listening on the second core while the TUI draws its first
frame. The child is ``python -m mlops_oncall.drills.fake --exit-with-stdin``: it prints its
state as JSON once every port listens, and exits when its stdin closes, so it never outlives
the TUI, not even one killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class FakeSystemError(RuntimeError):
    pass


class FakeSystemProcess:
    def __init__(self, *, log: Path, port_base: int = 0, host: str = "127.0.0.1", seed: int = 0):
        self.log = log
        self.args = ["--port-base", str(port_base), "--host", host, "--seed", str(seed)]
        self.proc: subprocess.Popen | None = None
        self.state: dict[str, Any] | None = None

    def start(self) -> FakeSystemProcess:
        """Spawn the child and return at once; ``wait_ready`` reads its ports."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mlops_oncall.drills.fake", "--exit-with-stdin", *self.args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        return self

    def wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """The child's state (services, ports, control port), once every port listens."""
        if self.state is not None:
            return self.state
        if self.proc is None:
            raise FakeSystemError("the fake ML system was not started")
        deadline = time.monotonic() + timeout
        text = ""
        # the state is indented JSON: read lines until they parse
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise FakeSystemError(f"the fake ML system did not start: {self._log_tail()}")
            text += line
            try:
                self.state = json.loads(text)
                return self.state
            except json.JSONDecodeError:
                continue
        raise FakeSystemError(f"the fake ML system did not report its ports in {timeout:g}s")

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return lines[-1] if lines else f"exit code {self.proc.poll() if self.proc else None}"

    def url(self, service: str) -> str:
        return self.wait_ready()["services"][service]["url"]

    @property
    def control_url(self) -> str:
        state = self.wait_ready()
        first = next(iter(state["services"].values()))["url"]
        return first.rsplit(":", 1)[0] + f":{state['control_port']}"

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the child's signal to stop
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        proc.stdout.close()
