"""Status updates (Session.notify): the draft, posting to a destination, the cadence.

Posting an update records a `status_update` event with the (redacted) text, then delivers it
to the named destination. The delivery row is written before the first attempt and settled
before ``post`` returns, so a crash or an error leaves a row that says what happened. Each
(update, destination) has one idempotency key, sent on every attempt (Statuspage and the
webhook get it as the ``Idempotency-Key`` header, the email as its Message-ID): posting the
same text again after a failure resends that update with its key instead of a new one, and
an update already delivered there is never sent again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mlops_oncall.formats.errors import BadInput
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.notify import payloads, records
from mlops_oncall.notify.cadence import Cadence, cadence
from mlops_oncall.notify.draft import draft
from mlops_oncall.notify.send import Sent, send, sha256
from mlops_oncall.store.models import NotifyDelivery

MAX_TEXT = 40_000  # characters of one update (Slack truncates a message past 40,000)


class DestinationError(BadInput):
    """A destination cannot be used as configured (an unset variable): exit 2."""


@dataclass
class Posted:
    """What ``post`` did: the update's event, and its delivery (None: recorded only)."""

    event: Any
    delivery: NotifyDelivery | None
    sent: bool  # False: already delivered before, nothing was sent now
    new_update: bool  # False: the same text re-sent as the earlier update

    @property
    def ok(self) -> bool:
        return self.delivery is None or self.delivery.state == "delivered"


def delivery_json(d: NotifyDelivery) -> dict[str, Any]:
    return {
        "destination": d.destination,
        "type": d.type,
        "update_seq": d.update_seq,
        "state": d.state,
        "attempts": d.attempts,
        "http_status": d.http_status,
        "body_sha256": d.body_sha256,
        "idempotency_key": d.idempotency_key,
        "external_id": d.external_id,
        "error": d.error,
        "response": d.response,
        "updated_at": rfc3339(d.updated_at),
    }


