"""Regenerate screenshots/*.svg: every screen and modal, from the same scenes the snapshot
tests pin (mlops_oncall.ui.gallery). Run from the repository root:

    python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TZ", "UTC")  # before the app is imported

from mlops_oncall.ui.gallery.scenes import SCENES, SIZE, build_app  # noqa: E402


async def shoot(scene, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLOPS_ONCALL_CACHE_DIR"] = str(Path(tmp) / "cache")
        app = build_app(Path(tmp), allow_commands=scene.allow_commands)
        async with app.run_test(size=SIZE) as pilot:
            await scene.run(app, pilot)
            svg = app.export_screenshot(title=f"mlops-oncall · {scene.title}")
        app.session.close()
    out.write_text(svg)


async def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for scene in SCENES:
        await shoot(scene, out / f"{scene.name}.svg")
        print(f"screenshots/{scene.name}.svg  {scene.title}")


if __name__ == "__main__":
    asyncio.run(main())
