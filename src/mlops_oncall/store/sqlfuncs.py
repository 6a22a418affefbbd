"""Portable SQL functions compiled per dialect (queries stay free of SQLite-only SQL).

``epoch_seconds(col)`` turns a stored RFC 3339 timestamp into seconds since the epoch inside
the database, so metrics over thousands of incidents subtract in SQL instead of parsing every
timestamp in Python.
"""

from __future__ import annotations

from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float


class epoch_seconds(FunctionElement):
    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # julianday() reads RFC 3339 with 'Z'; millisecond precision is plenty for TTx
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMPTZ))"


@compiles(epoch_seconds)
def _epoch_other(element, compiler, **kw):
    raise CompileError(f"epoch_seconds() is not defined for {compiler.dialect.name}")
