"""Shared fixtures: an isolated environment per test, and the CLI in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the developer's config, cache, data dir or database."""
    monkeypatch.setenv("MLOPS_ONCALL_CACHE_DIR", str(tmp_path / "_cache"))
    monkeypatch.setenv("MLOPS_ONCALL_DATA_DIR", str(tmp_path / "_data"))
    monkeypatch.setenv("MLOPS_ONCALL_ACTOR", "tester")
    for var in ("MLOPS_ONCALL_CONFIG", "MLOPS_ONCALL_DATABASE", "MLOPS_ONCALL_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir(tmp_path)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process (fast); returns Result(code, out, err)."""

    def run(*args: str) -> Result:
        from mlops_oncall.cli import main

        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def console_script() -> str:
    exe = Path(sys.executable).parent / "mlops-oncall"
    return str(exe) if exe.exists() else shutil.which("mlops-oncall") or "mlops-oncall"


@pytest.fixture
def cli_proc():
    """Run the installed console script as a real subprocess."""

    def run(
        *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60
    ) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.run(
            [console_script(), *map(str, args)],
            capture_output=True,
            text=True,
            input=input,
            env=full_env,
            timeout=timeout,
        )
        return Result(p.returncode, p.stdout, p.stderr)

    return run
