"""The notification queue's dispatcher: rules turn timeline events into queued notifications,
deadlines become timeline events, and queued notifications are sent with durable retries.

One pass (``tick``):

1. **Deadlines.** For each open incident, on the dispatcher's clock: a rule's `unacknowledged`
   after `after` without an acknowledgement, and a runbook's `escalation: {after, to}` passed
   while the incident is still triage/investigating/identified, are recorded once each as
   `unacknowledged` / `escalated` events (``Incidents.record(unless=...)``, asked with the
   incident's row locked, so two dispatchers record it once and a mitigation that lands first
   wins).
2. **Rules.** The timeline is the outbox: every triggering event (declared, acknowledged,
   resolved, escalated, unacknowledged) is committed with the incident's own change, and the
   dispatcher derives the notifications it asks for, each with an idempotency key from
   (incident, kind, event, destination), inserted once whoever derives it.
3. **Delivery.** Due rows are claimed under a lease (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), sent once each through the existing send path (one attempt; the next one is
   scheduled by ``next_attempt_at``, never slept on), then recorded as `notified` on the
   timeline and marked delivered. A dispatcher killed between send and mark leaves its row
   `sending`; when the lease runs out another sends it again with the same key (PagerDuty's
   dedup_key and the webhook's Idempotency-Key make that harmless; Slack and email may show
   it twice).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlops_oncall.formats.actors import MONITOR
from mlops_oncall.formats.errors import BadInput
from mlops_oncall.formats.refs import public_id
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.incidents.lifecycle import SEVERITIES
from mlops_oncall.notify import messages, pagerduty
from mlops_oncall.notify import queue_records as qr
from mlops_oncall.notify.payloads import encode
from mlops_oncall.notify.send import Sent, send
from mlops_oncall.notify.service import send_mail
from mlops_oncall.store.types import parse_ts

log = logging.getLogger("mlops_oncall.notify")

LOOKBACK = timedelta(hours=24)  # events older than this are not read again for rules
BACKOFF = timedelta(seconds=5)  # the first retry's wait; doubled each time
MAX_BACKOFF = timedelta(minutes=10)
LEASE_MARGIN = timedelta(seconds=5)  # a lease is twice the attempt's timeout plus this
UNMITIGATED = ("triage", "investigating", "identified")
RESOLVED = ("resolved", "closed", "declined")
PD_FOLLOW_UPS = ("acknowledge", "resolve")


@dataclass
class Pass:
    """What one pass did."""

    queued: int = 0
    recorded: list[str] = field(default_factory=list)  # deadline events: "INC-0003 escalated"
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _rank(sev: str) -> int:
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def _key(pid: str, kind: str, seq: int, destination: str) -> str:
    return hashlib.sha256(f"{pid}:{kind}:{seq}:{destination}".encode()).hexdigest()[:32]


class Dispatcher:
    def __init__(
        self,
        store: Any,
        incidents: Any,
        notifier: Any,
        *,
        rules: list[Any],
        clock: Any,
        redactor: Any,
        owner: str | None = None,
        slo_pages: Any = None,
    ):
        self.store = store
        self.incidents = incidents
        self.notifier = notifier
        self.rules = rules
        self.clock = clock
        self.redactor = redactor
        self.slo_pages = slo_pages  # notify/slo_page.SloPages: `when: slo_page` rules
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @property
    def destinations(self) -> dict[str, Any]:
        return self.notifier.destinations

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    # -- 1. deadlines -----------------------------------------------------------------------

    def deadlines(self, now: datetime, p: Pass | None = None) -> list[str]:
        """Record the deadlines that passed (once each), each with its notifications queued in
        the same transaction (counted in ``p``); what was recorded."""
        p = p if p is not None else Pass()
        unack = [r for r in self.rules if r.when == "unacknowledged"]
        escalate_to = {d for r in self.rules if r.when == "escalation" for d in r.to}
        done: list[str] = []
        with self.store.read() as conn:
            rows = qr.open_incidents(conn)
        for row in rows:
            pid = public_id(row["id"])
            declared = row["declared_at"] or row["created_at"]
            for rule in unack:
                due = declared + rule.after
                if row["acknowledged_at"] is not None or now < due:
                    continue
                if _rank(row["severity"]) > _rank(rule.min_severity):
                    continue
                secs = int(rule.after.total_seconds())
                ev = self.incidents.record(
                    row["id"],
                    "unacknowledged",
                    f"not acknowledged {messages.format_duration_s(secs)} after it was declared",
                    {"after_seconds": secs, "deadline": rfc3339(due)},
                    actor=MONITOR,
                    then=self._queue_deadline(row, now, p),
                    unless=lambda conn, iid, secs=secs: (
                        qr.acknowledged(conn, iid)
                        or qr.recorded(conn, iid, "unacknowledged", f'"after_seconds":{secs}')
                    ),
                )
                if ev is not None:
                    done.append(f"{pid} unacknowledged")
            if row["status"] not in UNMITIGATED:
                continue
            state = self.incidents.triage(row["id"])
            esc = state.runbook.escalation if state is not None else None
            if esc is None or now < declared + esc.after:
                continue
            if esc.to not in self.destinations and not escalate_to:
                continue  # nobody to notify: the triage screen's warning is all there is
            rid = state.runbook.id
            ev = self.incidents.record(
                row["id"],
                "escalated",
                f"escalated to {esc.to}: runbook {rid}'s "
                f"{messages.format_duration_s(esc.after.total_seconds())} passed without mitigation",
                {
                    "runbook": rid,
                    "after_seconds": int(esc.after.total_seconds()),
                    "to": esc.to,
                    "deadline": rfc3339(declared + esc.after),
                },
                actor=MONITOR,
                then=self._queue_deadline(row, now, p),
                unless=lambda conn, iid, rid=rid: (
                    not qr.has_status(conn, iid, UNMITIGATED)
                    or qr.recorded(conn, iid, "escalated", f'"runbook":{json.dumps(rid)}')
                ),
            )
            if ev is not None:
                done.append(f"{pid} escalated")
        return done

    # -- 2. rules ---------------------------------------------------------------------------

    def _wanted(self, conn: Any, ev: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
        """(kind, destination) pairs the event asks for."""
        kind = ev["kind"]
        out: list[tuple[str, str]] = []
        if kind == "declared":
            sev = data.get("severity") or ev["severity"]
            for r in self.rules:
                if r.when == "declared" and _rank(sev) <= _rank(r.min_severity):
                    out += [("declared", d) for d in r.to]
        elif kind == "severity_changed":
            # raised past a rule's threshold after the declaration: sent as the declaration,
            # once per destination
            old, new = data.get("from"), data.get("to")
            for r in self.rules:
                crossed = _rank(new) <= _rank(r.min_severity) < _rank(old)
                if r.when == "declared" and crossed:
                    out += [
                        ("declared", d)
                        for d in r.to
                        if not qr.declared_to(conn, ev["incident_id"], d)
                    ]
        elif kind == "unacknowledged":
            for r in self.rules:
                after = int(r.after.total_seconds()) if r.after is not None else None
                if r.when == "unacknowledged" and after == data.get("after_seconds"):
                    out += [("unacknowledged", d) for d in r.to]
        elif kind == "escalated":
            if data.get("to") in self.destinations:
                out.append(("escalation", data["to"]))
            for r in self.rules:
                if r.when == "escalation":
                    out += [("escalation", d) for d in r.to]
        else:
            follow = None
            if kind == "milestone" and data.get("name") == "acknowledged":
                follow = "acknowledge"
            elif kind == "status_changed" and data.get("to") in RESOLVED:
                follow = "resolve"
            if follow is not None:
                for name, dest in self.destinations.items():
                    if dest.type == "pagerduty" and qr.triggered(conn, ev["incident_id"], name):
                        out.append((follow, name))
        seen: set[tuple[str, str]] = set()
        return [p for p in out if not (p in seen or seen.add(p))]

    def enqueue(self, now: datetime) -> int:
        """Queue what the rules ask for from the events since notifications began."""
        with self.store.write() as conn:
            start = qr.since(conn, now)
        with self.store.read() as conn:
            events = qr.triggers(conn, max(start, now - LOOKBACK))
        queued = 0
        with self.store.write() as conn:
            for ev in events:
                queued += self._queue(conn, ev, json.loads(ev["data"]) if ev["data"] else {}, now)
        return queued

    def _queue(self, conn: Any, ev: dict[str, Any], data: dict[str, Any], now: datetime) -> int:
        """Queue the notifications one event asks for, in the caller's transaction; how many
        were new. ``ev``: the event (incident_id, seq, ts, kind) and its incident's columns
        (title, severity, status, service)."""
        pid = public_id(ev["incident_id"])
        ts = ev["ts"] if isinstance(ev["ts"], datetime) else parse_ts(ev["ts"])
        queued = 0
        for kind, name in self._wanted(conn, ev, data):
            dest = self.destinations.get(name)
            if dest is None or (dest.type != "pagerduty" and kind in PD_FOLLOW_UPS):
                continue
            m = messages.message(kind, ev, pid, data, rfc3339(ts))
            m["summary"] = self.redactor.text(m["summary"])
            m["detail"] = self.redactor.text(m["detail"])
            pd = dest.type == "pagerduty"
            queued += qr.enqueue(
                conn,
                incident_id=ev["incident_id"],
                update_seq=ev["seq"],
                destination=name,
                type=dest.type,
                idempotency_key=_key(pid, kind, ev["seq"], name),
                kind=kind,
                message=json.dumps(m, sort_keys=True, ensure_ascii=False),
                external_id=pagerduty.dedup_key(qr.workspace_id(conn), pid) if pd else None,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        return queued

    def _queue_deadline(self, row: dict[str, Any], now: datetime, p: Pass) -> Callable:
        """``then=`` for a deadline's event: its notifications commit with it."""

        def then(conn: Any, iid: int, event: Any) -> None:
            ev = {
                "incident_id": iid,
                "seq": event.seq,
                "ts": event.ts,
                "kind": event.kind,
                **{k: row[k] for k in ("title", "severity", "status", "service")},
            }
            p.queued += self._queue(conn, ev, event.data or {}, now)

        return then

    # -- 3. delivery ------------------------------------------------------------------------

    def _lease(self) -> dict[str, timedelta]:
        leases = {n: d.timeout * 2 + LEASE_MARGIN for n, d in self.destinations.items()}
        return _Default(leases, timedelta(minutes=1))

    def claim(self, now: datetime) -> list[Any]:
        # one row at a time: a dispatcher that dies holds up one notification, not a batch
        with self.store.write() as conn:
            return qr.claim(conn, self.owner, now, self._lease(), limit=1)

    async def send(self, item: Any) -> Sent:
        """One attempt at one queued notification."""
        m = json.loads(item.message)
        try:
            dest, s = self.notifier.resolve(item.destination)
        except BadInput as exc:
            return Sent(False, 0, "", error=str(exc))
        where = f"destination '{item.destination}' ({dest.type})"
        common = {
            "timeout": dest.timeout.total_seconds(),
            "retries": 0,  # the queue retries, at next_attempt_at
            "sleep": asyncio.sleep,
            "now": self.clock.now,
            "where": where,
        }
        key = item.idempotency_key
        if dest.type == "pagerduty":
            body = encode(messages.pagerduty_event(m, s["routing_key"], item.external_id))
            return await send("POST", dest.events_url, body, {}, idempotent=True, **common)
        if dest.type == "webhook":
            headers = {"Idempotency-Key": key}
            if s["token"]:
                headers["Authorization"] = f"Bearer {s['token']}"
            body = encode(messages.webhook(m, key))
            return await send("POST", s["url"], body, headers, idempotent=True, **common)
        if dest.type == "slack":
            body = encode(messages.slack(m))
            return await send("POST", s["url"], body, {}, idempotent=False, **common)
        if dest.type == "smtp":
            msg = messages.email(m, key, dest.sender, dest.to)
            return await send_mail(dest, s, msg, where, asyncio.sleep, 0)
        return Sent(False, 0, "", error=f"{where} takes status updates only")

    def settle(self, item: Any, sent: Sent, p: Pass) -> None:
        now = self.clock.now()
        dest = self.destinations.get(item.destination)
        values = {
            "body_sha256": sent.sha256 or None,
            "http_status": sent.status,
            "response": self.redactor.text(sent.response) if sent.response else None,
            "error": self.redactor.text(sent.error) if sent.error else None,
            "updated_at": now,
        }
        if sent.ok:
            values["state"] = "delivered"
            p.delivered += 1
            if item.incident_id is None:  # an SLO page's: no incident to record it on
                with self.store.write() as conn:
                    qr.settle(conn, item.id, self.owner, **values)
                return

            def mark(conn: Any, iid: int, event: Any) -> None:
                qr.settle(conn, item.id, self.owner, **values)

            # `notified` and the mark commit together; recorded already (a resend after a
            # crash, or another dispatcher), the mark alone
            recorded = self.incidents.record(
                item.incident_id,
                "notified",
                f"notified {item.destination} ({item.type}): {item.kind}",
                {
                    "destination": item.destination,
                    "type": item.type,
                    "kind": item.kind,
                    "key": item.idempotency_key,
                    "http_status": sent.status,
                },
                actor=MONITOR,
                unless=lambda conn, iid: qr.recorded(
                    conn, iid, "notified", f'"key":"{item.idempotency_key}"'
                ),
                then=mark,
            )
            if recorded is not None:
                return
        elif sent.retryable and dest is not None and item.attempts <= dest.retries:
            wait = timedelta(seconds=sent.retry_after) if sent.retry_after else None
            wait = wait or min(BACKOFF * 2 ** (item.attempts - 1), MAX_BACKOFF)
            values |= {"state": "queued", "next_attempt_at": now + wait}
            p.retrying += 1
        else:
            values["state"] = "failed"
            p.failed += 1
            p.errors.append(f"{_about(item)} {item.kind} → {values['error']}")
        with self.store.write() as conn:
            qr.settle(conn, item.id, self.owner, **values)

    async def deliver(self, p: Pass) -> None:
        """Send every row due now, one at a time, until none is left to claim."""
        while True:
            batch = await asyncio.to_thread(self.claim, self.clock.now())
            if not batch:
                return
            for item in batch:
                sent = await self.send(item)
                await asyncio.to_thread(self.settle, item, sent, p)

    async def tick(self) -> Pass:
        p = Pass()
        now = self.clock.now()
        p.recorded = await asyncio.to_thread(self.deadlines, now, p)
        if self.slo_pages is not None:
            p.queued += await asyncio.to_thread(self.slo_pages.queue, self, now)
        p.queued += await asyncio.to_thread(self.enqueue, now)
        await self.deliver(p)
        return p

    async def run(
        self,
        interval: float = 5.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
        on_pass: Callable[[Pass], None] | None = None,
    ):
        """Pass after pass until cancelled (serve, notify run); a notification that failed for
        good, or a pass that failed (the store unreachable), is one log line."""
        while True:
            try:
                p = await self.tick()
                for e in p.errors:
                    log.warning("notify: %s", e)
                if on_pass is not None:
                    on_pass(p)
            except Exception as exc:  # the store unreachable, a bad row: log, try again
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.error("notify: %s", self.redactor.text(first))
            await sleep(interval)

    def items(self, states: list[str] | None = None) -> list[Any]:
        with self.store.read() as conn:
            return qr.items(conn, states)


def _about(item: Any) -> str:
    """Who a queued notification is about: INC-0012, or SLO fraud-availability."""
    if item.incident_id is not None:
        return public_id(item.incident_id)
    return f"SLO {json.loads(item.message or '{}').get('slo')}"


class _Default(dict):
    def __init__(self, values: dict, default: Any):
        super().__init__(values)
        self.default = default

    def __missing__(self, key: str) -> Any:
        return self.default
