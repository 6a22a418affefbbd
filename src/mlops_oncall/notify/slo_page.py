"""`when: slo_page`: an SLO's page row starting to fire is notified once per episode.

The dispatcher evaluates the workspace's SLOs (at most once a minute, only when slos.yaml
exists and a `when: slo_page` rule does). An **episode** of an SLO starts at the evaluation
that finds one of its page rows firing and ends at the first one that finds none; it is a
slo_episode row, at most one open per SLO, so two dispatchers (or one restarted) open it, and
notify, once. Opening it queues one notification per destination of the matching rules
(PagerDuty: a trigger whose dedup_key is ``<database id>/SLO-<id>/<start>``); ending it queues
PagerDuty's resolve with the same key. No incident is needed: the message names the open
incident of the SLO's checks' services when there is one. An SLO whose evaluation failed (a
Prometheus query) neither starts nor ends an episode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.formats.refs import public_id
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.notify import pagerduty
from mlops_oncall.notify import queue_records as qr
from mlops_oncall.notify import slo_page_records as er


@dataclass(frozen=True)
class About:
    """What the message says beside the SLO's figures: its checks' services, and the runbook
    that fits it best (incidents.suggest.suggestions_for_checks) as (id, title)."""

    services: list[str]
    runbook: tuple[str, str] | None


def about_with(checks: Any, library: Any) -> Callable[[Any], About]:
    """``about(slo)`` over the workspace's checks (a CheckSet or None) and runbook library."""
    from mlops_oncall.incidents.suggest import suggestions_for_checks

    def about(slo: Any) -> About:
        specs = checks.specs if checks is not None else {}
        mine = [specs[c] for c in slo.checks if c in specs]
        services = sorted({s.service for s in mine if s.service})
        best = suggestions_for_checks(
            library,
            checks=list(slo.checks),
            services=services,
            named={s.id: s.runbook for s in mine if s.runbook},
        )
        return About(services, (best[0].runbook_id, best[0].title) if best else None)

    return about


def windows(row: Any) -> str:
    return f"{format_duration(row.long)}/{format_duration(row.short)}"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def message(st: Any, about: About, incident: str | None, at: datetime) -> dict[str, Any]:
    """The slo_page message (kept as JSON in the queue row, like notify/messages.py's)."""
    slo = st.slo
    rows = [
        {
            "windows": windows(r.row),
            "threshold": r.row.burn_rate,
            "long_rate": None if r.long_rate is None else round(r.long_rate, 2),
            "short_rate": None if r.short_rate is None else round(r.short_rate, 2),
        }
        for r in st.firing
        if r.row.severity == "page"
    ]
    left = None if st.remaining is None else round(st.remaining * 100, 2)
    left_text = "unknown" if left is None else f"{left}%"
    first = rows[0]
    summary = (
        f"SLO {slo.id} paging: burn rate {_rate(first['long_rate'])} over {first['windows']} "
        f"(page at {first['threshold']}x), {left_text} of the budget left"
    )
    lines = [
        f"{r['windows']}: {_rate(r['long_rate'])} long, {_rate(r['short_rate'])} short "
        f"(page at {r['threshold']}x)"
        for r in rows
    ]
    if about.runbook is not None:
        lines.append(f"runbook: {about.runbook[0]} ({about.runbook[1]})")
    if incident is not None:
        lines.append(f"open incident: {incident}")
    service = about.services[0] if about.services else None
    return {
        "kind": "slo_page",
        "slo": slo.id,
        "objective": float(slo.objective),
        "window": slo.window_text,
        "checks": list(slo.checks),
        "rows": rows,
        "budget_remaining": left,
        "runbook": about.runbook[0] if about.runbook else None,
        "incident": incident,
        "title": f"SLO {slo.id} is burning its error budget",
        "severity": "page",
        "status": "firing",
        "service": service,
        "at": rfc3339(at),
        "summary": summary,
        "detail": "; ".join(lines),
    }


def resolve_message(slo: str, at: datetime) -> dict[str, Any]:
    return {
        "kind": "resolve",
        "slo": slo,
        "incident": None,
        "title": f"SLO {slo}: no page row fires",
        "severity": "page",
        "status": "ok",
        "service": None,
        "at": rfc3339(at),
        "summary": f"SLO {slo}: no page row fires",
        "detail": "",
    }


