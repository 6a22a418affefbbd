"""What every fake service shares: routing, and the generic faults (latency, errors, refuse)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from mlops_oncall.clock import Clock
from mlops_oncall.drills.fake.faults import Fault, FaultTable
from mlops_oncall.drills.fake.httpd import Request, Response, json_response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Context:
    clock: Clock
    seed: int
    table: FaultTable


class Service:
    """A fake service: a route table plus the fault handling that wraps every answer.

    Subclasses answer in the shape of the server they imitate, including its error bodies.
    """

    name: ClassVar[str]

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.started_at = ctx.clock.now()
        # Its own stream per service, so one service's traffic never shifts another's errors.
        self._errors_rng = random.Random(f"{ctx.seed}:{self.name}:errors")
        self._routes = self.routes()

    # -- for subclasses ------------------------------------------------------------------------

    def routes(self) -> dict[str, dict[str, Handler]]:
        """Exact paths to {method: handler}."""
        return {}

    def dynamic(self, req: Request) -> Response | None:
        """Answer paths with parameters in them (another model's name, say); None: not found."""
        return None

    def error(self, status: int, message: str) -> Response:
        return json_response({"error": message}, status)

    def not_found(self, req: Request) -> Response:
        return self.error(404, "Not Found")

    def wants_listening(self, faults: dict[str, Fault]) -> bool:
        return "refuse" not in faults

    def observe(self, req: Request, status: int, seconds: float) -> None:
        """Called after each answer, with the real time taken; for /metrics."""

    # -- shared --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def fault(self, name: str) -> Fault | None:
        return self.ctx.table.active(self.name).get(name)

    async def handle(self, req: Request) -> Response:
        faults = self.ctx.table.active(self.name)
        started = time.perf_counter()
        if latency := faults.get("latency"):
            await asyncio.sleep(latency.params["ms"] / 1000)
        errors = faults.get("errors")
        if errors and self._errors_rng.random() < errors.params["rate"]:
            resp = self.error(500, "Internal Server Error")
        else:
            resp = self.respond(req)
        self.observe(req, resp.status, time.perf_counter() - started)
        return resp

    def respond(self, req: Request) -> Response:
        handlers = self._routes.get(req.path)
        if handlers is None:
            found = self.dynamic(req)
            return found if found is not None else self.not_found(req)
        handler = handlers.get(req.method)
        if handler is None:
            # HEAD lands here too: MLServer and MLflow answer HEAD with 405, so probes use GET.
            resp = self.error(405, "Method Not Allowed")
            resp.headers["Allow"] = ", ".join(handlers)
            return resp
        return handler(req)
