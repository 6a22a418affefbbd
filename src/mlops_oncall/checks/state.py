"""Check states with thresholds, maintenance windows and ``blocked_by``; pure and clock-driven.

A check moves only when consecutive raw results cross its thresholds (docs/checks.md):
- ``down_after`` results ``down`` in a row make it down;
- ``degraded_after`` results degraded-or-worse in a row make an up (or unknown) check degraded;
- ``recover_after`` results ``up`` in a row bring it back up; from down, that many results that
  are not down bring it to degraded when some of them were degraded;
- from ``unknown`` the first ``up`` result is adopted at once: there is nothing to flap from.

Inside a maintenance window the state is ``maintenance``; results still count, and when the
window ends the check resumes from the state it had before, so a fix made during the window
shows at once. Only threshold crossings produce Transition records (what the store keeps);
raw results go into a bounded ring per check, for sparklines.

A check whose dependency is down (or whose dependency's latest poll was down, so the two
failing together are not reported as two alarms) keeps its own state but carries
``blocked_by`` and raises no alarm.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mlops_oncall.checks.probe import Result
from mlops_oncall.checks.spec import CheckSpec, Maintenance, Thresholds
from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.formats.vocabulary import ERROR_CLASSES, FAILING, STATES

RING_SIZE = 120  # one hour of sparkline at a 30 s interval


class RingEntry(NamedTuple):
    """One raw result in a check's ring."""

    at: datetime
    state: str
    latency_ms: float | None
    error_class: str | None


_ERRORS = (None, *ERROR_CLASSES)
_STATE_CODE = {s: i for i, s in enumerate(STATES)}
_ERROR_CODE = {e: i for i, e in enumerate(_ERRORS)}
_NAN = float("nan")


