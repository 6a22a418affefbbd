"""The local outbox: writes meant for a team (PostgreSQL) database that could not reach it.

One SQLite file per team database, in the user's data folder, named from a hash of the
database's address without its credentials (no password or user name in a file name). WAL with
synchronous=FULL: an entry is durable when `capture` returns, as a recorded event would be.
Each row is one intended operation, in the order typed: when it was captured, who did it, the
operation and its arguments as JSON (already redacted). incidents/outbox.py captures and
replays them; a replayed entry is deleted once the server has it, or kept aside as
undeliverable with the server's reason.

``delivered`` is the other half of an idempotent replay: the server-side check that an entry's
events are already in an incident's chain (each replayed event carries ``"outbox": uid``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mlops_oncall.store.tables import Event as EV
from mlops_oncall.store.types import parse_ts, ts_text

PENDING, UNDELIVERABLE = "pending", "undeliverable"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order the writes were typed in
    uid TEXT NOT NULL UNIQUE,              -- carried by the replayed events (idempotence)
    captured_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    op TEXT NOT NULL,
    incident TEXT,                         -- the incident's public id, when there is one
    args TEXT NOT NULL,                    -- JSON: the operation's arguments, redacted
    state TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,                           -- why the server refused it (undeliverable)
    refused_at TEXT
)
"""


# What a read command last printed, per command and options: shown, marked stale, when the
# database cannot be reached (cli/offline.py). Printed output only: it was redacted on its way
# out, and the file is the user's own (0600).
_LAST_KNOWN = """
CREATE TABLE IF NOT EXISTS last_known (
    key TEXT PRIMARY KEY,                  -- the command and its options, as JSON
    at TEXT NOT NULL,                      -- when it was read from the database
    output TEXT NOT NULL
)
"""
LAST_KNOWN_MAX = 1024 * 1024  # a larger output is not kept (a whole big timeline)


@dataclass(frozen=True)
class Entry:
    id: int
    uid: str
    captured_at: datetime
    actor: str
    op: str
    incident: str | None
    args: dict[str, Any]
    state: str = PENDING
    reason: str | None = None
    refused_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "captured_at": self.captured_at,
            "actor": self.actor,
            "op": self.op,
            "incident": self.incident,
            "state": self.state,
            "reason": self.reason,
        }


def outbox_path(url: str, folder: Path) -> Path:
    """The outbox of the database at ``url``: the hash is of the driver, host, port and
    database only, so neither the password nor the user name shows in the file's name."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    key = f"{u.get_backend_name()}://{u.host or ''}:{u.port or ''}/{u.database or ''}"
    return folder / f"outbox-{hashlib.sha256(key.encode()).hexdigest()[:16]}.db"


class Outbox:
    """The outbox file; opened (and created, mode 0600) on first use."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def _conn(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
            conn.execute(_LAST_KNOWN)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def capture(
        self, op: str, args: dict[str, Any], *, actor: str, at: datetime, incident: str | None
    ) -> Entry:
        uid = uuid.uuid4().hex
        with self._conn(write=True) as conn:
            cur = conn.execute(
                "INSERT INTO entry (uid, captured_at, actor, op, incident, args) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (uid, ts_text(at), actor, op, incident, json.dumps(args, ensure_ascii=False)),
            )
            entry_id = cur.lastrowid
        return Entry(entry_id or 0, uid, at, actor, op, incident, args)

    def remember(self, key: str, at: datetime, output: str) -> None:
        """Keep what a read printed (the newest copy per key; none past LAST_KNOWN_MAX)."""
        with self._conn(write=True) as conn:
            if len(output) > LAST_KNOWN_MAX:
                conn.execute("DELETE FROM last_known WHERE key = ?", (key,))
                return
            conn.execute(
                "INSERT INTO last_known (key, at, output) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET at = excluded.at, output = excluded.output",
                (key, ts_text(at), output),
            )

    def recall(self, key: str) -> tuple[datetime, str] | None:
        """What a read printed when it last reached the database, and when."""
        if not self.path.exists():
            return None
        with self._conn() as conn:
            row = conn.execute("SELECT at, output FROM last_known WHERE key = ?", (key,)).fetchone()
        return (parse_ts(row[0]), row[1]) if row else None

    def next_pending(self) -> Entry | None:
        """The oldest entry still to deliver (read afresh: another process may deliver too)."""
        found = self._select(f"WHERE state = '{PENDING}' ORDER BY id LIMIT 1")
        return found[0] if found else None

    def entries(self, state: str | None = None) -> list[Entry]:
        where = "" if state is None else f"WHERE state = '{state}'"
        return self._select(f"{where} ORDER BY id")

    def counts(self) -> dict[str, int]:
        """Pending and undeliverable entries, and when the oldest pending one was captured."""
        if not self.path.exists():
            return {PENDING: 0, UNDELIVERABLE: 0}
        with self._conn() as conn:
            rows = dict(conn.execute("SELECT state, count(*) FROM entry GROUP BY state").fetchall())
        return {PENDING: rows.get(PENDING, 0), UNDELIVERABLE: rows.get(UNDELIVERABLE, 0)}

    def oldest_pending(self) -> datetime | None:
        entry = self.next_pending()
        return entry.captured_at if entry else None

    def delete(self, entry: Entry) -> None:
        """The server has it: the entry goes (a second delete of it changes nothing)."""
        with self._conn(write=True) as conn:
            conn.execute("DELETE FROM entry WHERE uid = ?", (entry.uid,))

    def refuse(self, entry: Entry, reason: str, at: datetime) -> None:
        """The server refused it: kept aside, with why, never dropped."""
        with self._conn(write=True) as conn:
            conn.execute(
                f"UPDATE entry SET state = '{UNDELIVERABLE}', reason = ?, refused_at = ? "
                "WHERE uid = ?",
                (reason, ts_text(at), entry.uid),
            )

    def forget(self, entry_id: int) -> bool:
        """Remove an undeliverable entry once someone has read it; a pending one stays (it
        has not been tried yet). False when there is no such undeliverable entry."""
        if not self.path.exists():
            return False
        with self._conn(write=True) as conn:
            cur = conn.execute(
                f"DELETE FROM entry WHERE id = ? AND state = '{UNDELIVERABLE}'", (entry_id,)
            )
            return cur.rowcount == 1

    def _select(self, tail: str) -> list[Entry]:
        if not self.path.exists():
            return []
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, uid, captured_at, actor, op, incident, args, state, reason, "
                f"refused_at FROM entry {tail}"
            ).fetchall()
        return [
            Entry(
                r[0],
                r[1],
                parse_ts(r[2]),
                r[3],
                r[4],
                r[5],
                json.loads(r[6]),
                r[7],
                r[8],
                parse_ts(r[9]) if r[9] else None,
            )
            for r in rows
        ]

    @contextmanager
    def delivering(self) -> Iterator[None]:
        """One process delivers at a time (the TUI's watcher and a command may both try): an
        exclusive lock on a file beside the outbox, held for one pass."""
        try:
            import fcntl
        except ImportError:  # not POSIX: the replay's idempotence check alone keeps it single
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def delivered(conn: Connection, incident_id: int, uid: str) -> bool:
    """Whether the incident's chain already holds an event replayed from outbox entry ``uid``
    (its data is canonical JSON: the key and value appear exactly so)."""
    marker = f'"outbox":{json.dumps(uid)}'
    q = select(EV.c.id).where(EV.c.incident_id == incident_id, EV.c.data.contains(marker))
    return conn.execute(q.limit(1)).first() is not None
