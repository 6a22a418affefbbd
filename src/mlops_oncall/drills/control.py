"""The game master's console (``drill control``): what a drill was sent, and sending it more.

A running drill picks these up from the records: fired injects do not fire again on schedule,
and free-form messages are shown to the responder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mlops_oncall.drills.records import Delivery, DrillRecords
from mlops_oncall.drills.scenario import Inject, Scenario

ACTIONS = ("list", "fire", "message", "fault", "clear")


class ControlRefused(Exception):
    """One line for the game master; ``usage`` when the arguments were wrong."""

    def __init__(self, message: str, *, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def listing(records: DrillRecords, drill) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The scenario's injects with when each was delivered, then the free-form deliveries."""
    scenario = Scenario.model_validate_json(drill.scenario)
    delivered = records.injects(drill.id)
    fired = {d.number: d for d in delivered if d.number is not None}
    injects = []
    for n, inj in enumerate(scenario.injects):
        d = fired.get(n)
        injects.append(
            {
                "number": n,
                "at": inj.at,
                "type": inj.type,
                "target": inj.target,
                "fault": inj.fault,
                "text": inj.text,
                "delivered": d.at if d else None,
                "source": d.source if d else None,
            }
        )
    other = [
        {
            "type": d.type,
            "text": d.text,
            "target": d.target,
            "fault": d.fault,
            "at": d.at,
            "source": d.source,
        }
        for d in delivered
        if d.number is None
    ]
    return injects, other


def send(
    records: DrillRecords,
    drill,
    name: str,
    action: str,
    args: tuple[str, ...],
    *,
    now: datetime,
) -> None:
    """Act on a running drill's fake system now, and record it as the game master's delivery.

    ``name`` is the drill as the game master wrote it, for the refusals."""
    from mlops_oncall.drills.fake.client import FakeControl

    if drill.status != "running":
        raise ControlRefused(f"{name} is {drill.status}; only a running drill takes injects")
    if not drill.control_url:
        raise ControlRefused(f"{name} has no fake system to control")
    scenario = Scenario.model_validate_json(drill.scenario)
    control = FakeControl(drill.control_url)
    # drill time: wall time since the start, times the speed (as the running drill counts it)
    offset = max(0.0, (now - drill.started_at).total_seconds()) * drill.speed
    at = drill.started_at + timedelta(seconds=offset)
    if action == "fire":
        d = _fire(records, drill, scenario, control, args, offset, at)
    elif action == "message":
        if not args:
            raise ControlRefused("message needs text", usage=True)
        # stored and listed back: a pasted token must not be
        text = records.redact(" ".join(args))
        d = Delivery("message", offset, at, text=text, source="game_master")
    elif action == "fault":
        if len(args) < 2:
            raise ControlRefused("fault takes SERVICE FAULT [key=value...]", usage=True)
        params = dict(a.split("=", 1) for a in args[2:] if "=" in a)
        try:
            control.inject(args[0], args[1], **params)
        except Exception as exc:
            raise ControlRefused(str(exc)) from exc
        d = Delivery(
            "fault", offset, at, target=args[0], fault=args[1], params=params, source="game_master"
        )
    elif action == "clear":
        target = args[0] if args else None
        control.clear(target)
        d = Delivery("clear", offset, at, target=target, source="game_master")
    else:
        raise ControlRefused(f"unknown action '{action}'", usage=True)
    if not records.deliver(drill.id, d):
        raise ControlRefused(f"inject {d.number} was already delivered")


def _fire(records, drill, scenario, control, args, offset, at) -> Delivery:
    number = args[0] if len(args) == 1 else ""
    # ASCII digits, and few: int() rejects '²' and numbers of over 4300 digits
    valid = number.isascii() and number.isdigit() and len(number) < 10
    if not valid or int(number) >= len(scenario.injects):
        raise ControlRefused(
            f"fire takes an inject number from 0 to {len(scenario.injects) - 1}", usage=True
        )
    n = int(number)
    if n in records.delivered(drill.id):
        raise ControlRefused(f"inject {n} was already delivered")
    inj: Inject = scenario.injects[n]
    if inj.type == "fault":
        control.inject(inj.target, inj.fault, **inj.params)
    elif inj.type == "clear":
        control.clear(inj.target)
    return Delivery(
        inj.type,
        offset,
        at,
        number=n,
        target=inj.target,
        fault=inj.fault,
        params=inj.params,
        text=inj.text,
        source="game_master",
    )
