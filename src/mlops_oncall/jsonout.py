"""JSON output for the CLI contract: RFC 3339 UTC timestamps with Z, durations in seconds."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_oncall.formats.timestamps import rfc3339


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return rfc3339(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Path):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(value: Any, *, pretty: bool = True) -> str:
    return json.dumps(value, default=_default, indent=2 if pretty else None, ensure_ascii=False)
