"""``python -m mlops_oncall.drills.fake``: serve the fake ML system until Ctrl-C.

Prints the state (services, ports, control port) as JSON on stdout once every port listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from mlops_oncall.drills.fake.catalog import ports_from_base
from mlops_oncall.drills.fake.system import FakeSystem


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_oncall.drills.fake",
        description="Serve the fake ML system until Ctrl-C; prints its ports as JSON.",
    )
    parser.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="services on consecutive ports from N, then the control port (0: OS-chosen)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random walks and errors")
    return parser.parse_args(argv)


async def serve(system: FakeSystem) -> None:
    await system.astart()
    try:
        print(json.dumps(system.state(), indent=2), flush=True)
        print(f"fake ML system running; control at {system.control_url}", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await system.astop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        system = FakeSystem(host=args.host, ports=ports_from_base(args.port_base), seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(system))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        pass
    print("fake ML system stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
