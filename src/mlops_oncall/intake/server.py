"""Running the daemon: bind, say where, log one line per request, and on SIGTERM or SIGINT stop
accepting, let the requests in flight finish (bounded), then close the store."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mlops_oncall.intake.app import build_app
from mlops_oncall.session import Session

DEFAULT_PORT = 9417
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
# in-flight requests get this long after SIGTERM: inside Kubernetes' default 30 s grace period
SHUTDOWN_TIMEOUT_S = 20.0


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9417`` for IPv6) -> (host, port); ValueError saying what was
    expected."""
    host, sep, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(
            f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN} or 0.0.0.0:{DEFAULT_PORT}"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # another name: it may resolve anywhere
        return False


class _RequestLog(AbstractAccessLogger):
    """One line per request: time, peer, method, path (no query), status, duration. Never a
    header (the token) or a body."""

    redact: Callable[[str], str] = staticmethod(lambda s: s)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = self.redact(request.path)
        self.logger.info(
            "%s %s %s %s %d %.1fms",
            now,
            request.remote or "-",
            request.method,
            path,
            response.status,
            time * 1000,
        )


def _stderr_logger(name: str) -> logging.Logger:
    """A logger writing bare lines to stderr: the request lines, and the change sources'
    (already redacted by them)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


async def _serve(
    session: Session,
    host: str,
    port: int,
    *,
    token: str | None,
    max_body: int,
    say: Callable[[str], None],
) -> None:
    _stderr_logger("mlops_oncall.changes")
    app = build_app(session, token=token, max_body=max_body)
    log_class = type("RequestLog", (_RequestLog,), {"redact": staticmethod(session.redactor.text)})
    runner = web.AppRunner(
        app,
        access_log_class=log_class,
        access_log=_stderr_logger("mlops_oncall.intake.requests"),
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        where = ", ".join(_url(a) for a in runner.addresses)
        auth = "bearer token required" if token else "no token (loopback only)"
        say(
            f"mlops-oncall serve: listening on {where} ({auth}); "
            f"database {session.store.display_url}"
        )
        await stop.wait()
        say("mlops-oncall serve: stopping; finishing the requests in flight")
    finally:
        await runner.cleanup()  # stop accepting, wait for handlers, run cleanup_ctx


def _url(address) -> str:
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    session: Session,
    host: str,
    port: int,
    *,
    token: str | None,
    max_body: int,
    say: Callable[[str], None],
) -> None:
    """Serve until SIGTERM or SIGINT; the store is closed on the way out. OSError when the
    address cannot be bound."""
    try:
        asyncio.run(_serve(session, host, port, token=token, max_body=max_body, say=say))
    finally:
        session.store.close()
    say("mlops-oncall serve: stopped")
