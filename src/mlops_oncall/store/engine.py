"""The engine from a URL, and the two kinds of transaction the app needs.

SQLite gets WAL with synchronous=FULL (an incident record must survive a power cut), foreign
keys, a busy timeout so two terminals can write at once, and files created with mode 0600.
Writes open with BEGIN IMMEDIATE so the write lock is taken before the timeline head is read:
two appenders can never both read the same head. On PostgreSQL the same guarantee comes from
SELECT ... FOR UPDATE on the incident row (see timeline.lock_incident). Nothing else here is
SQLite-specific.

A database that cannot be written (a read-only file, folder or mount) still opens, read-only,
so a responder can read the record; a write then fails with a StoreError that says why. Every
driver error leaving a transaction becomes a StoreError (errors.describe): one line naming the
file, never the statement and its parameters.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Integer, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from mlops_oncall.store.errors import (
    StoreError,
    describe,
    disk_full,
    os_error,
    read_only_message,
    read_only_reason,
)

__all__ = ["StoreError", "make_engine", "read_tx", "single_read", "sqlite_path", "write_tx"]

BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10  # a team database's connection attempt (libpq's connect_timeout)
BACKENDS = ("sqlite", "postgresql")
# the package to install for a driver SQLAlchemy could not import
DRIVER_PACKAGES = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _shown(url: str) -> str:
    """The URL as it may be printed: no password."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _create_private(path: Path) -> bool:
    """Create the file (mode 0600) unless it exists; True if it was created."""
    # the folder is not created: a typo in database: must not scatter databases around
    if not path.parent.is_dir():
        raise StoreError(
            f"cannot open the database {path}: directory {path.parent} does not exist; "
            f"create it, or set database: to another path"
        )
    if path.is_dir():
        raise StoreError(
            f"cannot open the database {path}: it is a directory, not a database file; "
            f"set database: to a file path"
        )
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        except OSError as err:
            raise os_error(err, path, "create") from None
        os.close(fd)
        return True
    return False


def _wide_integer_binds(engine: Engine) -> Engine:
    """Bind integers as BIGINT on PostgreSQL, as SQLite's integers are.

    The id columns are INTEGER (int4) there, and SQLAlchemy's psycopg dialect casts each
    bound value to its column's type (`%(id)s::INTEGER`): a lookup of id 2**31 or more
    failed with "integer out of range" instead of finding no row. `int4 = int8` compares
    (and uses the index); a stored value still has to fit its column. Only the cast's name
    changes: the type is no BigInteger, so the DDL still says INTEGER and SERIAL.
    """
    dialect = engine.dialect
    integer = dialect.colspecs.get(Integer)
    if integer is not None:
        wide = type("_BigIntegerBind", (integer,), {"__visit_name__": "big_integer"})
        dialect.colspecs = {**dialect.colspecs, Integer: wide}
    return engine


def _server_engine(url: str) -> Engine:
    u = make_url(url)
    if u.drivername == "postgresql":
        # plain postgresql:// means psycopg 3 (SQLAlchemy 2.0 would pick psycopg2)
        u = u.set(drivername="postgresql+psycopg")
    # a server that does not answer (a network partition drops packets, no reset) is given
    # up on after this long, so a write goes to the outbox instead of hanging for minutes
    connect = {} if "connect_timeout" in u.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        return _wide_integer_binds(create_engine(u, pool_pre_ping=True, connect_args=connect))
    except (ImportError, exc.NoSuchModuleError) as err:
        missing = getattr(err, "name", None) or u.get_driver_name()
        package = DRIVER_PACKAGES.get(missing.split(".")[0], missing)
        if isinstance(err, exc.NoSuchModuleError):
            raise StoreError(
                f"unsupported database driver {u.drivername!r} in {_shown(url)}: use "
                f"postgresql://… (psycopg 3)"
            ) from None
        raise StoreError(
            f"the database {_shown(url)} needs the {missing} driver, which is not installed: "
            f"pip install {package}"
        ) from None


def _read_only_creator(path: Path, reason: str):
    """Connections that never write. ``mode=ro`` when SQLite can still reach FILE-shm;
    ``immutable=1`` when there is no -shm and none can be made (a read-only folder, a full
    disk): WAL readers need one, and nothing can write the file meanwhile."""
    shm, wal = Path(f"{path}-shm"), Path(f"{path}-wal")
    if shm.exists() or (os.access(path.parent, os.W_OK) and not disk_full(os.statvfs(path))):
        params = "mode=ro"
    elif wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"cannot open the database {path}: {reason}, and {wal.name} holds changes not yet "
            f"folded into the file; make the folder writable once (any command folds them in)"
        )
    else:
        params = "immutable=1"
    uri = f"file:{quote(str(path))}?{params}"
    return lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except Exception:
        raise StoreError(
            f"invalid database URL {_shown(url)!r}: expected sqlite:///PATH or "
            f"postgresql://USER@HOST/DB"
        ) from None
    backend = u.get_backend_name()
    if backend not in BACKENDS:
        raise StoreError(
            f"unsupported database URL scheme {u.drivername!r} in {_shown(url)}: use "
            f"sqlite:///PATH, or postgresql://USER@HOST/DB for a shared team database"
        )
    if backend != "sqlite":
        return _server_engine(url)
    path = sqlite_path(url)
    read_only = None
    if path is None:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool,
        )
    else:
        created = _create_private(path)
        read_only = read_only_reason(path)
        if read_only and created:  # a new, empty file that can never get a schema
            path.unlink(missing_ok=True)
            raise StoreError(f"cannot create the database {path}: {read_only}")
        if read_only:
            engine = create_engine(
                url,
                creator=_read_only_creator(path, read_only),
                execution_options={"read_only": read_only},
            )
        else:
            engine = create_engine(
                url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
            )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        else:
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


def read_only(engine: Engine) -> str | None:
    """Why the engine cannot write, or None."""
    return engine.get_execution_options().get("read_only")


@contextmanager
def translated(engine: Engine) -> Iterator[None]:
    """Driver errors as StoreError. Integrity and programming errors are left alone: the first
    are handled by callers (the unique (incident, seq) safety net), the second are bugs."""
    try:
        yield
    except (exc.OperationalError, exc.InternalError) as err:
        raise _describe(engine, err) from None
    except exc.DatabaseError as err:
        if isinstance(err, exc.IntegrityError | exc.ProgrammingError):
            raise
        raise _describe(engine, err) from None
    except (sqlite3.OperationalError, sqlite3.InternalError) as err:
        raise _describe(engine, err) from None
    except sqlite3.DatabaseError as err:  # a raw cursor streaming rows (timeline.export_rows)
        if isinstance(err, sqlite3.IntegrityError | sqlite3.ProgrammingError):
            raise
        raise _describe(engine, err) from None


def _describe(engine: Engine, err: BaseException) -> StoreError:
    url = engine.url.render_as_string(hide_password=True)
    path = sqlite_path(url) if engine.url.get_backend_name() == "sqlite" else None
    return describe(err, path, url)


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction that holds the write lock from its first statement."""
    reason = read_only(engine)
    if reason:
        raise StoreError(read_only_message(Path(engine.url.database or ""), reason))
    with translated(engine), engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with translated(engine), engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """For exactly one SELECT (a refresh of the timeline): no explicit transaction on SQLite."""
    with translated(engine), engine.connect() as conn:
        conn.execution_options(single_read=True)
        with conn.begin():
            yield conn
