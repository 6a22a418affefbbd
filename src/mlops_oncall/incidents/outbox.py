"""Writes to a team database that cannot be reached: captured in the local outbox
(store/outbox.py), replayed in order when it returns.

Only what a responder types about an existing incident, and `deploy record`, is captured
(OPS): a `declare` needs the incident id only the server hands out, so it is refused while
the database is unreachable. Each entry keeps when it was captured and who did it; the replay
runs the same service operation acting as that person on a clock stopped at that moment, so
the events carry their original times and actor and are chained on the server like any
other. A replay is idempotent: each event it appends carries the entry's id (Writer.delivering)
and an entry already in the chain is only removed; a deploy already recorded (same service,
version, kind, time and actor) likewise. An entry the server refuses now (the incident was
closed meanwhile, a role taken) is kept aside as undeliverable with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from mlops_oncall.clock import Clock, FixedClock
from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import parse_ref, public_id
from mlops_oncall.incidents.writer import AlreadyDelivered
from mlops_oncall.redact import Redactor
from mlops_oncall.store.errors import StoreError
from mlops_oncall.store.outbox import Entry, Outbox

# operation -> (service, method); the first positional argument of an incident op is its ref
OPS: dict[str, tuple[str, str]] = {
    "note": ("incidents", "note"),
    "ack": ("incidents", "ack"),
    "set_status": ("incidents", "set_status"),
    "set_severity": ("incidents", "set_severity"),
    "assign": ("incidents", "assign"),
    "milestone": ("incidents", "milestone"),
    "set_field": ("incidents", "set_field"),
    "step": ("incidents", "step"),
    "decide": ("incidents", "decide"),
    "action_add": ("incidents", "action_add"),
    "action_done": ("incidents", "action_done"),
    "deploy_record": ("deploys", "record"),
}

_STATUS_VERBS = {"mitigate": "mitigated", "resolve": "resolved", "close": "closed"}

QUEUED_LINE = (
    "database unreachable: queued in the local outbox ({pending} pending); "
    "delivered when it returns"
)

# (service, actor, captured_at) -> the service acting as them on a clock stopped then
Services = Callable[[str, str, Clock], Any]


class NotQueueable(IncidentError):
    """An operation the outbox cannot hold (declare): exit 2, the database being unusable."""

    exit_code = 2


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$ts": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$ts" in value:
            return datetime.fromisoformat(value["$ts"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


@dataclass
class Delivery:
    """One pass over the outbox: what reached the server, what it refused, and why the pass
    stopped early (the database still unreachable), if it did."""

    delivered: list[Entry] = field(default_factory=list)
    refused: list[tuple[Entry, str]] = field(default_factory=list)  # with the reason
    stopped: str | None = None


class OfflineWrites:
    def __init__(
        self,
        box: Outbox,
        services: Services,
        *,
        clock: Clock,
        actor: str,
        redactor: Redactor,
    ):
        self.box = box
        self.services = services
        self.clock = clock
        self.actor = actor
        self.redactor = redactor

    def capture(self, op: str, *args: Any, **kwargs: Any) -> Entry:
        """Queue ``op`` as the session's actor, now. Arguments are redacted as the service
        would store them; a malformed incident id is refused here, as it would be online."""
        return self.capture_as(self.actor, op, args, kwargs)

    def capture_call(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Entry | None:
        """Queue a bound service call (the TUI's), as that service's actor; None when it is
        not an operation the outbox holds."""
        owner = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        if type(owner).__name__ == "Deploys":
            name = f"deploy_{name}"
        if name in _STATUS_VERBS:  # mitigate(ref) is set_status(ref, "mitigated")
            name, args = "set_status", (args[0], _STATUS_VERBS[name], *args[1:])
        if owner is None or name not in OPS or OPS[name][0] not in ("incidents", "deploys"):
            return None
        return self.capture_as(getattr(owner, "actor", self.actor), name, args, dict(kwargs))

    def capture_as(self, actor: str, op: str, args: tuple, kwargs: dict) -> Entry:
        if op not in OPS:
            raise NotQueueable(
                f"the database is unreachable and {op.replace('_', ' ')} cannot wait for it "
                f"(it needs the id the server hands out); run it again when it is back"
            )
        _check(op, args, kwargs)
        incident = None
        if OPS[op][0] == "incidents":
            incident = public_id(parse_ref(args[0]))
            args = (incident, *args[1:])
        now = self.clock.now()
        if op == "deploy_record" and kwargs.get("at") is None:
            kwargs["at"] = now  # the natural key a replay checks (see _deploy_recorded)
        encoded = {
            "args": [_encode(a) for a in args],
            "kwargs": {k: _encode(v) for k, v in kwargs.items()},
        }
        redacted = self.redactor.value(encoded)
        return self.box.capture(op, redacted, actor=actor, at=now, incident=incident)

    def remember(self, key: str, output: str) -> None:
        """What a read command printed, kept to show (marked stale) while the database is
        unreachable."""
        self.box.remember(key, self.clock.now(), output)

    def recall(self, key: str):
        return self.box.recall(key)

    def counts(self) -> dict[str, int]:
        return self.box.counts()

    def deliver(self) -> Delivery:
        """Replay every pending entry, oldest first, until none is left or the database is
        unreachable again."""
        out = Delivery()
        with self.box.delivering():
            while (entry := self.box.next_pending()) is not None:
                try:
                    self.apply(entry)
                except AlreadyDelivered:
                    pass  # an earlier pass applied it and stopped before the delete
                except StoreError as exc:  # unreachable again, or a conflict: try later
                    out.stopped = str(exc)
                    break
                except IncidentError as exc:  # the server refuses it now: kept, with why
                    reason = self.redactor.text(str(exc))
                    self.box.refuse(entry, reason, self.clock.now())
                    out.refused.append((entry, reason))
                    continue
                self.box.delete(entry)
                out.delivered.append(entry)
        return out

    def apply(self, entry: Entry) -> None:
        """Deliver's first half: ``entry`` to the server, without removing it from the outbox
        (AlreadyDelivered when the server has it already). A crash after this leaves it to
        the next delivery, which finds it there."""
        kind, method = OPS.get(entry.op, ("", ""))
        if not kind:
            raise BadInput(f"unknown queued operation '{entry.op}'")
        svc = self.services(kind, entry.actor, FixedClock(entry.captured_at))
        args = [_decode(a) for a in entry.args["args"]]
        kwargs = {k: _decode(v) for k, v in entry.args["kwargs"].items()}
        if kind == "deploys":
            if _deploy_recorded(svc, entry.actor, *args, at=kwargs["at"]):
                raise AlreadyDelivered(entry.uid)
            getattr(svc, method)(*args, **kwargs)
            return
        with svc.delivering(entry.uid):
            getattr(svc, method)(*args, **kwargs)


def _one_of(what: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise BadInput(f"unknown {what} '{value}'; expected one of {', '.join(allowed)}")


def _check(op: str, args: tuple, kwargs: dict) -> None:
    """What the service would refuse whatever the database holds (BadInput, exit 2) is refused
    now, as it would be online, and never queued; what depends on the incident's state waits
    for the replay (and, refused then, is kept as undeliverable)."""
    from mlops_oncall.incidents import lifecycle as lc

    if op == "note" and not str(args[1]).strip():
        raise BadInput("a note needs text")
    if op == "set_severity":
        try:
            lc.normalise_severity(args[1])
        except lc.LifecycleError as exc:
            raise BadInput(str(exc)) from None
    if op == "set_status":
        _one_of("status", args[1], lc.STATUSES)
    if op == "assign":
        _one_of("role", args[1], lc.ROLES)
    if op == "milestone":
        _one_of("milestone", args[1], lc.MILESTONES)
        _one_of("source", kwargs.get("source", "manual"), lc.SOURCES)
    if op == "set_field":
        _one_of("field", args[1], lc.NARRATIVE_FIELDS)
    if op == "action_add":
        _one_of("action type", kwargs.get("type"), lc.ACTION_TYPES)
        if not str(args[1]).strip():
            raise BadInput("an action item needs text")


def _deploy_recorded(deploys: Any, actor: str, service: str, version: str, kind: str, *_, at):
    """Whether this deploy is already recorded: same service, version, kind and actor, at
    the same second (the deployment table has no room for an outbox id)."""
    second = timedelta(seconds=1)
    found = deploys.list(service=service, since=at - second, until=at + second)
    return any(d.version == version and d.kind == kind and d.actor == actor for d in found)
