"""Real ML servers, each started once per test run from its own cached venv (see venvs.py)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/real_servers/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.real_server)
            item.add_marker(pytest.mark.timeout(600))
