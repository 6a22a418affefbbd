"""Alertmanager's alerts: the webhook's notifications stored as groups, routed to incidents or
to the inbox, and what a responder does with a group (declare, attach, dismiss, silence).

One open incident per (receiver, groupKey): a group is a row of ``alert_group``; while its
incident is open every new (fingerprint, startsAt) firing is one ``alert_fired`` event on it,
and the alerts that turned resolved in one notification are one ``alerts_resolved`` event.
Once the incident is resolved, closed or declined, a firing with the same groupKey starts a
new group and a new incident: a reused group key never reopens an old incident (Alertmanager
issue 3959). Each delivery is one write transaction (the group, its alerts, the incident and
its events commit together or not at all), and the unique keys of the two tables decide what
is new, so a notification delivered twice, or twice at once, is recorded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mlops_oncall.alerts import records
from mlops_oncall.alerts.payload import AlertIn, Notification, PayloadError, parse
from mlops_oncall.alerts.routing import Decision, Router
from mlops_oncall.clock import Clock
from mlops_oncall.config import AlertsConfig
from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import alert_group_ref, parse_alert_group_ref, parse_ref, public_id
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.incidents.suggest import Suggestion, past_incidents
from mlops_oncall.incidents.writer import WriteConflict
from mlops_oncall.redact import Redactor
from mlops_oncall.store import live
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.conflicts import conflict
from mlops_oncall.store.db import Store
from mlops_oncall.store.engine import translated
from mlops_oncall.store.errors import StoreError

ALERTMANAGER = "alertmanager"  # the actor of what Alertmanager reported (formats/actors.py)
STATES = ("inbox", "declared", "attached", "dismissed")
ENDED = ("resolved", "closed", "declined")  # an incident a new firing never joins
RECENT = timedelta(hours=24)  # `alert list` without --all: resolved groups seen this recently
ATTEMPTS = 5  # a delivery that met a concurrent one is run again (it then finds its rows)
MAX_TITLE = 90


@dataclass
class Received:
    """What one notification did, the webhook's answer."""

    group: str
    state: str
    incident: str | None
    fired: list[str] = field(default_factory=list)  # fingerprints newly firing
    resolved: list[str] = field(default_factory=list)  # fingerprints newly resolved
    new_group: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "incident": self.incident,
            "fired": self.fired,
            "resolved": self.resolved,
            "new_group": self.new_group,
        }


@dataclass
class GroupView:
    """A group with its alerts, as the inbox and `alert list` show it."""

    row: dict[str, Any]
    alerts: list[dict[str, Any]]
    incident_status: str | None = None

    @property
    def id(self) -> str:
        return alert_group_ref(self.row["id"])

    @property
    def state(self) -> str:
        return self.row["state"]

    @property
    def incident(self) -> str | None:
        iid = self.row["incident_id"]
        return public_id(iid) if iid else None

    @property
    def firing(self) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a["status"] == "firing"]

    @property
    def title(self) -> str:
        names = sorted({a["alertname"] for a in self.alerts}) or ["(no alerts)"]
        return ", ".join(names)

    def to_json(self) -> dict[str, Any]:
        r = self.row
        return {
            "id": self.id,
            "receiver": r["receiver"],
            "group_key": r["group_key"],
            "state": r["state"],
            "incident": self.incident,
            "incident_status": self.incident_status,
            "route": r["route"],
            "severity": r["severity"],
            "service": r["service"],
            "runbook": r["runbook"],
            "group_labels": r["group_labels"],
            "firing": len(self.firing),
            "first_seen": rfc3339(r["first_seen"]),
            "last_seen": rfc3339(r["last_seen"]),
            "silences": r["silences"],
            "alerts": [
                {
                    "fingerprint": a["fingerprint"],
                    "alertname": a["alertname"],
                    "status": a["status"],
                    "labels": a["labels"],
                    "annotations": a["annotations"],
                    "starts_at": rfc3339(a["starts_at"]),
                    "ends_at": rfc3339(a["ends_at"]),
                    "generator_url": a["generator_url"],
                }
                for a in self.alerts
            ],
        }


