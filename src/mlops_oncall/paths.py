"""Where mlops-oncall keeps its own files: platformdirs, overridable by env vars.

Apart from config.py, whose import builds pydantic models: a module that only needs a folder
(the runbook cache, the drill CLI, the export screens) does not pay for them.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "MLOPS_ONCALL_DATA_DIR"
ENV_CACHE_DIR = "MLOPS_ONCALL_CACHE_DIR"
APP_NAME = "mlops-oncall"


def user_data_dir() -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def demo_dir() -> Path:
    return user_data_dir() / "demo"
