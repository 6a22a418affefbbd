"""Running a drill: deliver the injects on schedule through the fake system's control endpoint,
show contingency messages when expected actions are late, and keep a record.

Two clocks:
- **virtual** (``drill run --no-ui``, the tests): time jumps to the next pending thing (an
  inject, a poll, a contingency deadline) whenever nothing is pending, so a drill of twenty
  minutes runs in seconds and is not flaky on a busy machine. The runner polls the checks
  itself, one real probe round per poll interval of drill time.
- **paced** (the TUI, and ``--no-ui --live`` for a game master whose responder plays in
  another terminal): wall time multiplied by ``speed``; the TUI's own monitor polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from mlops_oncall.drills.clock import DrillClock
from mlops_oncall.drills.records import Delivery, DrillRecords
from mlops_oncall.drills.scenario import Inject, Scenario
from mlops_oncall.formats.actors import MONITOR
from mlops_oncall.formats.refs import drill_ref

POLL = timedelta(seconds=20)  # drill time between probe rounds in virtual mode
# the actor of what the drill itself delivers or ends: not the responder playing it
GAME_MASTER = "game_master"


class DrillRunner:
    """Runs one scenario against the fake system, with the services it is handed.

    ``clock`` is the drill's own (``DrillClock.for_mode``); the ``incidents`` it records into
    must stamp with that same clock (a drill's Session is built with it), so scores are in
    drill time."""

    def __init__(
        self,
        scenario: Scenario,
        control: Any,
        *,
        incidents: Any,
        records: DrillRecords,
        clock: DrillClock,
        speed: float = 1.0,
        mode: str = "headless",
        tell: Callable[[str, str], None] | None = None,
        responder: Callable[[float, Any], None] | None = None,
        checks: Any = None,
        poll: timedelta = POLL,
    ):
        self.scenario = scenario
        self.control = control
        self.incidents = incidents
        self.records = records
        self.clock = clock
        self.speed = speed
        self.mode = mode
        self.tell = tell or (lambda text, severity="information": None)
        self.responder = responder
        self.checks = checks
        self.poll = poll.total_seconds()
        self.drill_id: int | None = None
        self.incident: str | None = None
        self.transitions: list[Any] = []
        self._stop = threading.Event()
        self._interrupted = False  # Ctrl-C: stop at the next safe point (interrupt())
        self._warned: set[int] = set()

    @classmethod
    def from_session(cls, session: Any, scenario: Scenario, control: Any, **kw: Any) -> DrillRunner:
        """A runner on a Session's services. The Session was built with the drill's clock
        (``DrillClock.for_mode``), so its incidents stamp drill time from the start."""
        clock = session.clock
        mode = kw.get("mode", "headless")
        if not isinstance(clock, DrillClock) or clock.virtual != (mode == "headless"):
            raise TypeError(f"a {mode} drill's Session is built with DrillClock.for_mode({mode!r})")
        return cls(
            scenario,
            control,
            incidents=session.incidents,
            records=session.drills,
            clock=clock,
            **kw,
        )

    # -- the record ----------------------------------------------------------------------
    @property
    def ref(self) -> str:
        return drill_ref(self.drill_id) if self.drill_id else "DRILL-?"

    def begin(self) -> str:
        """Record the drill as running; its public id (DRILL-0001)."""
        self.drill_id = self.records.begin(
            self.scenario,
            mode=self.mode,
            speed=self.speed,
            started_at=self.clock.start,
            control_url=getattr(self.control, "control_url", None)
            or getattr(self.control, "url", None),
        )
        return self.ref

    def finish(self, status: str = "finished") -> dict[str, Any]:
        from mlops_oncall.drills.scoring import score_drill

        result = score_drill(self.records, self.incidents, self.drill_id)
        self.records.finish(self.drill_id, result, status=status)
        self.end_incidents(status)
        return result

    def end_incidents(self, status: str, reason: str | None = None) -> list[str]:
        """Close the drill's incidents when the drill ends, however it ends: a ``drill_ended``
        event, then resolved (source ``drill``), so no TUI on this database shows them open.

        Scoring reads each timeline only up to that event. Returns the incidents resolved."""
        from mlops_oncall.incidents.lifecycle import MOVES

        incidents = self.incidents
        text = f"{self.ref} ended ({status})" + (f": {reason}" if reason else "")
        resolved = []
        for ref in self.records.incidents_of(self.ref):
            incidents.record(
                ref,
                "drill_ended",
                text,
                {"drill": self.ref, "status": status, "reason": reason},
                actor=GAME_MASTER,
            )
            current = incidents.get(ref).row.status
            if current == "triage":
                incidents.set_status(ref, "investigating", source="drill", note="drill ended")
                current = "investigating"
            if "resolved" in MOVES[current]:
                incidents.resolve(ref, source="drill", note="drill ended")
                resolved.append(ref)
        for ref in resolved:
            self.tell(f"{ref} resolved: {text}", "information")
        return resolved

    def _log(
        self,
        number: int | None,
        inj: Inject | None,
        offset: float,
        *,
        type_: str | None = None,
        text: str | None = None,
        source: str = "schedule",
        params: dict | None = None,
    ) -> bool:
        """Record a delivery; False when the game master already fired this inject."""
        return self.records.deliver(
            self.drill_id,
            Delivery(
                type_ or inj.type,
                offset,
                self.clock.now(),
                number=number,
                target=inj.target if inj else None,
                fault=inj.fault if inj else None,
                params=params if params is not None else (inj.params if inj else {}),
                text=text if text is not None else (inj.text if inj else None),
                source=source,
            ),
        )

    # -- delivering -------------------------------------------------------------------------
    def deliver(self, number: int, inj: Inject, offset: float, *, source: str = "schedule") -> bool:
        if not self._log(number, inj, offset, source=source):
            return False
        self._apply(inj, offset)
        return True

    def _apply(self, inj: Inject, offset: float) -> None:
        if inj.type == "fault":
            self.control.inject(inj.target, inj.fault, **inj.params)
            if self.mode != "tui" and self.incident is None:
                self._declare()  # as a game master would, at the first fault
            self._record_inject(inj)
        elif inj.type == "clear":
            self.control.clear(inj.target)
            self._record_inject(inj)
        elif inj.type == "alert":
            self.tell(f"ALERT {inj.target}: {inj.text or 'firing'}", "error")
            if self.incident:
                self.incidents.record(
                    self.incident,
                    "alert",
                    f"alert {inj.target} firing",
                    {"name": inj.target, "text": inj.text},
                    actor=GAME_MASTER,
                )
        elif inj.type == "message":
            self.tell(inj.text or "", "information")

    def _record_inject(self, inj: Inject) -> None:
        if self.incident:
            what = (
                f"{inj.fault} into {inj.target}"
                if inj.type == "fault"
                else f"cleared {inj.target or 'all'}"
            )
            self.incidents.record(
                self.incident,
                "inject",
                f"drill inject: {what}",
                {
                    "drill": self.ref,
                    "type": inj.type,
                    "target": inj.target,
                    "fault": inj.fault,
                    "params": inj.params,
                },
                actor=GAME_MASTER,
            )

    def _declare(self) -> None:
        sc = self.scenario
        view = self.incidents.declare(
            f"[drill] {sc.title}",
            sc.severity,
            service=sc.service,
            drill=True,
            drill_id=self.ref,
            by=GAME_MASTER,  # scoring gives the responder no points for it
        )
        self.incident = view.id

    def _contingencies(self, offset: float) -> None:
        from mlops_oncall.drills.scoring import actions_done

        for number, inj in enumerate(self.scenario.injects):
            if inj.contingency is None or number in self._warned:
                continue
            delivered = self._delivered_at(number)
            if delivered is None or offset < delivered + inj.contingency.after.total_seconds():
                continue
            self._warned.add(number)
            done = actions_done(
                self.incidents,
                self.records.incidents_of(self.ref),
                inj.expected_actions,
                since_offset=delivered,
                started=self.clock.start,
            )
            if all(done.values()):
                continue
            self._log(
                None,
                None,
                offset,
                type_="contingency",
                text=inj.contingency.message,
                params={"for": number},
            )
            self.tell(inj.contingency.message, "warning")

    def _delivered_at(self, number: int) -> float | None:
        return self.records.delivered(self.drill_id).get(number)

    def _game_master_messages(self, shown: set[int]) -> None:
        """Free-form messages a game master added from another terminal (`drill control`)."""
        for rid, type_, text in self.records.game_master_messages(self.drill_id):
            if rid not in shown:
                shown.add(rid)
                if type_ == "message" and text:
                    self.tell(f"{text}", "warning")

    # -- the loop ----------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Stopped (or interrupted) before the scenario's end."""
        return self._stop.is_set()

    def interrupt(self) -> None:
        """Ctrl-C, from a signal handler: the loop stops at its next safe point and raises
        KeyboardInterrupt there, never inside a database write (an interrupted write leaves
        its connection unusable, and the drill could not be marked aborted)."""
        self._interrupted = True
        self._stop.set()

    def _raise_if_interrupted(self) -> None:
        if self._interrupted:
            raise KeyboardInterrupt

    def pending(self) -> list[tuple[int, Inject]]:
        fired = self.records.delivered(self.drill_id)
        return [(n, i) for n, i in enumerate(self.scenario.injects) if n not in fired]

    def run(self) -> dict[str, Any]:
        """Run to the end (blocking). Virtual mode polls the checks; paced mode only delivers.

        Whatever ends it early (the fake system gone, a full disk, Ctrl-C) is recorded: the
        drill is ``failed`` (or ``aborted`` when interrupted) with the reason, never left
        ``running``; then the error goes on to the caller."""
        if self.drill_id is None:
            self.begin()
        try:
            if self.mode == "headless":
                return asyncio.run(self._run_virtual())
            return self._run_paced()
        except KeyboardInterrupt:
            self.fail("interrupted", status="aborted")
            raise
        except BaseException as exc:
            self.fail(f"{type(exc).__name__}: {exc}".splitlines()[0])
            raise

    def fail(self, reason: str, *, status: str = "failed") -> bool:
        """Mark a drill that is still running as ended early, with why; True if it was marked.

        Best effort: when the store itself is what failed, the record cannot say so."""
        if self.drill_id is None:
            return False
        marked = self.records.fail(self.drill_id, reason, status=status)
        if marked:
            # the drill's own record says how it ended; its incident may stay as it was
            with contextlib.suppress(Exception):
                self.end_incidents(status, self.records.redact(reason))
        return marked

    def _run_paced(self) -> dict[str, Any]:
        end = self.scenario.end.total_seconds()
        shown: set[int] = set()
        while not self._stop.is_set():
            offset = self.clock.offset()
            for number, inj in self.pending():
                if inj.at.total_seconds() <= offset:
                    self.deliver(number, inj, offset)
            self._contingencies(offset)
            self._game_master_messages(shown)
            if self.responder is not None:
                self.responder(offset, self)
            if offset >= end:
                break
            self._stop.wait(0.2)
        self._raise_if_interrupted()
        return self.finish(
            "finished" if not self._stop.is_set() or self.clock.offset() >= end else "aborted"
        )

    async def _run_virtual(self) -> dict[str, Any]:
        from mlops_oncall.checks.probe import Prober
        from mlops_oncall.checks.state import Board

        end = self.scenario.end.total_seconds()
        specs = list(self.checks) if self.checks is not None else []
        board = Board(specs, clock=self.clock)
        next_poll = 0.0
        async with (
            Prober(redactor=self.checks.redactor, clock=self.clock) if specs else _Null() as prober
        ):
            while not self._stop.is_set():
                offset = self.clock.offset()
                for number, inj in self.pending():
                    if inj.at.total_seconds() <= offset:
                        self.deliver(number, inj, offset)
                if specs and offset >= next_poll:
                    await self._probe_round(prober, board, specs)
                    next_poll = offset + self.poll
                self._contingencies(offset)
                if self.responder is not None:
                    self.responder(offset, self)
                if offset >= end:
                    break
                upcoming = [i.at.total_seconds() for _, i in self.pending()] + [end]
                if specs:
                    upcoming.append(next_poll)
                upcoming += self._contingency_deadlines()
                nxt = (
                    min(t for t in upcoming if t > offset)
                    if any(t > offset for t in upcoming)
                    else end
                )
                self.clock.jump_to(nxt)  # nothing is pending until then: jump
        self._raise_if_interrupted()
        return self.finish()

    def _contingency_deadlines(self) -> list[float]:
        out = []
        for number, inj in enumerate(self.scenario.injects):
            if inj.contingency is not None and number not in self._warned:
                at = self._delivered_at(number)
                if at is not None:
                    out.append(at + inj.contingency.after.total_seconds())
        return out

    async def _probe_round(self, prober, board, specs) -> None:
        # the prober stamps results with the drill clock, so thresholds and history follow it
        results = await asyncio.gather(*(prober.probe(s) for s in specs))
        moved = []
        for r in results:
            moved.extend(board.observe(r))
        if moved:
            self.transitions.extend(moved)
            self.records.record_transitions(moved)
            if self.incident:
                for t in moved:
                    self.incidents.record(
                        self.incident,
                        "check_transition",
                        f"{t.check_id}: {t.from_state} → {t.to_state}"
                        + (f" ({t.message})" if t.message else ""),
                        {
                            "check": t.check_id,
                            "from": t.from_state,
                            "to": t.to_state,
                            "at": t.at.isoformat(),
                            "error_class": t.error_class,
                            "blocked_by": list(t.blocked_by),
                        },
                        actor=MONITOR,  # as the TUI's monitor records a crossing
                    )


class RunnerStory:
    """Runs a drill beside the TUI: the app starts it with a notifier and stops it on exit."""

    def __init__(self, runner: DrillRunner):
        self.runner = runner
        self.thread: threading.Thread | None = None
        self.on_end: Callable[[str], None] | None = None  # told how the drill ended

    def start(self, tell) -> None:
        self.runner.tell = tell
        self.thread = threading.Thread(target=self._run, name="drill", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        runner = self.runner
        try:
            result = runner.run()
        except Exception as exc:  # recorded as failed by run(); the TUI says so
            text = f"{runner.ref} failed: {exc}".splitlines()[0]
        else:
            score = result.get("score")
            how = "stopped early" if runner.stopped else "ended"
            text = f"{runner.ref} {how}" + (f": score {score:g}%" if score is not None else "")
            text += ". Its debrief: palette, Drill debrief."
        if self.on_end is not None:
            self.on_end(text)

    def stop(self) -> None:
        self.runner.stop()
        if self.thread is not None:
            self.thread.join(10)


class _Null:
    async def __aenter__(self):
        return None

    async def __aexit__(self, *exc):
        return None
