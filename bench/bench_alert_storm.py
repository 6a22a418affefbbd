"""An alert storm: 10,000 alerts in 500 Alertmanager webhook posts against a real
`mlops-oncall serve`, and the same posts against a bare aiohttp app whose one handler only
parses the JSON, in the same run, rounds interleaved.

    python bench/bench_alert_storm.py [--rounds 3] [--tui-rounds 1] [--senders 4]
                                      [--posts 500] [--no-tui] [--no-sqlite] [--profile FILE]

Figures (medians over rounds):
  throughput   alerts stored per second (every post answered 2xx, every distinct alert in the
               store afterwards), against alerts parsed per second by the bare app
  peak RSS     the daemon's VmHWM after the storm, beside its RSS once listening
  cursor       a headless TUI (its own process) open on the same store during the storm:
               a Down key in the checks table to the frame that shows the moved cursor, p90

The payloads are Alertmanager's webhook, version 4: 20 alerts a post, groups of 20 to about
90 alerts, each group's notifications sent in order while several groups are sent at once
(Alertmanager flushes each aggregation group on its own), later notifications repeating the
group's firing alerts and resolving some (with endsAt), as Alertmanager resends a group's
state. A third of the groups are `severity="critical"` and routed to declare an incident at
once (each alert an event on its hash-chained timeline); the rest wait in the inbox.

--senders N is how many posts are in flight at once (default 4, for figures comparable with
earlier runs). Alertmanager flushes every aggregation group from the group's own goroutine
(dispatch/dispatch.go: each aggrGroup runs its own timer and notifies on its own), and the
webhook integration posts each flush at once, so a storm of many groups has as many posts in
flight as groups due together: 16 is a modest figure for a storm of 160 groups. The bare app
gets the same senders.

SQLite always; PostgreSQL too when MLOPS_ONCALL_TEST_PG names a server (a database per round
is created there and dropped). `--profile FILE` runs one more storm with the daemon under
cProfile (every thread) and writes the stats to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).parent / "mlops-oncall")
PER_POST = 20
CHECKS = 300  # rows for the TUI's cursor to move over
RECEIVER = "oncall-webhook"

BARE_APP = """
import sys
from aiohttp import web

async def handle(request):
    await request.json()
    return web.json_response({})

