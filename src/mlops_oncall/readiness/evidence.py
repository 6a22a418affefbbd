"""What the tool already knows about a service, and each item's finding from it.

``Facts`` is plain data that ``Session.readiness_facts`` assembles (checks probed once, the
runbook library, finished drills, SLOs); this module never opens a store or probes anything,
so the same facts always give the same findings (the tests' exact figures rely on it).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.readiness.schema import ANY, Checklist, Item

STATUSES = ("pass", "partial", "fail", "unknown")
VALUE = {"pass": 1.0, "partial": 0.5, "fail": 0.0, "unknown": 0.0}
ANSWER_STATUS = {"yes": "pass", "partial": "partial", "no": "fail"}


@dataclass(frozen=True)
class CheckFact:
    id: str
    service: str | None
    state: str | None  # up | degraded | down | maintenance; None: not probed
    message: str = ""


@dataclass
class Facts:
    service: str
    now: datetime
    checks: dict[str, CheckFact] = field(default_factory=dict)
    runbooks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> applies_to
    drilled: dict[str, datetime] = field(default_factory=dict)  # runbook -> last finished drill
    slos: set[str] = field(default_factory=set)  # availability, latency: defined for the service
    risks: list[dict[str, Any]] = field(default_factory=list)  # open risks for the service


@dataclass
class Finding:
    item: Item
    status: str | None  # None: waits for an answer or a command run
    source: str  # tool (pre-filled), answer, command
    detail: str = ""
    note: str = ""
    output: str = ""  # a command's output (head and tail)

    @property
    def prefilled(self) -> bool:
        return self.source == "tool" and self.status is not None

    @property
    def value(self) -> float:
        return VALUE[self.status or "unknown"]


def evaluate(checklist: Checklist, facts: Facts) -> list[Finding]:
    """One finding per item, in checklist order; what the tool cannot know waits (None)."""
    return [_finding(item, facts) for item in checklist.items]


def _finding(item: Item, facts: Facts) -> Finding:
    ev = item.evidence
    if ev.check is not None:
        return _check(item, facts)
    if ev.runbook is not None:
        return _runbook(item, facts)
    if ev.slo is not None:
        wanted = {"availability", "latency"} if ev.slo == "any" else {ev.slo}
        have = sorted(wanted & facts.slos)
        if have:
            return Finding(item, "pass", "tool", f"{' and '.join(have)} SLO defined")
        # an SLO may be defined where the tool does not look (a vendor's console): a human says
        return Finding(item, None, "answer", f"no {ev.slo} SLO in checks.yaml or slos.yaml")
    if ev.command is not None:
        return Finding(item, None, "command", "")
    return Finding(item, None, "answer", "")


def _check(item: Item, facts: Facts) -> Finding:
    target = item.evidence.check
    if target == ANY:
        mine = [c for c in facts.checks.values() if c.service == facts.service]
        if not mine:
            return Finding(item, "fail", "tool", f"no check for the service {facts.service}")
        up = [c for c in mine if c.state in ("up", "maintenance")]
        detail = f"{len(up)} of {len(mine)} checks up" + _not_up(mine)
        status = "pass" if len(up) == len(mine) else "partial" if up else "fail"
        return Finding(item, status, "tool", detail)
    fact = facts.checks.get(target)
    if fact is None:
        return Finding(item, "fail", "tool", f"no check '{target}'")
    if fact.state in ("up", "maintenance"):
        return Finding(item, "pass", "tool", f"{target} is {fact.state}")
    if fact.state == "degraded":
        return Finding(item, "partial", "tool", f"{target} is degraded: {fact.message}")
    return Finding(item, "fail", "tool", f"{target} is {fact.state or 'unknown'}: {fact.message}")


def _not_up(checks: list[CheckFact]) -> str:
    down = [
        f"{c.id} {c.state or 'unknown'}" for c in checks if c.state not in ("up", "maintenance")
    ]
    return f" ({', '.join(down)})" if down else ""


def _runbook(item: Item, facts: Facts) -> Finding:
    ev = item.evidence
    if ev.runbook == ANY:
        ids = sorted(r for r, applies in facts.runbooks.items() if facts.service in applies)
        if not ids:
            return Finding(item, "fail", "tool", f"no runbook lists {facts.service} in applies_to")
        named = f"{len(ids)} runbooks" if len(ids) > 3 else ", ".join(ids)
    elif ev.runbook in facts.runbooks:
        ids, named = [ev.runbook], ev.runbook
    else:
        return Finding(item, "fail", "tool", f"no runbook '{ev.runbook}'")
    if ev.drilled_within is None:
        return Finding(item, "pass", "tool", f"{named}: in the library")
    last = max((facts.drilled[r] for r in ids if r in facts.drilled), default=None)
    if last is None:
        return Finding(item, "partial", "tool", f"{named}: in the library, never drilled")
    ago = facts.now - last
    when = f"last drilled {format_duration(ago)} ago"
    if ago <= ev.drilled_within:
        return Finding(item, "pass", "tool", f"{named}: {when}")
    within = format_duration(ev.drilled_within)
    return Finding(item, "partial", "tool", f"{named}: {when} (wanted within {within})")


def answer(finding: Finding, word: str, note: str = "") -> Finding:
    """A human's yes/no/partial for an item that waits for one."""
    finding.status = ANSWER_STATUS[word]
    finding.source = "answer"
    finding.note = note
    finding.detail = f"{finding.detail}; answered {word}" if finding.detail else f"answered {word}"
    return finding


def command_text(item: Item, service: str) -> str:
    """The item's command as it runs: ``{{ service }}`` replaced by the quoted service name."""
    return re.sub(r"\{\{\s*service\s*\}\}", lambda _m: shlex.quote(service), item.evidence.command)


def waiting(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status is None]