class Notifier:
    def __init__(
        self,
        store: Any,
        incidents: Any,
        *,
        destinations: dict[str, Any],
        every: dict[str, timedelta],
        clock: Any,
        redactor: Any,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ):
        self.store = store
        self.incidents = incidents
        self.destinations = destinations
        self.every = every
        self.clock = clock
        self.redactor = redactor
        self.sleep = sleep or asyncio.sleep

    # -- cadence --------------------------------------------------------------------------

    def cadences(self, rows: list[Any]) -> dict[int, Cadence]:
        """Each incident row's cadence now (one query for all of them)."""
        now = self.clock.now()
        with self.store.read() as conn:
            last = records.last_updates(conn, [r.id for r in rows])
        return {r.id: cadence(r, last.get(r.id), self.every, now) for r in rows}

    def cadence(self, row: Any) -> Cadence:
        return self.cadences([row])[row.id]

    def note_overdue(self, row: Any) -> Any | None:
        """Record `update_overdue` for the current overdue period if nobody has: the event, or
        None (not overdue, or recorded already by this or another process)."""
        c = self.cadence(row)
        if not c.overdue or self.store.read_only:  # a read-only store only shows it
            return None
        due = c.due
        data = {"due": rfc3339(due), "every_seconds": int(c.every.total_seconds())}
        return self.incidents.record(
            row.id,
            "update_overdue",
            f"status update overdue (due {rfc3339(due)})",
            data,
            actor="monitor",
            unless=lambda conn, iid: records.overdue_recorded(conn, iid, due),
        )

    # -- the draft ------------------------------------------------------------------------

    def draft(self, ref: str | int) -> str:
        view = self.incidents.get(ref)
        events = self.incidents.events(ref)
        now = self.clock.now()
        c = self.cadence(view.row)
        return draft(view, events, c, self.incidents.zone, now)

    # -- posting --------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The destinations a status update can go to (PagerDuty takes notifications only)."""
        return sorted(n for n, d in self.destinations.items() if d.type != "pagerduty")

    def _destination(self, name: str) -> Any:
        dest = self.destinations.get(name)
        if dest is None:
            known = ", ".join(self.names()) or "none is configured under notify: in oncall.yaml"
            raise BadInput(f"no destination '{name}' (known: {known})")
        return dest

    def _secrets(self, name: str, dest: Any) -> dict[str, str | None]:
        """The destination's fields with ${env:} resolved; every secret joins the redactor,
        so an error or an echoed answer never shows one."""
        out: dict[str, str | None] = {}
        try:
            for f in ("url", "key", "token", "password", "host", "routing_key"):
                out[f] = dest.resolved(f, name)
        except ValueError as exc:
            raise DestinationError(str(exc)) from None
        self._mask(out)
        return out

    def _mask(self, values: dict[str, str | None]) -> None:
        """Every secret joins the redactor: whole, and a URL's path and its long segments
        (a webhook's token is part of its path, and an error may echo the path alone)."""
        for f in ("url", "key", "token", "password", "routing_key"):
            value = values.get(f)
            if not value:
                continue
            self.redactor.add(value)
            if f == "url":
                tail = value.split("://", 1)[-1].partition("/")[2]
                if tail:
                    self.redactor.add("/" + tail)
                for part in re.split(r"[/?&=#]", tail):
                    if len(part) >= 12:
                        self.redactor.add(part)

    def _mask_all(self) -> None:
        """The secrets of every destination whose variables are set, before any text is
        redacted: an update can quote any of them."""
        for name, dest in self.destinations.items():
            values = {}
            for f in ("url", "key", "token", "password", "routing_key"):
                try:
                    values[f] = dest.resolved(f, name)
                except ValueError:
                    values[f] = None
            self._mask(values)

    def resolve(self, name: str) -> tuple[Any, dict[str, str | None]]:
        """A destination and its secrets resolved (and masked): the queue's sends.
        DestinationError when a variable is unset."""
        dest = self._destination(name)
        return dest, self._secrets(name, dest)

    def deliveries(self, ref: str | int) -> list[NotifyDelivery]:
        view = self.incidents.get(ref)
        with self.store.read() as conn:
            return records.of_incident(conn, view.row.id)

    def post(self, ref: str | int, text: str, to: str | None) -> Posted:
        """Record an update (or reuse the last one, when its text is the same and it has not
        reached ``to`` yet) and deliver it to ``to``."""
        self._mask_all()
        clean = self.redactor.text(text).strip()
        if not clean:
            raise BadInput("the update is empty")
        if len(clean) > MAX_TEXT:
            raise BadInput(f"the update is longer than {MAX_TEXT} characters")
        dest = secrets = None
        if to is not None:
            dest = self._destination(to)
            if dest.type == "pagerduty":
                raise BadInput(
                    f"'{to}' is a pagerduty destination: it takes notifications "
                    "(notifications: in oncall.yaml), not status updates"
                )
            secrets = self._secrets(to, dest)
        view = self.incidents.get(ref)
        pid = view.id
        last = next(
            (e for e in reversed(self.incidents.latest(ref, 200)) if e.kind == "status_update"),
            None,
        )
        # the same text again: the same update (a retry after a failure, or another destination)
        reuse = last is not None and to is not None and last.text == clean
        if reuse:
            event, new = last, False
        else:
            data = {"to": [to]} if to else {}
            event, new = self.incidents.record(ref, "status_update", clean, data), True
        if to is None:
            return Posted(event, None, False, new)
        key = _key(pid, event.seq, to)
        with self.store.read() as conn:
            existing = records.by_key(conn, key)
        if existing is not None and existing.state == "delivered":
            return Posted(event, existing, False, new)
        update = payloads.Update(
            incident=pid,
            title=view.row.title,
            severity=view.row.severity,
            status=view.row.status,
            service=view.row.service,
            text=clean,
            seq=event.seq,
            at=event.ts,
            by=event.actor,
            key=key,
        )
        delivery = asyncio.run(self._deliver(view.row.id, to, dest, secrets, update, existing))
        return Posted(event, delivery, True, new)

    async def _deliver(
        self,
        incident_id: int,
        name: str,
        dest: Any,
        secrets: dict[str, str | None],
        u: payloads.Update,
        existing: NotifyDelivery | None,
    ) -> NotifyDelivery:
        now = self.clock.now()
        with self.store.write() as conn:
            if existing is None:
                delivery_id = records.begin(
                    conn,
                    incident_id=incident_id,
                    update_seq=u.seq,
                    destination=name,
                    type=dest.type,
                    idempotency_key=u.key,
                    created_at=now,
                    updated_at=now,
                )
            else:
                delivery_id = existing.id
                records.finish(conn, delivery_id, state="sending", updated_at=now)
            external = records.external_id(conn, incident_id, name)
        sent, external = await self._send(name, dest, secrets, u, external)
        values = {
            "state": "delivered" if sent.ok else "failed",
            "attempts": (existing.attempts if existing else 0) + sent.attempts,
            "body_sha256": sent.sha256,
            "http_status": sent.status,
            "response": self.redactor.text(sent.response) if sent.response else None,
            "error": self.redactor.text(sent.error) if sent.error else None,
            "external_id": external,
            "updated_at": self.clock.now(),
        }
        with self.store.write() as conn:
            records.finish(conn, delivery_id, **values)
            return records.by_key(conn, u.key)

    async def _send(
        self, name: str, dest: Any, s: dict[str, str | None], u: payloads.Update, external: Any
    ) -> tuple[Sent, str | None]:
        where = f"destination '{name}' ({dest.type})"
        common = {
            "timeout": dest.timeout.total_seconds(),
            "retries": dest.retries,
            "sleep": self.sleep,
            "now": self.clock.now,
            "where": where,
        }
        if dest.type == "slack":
            body = payloads.encode(payloads.slack(u))
            return await send("POST", s["url"], body, {}, idempotent=False, **common), None
        if dest.type == "webhook":
            headers = {"Idempotency-Key": u.key}
            if s["token"]:
                headers["Authorization"] = f"Bearer {s['token']}"
            body = payloads.encode(payloads.webhook(u))
            return await send("POST", s["url"], body, headers, idempotent=True, **common), None
        if dest.type == "statuspage":
            base = f"{dest.api.rstrip('/')}/v1/pages/{dest.page_id}/incidents"
            headers = {"Authorization": f"OAuth {s['key']}", "Idempotency-Key": u.key}
            doc = payloads.statuspage(u, dest.components, create=external is None)
            method, url = ("POST", base) if external is None else ("PATCH", f"{base}/{external}")
            sent = await send(method, url, payloads.encode(doc), headers, idempotent=True, **common)
            if sent.ok and external is None:
                try:
                    external = str(json.loads(sent.body)["id"])
                except (ValueError, KeyError, TypeError):
                    sent.ok, sent.error = False, f"{where} answered without an incident id"
            return sent, external
        return await self._smtp(dest, s, u, where), None

    async def _smtp(self, dest: Any, s: dict[str, str | None], u: payloads.Update, where: str):
        msg = payloads.email(u, dest.sender, dest.to)
        return await send_mail(dest, s, msg, where, self.sleep, dest.retries)


