"""Postmortem drafts: text typed but not yet recorded in the timeline, kept per field.

The timeline gets an event only when a field is recorded (ctrl+s); a keystroke is not an
event. Until then the text lives here, in one small JSON file beside a SQLite database
(``oncall.db.drafts.json``) or, for a server database, under the user data dir. It is
rewritten whole and atomically (reports/output.py), so a crash leaves the last draft or the one
before it, never a torn file. Drafts are keyed by incident id and declaration time: a demo
database reset at start numbers its incidents from INC-0001 again, and a stale draft must not
appear in a new incident's postmortem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path

from mlops_oncall.reports.output import sqlite_file, write_document

SUFFIX = ".drafts.json"
VERSION = 1


def drafts_path(database_url: str) -> Path:
    db = sqlite_file(database_url)
    if db is not None:
        return Path(f"{db}{SUFFIX}")
    from mlops_oncall.paths import user_data_dir

    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return user_data_dir() / "drafts" / f"{digest}.json"


def draft_key(incident_id: str, declared_at: datetime | None) -> str:
    return f"{incident_id}@{declared_at.isoformat() if declared_at else ''}"


class Drafts:
    """Read and replace an incident's drafts; safe to call from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, str]:
        with self._lock:
            fields = self._read().get(key, {})
        return {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}

    def save(self, key: str, fields: dict[str, str]) -> None:
        """Replace the incident's drafts with ``fields`` (empty: forget them)."""
        with self._lock:
            every = self._read()
            if fields:
                every[key] = dict(fields)
            elif every.pop(key, None) is None:
                return  # nothing to forget: no write
            self._write(every)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        if not raw.strip():  # just created by another process, not yet replaced
            return {}
        try:
            data = json.loads(raw)
            drafts = data["drafts"]
            if not isinstance(drafts, dict):
                raise TypeError("drafts is not an object")
        except (ValueError, KeyError, TypeError):
            # someone else's file or a damaged one: set it aside rather than write over it
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".unreadable"))
            return {}
        return {k: v for k, v in drafts.items() if isinstance(v, dict)}

    def _write(self, every: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # created 0600 like the database: drafts hold the incident's narrative; a replaced
        # file keeps its mode
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        body = json.dumps({"version": VERSION, "drafts": every}, ensure_ascii=False, indent=1)
        write_document(self.path, body + "\n", force=True)
