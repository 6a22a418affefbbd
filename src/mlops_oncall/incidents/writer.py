"""The write path every incident change goes through: one transaction that locks the incident
row, checks the change against it, and appends the matching timeline events; after the commit,
each new head is witnessed. ``Incidents`` (service.py) is built on it, with its action items
(actions.py) and triage operations (triageops.py) beside it.

Every public operation that writes is ``@retried``: when its transaction meets a concurrent
writer (store/conflicts.py) it runs again, a bounded number of times.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import parse_ref, public_id
from mlops_oncall.formats.timestamps import utc_seconds
from mlops_oncall.incidents.dates import parse_time
from mlops_oncall.redact import DEFAULT, Redactor
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.conflicts import conflict
from mlops_oncall.store.db import Store
from mlops_oncall.store.errors import StoreError
from mlops_oncall.store.outbox import delivered
from mlops_oncall.store.tables import Incident as INC
from mlops_oncall.store.types import ts_text
from mlops_oncall.store.witness import Head, Witness, WitnessError, open_witness

DEFAULT_WITNESS = object()  # Incidents(witness=...) not given: the store's default witness

# Clock skew between two terminals should not turn "now" into "the future".
FUTURE_SLACK = timedelta(seconds=5)

ATTEMPTS = 5  # tries at one change that keeps meeting concurrent writers
BACKOFF_S = 0.02  # the first retry waits up to this long, doubling each time (jittered)


class WriteConflict(StoreError):
    """A change that met a concurrent writer on every attempt; nothing of it was recorded."""

    def __init__(self, incident: str | None, reason: str, attempts: int = 1):
        self.incident, self.reason = incident, reason
        what = f"{incident} was not changed" if incident else "the change was not recorded"
        tries = f"on all {attempts} attempts" if attempts > 1 else "and was not retried"
        super().__init__(
            f"{what}: {reason} {tries} (other terminals are writing to it); run it again"
        )


class AlreadyDelivered(Exception):
    """The outbox entry being replayed is already in the incident's chain (a replay cut short
    between the server's commit and the outbox's delete): nothing is appended twice."""


def retried(method):
    """Run a write operation again when its transaction met a concurrent writer, up to
    ATTEMPTS times with a short jittered backoff, then raise one WriteConflict naming the
    incident. Only the outermost operation retries, and only when it has committed nothing
    yet, so a retry never repeats a recorded change."""

    @functools.wraps(method)
    def wrapper(self: Writer, *args, **kwargs):
        tx = self._tx
        if getattr(tx, "retrying", False):
            return method(self, *args, **kwargs)  # nested: the outer operation retries
        tx.retrying = True
        try:
            for attempt in range(1, ATTEMPTS + 1):
                commits = tx.commits = getattr(tx, "commits", 0)
                try:
                    return method(self, *args, **kwargs)
                except WriteConflict as exc:
                    if attempt == ATTEMPTS or tx.commits != commits:
                        raise WriteConflict(exc.incident, exc.reason, attempt) from None
                time.sleep(random.uniform(0.5, 1.0) * BACKOFF_S * 2 ** (attempt - 1))
        finally:
            tx.retrying = False

    return wrapper


class Writer:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM,
        actor: str = "unknown",
        zone: ZoneInfo | None = None,
        redactor: Redactor | None = None,
        witness: Witness | object | None = DEFAULT_WITNESS,
        on_warning: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.clock = clock
        self.actor = actor
        self.zone = zone or ZoneInfo("UTC")
        self.redactor = redactor or DEFAULT  # shapes only: a service built without a Session
        # where each new head is also written (None: nowhere); default beside a SQLite file
        self.witness: Witness | None = (
            open_witness(store.url) if witness is DEFAULT_WITNESS else witness  # type: ignore[assignment]
        )
        self.on_warning = on_warning
        self._tx = threading.local()  # the appenders of the current write, per thread

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; once it has committed, each incident it appended to has its new
        head witnessed. The event is durable first: a witness that fails only warns."""
        touched: dict[int, tl.Appender] = {}
        tx = self._tx
        tx.touched, tx.locked = touched, None
        try:
            with self.store.write() as conn:
                yield conn
        except Exception as exc:
            reason = conflict(exc)
            if reason is None:
                raise
            locked = tx.locked
            raise WriteConflict(public_id(locked) if locked else None, reason) from None
        finally:
            tx.touched = None
        tx.commits = getattr(tx, "commits", 0) + 1
        if self.witness is not None:
            for app in touched.values():
                self._witness(app)

    def _witness(self, app: tl.Appender) -> None:
        head = Head(
            public_id(app.incident_id), app.head_seq, app.head_hash, ts_text(datetime.now(UTC))
        )
        try:
            self.witness.record(head)  # type: ignore[union-attr]
        except WitnessError as exc:
            msg = f"warning: {head.incident} event {head.seq} is recorded, but {exc}"
            if self.on_warning is not None:
                self.on_warning(msg)
            else:
                logging.getLogger(__name__).warning(msg)

    @contextmanager
    def delivering(self, uid: str) -> Iterator[None]:
        """Operations in this block replay the outbox entry ``uid`` (incidents/outbox.py):
        each event they append carries ``"outbox": uid`` in its data, and an incident whose
        chain already holds it raises AlreadyDelivered instead of appending again."""
        self._tx.outbox = uid
        try:
            yield
        finally:
            self._tx.outbox = None

    # -- helpers ---------------------------------------------------------------------------
    def time(self, text: str | None) -> datetime | None:
        """Parse a --at value against this service's clock and zone."""
        if text is None:
            return None
        return parse_time(text, self.zone, self.clock.now())

    def _row(self, conn: Connection, ref: str | int, *, lock: bool = False) -> dict[str, Any]:
        iid = parse_ref(ref)
        if lock:
            self._tx.locked = iid  # named if the write meets a conflict
            row = tl.lock_incident(conn, iid)
            uid = getattr(self._tx, "outbox", None)
            first = not getattr(self._tx, "touched", None)  # nothing appended yet
            # checked under the incident's lock, so two replays of one entry take turns
            if row is not None and uid and first and delivered(conn, iid, uid):
                raise AlreadyDelivered(uid)
        else:
            found = conn.execute(select(INC).where(INC.c.id == iid)).mappings().first()
            row = dict(found) if found else None
        if row is None:
            raise IncidentError(f"unknown incident '{ref}'")
        return row

    def _when(
        self, row: dict | None, at: datetime | None, *, allow_before_start: bool = False
    ) -> datetime:
        now = self.clock.now()
        if at is None:
            return now
        if at.tzinfo is None:
            raise BadInput("times must be timezone-aware")
        at = at.astimezone(UTC)
        if at > now + FUTURE_SLACK:
            raise IncidentError(f"{ts_text(at)} is in the future (now is {ts_text(now)})")
        if row is not None and not allow_before_start:
            began = min(
                t
                for t in (
                    row["impact_started_at"],
                    row["detected_at"],
                    row["declared_at"],
                    row["created_at"],
                )
                if t
            )
            if at < began:
                raise IncidentError(
                    f"{ts_text(at)} is before {public_id(row['id'])} began ({ts_text(began)})"
                )
        return at

    def _append(
        self,
        app: tl.Appender,
        kind: str,
        ts: datetime,
        text: str = "",
        data: dict | None = None,
        *,
        redacted: bool = False,
        actor: str | None = None,
    ):
        """Append one event. ``redacted``: the data has been through ``_redacted`` already
        (the caller stores the same values in summary columns, which ``verify`` compares)."""
        r = self.redactor
        data = (data or {}) if redacted else r.value(data or {})
        uid = getattr(self._tx, "outbox", None)
        if uid:  # a replayed outbox entry: its id makes the replay idempotent (delivering)
            data = {**data, "outbox": uid}
        who = self.actor if actor is None else actor
        record = app.append(kind, ts=ts, actor=who, text=r.text(text), data=data)
        touched = getattr(self._tx, "touched", None)
        if touched is not None:
            touched[app.incident_id] = app
        return record

    def _redacted(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.redactor.value(data)

    def _milestone(
        self,
        conn: Connection,
        app: tl.Appender,
        row: dict,
        name: str,
        at: datetime,
        source: str,
        *,
        correction: bool = False,
        ts: datetime | None = None,
    ) -> bool:
        """Set a milestone. The first setting counts unless this is an explicit correction."""
        previous, previous_source = row[f"{name}_at"], row[f"{name}_source"]
        if previous is not None and not correction:
            return False
        conn.execute(
            update(INC)
            .where(INC.c.id == row["id"])
            .values({f"{name}_at": at, f"{name}_source": source})
        )
        row[f"{name}_at"], row[f"{name}_source"] = at, source
        data: dict[str, Any] = {"name": name, "at": ts_text(at), "source": source}
        if correction:
            data["correction"] = True
            data["previous"] = (
                {"at": ts_text(previous), "source": previous_source} if previous else None
            )
            text = f"{name} corrected to {utc_seconds(at)}" + (
                f" (was {utc_seconds(previous)})" if previous else ""
            )
        else:
            text = f"{name} at {utc_seconds(at)} ({source})"
        self._append(app, "milestone", ts or at, text, data)
        return True
