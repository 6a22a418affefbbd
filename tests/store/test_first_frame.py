"""The TUI draws its first frame before the store is opened: SQLModel, pydantic's models of
the tables and ``sqlalchemy.orm`` (about 10 MiB and 0.15 s of imports) load after it.

Each case runs the real CLI entry in a fresh interpreter, headless, and lists the store's
libraries already imported when the first frame is on screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)

PROBE = """
import json, sys
from mlops_oncall.ui import app as ui_app

run = ui_app.OncallApp.run
ui_app.OncallApp.run = lambda self, **kw: run(self, headless=True, size=(160, 45))

def first_frame(self):
    watched = ("sqlmodel", "sqlalchemy", "sqlalchemy.orm", "mlops_oncall.store.models")
    print("LOADED " + json.dumps([m for m in watched if m in sys.modules]))
    self.exit()

ui_app.OncallApp._first_frame = first_frame
from mlops_oncall.cli import main
main(sys.argv[1:])
"""


def _loaded_at_first_frame(tmp_path, *args: str) -> list[str]:
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    p = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=100,
    )
    lines = [line for line in p.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1].removeprefix("LOADED "))


def test_a_workspace_draws_before_the_store_is_imported(tmp_path):
    ws = tmp_path / "ws"
    init = subprocess.run(
        [sys.executable, "-c", "from mlops_oncall.cli import main; main()", "init", str(ws)],
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    assert _loaded_at_first_frame(tmp_path, "--config", str(ws / "oncall.yaml")) == []


def test_the_demo_draws_before_the_store_is_imported(tmp_path):
    assert _loaded_at_first_frame(tmp_path, "demo", "--calm") == []


# Imported by the UI thread while it draws the first check states, before the boot worker opens
# the store: SQLModel's import there held the GIL for about a second and delayed the first poll.
@pytest.mark.parametrize(
    "module",
    [
        "mlops_oncall.incidents.checklink",
        "mlops_oncall.ui.app",
        "mlops_oncall.ui.screens.dashboard",
        "mlops_oncall.session",
    ],
)
def test_what_the_ui_imports_before_the_store_leaves_sqlmodel_out(module):
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps([m for m in ('sqlmodel', 'sqlalchemy.orm') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
