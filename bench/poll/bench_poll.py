"""Polling speed: the checks engine against a minimal raw-asyncio HTTP/1.1 client, same run.

Starts nginx on 127.0.0.1 (a temporary config, one worker, several ports so the per-host limit
behaves as with many services) and polls N checks with the full engine: the shared
httpx.AsyncClient, condition evaluation, the state machine and a roll-up sink, every check
re-polling as soon as its interval (10 ms) allows, so throughput is bounded by the
concurrency limit. The baseline is C keep-alive connections, each sending GET and reading the
response with asyncio streams. Runs alternate (raw, engine, raw, engine, …) so machine noise hits
both alike; medians are reported.

    python bench/poll/bench_poll.py [--checks 1000 5000] [--seconds 8] [--repeat 3]
        [--concurrency 64] [--ports 32] [--published]
    --published: also the engine over the published httpx-aiohttp transport, interleaved
    python bench/poll/bench_poll.py --soak 10   # check watch on 1,000 checks, RSS over 10 min

Without nginx installed (`apt-get install -y nginx-light`), a small asyncio server is used and
the script says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BODY = b'{"status": "ok", "ready": true, "drift_score": 0.12}'

# ---------------------------------------------------------------- servers


def start_nginx(ports: list[int], workdir: Path) -> subprocess.Popen | None:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        return None
    listens = "\n".join(f"        listen 127.0.0.1:{p};" for p in ports)
    conf = workdir / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""
            worker_processes 1;
            daemon off;
            pid {workdir}/nginx.pid;
            error_log {workdir}/error.log warn;
            {"user root;" if os.geteuid() == 0 else ""}
            events {{ worker_connections 16384; }}
            http {{
                access_log off;
                keepalive_requests 1000000;
                keepalive_timeout 75s;
                client_body_temp_path {workdir}/body;
                proxy_temp_path {workdir}/proxy;
                fastcgi_temp_path {workdir}/fastcgi;
                uwsgi_temp_path {workdir}/uwsgi;
                scgi_temp_path {workdir}/scgi;
                server {{
            {listens}
                    location / {{
                        default_type application/json;
                        return 200 '{BODY.decode()}';
                    }}
                }}
            }}
            """
        )
    )
    proc = subprocess.Popen(
        [exe, "-c", str(conf), "-p", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc


async def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def fallback_server(ports: list[int]):
    """A minimal keep-alive HTTP/1.1 server, only when nginx is missing."""
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(BODY)).encode()
        + b"\r\n\r\n"
        + BODY
    )

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(response)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return [await asyncio.start_server(handle, "127.0.0.1", p) for p in ports]


def free_ports(n: int) -> list[int]:
    import socket

    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


# ---------------------------------------------------------------- the raw baseline


