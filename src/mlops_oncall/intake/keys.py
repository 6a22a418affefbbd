"""The daemon's shared state, as aiohttp app keys (typed, so handlers in other modules, such as
intake/alertmanager.py, read them without importing app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from mlops_oncall.intake.metrics import Metrics
    from mlops_oncall.session import Session

SESSION: web.AppKey[Session] = web.AppKey("session")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
MAX_BODY: web.AppKey[int] = web.AppKey("max_body", int)  # bytes; read_json refuses past it
