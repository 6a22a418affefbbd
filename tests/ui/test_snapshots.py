"""A snapshot of every screen and modal (fixed clock, fixed check states, cursor blink off, TZ=UTC)."""

from __future__ import annotations

import pytest

from tests.ui.scenes import SCENES, SIZE, build_app


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_snapshot(scene, snap_compare, tmp_path):
    app = build_app(tmp_path, allow_commands=scene.allow_commands)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: scene.run(app, pilot))
    finally:
        app.session.close()
