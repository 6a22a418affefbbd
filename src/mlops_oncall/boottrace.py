"""Boot phase times for the TUI bench: with MLOPS_ONCALL_BOOT_TRACE=FILE, each phase appends
"<ms since the CLI was imported> <label>" to FILE. Off (one dict lookup) otherwise."""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()
_PATH = os.environ.get("MLOPS_ONCALL_BOOT_TRACE")


def mark(label: str) -> None:
    if _PATH:
        with open(_PATH, "a", encoding="utf-8") as fh:
            fh.write(f"{(time.perf_counter() - _T0) * 1000:.1f} {label}\n")
