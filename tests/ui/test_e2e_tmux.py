"""End to end: `mlops-oncall demo` in a real terminal (tmux), driven with send-keys and read
with capture-pane, as a new user would meet it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest

from tests.conftest import console_script

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)


class Tmux:
    def __init__(self, env: dict[str, str]):
        self.name = f"oncall-{uuid.uuid4().hex[:8]}"
        self.env = env

    def start(self, command: list[str]) -> None:
        env_args = [f"{k}={v}" for k, v in self.env.items()]
        subprocess.run(
            # COLUMNS/LINES from the test runner would override the terminal's real size
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "160",
                "-y",
                "45",
                "env",
                "-u",
                "COLUMNS",
                "-u",
                "LINES",
                *env_args,
                *command,
            ],
            check=True,
        )
        # a detached session may take the server's default size; pin it
        subprocess.run(
            ["tmux", "resize-window", "-t", self.name, "-x", "160", "-y", "45"], capture_output=True
        )

    def screen(self) -> str:
        p = subprocess.run(
            ["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True
        )
        return p.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """Poll the screen until ``text`` shows (the terminal is the condition)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux(tmp_path):
    env = {
        "MLOPS_ONCALL_DATA_DIR": str(tmp_path / "data"),
        "MLOPS_ONCALL_CACHE_DIR": str(tmp_path / "cache"),
        "MLOPS_ONCALL_ACTOR": "e2e",
        "TERM": "xterm-256color",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PATH": os.environ.get("PATH", ""),
    }
    t = Tmux(env)
    yield t
    t.kill()


def test_demo_story_end_to_end(tmux, tmp_path):
    tmux.start([console_script(), "demo", "--delay", "1"])
    tmux.wait_for("fraud.model-ready")
    tmux.wait_for("What changed")
    # the story: a rollout, the model server slows, a check goes down, a runbook is suggested
    screen = tmux.wait_for("DOWN", timeout=90)
    assert "v43" in screen
    screen = tmux.wait_for("Suggested runbook", timeout=30)
    tmux.keys("Down")  # from fraud.live to fraud.ready
    tmux.keys("d")
    tmux.wait_for("Declare an incident from fraud.")
    tmux.keys("C-s")
    screen = tmux.wait_for("1. What changed in the last two hours?", timeout=30)  # the stepper
    assert "step 1 of 12" in screen
    tmux.keys("d")
    tmux.wait_for("step 2 of")
    tmux.keys("Escape")
    tmux.wait_for("Timeline")
    screen = tmux.wait_for("step_done")  # the incident screen refreshes its timeline live
    assert "runbook_attached" in screen
    # and the record is in the demo's own database, with an intact chain
    db = tmp_path / "data" / "demo" / "demo.db"
    env = dict(os.environ, MLOPS_ONCALL_DATABASE=str(db))
    out = subprocess.run(
        [console_script(), "incident", "verify", "INC-0003"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "chain intact" in out.stdout
    tmux.keys("q")
