"""The store: an engine from a URL, migrated on open, with read and write transactions."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine

from mlops_oncall.store.engine import (
    StoreError,
    make_engine,
    read_tx,
    single_read,
    sqlite_path,
    write_tx,
)
from mlops_oncall.store.migrations import migrate


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = make_engine(url)
        try:
            self.version = migrate(self.engine)
        except StoreError:
            self.engine.dispose()
            raise
        except Exception as exc:  # corrupt file, not a database, permission denied...
            self.engine.dispose()
            raise StoreError(f"cannot open the database {self.display_url}: {exc}") from None

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
