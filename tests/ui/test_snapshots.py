"""A snapshot of every screen and modal (fixed clock, fixed check states, cursor blink off, TZ=UTC),
at a roomy terminal and at 80x24."""

from __future__ import annotations

import pytest

from mlops_oncall.ui.gallery.scenes import SCENES, SIZES, build_app

CASES = [(scene, size) for scene in SCENES for size in SIZES]


@pytest.mark.parametrize(("scene", "size"), CASES, ids=[f"{s.name}-{w}x{h}" for s, (w, h) in CASES])
def test_snapshot(scene, size, snap_compare, tmp_path):
    app = build_app(tmp_path, allow_commands=scene.allow_commands)
    try:
        assert snap_compare(app, terminal_size=size, run_before=lambda pilot: scene.run(app, pilot))
    finally:
        app.session.close()
