"""Live changes: which incidents have new events, noticed without re-reading the timelines.

PostgreSQL: every append sends ``NOTIFY mlops_oncall_events, '<incident id>:<seq>'`` inside its
own transaction (``notify``), so it is delivered on commit only, and never carries the event's
text. A ``Watcher`` listens on one autocommit connection of its own, on a thread. A lost
connection is retried with backoff, then the incident heads are read again to catch up; the
heads are also read every ``FALLBACK_S`` in case a notification was missed.

SQLite: ``PRAGMA data_version`` on one kept connection changes when another connection commits.
It is polled every ``POLL_S`` (one tiny query), and the heads are read only when it moved.

Deploys append no event: a deploy written sends ``'deploy:<id>'`` on the same channel, and on
SQLite a moved ``data_version`` also reads the deployments' newest id and update; a watcher
given ``on_deploys`` calls it then. Alert groups the same way: a webhook delivery or an inbox
decision sends ``'alerts:<group id>'``, on SQLite the groups' newest id, sighting and decision
and the alerts' newest id are read; ``on_alerts`` is called then.

Either way the callback gets the ids of the incidents whose head moved (or that are new). The
reader then reads ``seq > last seen``: a change reported twice costs a query, never a duplicate.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from mlops_oncall.store.engine import sqlite_path

if TYPE_CHECKING:
    from mlops_oncall.store.db import Store

CHANNEL = "mlops_oncall_events"
APPLICATION_NAME = "mlops-oncall live"  # how an admin finds the listener in pg_stat_activity
POLL_S = 0.25  # SQLite: data_version polls
FALLBACK_S = 2.0  # PostgreSQL: heads re-read even without a notification
WAKE_S = 0.5  # PostgreSQL: how often the listener looks up from its socket to see if stopped
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# For benchmarks only (bench/bench_team.py): set to 1, the watcher skips LISTEN and relies on
# the fallback poll alone, to measure what a missed notification costs.
NO_LISTEN_ENV = "MLOPS_ONCALL_BENCH_NO_LISTEN"

DEPLOY = "deploy:"  # the payload's prefix for a deploy written
_DEPLOYS_MARK = "SELECT max(id), max(updated_at) FROM deployment"  # SQLite: did one change?
ALERTS = "alerts:"  # the payload's prefix for an alert group received or decided
_ALERTS_MARK = (  # SQLite: did a group arrive, get an alert, get seen again or decided?
    "SELECT max(id), max(last_seen), max(decided_at), (SELECT max(id) FROM alert) FROM alert_group"
)
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :payload)")

Changed = Callable[[frozenset[int]], None]


def notify(conn: Connection, incident_id: int, seq: int) -> None:
    """Tell listeners that ``incident_id`` reached ``seq``, when this transaction commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"payload": f"{incident_id}:{seq}"})


def notify_deploy(conn: Connection, deploy_id: int) -> None:
    """Tell listeners that deploy ``deploy_id`` was recorded or changed, when this commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"payload": f"{DEPLOY}{deploy_id}"})


def notify_alerts(conn: Connection, group_id: int) -> None:
    """Tell listeners that alert group ``group_id`` changed, when this transaction commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"payload": f"{ALERTS}{group_id}"})


def _payload(payload: str) -> tuple[int, int] | None:
    iid, _, seq = payload.partition(":")
    try:
        return int(iid), int(seq)
    except ValueError:
        return None  # someone else's NOTIFY on our channel: the fallback poll covers it