app = web.Application(client_max_size=1024 * 1024)
app.router.add_post("/alertmanager", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


# -- payloads --------------------------------------------------------------------------------
def _fingerprint(labels: dict[str, str]) -> str:
    # Alertmanager's is a 64-bit hash of the label set, printed as 16 hex digits
    text = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def storm(posts: int, seed: int = 17) -> list[list[bytes]]:
    """The storm's bodies, one list per group (sent in order), ``posts`` in all."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    groups: list[list[bytes]] = []
    total = 0
    g = 0
    while total < posts:
        g += 1
        service = f"svc-{g % 23}"
        severity = "critical" if g % 3 == 0 else rng.choice(["warning", "info"])
        alertname = rng.choice(
            ["ModelLatencyHigh", "FeatureStoreErrors", "GPUMemoryPressure", "DriftScoreHigh"]
        )
        group_labels = {"alertname": alertname, "service": service}
        group_key = (
            '{}/{severity=~"^(?:'
            + severity
            + ')$"}:'
            + "{"
            + ", ".join(f'{k}="{v}"' for k, v in group_labels.items())
            + "}"
        )
        common = {**group_labels, "severity": severity, "job": "model-servers"}
        started = now - timedelta(minutes=rng.randint(5, 50))
        n_posts = min(rng.randint(1, 5), posts - total)
        firing: list[dict] = []
        serial = 0
        bodies = []
        for _ in range(n_posts):
            resolve = rng.sample(firing, rng.randint(0, min(4, len(firing)))) if firing else []
            for a in resolve:
                firing.remove(a)
            slots = PER_POST - len(resolve)
            repeats = rng.sample(firing, min(len(firing), rng.randint(0, slots // 2)))
            alerts = []
            for a in resolve:
                alerts.append(a | {"status": "resolved", "endsAt": _ts(now - timedelta(seconds=5))})
            alerts += repeats
            for _ in range(slots - len(repeats)):
                serial += 1
                labels = {**common, "instance": f"10.0.{g % 250}.{serial}:8080", "model": "ranker"}
                a = {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {
                        "summary": f"{alertname} on {labels['instance']}",
                        "description": "p99 latency above 250 ms for 5 minutes",
                        "runbook_url": "https://runbooks.example.com/model-latency",
                    },
                    "startsAt": _ts(started + timedelta(seconds=serial)),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                    "fingerprint": _fingerprint(labels),
                }
                alerts.append(a)
                firing.append(a)
            payload = {
                "version": "4",
                "groupKey": group_key,
                "truncatedAlerts": 0,
                "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
                "receiver": RECEIVER,
                "groupLabels": group_labels,
                "commonLabels": common,
                "commonAnnotations": {},
                "externalURL": "http://alertmanager:9093",
                "alerts": alerts,
            }
            bodies.append(json.dumps(payload).encode())
        groups.append(bodies)
        total += n_posts
    return groups


def distinct_alerts(groups: list[list[bytes]]) -> int:
    """What the store should hold afterwards: one row per (group, fingerprint, startsAt)."""
    seen = set()
    for i, bodies in enumerate(groups):
        for body in bodies:
            for a in json.loads(body)["alerts"]:
                seen.add((i, a["fingerprint"], a["startsAt"]))
    return len(seen)


async def send(url: str, groups: list[list[bytes]], senders: int) -> tuple[float, int]:
    """Seconds from the first post to the last answer, and the posts answered 2xx."""
    import aiohttp

    queue: asyncio.Queue[list[bytes]] = asyncio.Queue()
    for bodies in groups:
        queue.put_nowait(bodies)
    ok = 0
    headers = {"Content-Type": "application/json"}

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal ok
        while not queue.empty():
            for body in queue.get_nowait():  # a group's notifications, in order
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status // 100 == 2:
                        ok += 1
                    else:
                        print(f"  {r.status}: {(await r.text())[:200]}", file=sys.stderr)

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=senders), timeout=timeout
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(senders)))
        return time.perf_counter() - started, ok


# -- processes -------------------------------------------------------------------------------
def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    return 0


def _wait_line(proc: subprocess.Popen, marker: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise SystemExit(f"no {marker!r} from {proc.args}")


def _drain(proc: subprocess.Popen) -> None:
    """Read the request log on a thread, so a full pipe never blocks the daemon."""
    import threading

    threading.Thread(target=lambda: proc.stderr.read(), daemon=True).start()  # type: ignore[union-attr]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bare_round(groups, senders: int) -> dict:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(port)], stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_port(port)
        seconds, ok = asyncio.run(send(f"http://127.0.0.1:{port}/alertmanager", groups, senders))
        return {"seconds": seconds, "ok": ok, "hwm_kib": _status(proc.pid, "VmHWM")}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise SystemExit(f"nothing listening on {port}")


def workspace(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    (root / "oncall.yaml").write_text(
        "name: storm\nactor: bench\n"
        f"database: {json.dumps(url)}\n"
        "alerts:\n"
        "  routes:\n"
        "    - name: pages\n"
        "      matchers: ['severity=\"critical\"']\n"
        "      declare: true\n"
        "  declare: false\n"
    )
    checks = ["defaults: {interval: 30s, timeout: 1s}", "checks:"]
    for i in range(CHECKS):
        checks += [
            f"  - id: model-{i:03d}",
            f"    name: Model server {i:03d}",
            f"    url: http://127.0.0.1:9/v2/models/m{i}/ready",
            f"    service: svc-{i % 23}",
        ]
    (root / "checks.yaml").write_text("\n".join(checks) + "\n")
    return root / "oncall.yaml"


def ours_round(ws: Path, url: str, groups, senders: int, *, tui: bool, profile: str | None):
    env = {**os.environ, "MLOPS_ONCALL_CONFIG": str(ws)}
    argv = [EXE, "serve", "--listen", "127.0.0.1:0"]
    if profile:
        argv = [sys.executable, str(Path(__file__).resolve()), "_profiled", profile, *argv[1:]]
    daemon = subprocess.Popen(argv, cwd=ws.parent, env=env, stderr=subprocess.PIPE, text=True)
    viewer = None
    try:
        line = _wait_line(daemon, "listening on")
        base = line.split("listening on ", 1)[1].split()[0].rstrip(",;")
        _drain(daemon)
        rss_start = _status(daemon.pid, "VmRSS")
        if tui:
            viewer = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "_tui", str(ws), url],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert viewer.stdout is not None
            if viewer.stdout.readline().strip() != "READY":
                raise SystemExit("the TUI did not start")
        t0 = time.monotonic()
        seconds, ok = asyncio.run(send(f"{base}/alertmanager", groups, senders))
        t1 = time.monotonic()
        moves = []
        if viewer is not None:
            assert viewer.stdin is not None and viewer.stdout is not None
            viewer.stdin.write("STOP\n")
            viewer.stdin.flush()
            samples = json.loads(viewer.stdout.readline())
            moves = sorted(ms for at, ms in samples if t0 <= at <= t1)
        hwm = _status(daemon.pid, "VmHWM")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
        if viewer is not None and viewer.poll() is None:
            viewer.kill()
            viewer.wait(10)
    if code != 0:
        raise SystemExit(f"serve exited {code}")
    return {
        "seconds": seconds,
        "ok": ok,
        "rss_start_kib": rss_start,
        "hwm_kib": hwm,
        "stored": stored_alerts(ws),
        "moves": moves,
    }


def stored_alerts(ws: Path) -> int:
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    session = Session(load_workspace(ws))
    try:
        return sum(len(g.alerts) for g in session.alerts.groups(all=True))
    finally:
        session.store.close()


# -- the TUI and the profiled daemon (child processes) ----------------------------------------
def tui_main(ws: str, url: str) -> None:
    """A headless TUI on the store: Down (or Up at the end) in the checks table, over and over,
    timed from the key to the first frame showing the cursor on its new row. Prints READY,
    then on STOP (stdin) the samples as JSON: [[monotonic time of the key, ms], ...]."""
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session
    from mlops_oncall.ui.app import OncallApp

    session = Session(load_workspace(Path(ws)), database_url=url)
    app = OncallApp(session, live=False)  # no probes: the storm is the only traffic
    samples: list[tuple[float, float]] = []

    async def run() -> None:
        from textual import events
        from textual.widgets import DataTable

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(sys.stdin.fileno(), lambda: (sys.stdin.readline(), stop.set()))
        async with app.run_test(size=(160, 45)) as pilot:
            deadline = time.monotonic() + 60
            while not (app.ready and app.live_changes is not None):
                if time.monotonic() > deadline:
                    raise SystemExit("the TUI did not get ready")
                await pilot.pause(0.05)
            table = app.screen.query_one("#checks-table", DataTable)
            table.focus()
            await pilot.pause(0.5)
            shown: asyncio.Future | None = None
            target = -1
            display = app._display

            def timed_display(screen, renderable):
                display(screen, renderable)
                waiting = renderable is not None and shown is not None and not shown.done()
                if waiting and table.cursor_row == target:
                    shown.set_result(time.perf_counter())

            app._display = timed_display  # the frame the terminal would be sent
            print("READY", flush=True)
            down = True
            while not stop.is_set():
                row = table.cursor_row
                if row >= table.row_count - 1:
                    down = False
                elif row <= 0:
                    down = True
                key = "down" if down else "up"
                target = row + (1 if down else -1)
                shown = loop.create_future()
                at, start = time.monotonic(), time.perf_counter()
                app._driver.send_message(events.Key(key, None))
                try:
                    done = await asyncio.wait_for(shown, 10)
                except TimeoutError:
                    done = time.perf_counter()
                samples.append((at, (done - start) * 1000))
                await asyncio.sleep(0.05)  # a person's key rate, not a flood

    profile_to = os.environ.get("STORM_TUI_PROFILE")  # every thread of the TUI, to a file
    profiles = _profile_threads() if profile_to else []
    try:
        asyncio.run(run())
    finally:
        session.close()
        if profile_to:
            _dump(profiles, profile_to)
    print(json.dumps(samples), flush=True)


def _profile_threads() -> list:
    """cProfile in this thread and every thread started from now on."""
    import cProfile
    import threading

    profiles: list[cProfile.Profile] = []

    def start(*_):
        sys.setprofile(None)  # this thread's hook, replaced by its own profiler
        p = cProfile.Profile()
        profiles.append(p)
        p.enable()

    threading.setprofile(start)
    start()
    return profiles


def _dump(profiles: list, out: str) -> None:
    import pstats

    for p in profiles:
        p.disable()
    stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        with contextlib.suppress(TypeError):  # a thread that never ran anything
            stats.add(p)
    stats.dump_stats(out)


def profiled_main(out: str, argv: list[str]) -> None:
    """`mlops-oncall serve` under cProfile in every thread (its writes run in worker threads)."""

    from mlops_oncall.cli import main as cli_main

    sys.argv = ["mlops-oncall", *argv]
    profiles = _profile_threads()
    try:
        cli_main()
    except SystemExit:
        pass
    finally:
        _dump(profiles, out)


# -- main ------------------------------------------------------------------------------------
def _pg_database(admin: str, name: str, drop: bool = False) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.9) - 1)]


def run_backend(label: str, make_url, groups, args, tmp: Path) -> None:
    expected = distinct_alerts(groups)
    alerts = sum(len(json.loads(b)["alerts"]) for bodies in groups for b in bodies)
    posts = sum(len(b) for b in groups)
    print(f"{label}: {alerts} alerts in {posts} posts, {len(groups)} groups, {expected} distinct")
    ours, bare, tui = [], [], []
    for r in range(args.rounds):
        order = ["bare", "ours"] if r % 2 == 0 else ["ours", "bare"]
        for side in order:
            if side == "bare":
                got = bare_round(groups, args.senders)
                bare.append(got)
                print(
                    f"  round {r + 1} bare : {alerts / got['seconds']:7.0f} alerts/s "
                    f"({got['ok']}/{posts} 2xx), VmHWM {got['hwm_kib'] / 1024:.0f} MiB",
                    flush=True,
                )
            else:
                url = make_url(f"storm_{r}")
                got = ours_round(
                    workspace(tmp / f"{label}-{r}", url), url, groups, args.senders,
                    tui=False, profile=None,
                )  # fmt: skip
                ours.append(got)
                _print_ours(r + 1, got, alerts, posts, expected)
    for r in range(0 if args.no_tui else args.tui_rounds):
        url = make_url(f"storm_tui_{r}")
        got = ours_round(
            workspace(tmp / f"{label}-tui-{r}", url), url, groups, args.senders,
            tui=True, profile=None,
        )  # fmt: skip
        tui.append(got)
        _print_ours(f"{r + 1} tui", got, alerts, posts, expected)
        if got["moves"]:
            print(f"    cursor p90 {p90(got['moves']):.0f} ms over {len(got['moves'])} moves")
    if args.profile:
        url = make_url("storm_profile")
        ours_round(
            workspace(tmp / f"{label}-prof", url), url, groups, args.senders,
            tui=False, profile=f"{args.profile}.{label}",
        )  # fmt: skip
        print(f"  profile: {args.profile}.{label} (python -m pstats)")
    if ours and bare:
        _summary(label, alerts, ours, bare)
    moves = sorted(ms for got in tui for ms in got["moves"])
    if moves:
        rounds = [p90(got["moves"]) for got in tui if got["moves"]]
        print(
            f"{label} cursor during storm: {len(moves)} moves in {len(tui)} storms, median "
            f"{statistics.median(moves):.0f} ms, p90 {p90(moves):.0f} ms (per storm "
            f"{', '.join(f'{x:.0f}' for x in rounds)}), max {max(moves):.0f} ms "
            "(target p90 <= 100 ms)"
        )


def _summary(label: str, alerts: int, ours: list[dict], bare: list[dict]) -> None:
    o = statistics.median(alerts / g["seconds"] for g in ours)
    b = statistics.median(alerts / g["seconds"] for g in bare)
    ratios = [
        alerts / x["seconds"] / (alerts / y["seconds"]) for x, y in zip(ours, bare, strict=True)
    ]
    print(
        f"{label} stored throughput : median {o:.0f} alerts/s against bare {b:.0f}: "
        f"{o / b:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x; target >= 0.3x)"
    )
    print(
        f"{label} daemon RSS        : {max(g['rss_start_kib'] for g in ours) / 1024:.0f} MiB "
        f"listening, peak {max(g['hwm_kib'] for g in ours) / 1024:.0f} MiB "
        f"(bare app peak {max(g['hwm_kib'] for g in bare) / 1024:.0f} MiB)"
    )


def _print_ours(r, got, alerts, posts, expected) -> None:
    lost = "" if got["stored"] == expected else f"  STORED {got['stored']} != {expected}"
    print(
        f"  round {r} ours : {alerts / got['seconds']:7.0f} alerts/s ({got['ok']}/{posts} 2xx), "
        f"RSS {got['rss_start_kib'] / 1024:.0f} MiB listening, VmHWM "
        f"{got['hwm_kib'] / 1024:.0f} MiB{lost}",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_tui":
        tui_main(*sys.argv[2:4])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_profiled":
        profiled_main(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--posts", type=int, default=500)
    ap.add_argument("--no-tui", action="store_true")
    ap.add_argument("--tui-rounds", type=int, default=1, help="storms with the TUI open")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--profile", metavar="FILE")
    args = ap.parse_args()
    groups = storm(args.posts)
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        if not args.no_sqlite:
            run_backend(
                "sqlite", lambda name: f"sqlite:///{tmp}/{name}.db", groups, args, Path(tmp)
            )
        admin = os.environ.get("MLOPS_ONCALL_TEST_PG")
        if admin:
            made: list[str] = []

            def pg(name: str) -> str:
                made.append(name)
                return _pg_database(admin, name)

            try:
                run_backend("postgresql", pg, groups, args, Path(tmp))
            finally:
                for name in made:
                    _pg_database(admin, name, drop=True)


if __name__ == "__main__":
    main()
