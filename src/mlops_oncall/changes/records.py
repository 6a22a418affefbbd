"""The deploys a change source recorded, read back: the only SQL of change sources."""

from __future__ import annotations

from sqlalchemy import select

from mlops_oncall.store.db import Store
from mlops_oncall.store.tables import Deployment as DEP


def source_notes(store: Store, actor: str, services: list[str], marker: str) -> list[str]:
    """Notes of ``actor``'s deploys of ``services`` that carry ``marker``, oldest first (in the
    order they were recorded). A registry's changes are few (tens a month), so all are read."""
    q = (
        select(DEP.c.notes)
        .where(
            DEP.c.actor == actor,
            DEP.c.service.in_(services),
            DEP.c.notes.contains(marker, autoescape=True),
        )
        .order_by(DEP.c.id)
    )
    with store.read() as conn:
        return [n for n in conn.execute(q).scalars() if n]


def last_recorded(store: Store, actor: str, services: list[str]) -> dict | None:
    """The newest deploy ``actor`` recorded of ``services`` (id, service, version, at)."""
    q = (
        select(DEP.c.id, DEP.c.service, DEP.c.version, DEP.c.at)
        .where(DEP.c.actor == actor, DEP.c.service.in_(services))
        .order_by(DEP.c.id.desc())
        .limit(1)
    )
    with store.read() as conn:
        row = conn.execute(q).mappings().first()
    return dict(row) if row else None
