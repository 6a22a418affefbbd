"""Hot statements compiled once per dialect and run at the driver level.

SQLAlchemy Core costs a few hundred microseconds per execution (cache-key generation, result
processors). For the statements the TUI runs on every refresh that is most of the time, so
they are compiled once per dialect with SQLAlchemy itself (the SQL stays portable: SQLite and
PostgreSQL each get their own text and parameter style) and executed with exec_driver_sql.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

_CACHE: dict[tuple[int, str], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}


def run(conn: Connection, stmt: Executable, **params: Any):
    """Execute a module-level statement; values bound in it (e.g. a LIMIT) are its defaults."""
    key = (id(stmt), conn.dialect.name)
    hit = _CACHE.get(key)
    if hit is None:
        compiled = stmt.compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None
        hit = _CACHE[key] = (str(compiled), order, dict(compiled.params))
    sql, order, defaults = hit
    values = defaults | params
    args = tuple(values[k] for k in order) if order is not None else values
    return conn.exec_driver_sql(sql, args)
