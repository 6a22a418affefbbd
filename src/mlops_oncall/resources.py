"""Where the shipped data lives: inside the wheel (``_data/``), or the source tree in development."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """The shipped folder ``name`` (runbooks, scenarios, templates, ...)."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    in_tree = _PKG.parents[1] / name  # src/mlops_oncall -> repository root
    if in_tree.is_dir():
        return in_tree
    return packaged
