"""Column types that keep storage portable (SQLite now, PostgreSQL for teams) and UTC-only.

Timestamps are stored as fixed-width RFC 3339 text with microseconds and ``Z``: they sort as
text, read the same in any SQL client, hash the same everywhere, and never lose their zone.
A naive datetime is refused at write time rather than guessed at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"refusing a naive datetime {value!r}; timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


class UTCTimestamp(TypeDecorator):
    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            return ts_text(parse_ts(value))
        return ts_text(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return datetime.fromisoformat(value)


class JSONText(TypeDecorator):
    """A JSON value stored as TEXT (portable; no JSON column type needed), keys sorted so the
    same value is always the same text. Read back parsed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, sort_keys=True, default=str)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