async def raw_client(
    ports: list[int], concurrency: int, seconds: float, warmup: float
) -> tuple[int, float]:
    """C keep-alive connections, each GET after GET; returns (polls, cpu seconds) measured."""
    polls = 0
    counting = False
    stop = False

    async def worker(i: int) -> None:
        nonlocal polls
        port = ports[i % len(ports)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET /check/{i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        while not stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head[:40])
            if counting:
                polls += 1
        writer.close()

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(warmup)
    counting = True
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    counting = False
    cpu = time.process_time() - cpu0
    stop = True
    await asyncio.gather(*tasks, return_exceptions=True)
    return polls, cpu


# ---------------------------------------------------------------- the engine


def write_checks(path: Path, n: int, ports: list[int], interval: str) -> None:
    lines = [f"defaults: {{interval: {interval}, timeout: 5s}}", "checks:"]
    for i in range(n):
        port = ports[i % len(ports)]
        lines.append(
            f'  - {{id: c{i}, url: "http://127.0.0.1:{port}/check/{i}", '
            'conditions: ["[STATUS] == 200", "[BODY].ready == true", "[BODY].drift_score < 0.3"]}'
        )
    path.write_text("\n".join(lines) + "\n")


class Counter:
    def __init__(self) -> None:
        from mlops_oncall.checks.rollup import Rollup

        self.polls = 0
        self.failures = 0
        self.counting = False
        self.rollup = Rollup()

    def on_result(self, result, view) -> None:
        self.rollup.add(result)
        if self.counting:
            self.polls += 1
            if result.state != "up":
                self.failures += 1

    def on_transition(self, transition) -> None:
        pass


def published_transport(concurrency: int):
    """The published ``httpx-aiohttp`` transport, with the same pool limits as ours."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    from mlops_oncall.checks.transport import KEEPALIVE_EXPIRY

    return AiohttpTransport(
        limits=httpx.Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
    )


async def engine(
    checks_file: Path, concurrency: int, published: bool, seconds: float, warmup: float
):
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.checks.poller import Poller, tune_gc
    from mlops_oncall.checks.probe import Prober

    checkset, problems = load_checks(checks_file)
    assert checkset is not None, problems
    tune_gc()  # as `check watch` does
    counter = Counter()
    # the same prober either way: only the transport under the shared client differs
    prober = Prober(
        redactor=checkset.redactor,
        max_connections=concurrency,
        transport=published_transport(concurrency) if published else None,
    )
    poller = Poller(
        checkset,
        sinks=[counter],
        prober=prober,
        concurrency=concurrency,
        per_host=max(8, concurrency),  # one nginx: do not let the per-host limit decide
        first_spread=0.5,
    )
    async with poller:
        await asyncio.sleep(warmup)
        counter.counting = True
        cpu0 = time.process_time()
        await asyncio.sleep(seconds)
        counter.counting = False
        cpu = time.process_time() - cpu0
    await prober.aclose()
    import gc

    gc.unfreeze()  # the raw client runs with the interpreter's defaults
    gc.set_threshold(700, 10, 10)
    if counter.failures:
        print(f"  warning: {counter.failures} polls failed", file=sys.stderr)
    return counter.polls, cpu


# ---------------------------------------------------------------- soak (memory)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def soak(checks_file: Path, minutes: float, interval_note: str) -> None:
    exe = Path(sys.executable).parent / "mlops-oncall"
    proc = subprocess.Popen(
        [str(exe), "check", "watch", "--checks", str(checks_file), "--for", f"{minutes * 60:g}s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    while proc.poll() is None:
        try:
            samples.append((time.monotonic() - started, rss_kib(proc.pid)))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(5)
    err = proc.communicate()[1]
    after_1m = next((r for t, r in samples if t >= 60), samples[-1][1])
    end = samples[-1][1]
    peak = max(r for _, r in samples)
    growth = (end - after_1m) / after_1m * 100
    print(
        f"soak: check watch, 1,000 checks ({interval_note}), {minutes:g} min: RSS after 1 min "
        f"{after_1m / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB ({growth:+.1f}%), "
        f"peak {peak / 1024:.1f} MiB; {err.strip().splitlines()[-1] if err.strip() else ''}"
    )


# ---------------------------------------------------------------- main


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}}× ({min(values):{fmt}}–{max(values):{fmt}})"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--checks", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=64, help="the engine's")
    ap.add_argument("--raw-concurrency", type=int, default=64, help="the raw client's")
    ap.add_argument(
        "--published", action="store_true", help="also the published httpx-aiohttp transport"
    )
    ap.add_argument("--ports", type=int, default=32)
    ap.add_argument("--soak", type=float, metavar="MINUTES", help="run the memory soak instead")
    ap.add_argument("--soak-interval", default="1s")
    args = ap.parse_args()

    ports = free_ports(args.ports)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nginx = start_nginx(ports, work)
        loop = asyncio.new_event_loop()
        fallback = None
        try:
            if nginx is not None:
                loop.run_until_complete(wait_listening(ports[0]))
                server = "nginx (1 worker)"
            else:
                fallback = loop.run_until_complete(fallback_server(ports))
                server = "fallback asyncio server (nginx not installed)"
            if args.soak:
                if fallback is not None:
                    raise SystemExit(
                        "the soak needs nginx: the fallback server runs in this process"
                    )
                path = work / "soak.yaml"
                write_checks(path, 1000, ports, args.soak_interval)
                soak(path, args.soak, f"interval {args.soak_interval}")
                return
            print(
                f"server: {server}, {len(ports)} ports; one client process; engine: concurrency "
                f"{args.concurrency}; raw: concurrency "
                f"{args.raw_concurrency}; {args.seconds:g}s per run, {args.repeat} runs each "
                "(alternating), medians"
            )
            print(
                "| checks | raw polls/s | engine polls/s | throughput ratio | raw CPU s/1k polls "
                "| engine CPU s/1k polls | CPU ratio |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- |")
            published: list[tuple] = []
            for n in args.checks:
                path = work / f"checks-{n}.yaml"
                write_checks(path, n, ports, "10ms")
                raw_rates, raw_cpu, eng_rates, eng_cpu = [], [], [], []
                pub_rates, pub_cpu = [], []
                for _ in range(args.repeat):  # alternate, so noise hits both sides alike
                    polls, cpu = loop.run_until_complete(
                        raw_client(ports, args.raw_concurrency, args.seconds, args.warmup)
                    )
                    raw_rates.append(polls / args.seconds)
                    raw_cpu.append(cpu / polls * 1000)
                    polls, cpu = loop.run_until_complete(
                        engine(path, args.concurrency, False, args.seconds, args.warmup)
                    )
                    eng_rates.append(polls / args.seconds)
                    eng_cpu.append(cpu / polls * 1000)
                    if args.published:  # the same run, right after ours
                        polls, cpu = loop.run_until_complete(
                            engine(path, args.concurrency, True, args.seconds, args.warmup)
                        )
                        pub_rates.append(polls / args.seconds)
                        pub_cpu.append(cpu / polls * 1000)
                # each engine run against the raw run just before it: median (min–max)
                thr = [e / r for e, r in zip(eng_rates, raw_rates, strict=True)]
                cpu_ratio = [e / r for e, r in zip(eng_cpu, raw_cpu, strict=True)]
                print(
                    f"| {n:,} | {statistics.median(raw_rates):,.0f} | "
                    f"{statistics.median(eng_rates):,.0f} | {_spread(thr, '.2f')} | "
                    f"{statistics.median(raw_cpu):.3f} | {statistics.median(eng_cpu):.3f} | "
                    f"{_spread(cpu_ratio, '.1f')} |"
                )
                if args.published:
                    published.append((n, eng_rates, eng_cpu, pub_rates, pub_cpu))
            for n, eng_rates, eng_cpu, pub_rates, pub_cpu in published:
                # each published run against our run just before it
                thr = [p / e for p, e in zip(pub_rates, eng_rates, strict=True)]
                cpu_ratio = [p / e for p, e in zip(pub_cpu, eng_cpu, strict=True)]
                print(
                    f"\n{n:,} checks, engine over aiotransport vs over httpx-aiohttp: polls/s "
                    f"{statistics.median(eng_rates):,.0f} vs {statistics.median(pub_rates):,.0f} "
                    f"(published/ours {_spread(thr, '.2f')}); CPU ms/poll "
                    f"{statistics.median(eng_cpu):.3f} vs {statistics.median(pub_cpu):.3f} "
                    f"(published/ours {_spread(cpu_ratio, '.2f')})"
                )
        finally:
            if fallback:
                for s in fallback:
                    s.close()
            loop.close()
            if nginx is not None:
                nginx.send_signal(signal.SIGQUIT)
                try:
                    nginx.wait(10)
                except subprocess.TimeoutExpired:
                    nginx.kill()


if __name__ == "__main__":
    main()
