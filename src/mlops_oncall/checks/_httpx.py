"""httpx, imported without its command-line tool.

``httpx/__init__`` imports ``httpx._main`` (its CLI) whenever rich, pygments and click are
installed, which loads Rich into the core and costs ~90 ms at startup. The core must never load
Rich (the import-linter contracts in pyproject.toml), and we never use httpx's CLI, so the import of ``httpx._main`` is
made to fail; httpx then installs its own stub ``main`` and works as usual.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

__all__ = ["httpx"]
