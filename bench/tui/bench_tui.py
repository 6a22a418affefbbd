"""TUI speed in a real terminal: a detached tmux session of fixed size, timed until a marker is
on screen, against a hello-world Textual app measured in the same run.

    python bench/tui/bench_tui.py [--repeat 5] [--big] [--soak SECONDS]

Figures (medians; ratios to hello world's first frame):
  demo first frame            `mlops-oncall demo --calm` until the Checks panel is drawn
  every check polled          ... until every demo check row shows a polled state
  big first frame             1,000 checks, 1,000 runbooks, a 50,000-event incident
  cursor redraw               a Down key until the screen changes, while 1,000 checks poll:
                              during their first round, and at the steady rate after it
  peak RSS                    of the app process over its first seconds (15 s for 1,000
                              checks), against hello world's over 3 s
  RSS growth                  between minute 1 and the end of --soak (default 600 s)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLS, ROWS = 160, 45


class Session:
    def __init__(self, command: list[str], env: dict[str, str]):
        self.name = f"bench-{uuid.uuid4().hex[:6]}"
        args = [f"{k}={v}" for k, v in env.items()]
        cmd = [
            "tmux",
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(COLS),
            "-y",
            str(ROWS),
            "env",
            "-u",
            "COLUMNS",
            "-u",
            "LINES",
            *args,
            *command,
        ]
        for _ in range(5):  # the tmux server may be exiting after the last session was killed
            if subprocess.run(cmd, capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("tmux would not start a session")

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True
        ).stdout

    def pid(self) -> int:
        out = subprocess.run(
            ["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
        ).stdout
        return int(out.split()[0])

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def until(self, predicate, timeout: float = 60.0, step: float = 0.01) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if predicate(self.screen()):
                return time.perf_counter() - start
            time.sleep(step)
        raise TimeoutError(self.screen()[-2000:])

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def rss_kib(pid: int) -> int:
    """Resident set of the pane's process tree (the shell `env` execs into the app)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def peak_rss(s: Session, seconds: float) -> int:
    """The largest resident set seen over ``seconds`` (a 1,000-check first round is spread over
    10 s, and the store and the runbooks open after it)."""
    pid, peak = s.pid(), 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.25)
    return peak


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    kids = [int(x) for x in out]
    return kids + [g for k in kids for g in _children(k)]


def first_frame(command, marker, env, *, rss: bool = False) -> tuple[float, int]:
    s = Session(command, env)
    try:
        t = s.until(lambda scr: marker(scr))
        peak = 0
        if rss:
            peak = peak_rss(s, 3.0)
        return t, peak
    finally:
        s.kill()