class Watcher:
    """Calls ``on_change(ids)`` from its own thread when incidents get new events.

    ``incidents`` limits the watch to those ids (a follower of one incident); None watches
    every incident, new ones included (the dashboard). ``start()`` returns once the watch is
    in place, so anything committed after it is reported: read what exists after starting.
    ``on_deploys`` is called (no argument) when a deploy was recorded or updated, and
    ``on_alerts`` when an alert group was received or decided.
    ``on_status`` hears, in words, when the live connection is lost and when it is back."""

    def __init__(
        self,
        store: Store,
        on_change: Changed,
        *,
        incidents: Iterable[int] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_deploys: Callable[[], None] | None = None,
        on_alerts: Callable[[], None] | None = None,
        poll_s: float = POLL_S,
        fallback_s: float = FALLBACK_S,
    ):
        self.store = store
        self.on_change = on_change
        self.on_status = on_status
        self.on_deploys = on_deploys
        self._deploys_mark: tuple | None = None
        self.on_alerts = on_alerts
        self._alerts_mark: tuple | None = None
        self.ids = None if incidents is None else sorted({int(i) for i in incidents})
        self.poll_s = poll_s
        self.fallback_s = fallback_s
        self.heads: dict[int, int] = {}
        self.queries = 0  # statements sent, for the idle-cost count
        # False from a lost connection until the next one works (on_status is told after)
        self.reachable = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self.postgres = store.engine.dialect.name == "postgresql"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Watcher:
        if self.postgres:
            try:
                self._listen()
            except _pg_errors() as err:
                self._lost(err)  # the thread keeps trying; its first success catches up
            target = self._run_pg
        else:
            if sqlite_path(self.store.url) is None:
                return self  # in memory: no other process can write to it
            self._conn = self.store.engine.raw_connection()
            self._version = self._data_version()
            self._read_heads()
            self._deploys_moved()
            self._alerts_moved()
            target = self._run_sqlite
        self._thread = threading.Thread(target=target, name="live-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=WAKE_S + 1)
        self._thread = None
        self._close()

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a connection the server already dropped
                conn.close()

    # -- the heads -----------------------------------------------------------------------------
    def _heads_sql(self) -> str:
        sql = "SELECT id, head_seq FROM incident"
        if self.ids is not None:
            sql += f" WHERE id IN ({', '.join(map(str, self.ids or [0]))})"  # ints only
        return sql

    def _read_heads(self) -> frozenset[int]:
        """Read every watched head; the ids whose head moved or that are new."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._heads_sql())
            rows = cur.fetchall()
        finally:
            cur.close()
        self.queries += 1
        heads = {int(i): int(seq or 0) for i, seq in rows}
        changed = frozenset(i for i, seq in heads.items() if self.heads.get(i) != seq)
        self.heads = heads
        return changed

    def _report(self, changed: frozenset[int]) -> None:
        if changed and not self._stop.is_set():
            self.on_change(changed)

    def _deploys(self) -> None:
        if self.on_deploys is not None and not self._stop.is_set():
            self.on_deploys()

    def _alerts(self) -> None:
        if self.on_alerts is not None and not self._stop.is_set():
            self.on_alerts()

    # -- SQLite --------------------------------------------------------------------------------
    def _alerts_moved(self) -> bool:
        """Whether an alert group changed since the last look (read only for ``on_alerts``)."""
        if self.on_alerts is None:
            return False
        cur = self._conn.cursor()
        try:
            cur.execute(_ALERTS_MARK)
            mark = tuple(cur.fetchone())
        finally:
            cur.close()
        self.queries += 1
        moved, self._alerts_mark = mark != self._alerts_mark, mark
        return moved

    def _deploys_moved(self) -> bool:
        """Whether a deploy was recorded or updated since the last look (read only when someone
        listens for deploys)."""
        if self.on_deploys is None:
            return False
        cur = self._conn.cursor()
        try:
            cur.execute(_DEPLOYS_MARK)
            mark = tuple(cur.fetchone())
        finally:
            cur.close()
        self.queries += 1
        moved, self._deploys_mark = mark != self._deploys_mark, mark
        return moved

    def _data_version(self) -> int:
        cur = self._conn.cursor()
        try:
            cur.execute("PRAGMA data_version")
            (version,) = cur.fetchone()
        finally:
            cur.close()
        self.queries += 1
        return version

    def _run_sqlite(self) -> None:
        import sqlite3

        failing = False
        while not self._stop.wait(self.poll_s):
            try:
                version = self._data_version()
                if version != self._version:
                    self._version = version
                    self._report(self._read_heads())
                    if self._deploys_moved():
                        self._deploys()
                    if self._alerts_moved():
                        self._alerts()
                if failing:
                    failing = False
                    self._status("the database can be read again")
            except sqlite3.Error:
                if not failing:
                    failing = True
                    self._status("cannot read the database for live updates; retrying")

    # -- PostgreSQL ----------------------------------------------------------------------------
    def _listen(self) -> frozenset[int]:
        """Connect, LISTEN, then read the heads: a commit after this is either notified or
        seen by the next read of the heads."""
        import psycopg

        engine = self.store.engine
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs = {**kwargs, "autocommit": True, "application_name": APPLICATION_NAME}
        conn = psycopg.connect(*args, **kwargs)
        try:
            if os.environ.get(NO_LISTEN_ENV) != "1":
                conn.execute(f"LISTEN {CHANNEL}")
                self.queries += 1
            self._conn = conn
            changed = self._read_heads()
        except BaseException:
            self._conn = None
            conn.close()
            raise
        return changed

    def _lost(self, _err: BaseException) -> None:
        self._close()
        self.reachable = False
        self._status("lost the live connection to the database; reconnecting")

    def _status(self, message: str) -> None:
        if self.on_status is not None and not self._stop.is_set():
            self.on_status(message)

    def _run_pg(self) -> None:
        errors = _pg_errors()
        attempt = 0
        while not self._stop.is_set():
            if self._conn is None:
                if self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]):
                    return
                attempt += 1
                try:
                    changed = self._listen()
                except errors:
                    continue
                attempt = 0
                self.reachable = True
                self._status("reconnected to the database")
                self._report(changed)  # what was appended while we were away
                self._deploys()  # and any deploy written meanwhile
                self._alerts()  # and alerts received meanwhile
            try:
                due = time.monotonic() + self.fallback_s
                while not self._stop.is_set():
                    left = due - time.monotonic()
                    if left <= 0:
                        self._report(self._read_heads())
                        due = time.monotonic() + self.fallback_s
                        continue
                    for note in self._conn.notifies(timeout=min(left, WAKE_S)):
                        if note.payload.startswith(DEPLOY):
                            self._deploys()
                            continue
                        if note.payload.startswith(ALERTS):
                            self._alerts()
                            continue
                        got = _payload(note.payload)
                        if got is None:
                            continue
                        iid, seq = got
                        if self.ids is not None and iid not in self.ids:
                            continue
                        if seq > self.heads.get(iid, 0):
                            self.heads[iid] = seq
                            self._report(frozenset({iid}))
            except errors as err:
                if self._stop.is_set():
                    return
                self._lost(err)


def _pg_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.Error, OSError)
