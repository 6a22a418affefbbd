"""gRPC health checks: CPU per poll against a bare grpc.aio client, and what one grpc check costs.

poll    - 1,000 grpc checks (grpc.health.v1.Health/Check) polled together through the probe
          (load_checks + Prober.probe: channel reuse, metadata, deadline, evaluation, redaction)
          against a bare grpc.aio client making the same 1,000 calls on one channel, rounds
          interleaved in one process; the server runs in a process of its own, so only the
          client side is measured (process CPU: user + system, grpcio's threads included)
startup - a fresh interpreter that loads a checks file and probes it once: one tcp check,
          against the same plus one grpc check (imports, CPU, peak RSS), runs interleaved

  python bench/bench_grpc.py [poll|startup|all] [--checks 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path


def serve(port_out, stop) -> None:
    """A grpcio health server (grpcio-health-checking) on 127.0.0.1, in its own process."""
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port_out.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    stop.wait()
    server.stop(None)


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def poll_rounds(port: int, n: int, repeat: int) -> dict:
    import grpc.aio
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.checks.probe import Prober

    work = Path(tempfile.mkdtemp())
    lines = ["defaults: {timeout: 10s}", "checks:"]
    lines += [f"  - {{id: g{i}, kind: grpc, url: 'grpc://127.0.0.1:{port}'}}" for i in range(n)]
    (work / "checks.yaml").write_text("\n".join(lines) + "\n")
    checkset, problems = load_checks(work / "checks.yaml")
    assert checkset is not None, problems
    specs = list(checkset)

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()

    async def bare() -> None:
        replies = await asyncio.gather(*(stub.Check(request, timeout=10) for _ in range(n)))
        assert all(r.status == health_pb2.HealthCheckResponse.SERVING for r in replies)

    async with Prober(redactor=checkset.redactor) as prober:

        async def ours() -> None:
            results = await asyncio.gather(*(prober.probe(s) for s in specs))
            bad = [r for r in results if r.state != "up"]
            assert not bad, bad[0]

        await bare()  # warm both: channels connected, code paths imported
        await ours()
        out: dict[str, list[float]] = {"bare": [], "ours": []}
        for _ in range(repeat):
            for name, fn in (("bare", bare), ("ours", ours)):
                start = cpu()
                await fn()
                out[name].append((cpu() - start) / n * 1e6)  # µs of CPU per poll
    await channel.close()
    return out


def bench_poll(n: int, repeat: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(port_q, stop), daemon=True)
    server.start()
    try:
        port = port_q.get(timeout=30)
        out = asyncio.run(poll_rounds(port, n, repeat))
    finally:
        stop.set()
        server.join(10)
    bare, ours = statistics.median(out["bare"]), statistics.median(out["ours"])
    ratios = sorted(o / b for o, b in zip(out["ours"], out["bare"], strict=True))
    print(f"poll: {n} grpc health checks, {repeat} rounds, CPU per poll (µs)")
    print(f"  bare grpc.aio  median {bare:8.1f}  runs {[round(x) for x in out['bare']]}")
    print(f"  mlops-oncall   median {ours:8.1f}  runs {[round(x) for x in out['ours']]}")
    print(f"  ratio (medians) {ours / bare:.2f}x; paired rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x")


_CHILD = textwrap.dedent(
    """
    import asyncio, json, os, resource, sys, time
    t0 = time.perf_counter()
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.checks.probe import Prober
    cs, problems = load_checks(sys.argv[1])
    async def main():
        async with Prober(redactor=cs.redactor) as prober:
            return [await prober.probe(s) for s in cs]
    results = asyncio.run(main())
    t = os.times()
    print(json.dumps({
        "cpu": t.user + t.system,
        "wall": time.perf_counter() - t0,
        "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "modules": len(sys.modules),
        "grpc": "grpc" in sys.modules,
        "states": [r.state for r in results],
    }))
    """
)


def bench_startup(repeat: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(port_q, stop), daemon=True)
    server.start()
    port = port_q.get(timeout=30)
    work = Path(tempfile.mkdtemp())
    tcp = f"  - {{id: t, kind: tcp, url: 'tcp://127.0.0.1:{port}'}}\n"
    grpc_check = f"  - {{id: g, kind: grpc, url: 'grpc://127.0.0.1:{port}'}}\n"
    files = {"none": tcp, "one grpc": tcp + grpc_check}
    for name, body in files.items():
        (work / f"{name}.yaml").write_text("checks:\n" + body)
    runs: dict[str, list[dict]] = {name: [] for name in files}
    try:
        for _ in range(repeat):
            for name in files:
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(work / f"{name}.yaml")],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                data = json.loads(done.stdout)
                assert set(data["states"]) == {"up"}, data
                runs[name].append(data)
    finally:
        stop.set()
        server.join(10)
    print(f"startup: a fresh interpreter loading and probing the checks once, {repeat} runs")
    med = {
        name: {
            k: statistics.median(r[k] for r in rs) for k in ("cpu", "wall", "rss_kib", "modules")
        }
        for name, rs in runs.items()
    }
    for name, m in med.items():
        print(
            f"  {name:9} CPU {m['cpu']:.3f} s  wall {m['wall']:.3f} s  "
            f"peak RSS {m['rss_kib'] / 1024:.1f} MiB  modules {m['modules']:.0f}  "
            f"grpc imported: {runs[name][0]['grpc']}"
        )
    a, b = med["none"], med["one grpc"]
    print(
        f"  one grpc check adds: CPU +{b['cpu'] - a['cpu']:.3f} s, "
        f"peak RSS +{(b['rss_kib'] - a['rss_kib']) / 1024:.1f} MiB, "
        f"+{b['modules'] - a['modules']:.0f} modules"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=("poll", "startup", "all"))
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.what in ("poll", "all"):
        bench_poll(args.checks, args.repeat)
    if args.what in ("startup", "all"):
        bench_startup(args.repeat)


if __name__ == "__main__":
    main()
