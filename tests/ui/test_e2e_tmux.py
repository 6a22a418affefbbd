"""End to end: the installed `mlops-oncall demo` in a real terminal (tmux), driven with send-keys
and read with capture-pane, as a new responder would meet it, at 160x45 and at 80x24.

The whole flow: the alarm (a fraud check goes down), declare, triage with a decision, the rollback
step that really heals the fake model server (its checks come back up), acknowledge, mitigate
and resolve (answering the "something unfinished" question), the postmortem and its export. Then
the record is read back from disk and through the CLI. Every wait polls the screen (or the
filesystem) against a generous deadline: the machine may be loaded, and nothing sleeps to sync.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import console_script

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
    ),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

WAIT = 90.0  # per screen condition; generous for a loaded 2-core machine
RUNBOOK = "model-latency-spike"  # the demo's fraud checks name it


class Tmux:
    """One pane on a private tmux server (its own socket: never the user's or another test's)."""

    def __init__(self, socket: Path, width: int, height: int):
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]
        self.target = "e2e"
        self.width, self.height = width, height
        self.screens: list[tuple[str, str]] = []  # (moment, screen) for a failure's message

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, check=check, timeout=30
        )

    def start(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        # env -i: only what the test names reaches the app (not the runner's COLUMNS/LINES,
        # XDG dirs or MLOPS_ONCALL_* settings). A shell runs the app and writes its exit
        # status to a file: tmux's own #{pane_dead_status} came back empty on loaded CI
        # machines even after the pane was dead, so the status is read from the shell.
        self.status_file = cwd / "e2e-exit-status"
        self._tmux(
            "new-session", "-d", "-s", self.target, "-x", str(self.width), "-y",
            str(self.height), "-c", str(cwd),
            "env", "-i", *(f"{k}={v}" for k, v in env.items()),
            "/bin/sh", "-c", '"$@"; echo $? > "$0"', str(self.status_file), *command,
            # in the same command queue, so even an app that dies at once leaves its pane
            ";", "set-option", "-g", "remain-on-exit", "on",
        )  # fmt: skip
        self._tmux(
            "resize-window", "-t", self.target, "-x", str(self.width), "-y", str(self.height)
        )
        size = self._tmux(
            "display-message", "-p", "-t", self.target, "#{pane_width}x#{pane_height}"
        )
        assert size.stdout.strip() == f"{self.width}x{self.height}", size.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.target, check=False).stdout

    def printed(self) -> str:
        """What the process printed to the terminal: history included, wrapped lines joined."""
        p = self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.target, check=False)
        return p.stdout

    def dead(self) -> bool:
        p = self._tmux("display-message", "-p", "-t", self.target, "#{pane_dead}", check=False)
        return p.stdout.strip() == "1"

    def exit_status(self) -> str:
        """The app's exit status as its shell saw it ("0"), or what is known when none came."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.status_file.is_file() and self.status_file.read_text().strip():
                return self.status_file.read_text().strip()
            time.sleep(0.1)  # a poll interval for the file, not a synchronisation
        pid = self._tmux("display-message", "-p", "-t", self.target, "#{pane_pid}").stdout
        ps = subprocess.run(
            ["ps", "-o", "pid,stat,wchan:20,etime,args", "--ppid", pid.strip(), "-p", pid.strip()],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return f"no exit status after {WAIT:.0f}s; the pane's processes:\n{ps.stdout}"

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.target, *keys)

    def wait(self, what: str, condition, timeout: float = WAIT) -> str:
        """Poll the screen until ``condition(screen)`` holds; fail with the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                self.screens.append((what, screen))
                return screen
            if self.dead() or time.monotonic() >= deadline:
                screen = self.screen()  # what a process printed as it exited
                if condition(screen):
                    self.screens.append((what, screen))
                    return screen
                raise AssertionError(
                    f"waited {timeout:.0f}s for {what}; the app "
                    f"{'exited' if self.dead() else 'is still running'}; the screen was:\n{screen}"
                )
            time.sleep(0.2)  # a poll interval, not a synchronisation

    def wait_for(self, text: str, timeout: float = WAIT) -> str:
        return self.wait(repr(text), lambda s: text in s, timeout)

    def wait_re(self, pattern: str, timeout: float = WAIT) -> re.Match:
        screen = self.wait(f"/{pattern}/", lambda s: re.search(pattern, s) is not None, timeout)
        return re.search(pattern, screen)

    def kill(self) -> None:
        self._tmux("kill-server", check=False)


def wait_path(path: Path, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.2)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, env=env, timeout=120
    )


def cli_json(env: dict[str, str], *args: str):
    p = cli(env, *args)
    assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def path_to_rollback(runbook: dict) -> tuple[list[dict], int, dict]:
    """The steps marked done before the first decision, the choice (1-based) that leads to the
    rollback, and the rollback step: read from the runbook itself, so a reworded step does not
    break the walk."""
    steps = runbook["steps"]
    by_id = {s["id"]: s for s in steps}
    before: list[dict] = []
    for step in steps:
        if step["kind"] == "decide":
            for n, choice in enumerate(step["choices"], 1):
                if "rollback" in choice["next"] or "roll-back" in choice["next"]:
                    return before, n, by_id[choice["next"]]
            break
        before.append(step)
    raise AssertionError(f"{runbook['id']} has no decision leading to a rollback step")


def marker(step: dict) -> str:
    """How the triage screen heads a step: "Mitigate · rollback"."""
    return f"{step['kind'].capitalize()} · {step['id']}"


def selected_down(screen: str) -> str | None:
    """The dashboard's selected check (the cursor starts on the first one, a fraud check) when
    its detail panel says DOWN."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if "Selected check" in line and i + 1 < len(lines):
            words = lines[i + 1].strip("│ ").split()
            below = " ".join(lines[i + 2 : i + 4])
            if words and words[0].startswith("fraud.") and "DOWN" in below:
                return words[0]
    return None


