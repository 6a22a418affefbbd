"""The drill records the CLI and the TUI read and write: the drill rows and their delivered
injects. SQL stays here (and in the store), never under ui/ or cli/."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from mlops_oncall.store.tables import Drill, DrillInject

DR = Drill
DI = DrillInject


def latest_drill_id(session) -> int | None:
    """The id of the newest drill, or None when none has been run."""
    with session.store.read() as conn:
        return conn.execute(select(func.max(DR.c.id))).scalar()


def drill_row(session, drill_id: int) -> dict[str, Any] | None:
    """The drill's row, or None when there is no such drill."""
    with session.store.read() as conn:
        row = conn.execute(select(DR).where(DR.c.id == drill_id)).mappings().first()
    return None if row is None else dict(row)


def drill_rows(session) -> list[Any]:
    """Every drill's row, newest first."""
    with session.store.read() as conn:
        return list(conn.execute(select(DR).order_by(DR.c.id.desc())).mappings())


def delivered_injects(session, drill_id: int) -> list[Any]:
    """Everything delivered to the drill (scheduled, fired or sent by the game master), in order."""
    with session.store.read() as conn:
        return list(
            conn.execute(select(DI).where(DI.c.drill_id == drill_id).order_by(DI.c.id)).mappings()
        )


def record_inject(session, values: dict[str, Any]) -> None:
    """Record one delivery made from the game master's console."""
    with session.store.write() as conn:
        conn.execute(insert(DI).values(**values))
