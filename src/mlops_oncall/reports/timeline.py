"""The postmortem timeline: the incident's events, its milestones and its checks' threshold
crossings, in UTC, grouped by date, with OUTAGE BEGINS and OUTAGE ENDS.

Milestones are placed at their (possibly corrected) times from the incident row, not at the
time their event was written: an impact that began an hour before the declaration belongs an
hour before it. A check that flapped is folded into a line or two per day, because fifty
"up → down" lines would bury what people did. Commands show their exit code, never their
output, which may hold anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.formats.words import plural
from mlops_oncall.incidents.metrics import outage
from mlops_oncall.incidents.service import IncidentView
from mlops_oncall.reports import text as fmt
from mlops_oncall.store.timeline import EventRecord

if TYPE_CHECKING:
    from mlops_oncall.store.models import CheckTransition, Incident

FLAP_MIN = 5  # this many crossings of one check in a day are folded into a summary line
SKIPPED_KINDS = ("field_set",)  # writing the postmortem is not part of the incident


@dataclass
class Entry:
    at: datetime
    text: str
    who: str | None = None
    marker: str | None = None
    rank: int = 1  # at the same instant: markers first, then events in their order
    seq: int = 0
    check: str | None = None  # set on check crossings, so flapping can be folded
    to_state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": fmt.clock_time(self.at),
            "at": rfc3339(self.at),
            "marker": self.marker,
            "text": self.text,
            "who": self.who,
        }


def outage_window(row: Incident) -> tuple[datetime | None, datetime | None]:
    """OUTAGE BEGINS (impact start, else detection) and OUTAGE ENDS (mitigation)."""
    return outage(row)  # the one definition of the duration


def milestone_entries(row: Incident) -> list[Entry]:
    begins, ends = outage_window(row)
    out: list[Entry] = []
    if row.impact_started_at:
        src = row.impact_started_source
        out.append(Entry(begins, f"impact started ({src})", marker="OUTAGE BEGINS", rank=0))
        if row.detected_at:
            src = row.detected_source
            out.append(Entry(row.detected_at, f"detected ({src})", rank=0))
    elif begins is not None:
        text = f"detected ({row.detected_source}); the impact start is unknown, so the outage is counted from here"
        out.append(Entry(begins, text, marker="OUTAGE BEGINS", rank=0))
    if row.acknowledged_at:
        src = row.acknowledged_source
        out.append(Entry(row.acknowledged_at, f"acknowledged ({src})", rank=0))
    if ends is not None:
        src = row.mitigated_source
        text = f"mitigated: the impact stopped ({src})"
        out.append(Entry(ends, text, marker="OUTAGE ENDS", rank=0))
    if row.resolved_at:
        out.append(Entry(row.resolved_at, f"resolved ({row.resolved_source})", rank=0))
    return out


def _check_name(data: dict[str, Any]) -> str | None:
    return data.get("check") or data.get("check_id")


def event_entry(ev: EventRecord) -> Entry | None:
    """One timeline line for one event, or None for events the milestones already show."""
    kind, data = ev.kind, ev.data
    text = fmt.one_line(ev.text)
    if kind in SKIPPED_KINDS:
        return None
    if kind == "milestone":
        if not data.get("correction"):
            return None  # shown at its real time by milestone_entries
    elif kind == "status_changed":
        if data.get("to") in ("mitigated", "resolved") and not data.get("note"):
            return None  # the OUTAGE ENDS / resolved line says it
    elif kind == "note":
        text = f"note: {text}"
    elif kind == "role_assigned":
        text = f"role {text}"
    elif kind == "declared":
        sev = data.get("severity")
        text = f"{text} ({sev})" if sev else text
    elif kind == "command_run":
        command = data.get("command") or text
        code = data.get("exit_code", data.get("exit"))
        outcome = f"exit {code}" if code is not None else "exit code not recorded"
        text = f"ran {fmt.code(command)} → {outcome}"
    elif kind == "check_run":
        name = _check_name(data) or "?"
        state = data.get("state", "?")
        latency = data.get("latency_ms")
        extra = f" ({round(latency)} ms)" if isinstance(latency, (int, float)) else ""
        text = f"ran check {fmt.code(name)}: {state}{extra}"
    elif kind == "check_transition":
        name = _check_name(data)
        if name:
            frm, to = data.get("from", data.get("from_state")), data.get("to", data.get("to_state"))
            message = fmt.one_line(data.get("message") or "")
            text = f"check {fmt.code(name)} {frm} → {to}" + (f": {message}" if message else "")
            at = data.get("at")
            when = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else ev.ts
            return Entry(when, text, ev.actor, seq=ev.seq, check=name, to_state=to)
    elif kind == "runbook_attached":
        text = f"runbook {fmt.code(data.get('runbook', '?'))} attached: {fmt.one_line(data.get('title'))}"
    elif kind in ("step_done", "step_skipped", "step_failed"):
        outcome = kind.removeprefix("step_")
        note = fmt.one_line(data.get("note") or "")
        text = (
            f"step {fmt.code(data.get('step', '?'))} {outcome}: {fmt.one_line(data.get('title'))}"
        )
        text += f" — {note}" if note else ""
    elif kind == "decision":
        note = fmt.one_line(data.get("note") or "")
        text = (
            f"decision at {fmt.code(data.get('step', '?'))}: {fmt.one_line(data.get('question'))} "
            f"→ **{fmt.one_line(data.get('choice', '?'))}**"
        ) + (f" — {note}" if note else "")
    elif kind == "alert":
        name = data.get("name") or data.get("alert")
        text = f"alert {fmt.code(name)}: {text}" if name else f"alert: {text}"
    elif kind == "inject":
        text = f"drill inject: {text}"
    elif kind == "status_update":
        to = ", ".join(data.get("to") or [])
        text = f"status update{f' (to {to})' if to else ''}: {text}"
    return Entry(ev.ts, text, ev.actor, seq=ev.seq)


def transition_entry(t: CheckTransition) -> Entry:
    message = fmt.one_line(t.message or "")
    text = f"check {fmt.code(t.check_id)} {t.from_state} → {t.to_state}"
    return Entry(
        t.at,
        text + (f": {message}" if message else ""),
        check=t.check_id,
        to_state=t.to_state,
    )


def _fold(entries: list[Entry], flap_min: int) -> tuple[list[Entry], int]:
    """Fold each check with ``flap_min`` or more crossings (in one day) into two lines."""
    by_check: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.check:
            by_check[e.check].append(e)
    drop: set[int] = set()
    summaries: list[Entry] = []
    folded = 0
    for name, crossings in by_check.items():
        if len(crossings) < flap_min:
            continue
        first, rest = crossings[0], crossings[1:]
        counts = Counter(e.to_state for e in rest)
        spread = ", ".join(f"{n}× → {state}" for state, n in sorted(counts.items()))
        last = rest[-1]
        summaries.append(
            Entry(
                rest[0].at,
                f"check {fmt.code(name)} flapped {plural(len(rest), 'more time')} until "
                f"{fmt.clock_time(last.at)} ({spread}); last state {last.to_state}",
                rank=first.rank,
                seq=rest[0].seq,
            )
        )
        drop.update(id(e) for e in rest)
        folded += len(rest)
    kept = [e for e in entries if id(e) not in drop] + summaries
    return sorted(kept, key=_order), folded


def _order(e: Entry) -> tuple:
    return (e.at, e.rank, e.seq)


def build(
    view: IncidentView,
    events: list[EventRecord],
    transitions: list[CheckTransition],
    *,
    flap_min: int = FLAP_MIN,
) -> dict[str, Any]:
    """The timeline context: days of entries, and how many crossings were folded into summaries."""
    entries = milestone_entries(view.row)
    seen: set[tuple] = set()
    for ev in events:
        e = event_entry(ev)
        if e is None:
            continue
        if e.check:
            seen.add((e.check, e.to_state, e.at.replace(microsecond=0)))
        entries.append(e)
    for t in transitions:
        # the same crossing may be both in the check history and on the timeline
        key = (t.check_id, t.to_state, t.at.replace(microsecond=0))
        if key not in seen:
            entries.append(transition_entry(t))
    entries.sort(key=_order)
    days: dict[str, list[Entry]] = {}
    for e in entries:
        days.setdefault(fmt.day(e.at), []).append(e)
    out_days = []
    folded = 0
    for date, day_entries in days.items():
        kept, n = _fold(day_entries, flap_min)
        folded += n
        out_days.append({"date": date, "entries": [e.to_dict() for e in kept]})
    return {"multi_day": len(out_days) > 1, "days": out_days, "folded": folded}