def status_is(status: str) -> str:
    return rf"INC-\d{{4}}\s+SEV\d\s+{status}\b"


def answer_unfinished(tmux: Tmux, key: str, verb: str, status: str) -> None:
    """Press ``key``; when the app asks about unfinished things, go ahead (y)."""
    tmux.keys(key)
    tmux.wait(
        f"{verb}: the question or the status",
        lambda s: f"{verb} anyway" in s or re.search(status_is(status), s) is not None,
    )
    # a key sent while the dialog is still mounting can be lost on a loaded machine: answer
    # again while the question is still on screen (bounded: three tries)
    for _ in range(3):
        if f"{verb} anyway" not in tmux.screen():
            break
        tmux.keys("y")
        with contextlib.suppress(AssertionError):
            tmux.wait(
                f"{verb}: the answer taken",
                lambda s: f"{verb} anyway" not in s,
                timeout=15,
            )
    tmux.wait_re(status_is(status))


@pytest.mark.parametrize("size", [(160, 45), (80, 24)], ids=["160x45", "80x24"])
def test_demo_responder_flow_end_to_end(tmp_path, size):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env = {
        "HOME": str(home),
        "MLOPS_ONCALL_DATA_DIR": str(data),
        "MLOPS_ONCALL_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
    }
    runbook = cli_json(env, "runbook", "show", RUNBOOK, "--json")
    before, choice, rollback = path_to_rollback(runbook)

    tmux = Tmux(tmp_path / "tmux.sock", *size)
    try:
        tmux.start([console_script(), "demo", "--delay", "1"], env, cwd=tmp_path)
        tmux.wait_for("you: demo-responder")

        # the alarm: v43 rolls out, the model server slows, the selected fraud check goes DOWN
        # (not only degraded: its recovery is then a down -> up crossing on the timeline)
        check = selected_down(tmux.wait("the selected fraud check DOWN", selected_down))
        tmux.keys("d")
        tmux.wait_for(f"Declare an incident from {check}")
        tmux.keys("C-s")

        # triage: the runbook's first steps done, the decision, the rollback step done
        incident = tmux.wait_re(r"(INC-\d{4})\s+SEV\d\s+triage").group(1)
        for step in before:
            tmux.wait_for(marker(step))
            tmux.keys("d")
        decide = next(s for s in runbook["steps"] if s["kind"] == "decide")
        tmux.wait_for(marker(decide))
        tmux.keys(str(choice))
        tmux.wait_for(marker(rollback))
        tmux.keys("d")
        tmux.wait_for(f"{rollback['id']}: done")

        # the story rolls the fake model back: the incident's checks come back up, live
        tmux.keys("Escape")
        tmux.wait_for("─ Timeline")
        tmux.wait(
            f"{check} up again, and no fraud check down",
            lambda s: (
                re.search(rf"up\s+{re.escape(check)}\b", s) is not None
                and re.search(r"DOWN\s+fraud\.", s) is None
            ),
        )

        tmux.keys("a")  # triage -> investigating: mitigate is refused from triage
        tmux.wait_re(status_is("investigating"))
        answer_unfinished(tmux, "m", "Mitigate", "mitigated")
        answer_unfinished(tmux, "R", "Resolve", "resolved")

        # the postmortem, exported
        tmux.keys("P")
        tmux.wait_for(f"Postmortem of {incident}")
        tmux.keys("C-e")
        exported = data / "postmortems" / f"{incident}.md"
        wait_path(exported)
        # and the export says so before we leave: leaving while it runs crashes the TUI
        # (its worker reaches the popped screen's app: NoActiveAppError, exit 0)
        tmux.wait_for("Wrote")

        # leave the way a user does; the app says where the demo's database is
        tmux.keys("Escape")
        tmux.wait_re(status_is("resolved"))
        tmux.keys("Escape")
        tmux.wait_for("Selected check")  # the dashboard
        tmux.keys("q")
        tmux.wait("the app to exit", lambda s: tmux.dead())
        last = tmux.printed()
        assert "demo database:" in last and "Error" not in last, last
        assert tmux.exit_status() == "0", last
    except AssertionError as e:
        seen = "\n".join(f"--- after {what}:\n{screen}" for what, screen in tmux.screens[-3:])
        raise AssertionError(f"{e}\n\nthe last screens that matched:\n{seen}") from None
    finally:
        tmux.kill()

    # the exported postmortem tells the rollback
    text = exported.read_text()
    assert f"`{rollback['id']}`" in text and "v43" in text and "rolled_back" in text, text

    # the record, read back through the CLI from the demo's own database
    db_env = dict(env, MLOPS_ONCALL_DATABASE=str(data / "demo" / "demo.db"))
    verify = cli(db_env, "incident", "verify", incident)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "chain intact" in verify.stdout

    record = cli_json(db_env, "incident", "show", incident, "--json")
    assert record["status"] == "resolved"
    assert record["declared_from_check"] == check
    milestones = record["milestones"]
    for name in ("detected", "declared", "acknowledged", "mitigated", "resolved"):
        assert milestones[name] is not None, (name, milestones)
    assert milestones["detected"]["source"] == "check"
    assert (
        milestones["detected"]["at"]
        <= milestones["declared"]["at"]
        <= milestones["mitigated"]["at"]
        <= milestones["resolved"]["at"]
    ), milestones
    outcomes = record["runbook"]["outcomes"]
    assert outcomes[decide["id"]]["outcome"] == "decided"
    assert outcomes[decide["id"]]["choice"] == decide["choices"][choice - 1]["label"]
    assert outcomes[rollback["id"]]["outcome"] == "done"

    # the recovery is on the timeline, and mitigate/resolve recorded the answer to the question
    events = cli_json(db_env, "incident", "timeline", incident, "--json")
    assert any(
        e["kind"] == "check_transition"
        and e["data"]["check"] == check
        and (e["data"]["from"], e["data"]["to"]) == ("down", "up")
        for e in events
    ), [e["text"] for e in events]
    moves = {
        (e["data"]["from"], e["data"]["to"]): e for e in events if e["kind"] == "status_changed"
    }
    assert "proceeded despite" in (moves[("investigating", "mitigated")]["data"]["note"] or "")

    deploys = cli_json(db_env, "deploy", "list", "--json")
    v43 = [d for d in deploys if d["service"] == "fraud-scoring" and d["version"] == "v43"]
    assert [(d["outcome"], d["incident"], d["rolled_back_to"]) for d in v43] == [
        ("rolled_back", incident, "v42")
    ], v43
