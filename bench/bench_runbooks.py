"""Runbook library load speed: 1,000 generated runbooks (~15 steps, ~3 KB each).

Compares, in the same run:
  bare  - yaml.load(text, CSafeLoader) of every file (the floor: parsing alone)
  cold  - Library.load with no cache: located parse + schema validation + flow checks
  warm  - Library.load with the parsed cache filled (keyed on path, mtime, size)

    python bench/bench_runbooks.py [--n 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from mlops_oncall.runbooks.cache import ParsedCache
from mlops_oncall.runbooks.library import Library

KINDS = ["diagnose", "diagnose", "mitigate", "verify", "communicate"]


def make_runbook(i: int, rng: random.Random) -> str:
    steps = []
    n = 15
    for j in range(n):
        sid = f"step-{j}"
        if j == 3:
            steps.append(
                f"""  - id: {sid}
    title: Was there a rollout of model {i} before the spike?
    kind: decide
    question: Did the latency rise within ten minutes of a deploy of service {i}?
    choices:
      - {{label: "Yes", next: step-4}}
      - {{label: "No", next: step-5}}
"""
            )
            continue
        nxt = "\n    next: step-6" if j == 4 else ""
        steps.append(
            f"""  - id: {sid}
    title: Check part {j} of svc {i} for {rng.choice(["latency", "errors", "drift", "nulls"])}
    kind: {KINDS[j % len(KINDS)]}
    command: kubectl logs deploy/svc-{i} --since=10m | grep -c ERROR
    expect: {{healthy: "under 5", unhealthy: "hundreds"}}{nxt}
"""
        )
    return f"""id: rb-{i:04d}
title: Generated runbook {i} about {rng.choice(["latency", "memory", "drift", "freshness"])}
category: {rng.choice(["serving", "data", "pipeline", "quality", "release", "cost"])}
severity: SEV{rng.randint(1, 4)}
owner: team-{i % 7}
last_validated: 2026-11-01
triggers: {{checks: [svc-{i}.ready], alerts: [Alert{i}High], error_classes: [timeout]}}
meaning: Service {i} is slower than its SLO.
impact: Callers of service {i} time out and fall back.
symptoms: ["p99 above SLO", "queue grows"]
steps:
{"".join(steps)}escalation: {{after: 30m, to: secondary-{i % 3}}}
"""


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runbooks"
        folder.mkdir()
        for i in range(args.n):
            (folder / f"rb-{i:04d}.yaml").write_text(make_runbook(i, rng))
        files = sorted(folder.glob("*.yaml"))
        size = sum(f.stat().st_size for f in files) / len(files)
        lib = Library.load(paths=[folder])
        assert not lib.errors, lib.errors[:3]
        assert len(lib.entries) == args.n
        steps = sum(len(e.runbook.steps) for e in lib.entries.values()) / args.n
        cache_file = Path(tmp) / "cache.pickle"

        def bare():
            for f in files:
                yaml.load(f.read_text(), Loader=yaml.CSafeLoader)

        def cold():
            Library.load(paths=[folder])

        def warm():
            Library.load(paths=[folder], cache=ParsedCache(cache_file))

        warm()  # fill the cache
        rows = {"bare": [], "cold": [], "warm": []}
        for _ in range(args.repeat):  # interleaved, so machine noise hits all three alike
            rows["bare"].append(timed(bare))
            rows["cold"].append(timed(cold))
            rows["warm"].append(timed(warm))
        med = {k: statistics.median(v) for k, v in rows.items()}
        print(
            f"{args.n} runbooks, {steps:.0f} steps and {size / 1024:.1f} KB each; median of {args.repeat}"
        )
        print(f"  bare CSafeLoader parse : {med['bare']:.3f} s")
        print(
            f"  cold load + validate   : {med['cold']:.3f} s  ({med['cold'] / med['bare']:.2f}x bare; target <= 1.3x)"
        )
        print(
            f"  warm load (cache)      : {med['warm']:.3f} s  (target <= 0.5 s; {med['warm'] / med['bare']:.2f}x bare)"
        )


if __name__ == "__main__":
    main()
