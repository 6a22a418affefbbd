"""Where tests and scripts live: a test package per source package, and nothing outside tests/
imports from it (the screenshots script draws the package's gallery, not test code)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def test_every_folder_of_tests_is_a_package():
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    assert TESTS / "drills" in folders
    assert (
        sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file()) == []
    )


def test_cli_tests_live_with_their_package():
    assert sorted(p.name for p in TESTS.glob("test_cli*.py")) == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_scripts_and_the_package_never_import_tests():
    files = [*(ROOT / "scripts").glob("*.py"), *(ROOT / "src").rglob("*.py")]
    assert ROOT / "scripts" / "screenshots.py" in files
    bad = {
        str(f.relative_to(ROOT)): sorted(m for m in _imports(f) if m.split(".")[0] == "tests")
        for f in files
    }
    assert {f: m for f, m in bad.items() if m} == {}
