"""The store: an engine from a URL, migrated on open, with read and write transactions."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine

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
from mlops_oncall.store.migrations import LATEST, current_version, migrate


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = make_engine(url)
        try:
            with translated(self.engine):
                self.version = self._schema()
        except BaseException:
            self.engine.dispose()
            raise

    def _schema(self) -> int:
        if not self.read_only:
            return migrate(self.engine)
        # read-only: nothing can be created or upgraded, but a current database reads fine
        with read_tx(self.engine) as conn:
            version = current_version(conn)
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
                f"{where}: it is at schema version {version} and needs upgrading to {LATEST}, "
                f"which writes: {self.read_only}"
            )
        return version

    @property
    def read_only(self) -> str | None:
        """Why this store cannot record (a read-only file, folder or mount), or None."""
        return read_only(self.engine)

    @property
    def display_url(self) -> str:
        path = sqlite_path(self.url)
        if path is not None:
            return str(path)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def write(self) -> AbstractContextManager[Connection]:
        return write_tx(self.engine)

    def read(self) -> AbstractContextManager[Connection]:
        return read_tx(self.engine)

    def single_read(self) -> AbstractContextManager[Connection]:
        return single_read(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(url: str) -> Store:
    return Store(url)