def cursor_moves(s: Session, n: int = 20) -> list[float]:
    """Seconds from a Down key to a changed screen, sorted."""
    moves = []
    for _ in range(n):
        before = s.screen()
        start = time.perf_counter()
        s.keys("Down")
        s.until(lambda scr, b=before: scr != b, timeout=10, step=0.002)
        moves.append(time.perf_counter() - start)
    return sorted(moves)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="also the 1,000-check workspace")
    ap.add_argument(
        "--soak", type=float, default=0, help="seconds of polling for the RSS growth figure"
    )
    a = ap.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is needed")
    # bytecode, as `pip install` leaves it: an editable install under PYTHONDONTWRITEBYTECODE=1
    # would compile every module of the package on every start (40-60 ms of each figure)
    import compileall

    import mlops_oncall

    compileall.compile_dir(Path(mlops_oncall.__file__).parent, quiet=1)
    exe = str(Path(sys.executable).parent / "mlops-oncall")
    tmp = Path(tempfile.mkdtemp())
    env = {
        "MLOPS_ONCALL_DATA_DIR": str(tmp / "data"),
        "MLOPS_ONCALL_CACHE_DIR": str(tmp / "cache"),
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp)),
    }
    hello_cmd = [sys.executable, str(HERE / "hello.py")]
    demo_cmd = [exe, "demo", "--calm"]

    rows = {"hello": [], "demo": [], "polled": []}
    hello_rss = demo_rss = 0
    for _ in range(a.repeat):  # interleaved, so machine noise hits all alike
        t, r = first_frame(hello_cmd, lambda s: "HELLO-READY" in s, env, rss=True)
        rows["hello"].append(t)
        hello_rss = max(hello_rss, r)
        t, _ = first_frame(demo_cmd, lambda s: "Checks" in s and "State" in s, env)
        rows["demo"].append(t)
        s = Session(demo_cmd, env)
        try:
            # every check row shows a polled state: confirmed, or provisional ("▲ degraded?")
            rows["polled"].append(
                s.until(
                    lambda scr: "model-registry.ready" in scr and "unknown" not in scr, timeout=60
                )
            )
            demo_rss = max(demo_rss, peak_rss(s, 3.0))
        finally:
            s.kill()
    med = {k: statistics.median(v) for k, v in rows.items()}
    h = med["hello"]
    print(f"hello world first frame : {h:.3f} s (median of {a.repeat})")
    print(
        f"demo first frame        : {med['demo']:.3f} s  ({med['demo'] / h:.2f}x hello; target <= 1.5x)"
    )
    print(
        f"every demo check polled : {med['polled']:.3f} s  ({med['polled'] / h:.2f}x hello; target <= 3x)"
    )
    print(
        f"peak RSS                : hello {hello_rss / 1024:.0f} MiB, demo {demo_rss / 1024:.0f} MiB ({demo_rss / max(hello_rss, 1):.2f}x)"
    )

    if not a.big:
        return
    from mlops_oncall.drills.fake.system import FakeSystem

    fake = FakeSystem().start()
    try:
        big = tmp / "big"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "make_workspace.py"),
                str(big),
                fake.url("fraud-scoring") + "/v2/health/ready",
            ],
            check=True,
        )
        big_env = env | {"MLOPS_ONCALL_CONFIG": str(big / "oncall.yaml")}
        big_cmd = [exe]
        firsts = []
        for _ in range(a.repeat):
            t, _ = first_frame(big_cmd, lambda s: "Checks" in s and "State" in s, big_env)
            firsts.append(t)
        bf = statistics.median(firsts)
        print(
            f"big first frame         : {bf:.3f} s  ({bf / med['demo']:.2f}x the demo's; target <= 2x)"
        )
        s = Session(big_cmd, big_env)
        try:
            s.until(lambda scr: "● up" in scr, timeout=120)
            during = cursor_moves(s)  # while the first round of 1,000 polls is going out
            peak = peak_rss(s, 15.0)  # the whole first round
            steady = cursor_moves(s)  # polling at its steady rate (33 polls/s)
            for label, moves in (("first round", during), ("steady", steady)):
                print(
                    f"cursor redraw ({label:11s}): median {statistics.median(moves) * 1000:.0f} ms, p90 {moves[int(len(moves) * 0.9) - 1] * 1000:.0f} ms (target <= 100 ms)"
                )
            peak = max(peak, rss_kib(s.pid()))
            print(
                f"big peak RSS            : {peak / 1024:.0f} MiB ({peak / max(hello_rss, 1):.2f}x hello; target <= 3x)"
            )
            if a.soak:
                time.sleep(60)
                one = rss_kib(s.pid())
                samples = [one]
                stop = time.monotonic() + a.soak - 60
                while time.monotonic() < stop:
                    time.sleep(30)
                    samples.append(rss_kib(s.pid()))
                print(
                    f"RSS minute 1 -> end     : {one / 1024:.0f} -> {samples[-1] / 1024:.0f} MiB ({(samples[-1] - one) / one * 100:+.1f}%; target <= +10%), peak {max(samples) / 1024:.0f} MiB"
                )
        finally:
            s.kill()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
