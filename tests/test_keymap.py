"""`keymap:` in oncall.yaml names binding ids the TUI has; a typo is a located error, not a key
that silently never remaps. The core's list of ids is the one the screens declare."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from mlops_oncall.bindings import BINDING_IDS


def _declared_binding_ids() -> set[str]:
    import mlops_oncall.ui as ui

    ids: set[str] = set()
    for info in pkgutil.walk_packages(ui.__path__, "mlops_oncall.ui."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                for b in getattr(obj, "BINDINGS", None) or []:
                    if getattr(b, "id", None):
                        ids.add(b.id)
    return ids


def test_the_core_list_is_every_binding_the_screens_declare():
    declared = _declared_binding_ids()
    assert set(BINDING_IDS) == declared, (
        f"add to mlops_oncall/bindings.py: {sorted(declared - BINDING_IDS)}; "
        f"remove: {sorted(BINDING_IDS - declared)}"
    )


def test_unknown_keymap_entry_is_a_located_error_naming_the_ids(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text(
        "name: t\nkeymap:\n  incident.note: N\n  dashboard.declar: ctrl+d\n"
    )
    r = cli("incident", "list")
    assert r.code == 2
    first, last = r.err.strip().splitlines()
    assert first.startswith(
        f"{tmp_path / 'oncall.yaml'}:4:3: keymap.dashboard.declar: unknown binding id "
        "'dashboard.declar' (did you mean 'dashboard.declare'?); the TUI's binding ids"
    )
    for binding in ("dashboard.declare", "incident.note", "triage.done", "app.quit"):
        assert binding in first
    assert last == "error: the workspace config is invalid"


def test_known_keymap_entries_load(cli, tmp_path):
    from mlops_oncall.config import load_workspace

    (tmp_path / "oncall.yaml").write_text(
        "name: t\nkeymap:\n  dashboard.declare: ctrl+d\n  incident.note: N\n"
    )
    ws = load_workspace(tmp_path / "oncall.yaml")
    assert ws.config.keymap == {"dashboard.declare": "ctrl+d", "incident.note": "N"}
