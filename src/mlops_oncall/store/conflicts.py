"""Which database errors mean "another writer got there first; run the transaction again".

Appends lock the incident row first, so on either backend two writers to one incident take
turns and these should not happen; they are the safety net behind the lock (a writer that
did not take it, a deadlock between two incidents, a stricter isolation level). The write
path (incidents/writer.py) retries them a few times before reporting one clear line.
"""

from __future__ import annotations

from mlops_oncall.store.errors import StoreError

# the unique constraints two writers can race for (store/models.py), and what winning means
_RACED = {
    "uq_event_incident_seq": "another writer took the same event number",
    "uq_role_incident_role": "another writer took the same role",
}
# SQLite names the columns, not the constraint
_SQLITE_RACED = {
    "UNIQUE constraint failed: event.incident_id, event.seq": _RACED["uq_event_incident_seq"],
    "UNIQUE constraint failed: role_assignment.incident_id, role_assignment.role": _RACED[
        "uq_role_incident_role"
    ],
}
_UNIQUE_VIOLATION = "23505"


def conflict(exc: BaseException) -> str | None:
    """What kind of retryable conflict ``exc`` is, in a few words, or None if it is not one."""
    if isinstance(exc, StoreError):
        # a serialization failure or deadlock, already turned into one line (errors.describe)
        return "the database aborted it to keep concurrent writers apart" if exc.conflict else None
    orig = getattr(exc, "orig", None)
    if orig is None:
        return None
    if getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION:  # PostgreSQL
        return _RACED.get(getattr(getattr(orig, "diag", None), "constraint_name", None) or "")
    message = str(orig)
    return next((why for text, why in _SQLITE_RACED.items() if text in message), None)
