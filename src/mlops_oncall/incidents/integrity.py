"""What the timeline says an incident's stored summary must be, and where the store disagrees.

The incident row, its roles, action items and attached runbook snapshots summarise the chain
for fast listing and for reports. ``Projection`` replays the events with the same meaning the
service gives them when it writes them (``declared`` sets the title, severity and service;
``milestone`` sets a milestone and its source, the last one winning since the service appends
one only when it sets it; ``field_set`` sets a narrative field; ...), and ``compare`` names every
stored value that differs, so an edit made outside the app is caught even when the chain of
events itself is intact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from mlops_oncall.formats.refs import public_id
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.timeline import Verdict
from mlops_oncall.store.witness import ENV_KEY, Line, Reading, signed_ok

DECLARED_COLUMNS = {  # incident column -> key in the declared event's data
    "title": "title",
    "severity": "severity",
    "service": "service",
    "is_drill": "drill",
    "drill_id": "drill_id",
    "declared_from_check": "from_check",
}


@dataclass
class Mismatch:
    column: str  # table.column, or table[key].column
    stored: Any
    timeline: Any
    what: str = ""  # set instead of the values when a row is missing or extra

    def text(self) -> str:
        if self.what:
            return f"{self.column} {self.what}"
        return f"{self.column} is {_show(self.stored)} but the timeline says {_show(self.timeline)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "stored": self.stored,
            "timeline": self.timeline,
            "problem": self.text(),
        }


def _show(value: Any) -> str:
    """A value for a one-line message: quoted, control characters escaped, long text cut."""
    if value is None:
        return "empty"
    if isinstance(value, bool | int | float):
        return str(value)
    s = str(value)
    if len(s) > 60:
        s = s[:57] + "..."
    return repr(s)


def snapshot_sha256(snapshot: str) -> str:
    return hashlib.sha256(snapshot.encode()).hexdigest()


def snapshot_problem(stored_sha: str, recorded: dict[str, Any]) -> str | None:
    """Why a stored snapshot does not match what its attach event recorded, or None.

    Events written since the full sha256 was added carry it; older ones carry only the
    12-hex ``version`` prefix, which is checked as far as it goes."""
    full = recorded.get("sha256")
    if full:
        if stored_sha != full:
            return f"hashes to {stored_sha[:16]}… but the timeline recorded {full[:16]}…"
        return None
    version = recorded.get("version") or ""
    if not version or not stored_sha.startswith(version):
        return f"hashes to {stored_sha[:12]} but the timeline recorded version {version or '?'}"
    return None


@dataclass
class Projection:
    """The summary the events imply; fed one event at a time, in order."""

    incident: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[int, dict[str, Any]] = field(default_factory=dict)
    runbooks: dict[int, dict[str, Any]] = field(default_factory=dict)  # by attached seq
    declared: bool = False
    unreadable: list[int] = field(default_factory=list)

    def apply(self, seq: int, ts: str, kind: str, data_json: str) -> None:
        handler = _HANDLERS.get(kind)
        if self.declared:
            self.incident["updated_at"] = ts  # every append moves it (timeline.Appender)
        if handler is None:
            return
        try:
            handler(self, seq, ts, json.loads(data_json))
        except (ValueError, KeyError, TypeError, AttributeError):
            self.unreadable.append(seq)

    def _declared(self, seq: int, ts: str, d: dict) -> None:
        self.declared = True
        inc = self.incident
        inc.update({col: d.get(key) for col, key in DECLARED_COLUMNS.items()})
        inc["is_drill"] = bool(inc["is_drill"])
        inc.update(status="triage", created_at=ts, updated_at=ts, postmortem_status="draft")
        for m in lc.MILESTONES:
            inc[f"{m}_at"] = inc[f"{m}_source"] = None
        for name in lc.NARRATIVE_FIELDS:
            inc.setdefault(name, None)
        inc["postmortem_status"] = "draft"

    def _status(self, seq: int, ts: str, d: dict) -> None:
        self.incident["status"] = d["to"]

    def _severity(self, seq: int, ts: str, d: dict) -> None:
        self.incident["severity"] = d["to"]

    def _milestone(self, seq: int, ts: str, d: dict) -> None:
        # the service appends a milestone event only when it sets the value: the last one wins
        name = d["name"]
        if name in lc.MILESTONES:
            self.incident[f"{name}_at"] = d["at"]
            self.incident[f"{name}_source"] = d["source"]

    def _role(self, seq: int, ts: str, d: dict) -> None:
        self.roles[d["role"]] = {"who": d["who"], "assigned_at": ts}

    def _action(self, seq: int, ts: str, d: dict) -> None:
        number = int(d["number"])
        if d["op"] == "added":
            self.actions[number] = {
                "text": d["text"],
                "type": d["type"],
                "owner": d["owner"],
                "due": d.get("due"),
                "priority": d.get("priority"),
                "link": d.get("link"),
                "status": "open",
                "created_at": ts,
                "done_at": None,
            }
        elif d["op"] == "done" and number in self.actions:
            self.actions[number].update(status="done", done_at=ts)

    def _field(self, seq: int, ts: str, d: dict) -> None:
        if d["field"] in lc.NARRATIVE_FIELDS:
            self.incident[d["field"]] = d["value"]

    def _attached(self, seq: int, ts: str, d: dict) -> None:
        self.runbooks[seq] = {
            "runbook_id": d["runbook"],
            "version": d.get("version"),
            "sha256": d.get("sha256"),
            "attached_at": ts,
        }


_HANDLERS = {
    "declared": Projection._declared,
    "status_changed": Projection._status,
    "severity_changed": Projection._severity,
    "milestone": Projection._milestone,
    "role_assigned": Projection._role,
    "action_item": Projection._action,
    "field_set": Projection._field,
    "runbook_attached": Projection._attached,
}


def _same(stored: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return stored in (0, 1, True, False) and bool(stored) == expected
    return stored == expected


def compare(p: Projection, stored: dict[str, Any]) -> list[Mismatch]:
    """Every stored summary value that differs from what the events say, in a stable order."""
    out: list[Mismatch] = []
    row = stored["incident"]
    if p.declared:
        for col, expected in p.incident.items():
            if not _same(row.get(col), expected):
                out.append(Mismatch(f"incident.{col}", row.get(col), expected))
    out += _compare_roles(p, stored["roles"])
    out += _compare_actions(p, stored["actions"])
    out += _compare_runbooks(p, stored["runbooks"])
    return out


def _compare_roles(p: Projection, rows: list[dict]) -> list[Mismatch]:
    return _compare_rows(
        rows,
        p.roles,
        table="role_assignment",
        key="role",
        order=lambda r: str(r["role"]),
        shown="who",
        cols=lambda want: ((c, want[c]) for c in ("who", "assigned_at")),
        deleted=lambda role, want: (
            f"is missing but the timeline assigns it to {_show(want['who'])} (deleted)"
        ),
    )


def _compare_actions(p: Projection, rows: list[dict]) -> list[Mismatch]:
    return _compare_rows(
        rows,
        p.actions,
        table="action_item",
        key="number",
        shown="text",
        cols=lambda want: want.items(),
        deleted=lambda number, want: "is missing but the timeline added it (deleted)",
    )


def _compare_runbooks(p: Projection, rows: list[dict]) -> list[Mismatch]:
    def snapshot(name: str, t: dict, want: dict) -> list[Mismatch]:
        problem = snapshot_problem(snapshot_sha256(t["snapshot"] or ""), want)
        return [Mismatch(f"{name}.snapshot", None, None, problem + " (edited)")] if problem else []

    return _compare_rows(
        rows,
        p.runbooks,
        table="triage_runbook",
        key="attached_seq",
        shown="runbook_id",
        # an older attach event recorded no version: nothing to compare it with
        cols=lambda want: (
            (c, want[c]) for c in ("runbook_id", "version", "attached_at") if want[c] is not None
        ),
        extra=lambda t: (
            f"({t['runbook_id']}) has no runbook_attached event at seq {t['attached_seq']} "
            "(added outside the app)"
        ),
        deleted=lambda seq, want: (
            f"is missing but event {seq} attached {want['runbook_id']} (deleted)"
        ),
        also=snapshot,
    )


def _compare_rows(
    rows: list[dict],
    wanted: dict[Any, dict[str, Any]],
    *,
    table: str,
    key: str,
    shown: str,
    cols: Callable[[dict], Iterable[tuple[str, Any]]],
    order: Callable[[dict], Any] | None = None,
    extra: Callable[[dict], str] = lambda r: "is not in the timeline (added outside the app)",
    deleted: Callable[[Any, dict], str],
    also: Callable[[str, dict, dict], list[Mismatch]] | None = None,
) -> list[Mismatch]:
    """One summary table against the rows the timeline implies, keyed by ``key``: a stored row
    the timeline lacks (``extra``), a differing column, then a row the timeline has but the
    table lacks (``deleted``). ``shown`` is the column a missing or extra row is named by."""
    out = []
    seen = set()
    # numbered rows in order, a row without a key (edited in) last
    for r in sorted(rows, key=order or (lambda r: (r[key] is None, r[key] or 0))):
        k = r[key]
        seen.add(k)
        want = wanted.get(k)
        name = f"{table}[{k}]"
        if want is None:
            out.append(Mismatch(name, r[shown], None, extra(r)))
            continue
        for col, expected in cols(want):
            if r[col] != expected:
                out.append(Mismatch(f"{name}.{col}", r[col], expected))
        if also is not None:
            out += also(name, r, want)
    for k in sorted(set(wanted) - seen):
        out.append(Mismatch(f"{table}[{k}]", None, wanted[k][shown], deleted(k, wanted[k])))
    return out


# -- the witness ---------------------------------------------------------------------------


class WitnessCheck:
    """Compares the heads a witness saw with the chain, event by event as it is walked."""

    def __init__(self, reading: Reading | None, key: bytes | None):
        self.reading = reading
        self.key = key
        self.problems: list[str] = []
        self.not_checked: list[str] = []
        self.trusted: dict[int, list[Line]] = {}
        self.ignored = 0
        self.matched = 0
        if reading is None:
            self.not_checked.append(
                "witness: none is configured (the database is not a file, or witness: off), "
                "so a truncated or recomputed chain cannot be detected"
            )
            return
        if not reading.exists:
            why = f"cannot be read ({reading.error})" if reading.error else "does not exist"
            self.not_checked.append(
                f"witness: {reading.where} {why}, so a truncated or recomputed chain "
                "cannot be detected"
            )
            return
        for line in reading.lines:
            if key is None:
                self._trust(line)
            elif line.mac is not None:
                if signed_ok(key, line):
                    self._trust(line)
                else:
                    self.problems.append(
                        f"witness line {line.number} (event {line.head.seq}) has a bad signature: "
                        f"it was forged, or signed with another {ENV_KEY}"
                    )
            elif reading.signed_from is not None and line.number > reading.signed_from:
                self.problems.append(
                    f"witness line {line.number} (event {line.head.seq}) is not signed, but the "
                    f"witness is signed from line {reading.signed_from} on: it was forged, or written "
                    "without the key"
                )
            else:
                self.ignored += 1  # written before a key was set
        if key is not None and reading.lines and reading.signed_from is None:
            self.problems.append(
                f"the witness has no signed line although {ENV_KEY} is set: its signatures "
                "were stripped (or nothing was recorded since the key was set)"
            )
        if not reading.lines:
            self.not_checked.append(
                f"witness: {reading.where} has no head for this incident (recorded before the "
                "witness existed, or its lines were removed)"
            )
        elif key is None:
            self.not_checked.append(
                f"witness signatures: {ENV_KEY} is not set, so a witness rewritten to match a "
                "recomputed chain cannot be detected"
            )
        elif self.ignored and reading.signed_from is not None:
            self.not_checked.append(
                f"witness: {self.ignored} unsigned line(s) from before the key was set"
            )
        if reading.unreadable:
            self.not_checked.append(
                f"witness: {reading.unreadable} unreadable line(s) for this incident (skipped)"
            )

    def _trust(self, line: Line) -> None:
        self.trusted.setdefault(line.head.seq, []).append(line)

    @property
    def last_seq(self) -> int | None:
        return max(self.trusted) if self.trusted else None

    def visit(self, seq: int, digest: str) -> None:
        for line in self.trusted.get(seq, ()):
            if line.head.hash == digest:
                self.matched += 1
            else:
                self.problems.append(
                    f"event {seq}'s hash is {digest[:16]}… but the witness recorded "
                    f"{line.head.hash[:16]}… at {line.head.time} (line {line.number}): "
                    "the chain was rewritten"
                )

    def finish(self, chain: Verdict) -> None:
        last = self.last_seq
        if last is None or not chain.ok:
            return
        if last > chain.head_seq:
            line = self.trusted[last][-1]
            self.problems.append(
                f"the witness saw event {last} ({line.head.hash[:16]}…) at {line.head.time} "
                f"but the timeline ends at event {chain.head_seq}: events were deleted"
            )
        elif last < chain.head_seq:
            self.not_checked.append(
                f"witness: events {last + 1}-{chain.head_seq} come after the last witnessed head "
                f"({last}); they were written while the witness could not be, or outside the app"
            )

    def to_json(self) -> dict[str, Any]:
        r = self.reading
        return {
            "where": r.where if r else None,
            "exists": bool(r and r.exists),
            "signed": self.key is not None,
            "heads": sum(len(v) for v in self.trusted.values()),
            "last_seq": self.last_seq,
            "problems": self.problems,
        }


@dataclass
class Integrity:
    """The whole verdict on one incident: the chain, the summary columns, the witness."""

    id: str
    chain: Verdict
    mismatches: list[Mismatch]
    witness: WitnessCheck
    unreadable: list[int] = field(default_factory=list)
    compared: bool = True  # False: the chain is broken, so the summary was not compared

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.mismatches and not self.witness.problems

    # the chain verdict's fields, so callers that only want "intact?" read it as before
    @property
    def events(self) -> int:
        return self.chain.events

    @property
    def head_seq(self) -> int:
        return self.chain.head_seq

    @property
    def head_hash(self) -> str:
        return self.chain.head_hash

    @property
    def bad_seq(self) -> int | None:
        return self.chain.bad_seq

    @property
    def problems(self) -> list[str]:
        out = [self.chain.problem] if self.chain.problem else []
        out += [m.text() for m in self.mismatches]
        out += self.witness.problems
        return out

    @property
    def problem(self) -> str | None:
        problems = self.problems
        return problems[0] if problems else None

    @property
    def not_checked(self) -> list[str]:
        out = list(self.witness.not_checked)
        if not self.compared:
            out.append(
                f"the stored summary (status, milestones, roles, ...) was not compared: "
                f"the chain is broken at event {self.bad_seq}"
            )
        if self.unreadable:
            seqs = ", ".join(map(str, self.unreadable[:5]))
            out.append(f"events with unreadable data were not replayed: {seqs}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "bad_seq": self.bad_seq,
            "problem": self.problem,
            "chain_ok": self.chain.ok,
            "problems": self.problems,
            "mismatches": [m.to_json() for m in self.mismatches],
            "witness": self.witness.to_json(),
            "not_checked": self.not_checked,
        }


def check(
    conn: Connection, incident_id: int, reading: Reading | None, key: bytes | None
) -> Integrity:
    """Walk the chain once, replaying it and comparing it with the witness as it goes.

    ``reading`` must be taken before this read transaction starts: a head is witnessed only
    after its commit, so every head read first is in the chain this transaction sees."""
    proj = Projection()
    wit = WitnessCheck(reading, key)

    def visit(seq: int, ts: str, kind: str, data: str, digest: str) -> None:
        proj.apply(seq, ts, kind, data)
        wit.visit(seq, digest)

    chain = tl.verify(conn, incident_id, visit)
    wit.finish(chain)
    if not chain.ok:
        # the replay stopped at the bad event: a comparison would only add noise
        return Integrity(public_id(incident_id), chain, [], wit, proj.unreadable, False)
    mismatches = compare(proj, tl.stored_summary(conn, incident_id))
    return Integrity(public_id(incident_id), chain, mismatches, wit, proj.unreadable)
