"""Team mode on PostgreSQL, against a throwaway cluster this script starts and stops itself.

appends  - 8 writer processes appending notes to one incident through the service
           (Session.incidents.note), against 8 raw psycopg processes doing the same locked
           insert (SELECT ... FOR UPDATE of the incident, INSERT of the event with the next seq
           and its hash, UPDATE of the head, COMMIT); fsync on; rounds interleaved
latency  - from a writer's commit to another terminal (`incident timeline INC --follow --json`,
           a subprocess) printing the event, over N notes appended one at a time: with NOTIFY,
           and with the fallback poll alone (MLOPS_ONCALL_BENCH_NO_LISTEN=1)
idle     - statements an idle headless TUI sends, per minute, on the dashboard and on an
           incident screen (log_statement=all on its own cluster, counted per application_name)

  python bench/bench_team.py [appends|latency|idle|all] [--repeat 3] [--writers 8]
                             [--notes 50] [--idle-s 60]

Needs the PostgreSQL server binaries (tests/pgcluster.py finds them) and the postgres extra.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.pgcluster, when run as `python bench/bench_team.py`

from tests import pgcluster  # noqa: E402

TUI_APP = "mlops-oncall tui"  # PGAPPNAME of the idle TUI's own connections


# -- helpers ---------------------------------------------------------------------------------
def session_for(url: str, actor: str = "bench"):
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    workspace = load_workspace(None)
    workspace.as_actor = actor
    return Session(workspace, database_url=url)


def new_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rpartition("/")[0] + f"/{name}"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def span(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(min(values))}-{fmt.format(max(values))} (median {fmt.format(statistics.median(values))})"


# -- appends ---------------------------------------------------------------------------------
def worker(mode: str, url: str, ref: str, actor: str, count: int) -> None:
    """One writer: warms up with one append, says ready, waits for go, appends ``count``
    notes and prints its start and end (monotonic: one clock for every process)."""
    if mode == "ours":
        session = session_for(url, actor)
        session.incidents.note(ref, f"{actor} warm-up")

        def append(i: int) -> None:
            session.incidents.note(ref, f"{actor} note {i}")
    else:
        import psycopg

        from mlops_oncall.formats.refs import parse_ref
        from mlops_oncall.store.timeline import GENESIS, event_hash
        from mlops_oncall.store.types import ts_text

        iid = parse_ref(ref)
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

        def append(i: int) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT head_seq, head_hash FROM incident WHERE id = %s FOR UPDATE", (iid,)
                )
                seq, prev = cur.fetchone()
                seq, prev = seq + 1, prev or GENESIS
                ts = ts_text(datetime.now(UTC))
                text = f"{actor} note {i}"
                digest = event_hash(ref, seq, ts, actor, "note", text, "{}", prev)
                cur.execute(
                    "INSERT INTO event (incident_id, seq, ts, actor, kind, text, data, "
                    "prev_hash, hash) VALUES (%s, %s, %s, %s, 'note', %s, '{}', %s, %s)",
                    (iid, seq, ts, actor, text, prev, digest),
                )
                cur.execute(
                    "UPDATE incident SET head_seq = %s, head_hash = %s, updated_at = %s "
                    "WHERE id = %s",
                    (seq, digest, ts, iid),
                )
            conn.commit()

        append(-1)
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    for i in range(count):
        append(i)
    print(f"{t0} {time.monotonic()}", flush=True)


def append_round(mode: str, url: str, writers: int, notes: int) -> float:
    """Appends per second of ``writers`` processes on a new incident."""
    with closing(session_for(url)) as s:
        ref = s.incidents.declare(f"bench {mode}", "SEV3").id
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "_worker", mode, url, ref, f"w{n}", str(notes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", f"{mode} writer did not start"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    spans = []
    for p in procs:
        start, end = map(float, p.stdout.readline().split())
        spans.append((start, end))
        if p.wait() != 0:
            raise SystemExit(f"a {mode} writer failed")
    check_chain(url, ref, writers * (notes + 1))
    elapsed = max(e for _, e in spans) - min(s for s, _ in spans)
    return writers * notes / elapsed


def check_chain(url: str, ref: str, appended: int) -> None:
    """The round's appends all landed, gapless (and ours verify as a chain)."""
    import psycopg

    from mlops_oncall.formats.refs import parse_ref

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        n, top, notes = conn.execute(
            "SELECT count(*), max(seq), count(*) FILTER (WHERE kind = 'note') FROM event "
            "WHERE incident_id = %s",
            (parse_ref(ref),),
        ).fetchone()
    if n != top or notes != appended:
        raise SystemExit(f"{ref}: {n} events, max seq {top}, {notes} notes of {appended}")


