"""The store: an engine from a URL, its schema checked on open, with read and write transactions.

An empty database gets the latest schema on open, on both backends. An older schema is upgraded
on open only on SQLite (with a note): a SQLite file is one responder's, opened by the one
installed mlops-oncall, and each step is its own transaction. A PostgreSQL database is shared:
an older schema is refused with the command that upgrades it (`mlops-oncall db upgrade`), so a
teammate's newer terminal never migrates it under everyone else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, Engine, inspect

from mlops_oncall.store.engine import (
    StoreError,
    make_engine,
    read_only,
    read_tx,
    single_read,
    sqlite_path,
    translated,
    write_tx,
)
from mlops_oncall.store.migrations import (
    LATEST,
    UPGRADE_COMMAND,
    current_version,
    open_schema,
)


class Store:
    """``upgrade``: upgrade an older schema (True), refuse it (False), or the backend's default
    (None: SQLite upgrades, PostgreSQL refuses). ``note`` hears of an upgrade done on open."""

    def __init__(
        self, url: str, *, upgrade: bool | None = None, note: Callable[[str], None] | None = None
    ):
        self.url = url
        self.engine: Engine = make_engine(url)
        self.found_version: int | None = None  # before opening; None: it was created empty
        try:
            with translated(self.engine):
                self.version = self._schema(upgrade)
        except BaseException:
            self.engine.dispose()
            raise
        if note is not None and self.found_version not in (None, self.version) and not upgrade:
            note(
                f"upgraded the database {self.display_url} from schema version "
                f"{self.found_version} to {self.version}"
            )

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    def _schema(self, upgrade: bool | None) -> int:
        if not self.read_only:
            if upgrade is None:
                upgrade = self.backend == "sqlite"
            self.found_version, version = open_schema(
                self.engine, self.display_url, upgrade=upgrade
            )
            return version
        # read-only: nothing can be created or upgraded, but a current database reads fine
        with read_tx(self.engine) as conn:
            version = current_version(conn)
        self.found_version = version
        where = f"cannot open the database {self.display_url}"
        if version is None:
            raise StoreError(
                f"{where}: it has no mlops-oncall schema, and none can be created: "
                f"{self.read_only}, or set database: to another path"
            )
        if version > LATEST:
            raise StoreError(
                f"{where}: it is at schema version {version}, newer than this mlops-oncall "
                f"understands ({LATEST}); upgrade mlops-oncall"
            )
        if version < LATEST:
            raise StoreError(
                f"{where}: it is at schema version {version} and needs upgrading to {LATEST} "
                f"(`{UPGRADE_COMMAND}`), which writes: {self.read_only}"
            )
        return version

    @property
    def read_only(self) -> str | None:
        """Why this store cannot record (a read-only file, folder or mount), or None."""
        return read_only(self.engine)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def write(self) -> AbstractContextManager[Connection]:
        return write_tx(self.engine)

    def read(self) -> AbstractContextManager[Connection]:
        return read_tx(self.engine)

    def single_read(self) -> AbstractContextManager[Connection]:
        return single_read(self.engine)

    def ping(self) -> None:
        """One trivial read (the schema version); a StoreError when the database does not
        answer (the intake daemon's /healthz)."""
        with self.single_read() as conn:
            current_version(conn)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def display_url(url: str) -> str:
    """The database as it may be printed: a SQLite file's path, or the URL without password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


STATES = {
    "missing": "not created yet; the first command that needs it creates it",
    "empty": "no schema yet; the first command that needs it creates it",
    "current": "current",
    "older": f"older than this mlops-oncall's: run `{UPGRADE_COMMAND}`",
    "newer": "newer than this mlops-oncall understands: upgrade mlops-oncall",
    "foreign": "tables but no mlops-oncall schema version: another application's database?",
}


@dataclass
class DatabaseStatus:
    """`db status`: what is at the URL, read without creating or upgrading anything."""

    url: str  # as printable: no password
    backend: str  # sqlite or postgresql
    server_version: str | None  # SQLite's library version, or PostgreSQL's server_version
    schema_version: int | None
    latest_version: int
    state: str  # a key of STATES

    def to_json(self) -> dict:
        return asdict(self)


def database_status(url: str) -> DatabaseStatus:
    path = sqlite_path(url)
    engine = make_engine(url) if path is None or path.exists() else None
    backend = engine.url.get_backend_name() if engine is not None else "sqlite"
    version, server, foreign = None, sqlite3.sqlite_version, False
    if engine is not None:
        try:
            with translated(engine), read_tx(engine) as conn:
                version = current_version(conn)
                foreign = version is None and bool(inspect(conn).get_table_names())
                if backend == "postgresql":
                    server = conn.exec_driver_sql("SHOW server_version").scalar()
        finally:
            engine.dispose()
    if engine is None:
        state = "missing"
    elif version is None:
        state = "foreign" if foreign else "empty"
    else:
        state = "current" if version == LATEST else "older" if version < LATEST else "newer"
    return DatabaseStatus(display_url(url), backend, server, version, LATEST, state)


def open_store(
    url: str, *, upgrade: bool | None = None, note: Callable[[str], None] | None = None
) -> Store:
    return Store(url, upgrade=upgrade, note=note)
