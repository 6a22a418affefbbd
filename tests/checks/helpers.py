"""Small helpers shared by the checks tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mlops_oncall.checks.config import load_checks
from mlops_oncall.checks.spec import CheckSet


def write(tmp_path: Path, text: str, name: str = "checks.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def load_ok(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> CheckSet:
    path = write(tmp_path, text)
    checkset, problems = load_checks(path, display="checks.yaml", env=env or {})
    assert checkset is not None, [str(p) for p in problems]
    assert [p for p in problems if p.is_error] == []
    return checkset


def load_errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    checkset, problems = load_checks(path, display="checks.yaml", env=env or {})
    assert checkset is None
    return [str(p) for p in problems]
