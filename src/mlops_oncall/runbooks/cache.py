"""A parsed-runbook cache keyed on path, mtime and size; safe to delete at any time.

One pickle per library root set, written atomically. A corrupt or foreign cache file is
ignored and rebuilt, never trusted: the key includes the package version.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from mlops_oncall import __version__
from mlops_oncall.runbooks.loader import LoadedFile, load_runbook

_FORMAT = f"runbooks-cache-5-{__version__}"  # 5: placeholders, risk


class ParsedCache:
    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[str, tuple[int, int, LoadedFile]] = {}
        self._dirty = False
        try:
            with open(path, "rb") as fh:
                tag, entries = pickle.load(fh)
            if tag == _FORMAT and isinstance(entries, dict):
                self._entries = entries
        except Exception:  # missing, truncated, or from another version: start afresh
            self._entries = {}

    def load(self, file: Path) -> LoadedFile:
        key = os.path.abspath(file)
        try:
            st = os.stat(key)
        except OSError:
            return load_runbook(file)
        hit = self._entries.get(key)
        display = str(file)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            loaded = hit[2]
            if loaded.file != display:  # the same file reached by another relative path
                loaded = _renamed(loaded, display)
            return loaded
        loaded = load_runbook(file)
        loaded.compact()  # parsed cold or read from the cache, it holds the same afterwards
        self._entries[key] = (st.st_mtime_ns, st.st_size, loaded)
        self._dirty = True
        return loaded

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".runbooks-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((_FORMAT, self._entries), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass  # a read-only cache dir only costs speed


def _renamed(loaded: LoadedFile, display: str) -> LoadedFile:
    from dataclasses import replace

    problems = [
        type(p)(display, p.line, p.col, p.path, p.severity, p.message) for p in loaded.problems
    ]
    return replace(loaded, file=display, problems=problems)


def default_cache() -> ParsedCache:
    from mlops_oncall.paths import user_cache_dir

    return ParsedCache(user_cache_dir() / "runbooks.pickle")
