"""A lock on a key for the rest of a write transaction, so a check-then-insert on that key
(POST /changes' duplicate check) takes turns with another transaction doing the same.

PostgreSQL: a transaction-level advisory lock on a 64-bit hash of the key's parts, released
at commit or rollback; READ COMMITTED (the store's level) gives each later statement a new
snapshot, so it sees what the holder committed. SQLite: nothing to do, since a write
transaction (BEGIN IMMEDIATE) already holds the database's one write lock."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

_NAMESPACE = b"mlops-oncall\x00"  # keeps our keys apart from another application's


def key_hash(*parts: str) -> int:
    """A signed 64-bit integer (pg_advisory_xact_lock's bigint) for the parts, stable across
    processes and versions (not Python's randomised hash())."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(_NAMESPACE)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")  # ("ab", "c") and ("a", "bc") differ
    return int.from_bytes(digest.digest(), "big", signed=True)


def lock_key(conn: Connection, *parts: str) -> None:
    """Hold a lock on the key until this write transaction ends (waits for its holder)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key_hash(*parts)})
