"""When each source last polled and how it went, for `changes sources`: a small JSON file
beside a SQLite database (in the user data folder for a server database), replaced whole.

It is only a display: what was recorded is derived from the deploys, never from this file, so
losing it (or two pollers racing to write it) loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mlops_oncall.jsonout import dumps

SUFFIX = ".changes.json"


def status_path(database_url: str) -> Path:
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url[len("sqlite:///") :] + SUFFIX)
    from mlops_oncall.paths import user_data_dir

    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return user_data_dir() / "changes" / f"{digest}.json"


def read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(path: Path, source: str, entry: dict[str, Any]) -> None:
    """Replace ``source``'s entry; a file that cannot be written is skipped (display only)."""
    data = read(path)
    data[source] = json.loads(dumps(entry))
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(tmp, path)