async def send_mail(
    dest: Any,
    s: dict[str, str | None],
    msg: Any,
    where: str,
    sleep: Callable[[float], Awaitable[None]],
    retries: int,
) -> Sent:
    """Send one email through the destination's SMTP server; a 4xx reply is retried up to
    ``retries`` times (the sleep between), a 5xx or a refused recipient is final."""
    raw = msg.as_bytes()
    timeout = dest.timeout.total_seconds()

    def once() -> None:
        with smtplib.SMTP(s["host"], dest.port, timeout=timeout) as smtp:
            if dest.starttls:  # verified (smtplib's default context would not verify)
                smtp.starttls(context=ssl.create_default_context())
            if dest.username:
                smtp.login(dest.username, s["password"] or "")
            smtp.send_message(msg)

    attempt, waits = 0, []
    while True:
        attempt += 1
        try:
            await asyncio.to_thread(once)
            return Sent(True, attempt, sha256(raw), waits=tuple(waits))
        except smtplib.SMTPResponseException as exc:
            detail = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            error = f"{where} answered {exc.smtp_code}: {detail.strip()[:200]}"
            transient = 400 <= exc.smtp_code < 500
            if not transient or attempt > retries:
                return Sent(
                    False, attempt, sha256(raw), exc.smtp_code, detail, error, retryable=transient
                )
        except smtplib.SMTPRecipientsRefused as exc:
            return Sent(False, attempt, sha256(raw), None, "", f"{where} refused {exc}")
        except (OSError, smtplib.SMTPException) as exc:
            # a timeout or a dropped line may come after the message was accepted
            return Sent(False, attempt, sha256(raw), None, "", f"{where}: {type(exc).__name__}")
        wait = min(2.0 ** (attempt - 1), 60.0)
        waits.append(wait)
        await sleep(wait)


def _key(pid: str, seq: int, name: str) -> str:
    """One key per (incident, update, destination): the same on every attempt and resend."""
    return hashlib.sha256(f"{pid}:{seq}:{name}".encode()).hexdigest()[:32]