def bench_appends(admin_url: str, args) -> None:
    url = new_database(admin_url, "bench_appends")
    with closing(session_for(url)) as s:
        s.incidents  # noqa: B018 - creates the schema
    ours, raw = [], []
    for r in range(args.repeat):
        order = ("ours", "raw") if r % 2 == 0 else ("raw", "ours")
        for mode in order:
            rate = append_round(mode, url, args.writers, args.notes)
            (ours if mode == "ours" else raw).append(rate)
            print(f"  round {r + 1} {mode:>4}: {rate:7.0f} appends/s", flush=True)
    ratios = [o / w for o, w in zip(ours, raw, strict=True)]
    print(f"appends ({args.writers} writers x {args.notes} notes, fsync on)")
    print(f"  ours  {span(ours)} /s")
    print(f"  raw   {span(raw)} /s")
    print(f"  ratio {span(ratios, '{:.2f}')}x (target >= 0.3x)")


# -- latency ---------------------------------------------------------------------------------
def follow_latencies(url: str, notes: int, listen: bool) -> list[float]:
    """Seconds from each note's commit to the follower printing it."""
    from mlops_oncall.store.live import FALLBACK_S, NO_LISTEN_ENV

    env = {**os.environ, "MLOPS_ONCALL_DATABASE": url, "MLOPS_ONCALL_ACTOR": "follower"}
    env.pop(NO_LISTEN_ENV, None)
    if not listen:
        env[NO_LISTEN_ENV] = "1"
    rng = random.Random(16)
    with closing(session_for(url, "writer")) as s:
        ref = s.incidents.declare("bench follow", "SEV3").id
        head = s.incidents.events(ref)[-1].seq
        follower = subprocess.Popen(
            ["mlops-oncall", "incident", "timeline", ref, "--follow", "--json"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        lines: queue.Queue[tuple[float, str]] = queue.Queue()

        def read() -> None:
            for line in follower.stdout:
                lines.put((time.monotonic(), line))

        threading.Thread(target=read, daemon=True).start()

        def seq_of(line: str) -> int:
            return int(re.search(r'"seq": ?(\d+)', line).group(1))

        def until(seq: int) -> float:
            while True:
                at, line = lines.get(timeout=30)
                if seq_of(line) == seq:
                    return at

        until(head)  # what existed; printed before its watcher starts
        s.incidents.note(ref, "warm-up")  # printed only once the watcher is in place
        until(head + 1)
        out = []
        # a random pause before each note, so commits fall anywhere in the poll's period
        pause = FALLBACK_S if not listen else 0.25
        for i in range(notes):
            time.sleep(rng.uniform(0, pause))
            seq = s.incidents.note(ref, f"note {i}").seq
            committed = time.monotonic()
            out.append(until(seq) - committed)
        follower.terminate()
        follower.wait(timeout=10)
    return out


def bench_latency(admin_url: str, args) -> None:
    url = new_database(admin_url, "bench_latency")
    with closing(session_for(url)) as s:
        s.incidents  # noqa: B018
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for r in range(args.repeat):
        for listen in (True, False) if r % 2 == 0 else (False, True):
            got = follow_latencies(url, args.notes, listen)
            p50, p95 = pct(got, 50) * 1000, pct(got, 95) * 1000
            results[listen].append((p50, p95))
            name = "NOTIFY" if listen else "poll"
            print(f"  round {r + 1} {name:>6}: p50 {p50:6.0f} ms  p95 {p95:6.0f} ms", flush=True)
    print(f"event to another terminal ({args.notes} notes per round)")
    for listen, target in ((True, "p95 <= 1000 ms, p50 well under 250"), (False, "p95 <= 2500")):
        name = "NOTIFY" if listen else "fallback poll only"
        p50s = [a for a, _ in results[listen]]
        p95s = [b for _, b in results[listen]]
        print(f"  {name}: p50 {span(p50s)} ms, p95 {span(p95s)} ms (target {target})")


# -- idle TUI --------------------------------------------------------------------------------
LOG_LINE = re.compile(
    r"^\S+ \S+ \S+ \[\d+\] (?P<app>[^:]*): LOG:  (?:statement|execute [^:]*): (?P<sql>.*)"
)


def statements(log: Path, offset: int) -> tuple[Counter, Counter]:
    """Statements logged after ``offset``: per application_name, and per (app, statement)."""
    per_app, per_sql = Counter(), Counter()
    with log.open(errors="replace") as f:
        f.seek(offset)
        for line in f:
            m = LOG_LINE.match(line)
            if m:
                sql = " ".join(m["sql"].split()[:6])
                per_app[m["app"]] += 1
                per_sql[(m["app"], sql)] += 1
    return per_app, per_sql


async def idle_round(url: str, log: Path, seconds: float, tmp: Path) -> dict[str, Counter]:
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session
    from mlops_oncall.ui.app import OncallApp
    from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
    from mlops_oncall.ui.screens.incident import IncidentScreen

    async def wait(pilot, condition) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("the TUI did not get there")
            await pilot.pause(0.05)

    session = Session(load_workspace(make_workspace(tmp, FIXED_CHECKS)), database_url=url)
    inc = session.incidents.declare("Idle bench", "SEV2", service="fraud-scoring").id
    session.deploys.record("fraud-scoring", "v1", "model", "succeeded")
    app = OncallApp(session, live=False)  # no probes: the store's traffic only
    out = {}
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait(pilot, lambda: app.ready and app.live_changes is not None)
            await pilot.pause(1.0)  # let the first reads finish: they are not idle traffic
            mark = log.stat().st_size
            await asyncio.sleep(seconds)
            out["dashboard"] = statements(log, mark)
            app.open_incident(inc)
            await wait(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.view)
            await pilot.pause(1.0)
            mark = log.stat().st_size
            await asyncio.sleep(seconds)
            out["incident"] = statements(log, mark)
    finally:
        session.close()
    return out


def bench_idle(log_url: str, log: Path, args) -> None:
    os.environ["PGAPPNAME"] = TUI_APP  # the store's pool; the watcher names itself
    per_min: dict[str, list[Counter]] = {"dashboard": [], "incident": []}
    for r in range(args.repeat):
        url = new_database(log_url, f"bench_idle_{r}")
        with tempfile.TemporaryDirectory() as tmp:
            got = asyncio.run(idle_round(url, log, args.idle_s, Path(tmp)))
        for screen, (per_app, per_sql) in got.items():
            scaled = Counter({k: v * 60 / args.idle_s for k, v in per_app.items()})
            per_min[screen].append(scaled)
            detail = ", ".join(f"{app or '?'} {n:.0f}" for app, n in sorted(scaled.items()))
            print(f"  round {r + 1} {screen:>9}: {sum(scaled.values()):4.0f}/min ({detail})")
            for (app, sql), n in sorted(per_sql.items()):
                print(f"      {n:4d} x {app}: {sql}")
    print(f"idle TUI on PostgreSQL, statements per minute ({args.idle_s:.0f} s per screen)")
    for screen, rounds in per_min.items():
        apps = sorted({a for c in rounds for a in c})
        totals = [sum(c.values()) for c in rounds]
        parts = "; ".join(f"{a or '?'} {span([c.get(a, 0) for c in rounds])}" for a in apps)
        print(f"  {screen}: {span(totals)} ({parts})")


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        mode, url, ref, actor, count = sys.argv[2:]
        worker(mode, url, ref, actor, int(count))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="all", choices=["appends", "latency", "idle", "all"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--notes", type=int, default=50)
    ap.add_argument("--idle-s", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
        durable, logged = Path(tmp) / "durable", Path(tmp) / "logged"
        try:
            if args.what in ("appends", "latency", "all"):
                url = pgcluster.start(durable, durable=True)
                print(f"cluster (fsync on): {url}", flush=True)
                if args.what in ("appends", "all"):
                    bench_appends(url, args)
                if args.what in ("latency", "all"):
                    bench_latency(url, args)
            if args.what in ("idle", "all"):
                settings = {"log_statement": "all", "log_line_prefix": "'%m [%p] %a: '"}
                url = pgcluster.start(logged, settings=settings)
                print(f"cluster (log_statement=all): {url}", flush=True)
                bench_idle(url, logged / "log", args)
        finally:
            pgcluster.stop(durable)
            pgcluster.stop(logged)


if __name__ == "__main__":
    main()
