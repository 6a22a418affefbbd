"""The core never imports Textual or Rich; the CLI loads Textual only to open the TUI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlops_oncall

CORE = ("runbooks", "checks", "incidents", "store", "reports", "drills", "formats")
REPO = Path(__file__).resolve().parents[1]


def core_modules() -> list[str]:
    names = ["mlops_oncall.config", "mlops_oncall.clock", "mlops_oncall.jsonout"]
    root = Path(mlops_oncall.__file__).parent
    for pkg in CORE:
        if not (root / pkg).is_dir():
            continue
        names.append(f"mlops_oncall.{pkg}")
        for info in pkgutil.walk_packages([str(root / pkg)], prefix=f"mlops_oncall.{pkg}."):
            names.append(info.name)
    return sorted(names)


def _loaded_after_import(module: str) -> set[str]:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m for m in out.stdout.strip().split(",") if m}


def test_every_core_module_is_found():
    mods = core_modules()
    assert "mlops_oncall.runbooks.library" in mods
    assert "mlops_oncall.formats.yamlsrc" in mods


@pytest.mark.parametrize("module", core_modules())
def test_core_module_imports_no_terminal_library(module):
    assert _loaded_after_import(module) == set()


def test_cli_does_not_import_textual():
    assert "textual" not in _loaded_after_import("mlops_oncall.cli")


def test_import_linter_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), "import-linter is part of the test extra"
    p = subprocess.run(
        [str(lint), str(REPO / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Contracts: 4 kept, 0 broken" in p.stdout
