"""The triage stepper: where a responder is in a runbook, derived from the timeline alone.

There is no stored "current step". Replaying the outcome events recorded since the runbook was
attached (step_done, step_skipped, step_failed, decision) through the same rules that admit
new ones gives the current step, the path taken and each step's outcome. So the state cannot
drift from the record, and a second terminal sees exactly what the first one did.

Rules: a step without ``next`` flows to the following one, a decide step only through its
choices. An outcome may be recorded for the current step, or for a step already visited (a
redo, which rewinds the position there). ``done`` and ``skipped`` move on; ``failed`` stays on
the step so it can be retried or skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mlops_oncall.formats.validate import did_you_mean
from mlops_oncall.runbooks.schema import Choice, Runbook

OUTCOME_KINDS = {"done": "step_done", "skipped": "step_skipped", "failed": "step_failed"}
KIND_OUTCOMES = {v: k for k, v in OUTCOME_KINDS.items()}
FLOW_KINDS = (*OUTCOME_KINDS.values(), "decision")


class TriageError(ValueError):
    """A step or decision the runbook does not allow at this point."""


@dataclass
class Outcome:
    step: str
    outcome: str  # done | skipped | failed | decided
    seq: int = 0
    ts: datetime | None = None
    actor: str = ""
    note: str = ""
    choice: str | None = None


@dataclass
class TriageState:
    runbook: Runbook
    version: str = ""
    attached_seq: int = 0
    current: str | None = None
    path: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    history: list[Outcome] = field(default_factory=list)

    @classmethod
    def start(cls, runbook: Runbook, version: str = "", attached_seq: int = 0) -> TriageState:
        first = runbook.steps[0].id
        return cls(runbook, version, attached_seq, current=first, path=[first])

    @property
    def complete(self) -> bool:
        return self.current is None

    def position(self) -> tuple[int, int]:
        """(number of the current step in the runbook, number of steps); 0 when complete."""
        total = len(self.runbook.steps)
        if self.current is None:
            return (0, total)
        return (self.runbook.index_of(self.current) + 1, total)

    def counts(self) -> dict[str, int]:
        out = {"done": 0, "skipped": 0, "failed": 0, "decided": 0}
        for o in self.outcomes.values():
            out[o.outcome] += 1
        return out

    # -- the rules -------------------------------------------------------------------------
    def _locate(self, step_id: str, verb: str) -> int:
        rb = self.runbook
        if rb.step(step_id) is None:
            ids = [s.id for s in rb.steps]
            raise TriageError(
                f"runbook '{rb.id}' has no step '{step_id}'{did_you_mean(step_id, ids)}"
            )
        if step_id == self.current:
            return len(self.path) - 1
        if step_id in self.path:
            return len(self.path) - 1 - self.path[::-1].index(step_id)
        where = (
            f"the current step is '{self.current}'"
            if self.current
            else f"the runbook '{rb.id}' is complete"
        )
        raise TriageError(f"cannot {verb} step '{step_id}' now: {where}")

    def check_outcome(self, step_id: str, outcome: str) -> str | None:
        """Validate an outcome; return the step that becomes current (None: complete)."""
        if outcome not in OUTCOME_KINDS:
            raise TriageError(f"unknown outcome '{outcome}'; expected done, skipped or failed")
        self._locate(step_id, f"mark {outcome}")
        step = self.runbook.step(step_id)
        if step.kind == "decide":
            labels = ", ".join(c.label for c in step.choices or [])
            raise TriageError(
                f"'{step_id}' is a decide step; record the decision instead (choices: {labels})"
            )
        if outcome == "failed":
            return step_id
        nxt = self.runbook.successors(step_id)
        return nxt[0] if nxt else None

    def resolve_choice(self, step_id: str, choice: str) -> Choice:
        self._locate(step_id, "decide")
        step = self.runbook.step(step_id)
        if step.kind != "decide":
            raise TriageError(
                f"'{step_id}' is a {step.kind} step, not a decision; mark it done, skipped or failed"
            )
        choices = step.choices or []
        wanted = choice.strip().lower()
        for c in choices:
            if c.label.lower() == wanted or c.next == choice:
                return c
        if wanted.isdigit() and 1 <= int(wanted) <= len(choices):
            return choices[int(wanted) - 1]
        labels = [c.label for c in choices]
        raise TriageError(
            f"'{choice}' is not a choice of '{step_id}'{did_you_mean(choice, labels)}; "
            f"choices: {', '.join(labels)}"
        )

    def _move(self, step_id: str, nxt: str | None) -> None:
        idx = self._locate(step_id, "record")
        self.path = self.path[: idx + 1]
        if nxt is not None and nxt != step_id:
            self.path.append(nxt)
        self.current = nxt

    def apply_outcome(self, step_id: str, outcome: str, **meta) -> None:
        nxt = self.check_outcome(step_id, outcome)
        self._move(step_id, nxt)
        rec = Outcome(step_id, outcome, **meta)
        self.outcomes[step_id] = rec
        self.history.append(rec)

    def apply_decision(self, step_id: str, choice: str, **meta) -> Choice:
        c = self.resolve_choice(step_id, choice)
        self._move(step_id, c.next)
        rec = Outcome(step_id, "decided", choice=c.label, **meta)
        self.outcomes[step_id] = rec
        self.history.append(rec)
        return c


def replay(runbook: Runbook, version: str, attached_seq: int, events) -> TriageState:
    """Rebuild the state from the flow events recorded after the runbook was attached."""
    state = TriageState.start(runbook, version, attached_seq)
    for ev in events:
        if ev.seq <= attached_seq or ev.data.get("runbook") != runbook.id:
            continue
        meta = {"seq": ev.seq, "ts": ev.ts, "actor": ev.actor, "note": ev.data.get("note", "")}
        try:
            if ev.kind == "decision":
                state.apply_decision(ev.data["step"], ev.data["choice"], **meta)
            elif ev.kind in KIND_OUTCOMES:
                state.apply_outcome(ev.data["step"], KIND_OUTCOMES[ev.kind], **meta)
        except (TriageError, KeyError):
            continue  # only admitted events are recorded; skip anything else defensively
    return state
