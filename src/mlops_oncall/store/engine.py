"""The engine from a URL, and the two kinds of transaction the app needs.

SQLite gets WAL with synchronous=FULL (an incident record must survive a power cut), foreign
keys, a busy timeout so two terminals can write at once, and files created with mode 0600.
Writes open with BEGIN IMMEDIATE so the write lock is taken before the timeline head is read:
two appenders can never both read the same head. On PostgreSQL the same guarantee comes from
SELECT ... FOR UPDATE on the incident row (see timeline.lock_incident). Nothing else here is
SQLite-specific.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_S = 30


class StoreError(Exception):
    """The database cannot be opened or used; one clear line."""


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except Exception as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from None
    if u.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = sqlite_path(url)
    if path is None:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool,
        )
    else:
        try:
            _create_private(path)
        except OSError as exc:
            raise StoreError(f"cannot create the database {path}: {exc.strerror}") from None
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        opts = conn.get_execution_options()
        if opts.get("single_read"):
            return  # one SELECT is atomic on its own; skipping BEGIN/COMMIT halves a tiny read
        conn.exec_driver_sql("BEGIN IMMEDIATE" if opts.get("write") else "BEGIN")

    return engine


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction that holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """For exactly one SELECT (a refresh of the timeline): no explicit transaction on SQLite."""
    with engine.connect() as conn:
        conn.execution_options(single_read=True)
        with conn.begin():
            yield conn