def dedup_key(prefix: str, slo: str, started_at: datetime) -> str:
    """One key per episode: its trigger and its resolve."""
    return f"{prefix}/SLO-{slo}/{rfc3339(started_at)}"[: pagerduty.DEDUP_MAX]


def _key(slo: str, kind: str, episode_id: int, destination: str) -> str:
    return hashlib.sha256(f"SLO-{slo}:{kind}:{episode_id}:{destination}".encode()).hexdigest()[:32]


class SloPages:
    """The dispatcher's `when: slo_page` pass (``queue``), over the SLOs ``evaluate(at)``
    gives (Session.slos.evaluate)."""

    def __init__(self, evaluate: Callable[[datetime], list[Any]], about: Callable[[Any], About]):
        self.evaluate = evaluate
        self.about = about
        self._minute: datetime | None = None  # the last minute evaluated (once a minute)

    def due(self, now: datetime) -> bool:
        minute = now.replace(second=0, microsecond=0)
        if self._minute == minute:
            return False
        self._minute = minute
        return True

    def queue(self, d: Any, now: datetime) -> int:
        """Start and end the episodes the SLOs' page rows say, queueing their notifications;
        how many were queued. ``d``: the Dispatcher (its store, rules, destinations)."""
        rules = [r for r in d.rules if r.when == "slo_page"]
        if not rules or not self.due(now):
            return 0
        queued = 0
        for st in self.evaluate(now):
            wanted = [r for r in rules if r.slos is None or st.slo.id in r.slos]
            if not wanted or st.error is not None:  # a failed evaluation changes nothing
                continue
            paging = [r for r in st.firing if r.row.severity == "page"]
            with d.store.write() as conn:
                ep = er.open_episode(conn, st.slo.id)
                if paging and ep is None:
                    eid = er.start(conn, st.slo.id, windows(paging[0].row), now)
                    if eid is not None:
                        dests = list(dict.fromkeys(n for r in wanted for n in r.to))
                        queued += self._trigger(d, conn, st, eid, now, dests)
                elif paging:
                    er.seen(conn, ep["id"], now)
                elif ep is not None and er.end(conn, ep["id"], now):
                    queued += self._resolve(d, conn, st.slo.id, ep["id"], now)
        return queued

    def _incident(self, conn: Any, services: list[str]) -> str | None:
        """The open incident of one of the services, the most recent."""
        rows = [r for r in qr.open_incidents(conn) if r["service"] and r["service"] in services]
        return public_id(rows[-1]["id"]) if rows else None

    def _trigger(
        self, d: Any, conn: Any, st: Any, eid: int, now: datetime, dests: list[str]
    ) -> int:
        about = self.about(st.slo)
        m = message(st, about, self._incident(conn, about.services), now)
        m["summary"] = d.redactor.text(m["summary"])
        m["detail"] = d.redactor.text(m["detail"])
        key = dedup_key(qr.workspace_id(conn), st.slo.id, now)
        queued = 0
        for name in dests:
            dest = d.destinations.get(name)
            if dest is None:
                continue
            queued += self._enqueue(conn, eid, name, dest.type, "slo_page", m, now, key, st.slo.id)
        return queued

    def _resolve(self, d: Any, conn: Any, slo: str, eid: int, now: datetime) -> int:
        m = resolve_message(slo, now)
        return sum(
            self._enqueue(conn, eid, name, "pagerduty", "resolve", m, now, key, slo)
            for name, key in er.triggered(conn, eid)
        )

    def _enqueue(self, conn, eid, name, type_, kind, m, now, key, slo) -> int:
        return qr.enqueue(
            conn,
            incident_id=None,
            slo_episode_id=eid,
            update_seq=0,
            destination=name,
            type=type_,
            idempotency_key=_key(slo, kind, eid, name),
            kind=kind,
            message=json.dumps(m, sort_keys=True, ensure_ascii=False),
            external_id=key if type_ == "pagerduty" else None,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
