"""Faults: validation of a fault request, and the thread-safe table of active faults.

Validation errors name what was wrong and what is allowed, because a game master types these
by hand in the middle of a drill.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops_oncall.drills.fake.catalog import FAULTS, SERVICES, faults_for
from mlops_oncall.drills.fake.signals import iso


class FaultError(ValueError):
    """A fault request that cannot be honoured; ``allowed`` lists the valid choices, if any."""

    def __init__(self, message: str, allowed: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.allowed = allowed

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.allowed is not None:
            body["allowed"] = self.allowed
        return body


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _seconds(value: Any) -> float | None:
    """A duration as a string with a unit ("30h"), or a bare number of seconds."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else None
    return _number(value)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:g}d"


@dataclass(frozen=True)
class Param:
    name: str
    default: float
    low: float
    high: float
    duration: bool = False

    def parse(self, fault: str, value: Any) -> float | int:
        number = _seconds(value) if self.duration else _number(value)
        if number is None or not self.low <= number <= self.high:
            if self.duration:
                what = (
                    f"a duration such as '30h' or a number of seconds, at most {_days(self.high)}"
                )
            else:
                what = f"a number from {self.low:g} to {self.high:g}"
            raise FaultError(
                f"parameter '{self.name}' of fault '{fault}' must be {what}, got {value!r}"
            )
        return int(number) if number.is_integer() else number

    def from_text(self, text: str) -> Any:
        """A value typed by hand ("0.5", "30h") as the type this parameter declares.

        Text that is not a number stays text, so that parse() names it in its error.
        """
        if self.duration and _DURATION.match(text):
            return text
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number


PARAMS: dict[str, tuple[Param, ...]] = {
    "latency": (Param("ms", 1000, 0, 600_000),),
    "errors": (Param("rate", 0.5, 0, 1),),
    "not_ready": (),
    "stale": (Param("age", 30 * 3600, 0, 365 * 86400, duration=True),),
    "drift": (Param("score", 0.35, 0, 10), Param("over", 600, 0, 30 * 86400, duration=True)),
    "nulls": (Param("rate", 0.3, 0, 1),),
    "gpu_memory": (Param("percent", 97, 0, 100),),
    "refuse": (),
}


def check_service(service: Any) -> str:
    if service not in SERVICES:
        raise FaultError(
            f"unknown service {service!r}; known services: {', '.join(SERVICES)}", list(SERVICES)
        )
    return service


def check_fault(fault: Any, service: str | None = None) -> str:
    if fault not in FAULTS:
        raise FaultError(
            f"unknown fault {fault!r}; known faults: {', '.join(FAULTS)}", list(FAULTS)
        )
    if service is not None and fault not in faults_for(service):
        allowed = list(faults_for(service))
        raise FaultError(
            f"fault '{fault}' does not apply to service '{service}'; "
            f"its faults: {', '.join(allowed)}",
            allowed,
        )
    return fault


def normalise(service: Any, fault: Any, params: dict[str, Any] | None) -> dict[str, float | int]:
    """Check a fault request and return its parameters with defaults filled in.

    Durations come back as seconds, as everywhere in JSON output.
    """
    check_service(service)
    check_fault(fault, service)
    specs = {p.name: p for p in PARAMS[fault]}
    given = dict(params or {})
    for name in given:
        if name not in specs:
            if not specs:
                raise FaultError(f"fault '{fault}' takes no parameters, got {name!r}", [])
            raise FaultError(
                f"fault '{fault}' has no parameter {name!r}; its parameters: {', '.join(specs)}",
                list(specs),
            )
    return {
        name: spec.parse(fault, given[name]) if name in given else spec.parse(fault, spec.default)
        for name, spec in specs.items()
    }


def parse_text(fault: str, text: str) -> dict[str, Any]:
    """Parameters typed as ``key=value key=value`` (the Inject fault dialog), each read as the
    type its fault declares; normalise() then checks the values and ranges."""
    specs = {p.name: p for p in PARAMS.get(fault, ())}
    params: dict[str, Any] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise FaultError(f"{part!r} is not key=value")
        params[key] = specs[key].from_text(value) if key in specs else value
    return params


@dataclass(frozen=True)
class Fault:
    name: str
    params: dict[str, float | int] = field(default_factory=dict)
    since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"params": dict(self.params), "since": iso(self.since) if self.since else None}


class FaultTable:
    """Active faults per service; read by request handlers, written by the control API.

    A lock, because the sync Python API and ``state()`` may run on another thread than the loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, dict[str, Fault]] = {name: {} for name in SERVICES}

    def set(self, service: str, fault: Fault) -> None:
        with self._lock:
            self._faults[service][fault.name] = fault

    def active(self, service: str) -> dict[str, Fault]:
        with self._lock:
            return dict(self._faults[service])

    def clear(self, service: str | None = None, fault: str | None = None) -> list[dict[str, str]]:
        """Remove matching faults; return what was removed, in catalogue order."""
        cleared = []
        with self._lock:
            for name in SERVICES if service is None else (service,):
                for f in FAULTS:
                    if (fault is None or f == fault) and f in self._faults[name]:
                        del self._faults[name][f]
                        cleared.append({"service": name, "fault": f})
        return cleared

    def snapshot(self, service: str) -> dict[str, dict[str, Any]]:
        active = self.active(service)
        return {f: active[f].to_json() for f in FAULTS if f in active}
