"""FakeSystem: every fake service on its own real port, plus the control port.

It runs either on the caller's event loop (``await astart()``) or on a private loop in a
background thread (``start()``), so sync code such as a CLI command or a test can use it too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from mlops_oncall.clock import Clock, SystemClock
from mlops_oncall.drills.fake.catalog import CONTROL, SERVICES
from mlops_oncall.drills.fake.control import ControlApp
from mlops_oncall.drills.fake.faults import (
    Fault,
    FaultTable,
    check_fault,
    check_service,
    normalise,
)
from mlops_oncall.drills.fake.listener import Listener
from mlops_oncall.drills.fake.services import Context, build_services

_WAIT = 30.0  # seconds a sync call waits for the loop thread; only a hung loop gets near it


def _check_ports(ports: dict[str, int] | None) -> dict[str, int]:
    known = (*SERVICES, CONTROL)
    ports = dict(ports or {})
    owner: dict[int, str] = {}
    for key, port in ports.items():
        if key not in known:
            raise ValueError(f"unknown port key {key!r}; expected one of: {', '.join(known)}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port of {key!r} must be an integer from 0 to 65535, got {port!r}")
        if port and port in owner:
            raise ValueError(f"port {port} is given to both {owner[port]!r} and {key!r}")
        owner[port] = key
    return ports


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FakeSystem:
    """The fake ML system. Ports given as 0 (or left out) are chosen by the OS at start."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        seed: int = 0,
        clock: Clock | None = None,
    ):
        wanted = _check_ports(ports)
        self.host = host
        self.seed = seed
        self.clock: Clock = clock or SystemClock()
        self._table = FaultTable()
        self._services = build_services(Context(self.clock, seed, self._table))
        self._listeners = {
            name: Listener(host, wanted.get(name, 0), service.handle)
            for name, service in self._services.items()
        }
        self._control = Listener(host, wanted.get(CONTROL, 0), ControlApp(self))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        where = f"control {self.control_url}" if self.running else "stopped"
        return f"<FakeSystem {where}>"

    # -- addresses -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop is not None

    @property
    def ports(self) -> dict[str, int]:
        return {name: listener.port for name, listener in self._listeners.items()}

    @property
    def control_port(self) -> int:
        return self._control.port

    def _base(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def url(self, service: str) -> str:
        return self._base(self._listeners[check_service(service)].port)

    @property
    def control_url(self) -> str:
        return self._base(self._control.port)

    # -- lifecycle on the caller's loop --------------------------------------------------------

    async def astart(self) -> FakeSystem:
        """Listen on every port; returns once all of them accept connections."""
        if self._loop is not None:
            raise RuntimeError("the fake system is already running")
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        try:
            # Open every port first, so a service refused before start() still owns its port.
            for listener in (self._control, *self._listeners.values()):
                await listener.open()
            await self._reconcile(SERVICES)
        except BaseException:
            await self._close_all()
            self._loop = None
            raise
        return self

    async def astop(self) -> None:
        if self._loop is None:
            return
        await self._close_all()
        self._loop = None

    async def _close_all(self) -> None:
        for listener in (self._control, *self._listeners.values()):
            await listener.close()

    async def __aenter__(self) -> FakeSystem:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    # -- lifecycle on a background thread ------------------------------------------------------

    def start(self) -> FakeSystem:
        """Run on a private loop in a daemon thread; returns once every port listens."""
        if self._loop is not None:
            raise RuntimeError("the fake system is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-ml-system", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.astart(), loop).result(_WAIT)
        except BaseException:
            self._end_thread(loop, thread)
            raise
        self._thread = thread
        return self

    def stop(self) -> None:
        """Close every port and end the background thread; a second call does nothing."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        if thread is None:
            raise RuntimeError("started with astart(); stop it with await astop()")
        if _running_loop() is loop:
            raise RuntimeError("stop() cannot run on the fake system's own loop")
        try:
            asyncio.run_coroutine_threadsafe(self.astop(), loop).result(_WAIT)
        finally:
            self._thread = None
            self._end_thread(loop, thread)

    @staticmethod
    def _end_thread(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_WAIT)
        loop.close()

    def __enter__(self) -> FakeSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults --------------------------------------------------------------------------------

    async def ainject(self, service: str, fault: str, **params: Any) -> dict[str, Any]:
        return await self.ainject_params(service, fault, params)

    async def ainject_params(
        self, service: str, fault: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        record = self._set_fault(service, fault, params)
        await self._reconcile([service])
        return record

    async def aclear(
        self, service: str | None = None, fault: str | None = None
    ) -> list[dict[str, str]]:
        cleared = self._clear_faults(service, fault)
        await self._reconcile(dict.fromkeys(c["service"] for c in cleared))
        return cleared

    def inject(self, service: str, fault: str, **params: Any) -> dict[str, Any]:
        """Start a fault (replacing one of the same kind); FaultError if the request is invalid.

        Returns ``{"service", "fault", "params", "since"}`` with defaults filled in.
        """
        self._refuse_own_loop()
        record = self._set_fault(service, fault, params)
        self._reconcile_from_thread([service])
        return record

    def clear(self, service: str | None = None, fault: str | None = None) -> list[dict[str, str]]:
        """End all faults, one service's, or one kind; returns ``[{"service", "fault"}]``."""
        self._refuse_own_loop()
        cleared = self._clear_faults(service, fault)
        self._reconcile_from_thread(dict.fromkeys(c["service"] for c in cleared))
        return cleared

    def state(self) -> dict[str, Any]:
        return {
            "services": {
                name: {
                    "port": listener.port,
                    "url": self.url(name),
                    "listening": listener.listening,
                    "faults": self._table.snapshot(name),
                }
                for name, listener in self._listeners.items()
            },
            "control_port": self._control.port,
        }

    def _set_fault(self, service: str, fault: str, params: dict[str, Any]) -> dict[str, Any]:
        normal = normalise(service, fault, params)
        record = Fault(fault, normal, self.clock.now())
        self._table.set(service, record)
        return {"service": service, "fault": fault, **record.to_json()}

    def _clear_faults(self, service: str | None, fault: str | None) -> list[dict[str, str]]:
        if service is not None:
            check_service(service)
        if fault is not None:
            check_fault(fault)
        return self._table.clear(service, fault)

    def _refuse_own_loop(self) -> None:
        # Waiting for the loop from inside it would deadlock: the listener change never runs.
        if self._loop is not None and _running_loop() is self._loop:
            raise RuntimeError(
                "the fake system runs on this event loop; use await ainject() / aclear() here"
            )

    def _reconcile_from_thread(self, services: Iterable[str]) -> None:
        loop = self._loop
        if loop is None:
            return  # not running: astart() opens only the ports the faults allow
        asyncio.run_coroutine_threadsafe(self._reconcile(services), loop).result(_WAIT)

    async def _reconcile(self, services: Iterable[str]) -> None:
        """Open or close each service's port to match its faults (``refuse`` closes it)."""
        if self._loop is None or self._lock is None:
            return
        async with self._lock:
            for name in services:
                listener = self._listeners[name]
                wanted = self._services[name].wants_listening(self._table.active(name))
                if wanted and not listener.listening:
                    await listener.open()
                elif not wanted and listener.listening:
                    await listener.close()
