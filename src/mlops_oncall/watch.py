"""Watching workspace files for changes by polling their modification times.

A thread compares a signature of each group of files (path, mtime, size of every file) every
``every`` seconds and calls ``on_change`` with the names of the groups that changed. Polling
needs no dependency and works the same on every filesystem (network mounts included); at a
2-second pace its cost is a few stat calls per runbook file.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

Files = Callable[[], Iterable[Path]]
Signature = tuple[tuple[str, int, int], ...]


def signature(paths: Iterable[Path]) -> Signature:
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:  # gone: its absence is the change
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


class FileWatcher:
    def __init__(
        self, groups: dict[str, Files], on_change: Callable[[set[str]], None], every: float = 2.0
    ):
        self.groups = groups
        self.on_change = on_change
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = {name: self._sign(files) for name, files in groups.items()}

    def _sign(self, files: Files) -> Signature:
        try:
            return signature(files())
        except OSError as exc:  # a folder that vanished mid-scan: try again next time
            log.debug("could not list watched files: %s", exc)
            return ()

    def poll(self) -> set[str]:
        """Compare once; returns (and reports) the groups that changed."""
        changed = set()
        for name, files in self.groups.items():
            now = self._sign(files)
            if now != self._seen[name]:
                self._seen[name] = now
                changed.add(name)
        if changed:
            try:
                self.on_change(changed)
            except Exception:  # a failed reload must not stop the watching
                log.exception("reloading %s failed", sorted(changed))
        return changed

    def start(self) -> FileWatcher:
        self._thread = threading.Thread(target=self._run, name="mlops-oncall-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.poll()

    def stop(self) -> None:
        self._stop.set()
