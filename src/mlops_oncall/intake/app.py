"""The daemon's aiohttp application: routes, the bearer-token check, and the shared state
(intake/keys.py) the handlers read."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from mlops_oncall.intake import alertmanager, changes
from mlops_oncall.intake.body import refuse
from mlops_oncall.intake.keys import MAX_BODY, METRICS, SESSION
from mlops_oncall.intake.metrics import CONTENT_TYPE, Metrics
from mlops_oncall.session import Session
from mlops_oncall.store.errors import StoreError

DEFAULT_MAX_BODY = 1024 * 1024
OPEN_PATHS = frozenset({"/healthz"})  # a load balancer's probe carries no token

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    session: Session,
    *,
    token: str | None,
    max_body: int = DEFAULT_MAX_BODY,
    metrics: Metrics | None = None,
) -> web.Application:
    """The application over ``session`` (its store opened by the caller). With a ``token``,
    every endpoint but /healthz wants ``Authorization: Bearer <token>``."""
    middlewares = [_bearer(token)] if token else []
    app = web.Application(middlewares=middlewares, client_max_size=max_body)
    app[SESSION] = session
    app[METRICS] = metrics or Metrics()
    app[MAX_BODY] = max_body
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_post("/changes", changes.handle)
    app.router.add_post("/alertmanager", alertmanager.handle)
    app.cleanup_ctx.append(_change_sources)
    app.cleanup_ctx.append(_notifications)
    app.cleanup_ctx.append(alertmanager.writer)  # the webhook's group commit
    return app


async def _change_sources(app: web.Application) -> AsyncIterator[None]:
    """The workspace's change sources (changes: in oncall.yaml) polled while the daemon runs,
    cancelled when it stops; none configured returns at once."""
    from mlops_oncall.changes.runner import run_sources

    task = asyncio.create_task(run_sources(app[SESSION]), name="change sources")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _notifications(app: web.Application) -> AsyncIterator[None]:
    """The notification queue's dispatcher (notifications: in oncall.yaml), a pass every few
    seconds while the daemon runs; other dispatchers may run too (each row is sent by one)."""
    session = app[SESSION]
    if not session.workspace.config.notifications:
        yield
        return
    task = asyncio.create_task(session.dispatcher.run(), name="notifications")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _bearer(token: str) -> Callable:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            # constant time: how much of a guess matched never shows in the answer's timing
            if not hmac.compare_digest(given, expected):
                missing = "Authorization" not in request.headers
                refuse(
                    request,
                    401,
                    "unauthorized",
                    "missing bearer token" if missing else "wrong bearer token",
                )
        return await handler(request)

    return check


async def healthz(request: web.Request) -> web.Response:
    """200 `ok` when the store answers a trivial read (off the event loop), else 503."""
    session = request.app[SESSION]
    try:
        await asyncio.to_thread(session.store.ping)
    except StoreError as exc:
        reason = session.redactor.text(str(exc))
        return web.Response(status=503, text=f"store unavailable: {reason}\n")
    return web.Response(text="ok\n")


async def metrics_page(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
