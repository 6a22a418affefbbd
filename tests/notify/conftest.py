"""A notify session on each backend, and a local receiver: a real aiohttp server on 127.0.0.1
(its own thread and loop) that records every request and answers from a script (status,
headers, body, or hanging past the client's timeout)."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SECRET = "s3cr3t-hook-token-9f8e7d6c5b4a"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the test ends)


class Receiver:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: list[Answer] = []
        self.default = Answer()
        self._release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the receiver did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        answer = self.script.pop(0) if self.script else self.default
        if answer.hang:
            while not self._release.is_set():
                await asyncio.sleep(0.01)
        raw = answer.body.encode() if isinstance(answer.body, str) else answer.body
        return web.Response(status=answer.status, body=raw, headers=answer.headers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._release.set()
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Sleeps:
    """The notifier's sleep: records each wait and returns at once (a fake clock's waits)."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def make_session(tmp_path, url: str, config: dict | None = None, clock=None) -> Session:
    cfg = Config.model_validate({"me": "alice", "witness": False} | (config or {}))
    return Session(Workspace(cfg, root=tmp_path), clock=clock or FixedClock(T0), database_url=url)


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def make(tmp_path, backend_url, clock, monkeypatch):
    """make(config) -> a Session on this backend; its notifier sleeps on the fake clock."""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    made: list[Session] = []

    def build(config: dict | None = None) -> Session:
        s = make_session(tmp_path, backend_url, config, clock)
        s.notify.sleep = Sleeps(clock)
        made.append(s)
        return s

    yield build
    for s in made:
        s.close()
