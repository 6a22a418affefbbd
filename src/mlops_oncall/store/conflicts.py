"""Which database errors mean "another writer got there first; run the transaction again".

Appends lock the incident row first, so on either backend two writers to one incident take
turns and these should not happen; they are the safety net behind the lock (a writer that
did not take it, a deadlock between two incidents, a stricter isolation level). The write
path (incidents/writer.py) retries them a few times before reporting one clear line.
"""

from __future__ import annotations

from mlops_oncall.store.errors import StoreError

# the constraint that keeps one sequence number per event of an incident (store/models.py)
SEQ_CONSTRAINT = "uq_event_incident_seq"
_SQLITE_SEQ = "UNIQUE constraint failed: event.incident_id, event.seq"
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
        diag = getattr(orig, "diag", None)
        if getattr(diag, "constraint_name", None) == SEQ_CONSTRAINT:
            return "another writer took the same event number"
        return None
    if _SQLITE_SEQ in str(orig):
        return "another writer took the same event number"
    return None