@dataclass
class Declaration:
    """A group's incident as it would be declared (``Alerts.declaration``)."""

    group: str
    title: str
    severity: str
    service: str | None
    detected_at: datetime
    notes: list[str]
    runbooks: list[Suggestion] = field(default_factory=list)  # best first
    past: list[dict[str, Any]] = field(default_factory=list)  # earlier incidents, newest first


class Alerts:
    """The alert groups over the store. ``machine`` writes what Alertmanager reported (actor
    ``alertmanager``); ``responder`` what the person at the keyboard decided."""

    def __init__(
        self,
        store: Store,
        *,
        responder: Incidents,
        machine: Incidents,
        config: AlertsConfig,
        clock: Clock,
        redactor: Redactor,
        library: Callable[[], Any] | None = None,
    ):
        self.store = store
        self.responder = responder
        self.machine = machine
        self.config = config
        self.router = Router(config)
        self.clock = clock
        self.redactor = redactor
        self._library = library

    # -- the webhook ---------------------------------------------------------------------
    def receive(self, payload: Any) -> Received:
        """Store one webhook notification (parsed JSON). PayloadError: not one (a 400);
        StoreError: not stored (a 503, which Alertmanager retries)."""
        got = self.receive_many([payload])[0]
        if isinstance(got, BaseException):
            raise got
        return got

    def receive_many(self, payloads: list[Any]) -> list[Received | Exception]:
        """Store several notifications in ONE write transaction (one commit, one fsync: the
        daemon's group commit, intake/write.py), each in a savepoint of its own, so one that
        fails is rolled back alone. Per payload in order: its Received once committed, or
        the exception that is its answer (PayloadError, StoreError, or a bug's). When the
        commit itself fails, every payload not answered already gets that StoreError."""
        results: list[Received | Exception | None] = [None] * len(payloads)
        todo: list[tuple[int, Notification, Decision]] = []
        for i, body in enumerate(payloads):
            try:
                note = parse(body)
            except PayloadError as exc:
                results[i] = exc
                continue
            labels = {**note.common_labels, **note.group_labels}
            annotations = note.common_annotations or note.alerts[0].annotations
            todo.append((i, note, self.router.decide(labels, annotations)))
        attempt = 1
        while todo:
            try:
                with self.machine._write() as conn:
                    done = []
                    for k, (i, note, decision) in enumerate(todo):
                        got = self._one(conn, note, decision)
                        if isinstance(got, Exception) and not records.usable(conn):
                            raise _Without(k, got)
                        done.append((i, got))
            except _Without as without:
                # that one's failure ended the transaction (SQLite ends it, savepoints and
                # all, on some errors): the rest run again without it, in a new one
                results[todo[without.index][0]] = without.error
                del todo[without.index]
                continue
            except WriteConflict as exc:  # the transaction as a whole met another writer
                if attempt < ATTEMPTS:
                    attempt += 1
                    continue
                for i, _, _ in todo:
                    results[i] = exc
                break
            except StoreError as exc:  # not committed: none of them is stored
                for i, _, _ in todo:
                    results[i] = exc
                break
            for i, got in done:
                results[i] = got
            break
        return results  # type: ignore[return-value]

    def _one(self, conn: Connection, note: Notification, decision: Decision):
        """One notification in a savepoint of the caller's transaction: its Received, or the
        exception it met. A unique key another delivery took first rolls the savepoint back
        and runs it again (then it finds that delivery's rows)."""
        tx = self.machine._tx  # the incidents whose head to witness after the commit
        for attempt in range(1, ATTEMPTS + 1):
            touched = dict(tx.touched or {})
            try:
                with translated(self.store.engine), conn.begin_nested():
                    return self._receive(conn, note, decision)
            except Exception as exc:
                if tx.touched is not None:  # a rolled-back append is not witnessed
                    tx.touched.clear()
                    tx.touched.update(touched)
                if not isinstance(exc, IntegrityError) and conflict(exc) is None:
                    return exc
                why = None if records.usable(conn) else "the database ended the transaction"
                if attempt == ATTEMPTS:
                    why = f"concurrent deliveries on all {ATTEMPTS} attempts"
                if why:
                    return StoreError(
                        f"the alerts of group {note.group_key!r} were not stored: {why} "
                        f"({type(exc).__name__})"
                    )
        raise AssertionError("unreachable")

    def _receive(self, conn: Connection, note: Notification, decision: Decision) -> Received:
        inc, r = self.machine, self.redactor
        now = self.clock.now()
        g = records.current_group(conn, note.receiver, note.group_key)
        firing = any(a.status == "firing" for a in note.alerts)
        new_group = g is None or (firing and self._ended(conn, g))
        if new_group:
            gid = records.insert_group(
                conn,
                receiver=note.receiver,
                group_key=note.group_key,
                epoch=g["epoch"] + 1 if g else 1,
                state="inbox",
                group_labels=r.value(note.group_labels),
                external_url=r.text(note.external_url) if note.external_url else None,
                route=decision.route,
                severity=decision.severity,
                service=decision.service,
                runbook=decision.runbook,
                silences=[],
                first_seen=now,
                last_seen=now,
            )
            g = records.group(conn, gid)
        else:
            records.set_group(conn, g["id"], last_seen=now)
        assert g is not None
        gid = g["id"]
        fired, resolved = self._store_alerts(conn, gid, note.alerts, now)
        live.notify_alerts(conn, gid)  # an open inbox shows it (store/live.py)
        iid = g["incident_id"]
        if iid is None and g["state"] == "inbox" and decision.declare and fired:
            iid = self._declare(conn, inc, g, now)
            records.set_group(
                conn,
                gid,
                state="declared",
                incident_id=iid,
                decided_by=ALERTMANAGER,
                decided_at=now,
            )
            self._replay(conn, inc, g, iid, now)
            state = "declared"
        else:
            state = g["state"]
            if iid is not None and records.incident_status(conn, iid) in lc.OPEN_STATUSES:
                self._events(conn, inc, g, iid, fired, resolved, now)
        return Received(
            group=alert_group_ref(gid),
            state=state,
            incident=public_id(iid) if iid else None,
            fired=[a["fingerprint"] for a in fired],
            resolved=[a.fingerprint for a in resolved],
            new_group=new_group,
        )

    def _ended(self, conn: Connection, g: dict[str, Any]) -> bool:
        """A group a new firing does not join: its incident ended, or it was dismissed and
        every alert of it has resolved since."""
        if g["incident_id"] is not None:
            return records.incident_status(conn, g["incident_id"]) in ENDED
        return g["state"] == "dismissed" and records.firing_count(conn, g["id"]) == 0

    def _store_alerts(
        self, conn: Connection, gid: int, alerts: list[AlertIn], now: datetime
    ) -> tuple[list[dict[str, Any]], list[AlertIn]]:
        """The notification's alerts into the group: the rows of those newly firing (as
        stored, redacted) and the alerts newly resolved. One indexed read finds which are
        stored already (a storm resends a group's firing alerts over and over): only the new
        ones are redacted and inserted, the resolved ones updated, the rest only seen again.
        The caller holds the group's lock (records.current_group), so what the read found
        still holds when the writes run; the inserts still skip a key stored meanwhile."""
        r = self.redactor
        known = records.alert_states(conn, gid, {a.fingerprint for a in alerts})
        rows: dict[tuple[str, datetime], dict[str, Any]] = {}
        for a in alerts:
            key = (a.fingerprint, a.starts_at)
            if key in known or key in rows:  # stored, or listed twice: the first counts
                continue
            rows[key] = {
                "group_id": gid,
                "fingerprint": a.fingerprint,
                "alertname": r.text(a.alertname),
                "status": a.status,
                "labels": r.value(a.labels),
                "annotations": r.value(a.annotations),
                "starts_at": a.starts_at,
                "ends_at": a.ends_at,
                "generator_url": r.text(a.generator_url) if a.generator_url else None,
                "first_seen": now,
                "last_seen": now,
            }
        records.add_alerts(conn, list(rows.values()))
        added = set(rows)
        fired: list[dict[str, Any]] = []
        resolved: list[AlertIn] = []
        ending: list[AlertIn] = []
        again: list[tuple[str, datetime]] = []
        for a in alerts:
            key = (a.fingerprint, a.starts_at)
            if key in added:
                added.discard(key)  # an alert listed twice: once
                if a.status == "firing":
                    fired.append(rows[key])
                else:
                    resolved.append(a)
            elif a.status == "resolved" and known.get(key) == "firing":
                known[key] = "resolved"
                ending.append(a)
            else:
                again.append(key)
        records.resolve_alerts(
            conn, gid, [(a.fingerprint, a.starts_at, a.ends_at) for a in ending], now
        )
        records.seen(conn, gid, again, now)
        return fired, resolved + ending

    # -- events --------------------------------------------------------------------------
    def _fired_event(self, g: dict[str, Any], a: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """An alert_fired event's text and data from an alert as stored: its name, labels and
        URL are redacted already, so only the fingerprint is (the data is appended as
        redacted, not walked through the redactor again: a storm appends thousands)."""
        ann = a["annotations"]
        what = ann.get("summary") or ann.get("description") or ""
        text = f"{a['alertname'] or 'alert'} firing" + (f": {what}" if what else "")
        data = {
            "group": alert_group_ref(g["id"]),
            "fingerprint": self.redactor.text(a["fingerprint"]),
            "alertname": a["alertname"],
            "starts_at": rfc3339(a["starts_at"]),
            "labels": a["labels"],
            "generator_url": a["generator_url"],
        }
        return text, data

    def _locked(self, conn, inc: Incidents, iid: int) -> tuple[dict[str, Any], tl.Appender]:
        """The incident's row, locked, and one appender for all of a delivery's events: it
        keeps the head itself and moves the row's head once, at flush() (a lock, a read, an
        UPDATE and a NOTIFY per event cost an alert storm dearly)."""
        row = inc._row(conn, iid, lock=True)
        return row, tl.Appender.for_row(conn, row, deferred=True)

    def _events(self, conn, inc, g, iid, fired, resolved, now) -> None:
        if not fired and not resolved:
            return
        row, app = self._locked(conn, inc, iid)
        for a in fired:
            text, data = self._fired_event(g, a)
            inc._append(app, "alert_fired", now, text, data, redacted=True, actor=ALERTMANAGER)
        if resolved:
            self._resolved_event(conn, inc, g, row, app, [a.fingerprint for a in resolved], now)
        app.flush()

    def _resolved_event(self, conn, inc, g, row, app, fingerprints: list[str], now) -> None:
        left = records.firing_count(conn, g["id"])
        ref = alert_group_ref(g["id"])
        text = f"alerts resolved ({len(fingerprints)}): {', '.join(fingerprints)}"
        if left:
            text += f"; {left} of {ref} still firing"
        else:
            text += f"; none of {ref} is firing: consider mitigating (not proof of recovery)"
        data = {"group": ref, "fingerprints": fingerprints, "still_firing": left}
        inc._append(app, "alerts_resolved", now, text, data, actor=ALERTMANAGER)
        if not left and self.config.resolve_closes:
            app.flush()  # the status change reads and writes the row as usual
            self._mitigate(conn, inc, row, app, now)

    def _mitigate(self, conn, inc: Incidents, row, app, now) -> None:
        """``resolve_closes``: every alert resolved moves the incident to mitigated (through
        investigating from triage), never further."""
        path = {"triage": ("investigating", "mitigated"), "investigating": ("mitigated",)}
        path |= {"identified": ("mitigated",)}
        for status in path.get(row["status"], ()):
            inc._status(conn, app, row, status, now, "alert", "every alert resolved")

    def _replay(self, conn, inc: Incidents, g, iid: int, now) -> None:
        """A group becoming an incident: each of its alerts as a fired event, then the ones
        already resolved as one resolved event."""
        alerts = records.alerts_of(conn, [g["id"]])
        row, app = self._locked(conn, inc, iid)
        for a in alerts:
            text, data = self._fired_event(g, a)
            inc._append(app, "alert_fired", now, text, data, redacted=True, actor=ALERTMANAGER)
        done = [a["fingerprint"] for a in alerts if a["status"] == "resolved"]
        if done:
            self._resolved_event(conn, inc, g, row, app, done, now)
        app.flush()

    def _prefill(self, g: dict[str, Any], alerts: list[dict[str, Any]], now) -> Declaration:
        """What a group's incident is declared with, as a failing check's would be: title,
        severity, service, the runbooks that fit (named by the route or a `runbook` label,
        else matched by alert name against the library's alert triggers), detected at the
        first alert's start."""
        firing = [a for a in alerts if a["status"] == "firing"] or alerts
        first = min(firing, key=lambda a: a["starts_at"])
        ann = first["annotations"]
        what = ann.get("summary") or ann.get("description") or ""
        names = sorted({a["alertname"] for a in firing if a["alertname"]}) or ["alert"]
        title = f"{', '.join(names)}: {what}" if what else ", ".join(names)
        if len(title) > MAX_TITLE:
            title = title[: MAX_TITLE - 3] + "..."
        ref = alert_group_ref(g["id"])
        notes = [f"From Alertmanager: {ref} (receiver {g['receiver']}, route {g['route'] or '-'})"]
        if ann.get("runbook_url"):
            notes.append(f"Runbook link from the alert: {ann['runbook_url']}")
        return Declaration(
            group=ref,
            title=title,
            severity=g["severity"],
            service=g["service"],
            detected_at=min(first["starts_at"], now),
            notes=notes,
            runbooks=self._suggestions(g["runbook"], names, g["service"]),
        )

    def _suggestions(self, named: str | None, alertnames: list[str], service: str | None):
        """Runbooks that fit, best first; none without a library."""
        library = self._library() if self._library else None
        if library is None:
            return []
        if named:
            entry = library.get(named)
            if entry is None:
                return []
            reason = f"named by the route or the runbook label ({named})"
            return [
                Suggestion(entry.id, entry.summary.title, entry.summary.severity, 100, [reason])
            ]
        matches = library.match(alerts=alertnames, services=[service] if service else [])
        return [
            Suggestion(
                m.entry.id, m.entry.summary.title, m.entry.summary.severity, m.score, m.reasons
            )
            for m in matches
        ]

    def _declare(self, conn, inc: Incidents, g, now, **override: Any) -> int:
        """Declare the group's incident inside the caller's transaction; ``override``: the
        responder's title, severity, service or runbook id ("" for none) instead of the
        prefilled ones."""
        d = self._prefill(g, records.alerts_of(conn, [g["id"]]), now)
        best = d.runbooks[0].runbook_id if d.runbooks else None
        if override.get("runbook") is not None:
            best = override["runbook"] or None
        library = self._library() if best and self._library else None
        if library is not None and library.get(best) is None:
            raise BadInput(f"no runbook '{best}' in the library")
        return inc.declare_in(
            conn,
            override.get("title") or d.title,
            override.get("severity") or d.severity,
            service=override.get("service") or d.service,
            runbook=library.get(best).runbook if library is not None else None,
            at=now,
            detected_at=d.detected_at,
            detected_source="alert",
            notes=d.notes,
        )

    # -- the responder's operations ------------------------------------------------------
    def get(self, ref: str | int) -> GroupView:
        gid = parse_alert_group_ref(ref)
        with self.store.read() as conn:
            g = records.group(conn, gid)
            if g is None:
                raise IncidentError(f"unknown alert group '{ref}'")
            status = records.incident_status(conn, g["incident_id"]) if g["incident_id"] else None
            return GroupView(g, records.alerts_of(conn, [gid]), status)

    def groups(self, *, all: bool = False, brief: bool = False) -> list[GroupView]:
        """Newest first. Without ``all``: the inbox and the groups whose incident is open,
        firing or seen within RECENT. ``brief``: each alert only its name and status (enough
        for ``title`` and ``firing``; not for ``to_json``), a fraction of the read's cost."""
        with self.store.read() as conn:
            if all:
                rows = records.groups(conn, states=None, since=None)
            else:
                since = self.clock.now() - RECENT
                rows = [
                    r
                    for r in records.groups(
                        conn, states=("inbox", "declared", "attached"), since=since
                    )
                    if r["state"] == "inbox" or r["incident_status"] in lc.OPEN_STATUSES
                ]
            read = records.alert_names_of if brief else records.alerts_of
            alerts = read(conn, [r["id"] for r in rows])
        by_group: dict[int, list[dict[str, Any]]] = {}
        for a in alerts:
            by_group.setdefault(a["group_id"], []).append(a)
        return [
            GroupView(
                {k: v for k, v in r.items() if k != "incident_status"},
                by_group.get(r["id"], []),
                r["incident_status"],
            )
            for r in rows
        ]

    def of_incident(self, incident: str | int) -> list[tuple[str, int, int]]:
        """(ALG id, alerts firing, alerts) of each group declared as or attached to the
        incident, oldest first (the incident screen's header)."""
        with self.store.read() as conn:
            counts = records.incident_group_counts(conn, parse_ref(incident))
        return [(alert_group_ref(g), firing, n) for g, firing, n in counts]

    def _undecided(self, conn, ref: str | int) -> dict[str, Any]:
        g = records.group(conn, parse_alert_group_ref(ref), lock=True)
        if g is None:
            raise IncidentError(f"unknown alert group '{ref}'")
        if g["state"] in ("declared", "attached"):
            raise IncidentError(
                f"{alert_group_ref(g['id'])} is already {g['state']} "
                f"({public_id(g['incident_id'])})"
            )
        return g

    def declaration(self, ref: str | int) -> Declaration:
        """What declaring the group would prefill (the TUI's declare dialog shows it), with
        past incidents of its service or runbooks; nothing is written."""
        view = self.get(ref)
        d = self._prefill(view.row, view.alerts, self.clock.now())
        d.past = past_incidents(
            self.store, service=d.service, runbook_ids=[r.runbook_id for r in d.runbooks[:3]]
        )
        return d

    def declare(
        self,
        ref: str | int,
        *,
        severity: str | None = None,
        title: str | None = None,
        service: str | None = None,
        runbook: str | None = None,
    ) -> GroupView:
        """Declare an incident from an inbox (or dismissed) group, prefilled from its alerts;
        ``severity``, ``title``, ``service`` and ``runbook`` (an id, "" for none: the TUI's
        declare dialog) replace the prefilled ones."""
        inc = self.responder
        with inc._write() as conn:
            now = self.clock.now()
            g = self._undecided(conn, ref)
            iid = self._declare(
                conn, inc, g, now, severity=severity, title=title, service=service,
                runbook=runbook,
            )  # fmt: skip
            records.set_group(
                conn, g["id"], state="declared", incident_id=iid, decided_by=inc.actor,
                decided_at=now,
            )  # fmt: skip
            self._replay(conn, inc, g, iid, now)
        return self.get(g["id"])

    def attach(self, ref: str | int, incident: str | int) -> GroupView:
        """Add an inbox (or dismissed) group's alerts to an open incident; its later alerts go
        there too."""
        inc = self.responder
        iid = parse_ref(incident)
        with inc._write() as conn:
            now = self.clock.now()
            g = self._undecided(conn, ref)
            row = inc._row(conn, iid, lock=True)
            if row["status"] not in lc.OPEN_STATUSES:
                raise IncidentError(f"{public_id(iid)} is {row['status']}: attach to an open one")
            records.set_group(
                conn, g["id"], state="attached", incident_id=iid, decided_by=inc.actor,
                decided_at=now,
            )  # fmt: skip
            count = len(records.alerts_of(conn, [g["id"]]))
            app = tl.Appender.for_row(conn, row)
            text = f"attached alert group {alert_group_ref(g['id'])} ({count} alerts)"
            inc._append(app, "note", now, text, {"group": alert_group_ref(g["id"])})
            self._replay(conn, inc, g, iid, now)
        return self.get(g["id"])

    def dismiss(self, ref: str | int) -> GroupView:
        """Leave an inbox group without an incident; a firing after all its alerts resolved
        starts a new group."""
        with self.store.write() as conn:
            g = records.group(conn, parse_alert_group_ref(ref), lock=True)
            if g is None:
                raise IncidentError(f"unknown alert group '{ref}'")
            if g["state"] != "inbox":
                raise IncidentError(f"{alert_group_ref(g['id'])} is {g['state']}, not in the inbox")
            records.set_group(
                conn, g["id"], state="dismissed", decided_by=self.responder.actor,
                decided_at=self.clock.now(),
            )  # fmt: skip
            live.notify_alerts(conn, g["id"])
        return self.get(g["id"])

    # -- silences --------------------------------------------------------------------------
    def silence(self, ref: str | int, duration: timedelta, comment: str) -> dict[str, Any]:
        """Silence a group's alerts in Alertmanager for ``duration``: one silence whose
        matchers are the labels all its alerts share (equality). Recorded on the group, and as
        an ``alert_silenced`` event on its incident when it has one."""
        from mlops_oncall.alerts.silences import SilenceError, create_silence

        target = self.config.alertmanager
        if target is None:
            raise BadInput(
                "no Alertmanager to silence in: set alerts.alertmanager.url in oncall.yaml"
            )
        if duration <= timedelta(0):
            raise BadInput("a silence lasts a positive duration, e.g. --for 2h")
        comment = comment.strip()
        if not comment:
            raise BadInput("a silence needs a comment (why, and who to ask)")
        view = self.get(ref)
        matchers = _shared_labels(view.alerts)
        if not matchers:
            raise IncidentError(f"{view.id}'s alerts share no label to silence them by")
        try:
            token = target.token_value()
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        starts = self.clock.now()
        ends = starts + duration
        actor = self.responder.actor
        try:
            silence_id = asyncio.run(
                create_silence(
                    target.url,
                    token,
                    matchers=matchers,
                    starts_at=starts,
                    ends_at=ends,
                    created_by=actor,
                    comment=comment,
                )
            )
        except SilenceError as exc:
            raise IncidentError(self.redactor.text(str(exc))) from None
        record = {
            "id": silence_id,
            "by": actor,
            "at": rfc3339(starts),
            "until": rfc3339(ends),
            "comment": self.redactor.text(comment),
            "matchers": self.redactor.value(matchers),
        }
        inc = self.responder
        with inc._write() as conn:
            g = records.group(conn, view.row["id"], lock=True)
            assert g is not None
            records.set_group(conn, g["id"], silences=[*g["silences"], record])
            live.notify_alerts(conn, g["id"])
            iid = g["incident_id"]
            if iid is not None:
                row = inc._row(conn, iid, lock=True)
                app = tl.Appender.for_row(conn, row)
                text = f"silenced {view.id} in Alertmanager until {record['until']}: {comment}"
                inc._append(app, "alert_silenced", starts, text, {"group": view.id, **record})
        return {"group": view.id, "incident": view.incident, **record}


class _Without(Exception):
    """A delivery of a batch that failed (``index`` in it): the batch runs again without it."""

    def __init__(self, index: int, error: Exception):
        self.index, self.error = index, error


def _shared_labels(alerts: list[dict[str, Any]]) -> dict[str, str]:
    """The labels (name and value) every alert has."""
    if not alerts:
        return {}
    shared = dict(alerts[0]["labels"])
    for a in alerts[1:]:
        shared = {k: v for k, v in shared.items() if a["labels"].get(k) == v}
    return shared
