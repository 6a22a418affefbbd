"""The probe transport's imports, started early on a thread of their own.

Importing aiohttp takes 100-200 ms of the path from the TUI's start to its first check
states, most of it building two TLS contexts (loading the CA bundle, during which the GIL is
released). The TUI calls ``start`` right after its first frame, so this runs while the boot
worker loads the session and the checks file; the first probe's own import then finds the
module loaded, or waits for this import to finish (Python's import lock) rather than
repeating it. Only aiohttp and its own dependencies are imported here: nothing on the boot
worker's path imports them, so the two threads never take the same module locks in turn.
"""

from __future__ import annotations

import contextlib
import threading


def _import() -> None:
    # on failure the first probe imports it again, and reports what is wrong
    with contextlib.suppress(Exception):
        import aiohttp  # noqa: F401


def start() -> threading.Thread:
    thread = threading.Thread(target=_import, name="mlops-oncall-warmup", daemon=True)
    thread.start()
    return thread