class Ring:
    """The last ``size`` raw results of a check, in preallocated arrays.

    About 17 bytes per result, allocated once: memory does not grow as the ring fills, and a
    poll allocates nothing here (so nothing for the garbage collector to walk).
    """

    __slots__ = ("_at", "_code", "_head", "_latency", "_n", "size")

    def __init__(self, size: int = RING_SIZE):
        self.size = size
        self._at = array("d", bytes(8 * size))
        self._latency = array("d", bytes(8 * size))
        self._code = bytearray(size)
        self._head = 0
        self._n = 0

    def append(
        self, at: datetime, state: str, latency_ms: float | None, error_class: str | None
    ) -> None:
        i = self._head
        self._at[i] = at.timestamp()
        self._latency[i] = _NAN if latency_ms is None else latency_ms
        self._code[i] = _STATE_CODE.get(state, 0) + 8 * _ERROR_CODE.get(error_class, 0)
        self._head = (i + 1) % self.size
        if self._n < self.size:
            self._n += 1

    def __len__(self) -> int:
        return self._n

    def copy(self) -> Ring:
        other = Ring.__new__(Ring)
        other.size = self.size
        other._at = self._at[:]
        other._latency = self._latency[:]
        other._code = self._code[:]
        other._head = self._head
        other._n = self._n
        return other

    def entries(self) -> tuple[RingEntry, ...]:
        """Oldest first."""
        start = (self._head - self._n) % self.size
        out = []
        for k in range(self._n):
            i = (start + k) % self.size
            latency = self._latency[i]
            code = self._code[i]
            out.append(
                RingEntry(
                    datetime.fromtimestamp(self._at[i], UTC),
                    STATES[code % 8],
                    None if latency != latency else latency,  # NaN marks "no response"
                    _ERRORS[code // 8],
                )
            )
        return tuple(out)

    def __iter__(self):
        return iter(self.entries())

    def __getitem__(self, index: int) -> RingEntry:
        return self.entries()[index]


@dataclass(frozen=True, slots=True)
class Transition:
    """A threshold crossing (or a maintenance window starting or ending)."""

    check_id: str
    from_state: str
    to_state: str
    at: datetime
    previous_since: datetime | None
    error_class: str | None
    message: str
    observed: dict[str, Any]
    first_failure_at: datetime | None  # the first failing poll: an incident's ``detected``
    blocked_by: tuple[str, ...] = ()
    service: str | None = None

    @property
    def alarm(self) -> bool:
        """True when this crossing should alert someone: worse, and not explained by a dependency."""
        return self.to_state in FAILING and not self.blocked_by

    def to_json(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "service": self.service,
            "from": self.from_state,
            "to": self.to_state,
            "at": rfc3339(self.at),
            "previous_since": rfc3339(self.previous_since),
            "error_class": self.error_class,
            "message": self.message,
            "observed": self.observed,
            "first_failure_at": rfc3339(self.first_failure_at),
            "blocked_by": list(self.blocked_by),
            "alarm": self.alarm,
        }


class CheckState:
    """The state machine of one check."""

    __slots__ = (
        "_bad",
        "_before_maintenance",
        "_down",
        "_notdown",
        "_ring",
        "_streak_start",
        "_up",
        "check_id",
        "first_failure_at",
        "last",
        "maintenance",
        "maintenance_until",
        "service",
        "since",
        "state",
        "thresholds",
    )

    def __init__(
        self,
        check_id: str,
        thresholds: Thresholds,
        maintenance: Iterable[Maintenance] = (),
        *,
        service: str | None = None,
        since: datetime | None = None,
        ring_size: int = RING_SIZE,
    ):
        self.check_id = check_id
        self.service = service
        self.thresholds = thresholds
        self.maintenance = tuple(maintenance)
        self.state = "unknown"
        self.since = since
        self.first_failure_at: datetime | None = None
        self.last: Result | None = None
        self._ring = Ring(ring_size)
        self.maintenance_until: datetime | None = None
        self._before_maintenance = "unknown"
        self._up = self._down = self._bad = self._notdown = 0
        self._streak_start: datetime | None = None

    @property
    def ring(self) -> Ring:
        return self._ring

    @property
    def raw_down(self) -> bool:
        """The latest poll was down (used to hold back alarms of dependents)."""
        return self.last is not None and self.last.state == "down"

    def window(self, now: datetime) -> tuple[datetime, datetime] | None:
        for m in self.maintenance:
            hit = m.window_at(now)
            if hit:
                return hit
        return None

    def observe(self, result: Result, blocked_by: tuple[str, ...] = ()) -> list[Transition]:
        """Feed one raw result; return the transitions it caused (zero, one or two)."""
        self.last = result
        self._ring.append(result.observed_at, result.state, result.latency_ms, result.error_class)
        # an unknown result (a prometheus query with no value) says nothing either way: it
        # neither breaks a streak nor counts towards one
        if result.state != "unknown":
            self._count(result)
        out: list[Transition] = []
        moved = self.tick(result.observed_at, result)
        if moved:
            out.append(moved)
        if self.state == "maintenance" or result.state == "unknown":
            return out
        target = self._target(result.state)
        if target != self.state:
            out.append(self._move(target, result.observed_at, result, blocked_by))
        return out

    def tick(self, now: datetime, result: Result | None = None) -> Transition | None:
        """Enter or leave a maintenance window at ``now``, even without a new result."""
        hit = self.window(now)
        if hit and self.state != "maintenance":
            self._before_maintenance = self.state
            self.maintenance_until = hit[1]
            return self._move("maintenance", now, result, (), message=_until(hit[1]))
        if hit:
            self.maintenance_until = hit[1]
            return None
        if self.state == "maintenance":
            self.maintenance_until = None
            return self._move(
                self._before_maintenance, now, result, (), message="maintenance window ended"
            )
        return None

    # ---- internals

    def _count(self, result: Result) -> None:
        s = result.state
        self._up = self._up + 1 if s == "up" else 0
        self._down = self._down + 1 if s == "down" else 0
        self._notdown = self._notdown + 1 if s != "down" else 0
        if s in FAILING:
            if self._bad == 0:
                self._streak_start = result.observed_at
            self._bad += 1
        else:
            self._bad = 0

    def _target(self, raw: str) -> str:
        t = self.thresholds
        cur = self.state
        if self._down >= t.down_after:
            return "down"
        if cur in ("unknown", "up") and self._bad >= t.degraded_after:
            return "degraded"
        if cur == "down" and self._notdown >= t.recover_after:
            return "up" if self._up >= t.recover_after else "degraded"
        if cur == "degraded" and self._up >= t.recover_after:
            return "up"
        if cur == "unknown" and raw == "up":
            return "up"
        return cur

    def _move(
        self,
        target: str,
        at: datetime,
        result: Result | None,
        blocked_by: tuple[str, ...],
        *,
        message: str | None = None,
    ) -> Transition:
        if target in FAILING and self.first_failure_at is None:
            self.first_failure_at = self._streak_start or at
        transition = Transition(
            check_id=self.check_id,
            from_state=self.state,
            to_state=target,
            at=at,
            previous_since=self.since,
            error_class=result.error_class if result is not None else None,
            message=message if message is not None else (result.message if result else ""),
            observed=result.observed() if result is not None else {},
            first_failure_at=self.first_failure_at,
            blocked_by=blocked_by if target in FAILING else (),
            service=self.service,
        )
        self.state = target
        self.since = at
        if target == "up":
            self.first_failure_at = None
        return transition


def _until(end: datetime) -> str:
    return f"maintenance window until {rfc3339(end)}"


@dataclass(frozen=True, slots=True)
class CheckView:
    """What the UI and the CLI show for one check."""

    check_id: str
    state: str
    since: datetime | None
    first_failure_at: datetime | None
    blocked_by: tuple[str, ...]
    last: Result | None
    # recent raw results, oldest first: a Ring snapshot (entries are built when read, and most
    # views are never drawn), or any sequence of RingEntry
    ring: Ring | tuple[RingEntry, ...]
    maintenance_until: datetime | None


def _machine(spec: CheckSpec, now: datetime, ring_size: int) -> CheckState:
    """A check's state machine, from unknown as of ``now``."""
    return CheckState(
        spec.id,
        spec.thresholds,
        spec.maintenance,
        service=spec.service,
        since=now,
        ring_size=ring_size,
    )


class Board:
    """Every check's state machine, plus ``blocked_by`` across ``depends_on``."""

    def __init__(
        self, specs: Iterable[CheckSpec], *, clock: Clock = SYSTEM, ring_size: int = RING_SIZE
    ):
        now = clock.now()
        self.clock = clock
        self.depends: dict[str, tuple[str, ...]] = {}
        self.checks: dict[str, CheckState] = {}
        for spec in specs:
            self.depends[spec.id] = spec.depends_on
            self.checks[spec.id] = _machine(spec, now, ring_size)

    def replace(self, specs: Iterable[CheckSpec], fresh: Iterable[str], ring_size: int) -> None:
        """Take a reloaded set of checks: the ids in ``fresh`` (added or changed) start over
        from unknown, the others keep their state, and checks no longer listed are dropped."""
        specs = list(specs)
        fresh = set(fresh)
        now = self.clock.now()
        keep = {s.id for s in specs} - fresh
        self.checks = {cid: m for cid, m in self.checks.items() if cid in keep}
        self.depends = {}
        for spec in specs:
            self.depends[spec.id] = spec.depends_on
            if spec.id not in self.checks:
                self.checks[spec.id] = _machine(spec, now, ring_size)

    def blocked_by(self, check_id: str) -> tuple[str, ...]:
        out = []
        for dep in self.depends.get(check_id, ()):
            other = self.checks.get(dep)
            if other is not None and (other.state == "down" or other.raw_down):
                out.append(dep)
        return tuple(out)

    def observe(self, result: Result) -> list[Transition]:
        machine = self.checks.get(result.check_id)
        if machine is None:
            return []
        return machine.observe(result, self.blocked_by(result.check_id))

    def tick(self, now: datetime | None = None) -> list[Transition]:
        now = now or self.clock.now()
        out = []
        for machine in self.checks.values():
            moved = machine.tick(now)
            if moved:
                out.append(moved)
        return out

    def view(self, check_id: str) -> CheckView:
        m = self.checks[check_id]
        return CheckView(
            check_id=check_id,
            state=m.state,
            since=m.since,
            first_failure_at=m.first_failure_at,
            blocked_by=self.blocked_by(check_id),
            last=m.last,
            ring=m._ring.copy(),
            maintenance_until=m.maintenance_until,
        )

    def views(self) -> list[CheckView]:
        return [self.view(cid) for cid in self.checks]
