"""Regenerate the reference pages that are written from the code. Run from anywhere:

    python scripts/gen_docs.py          # write them
    python scripts/gen_docs.py --check  # exit 1, naming each page, if one is out of date

- docs/cli.md: from the click commands (mlops_oncall.cli.reference); its hand-written part,
  after the "Written by hand" line, is kept.
- docs/templates.md: from src/mlops_oncall/reports/VARIABLES.md, the one source of the
  template variables (mlops_oncall.reports.variables).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages() -> dict[Path, str]:
    """Each generated page and the text it should hold now."""
    from mlops_oncall.cli import cli
    from mlops_oncall.cli.reference import update
    from mlops_oncall.reports.variables import templates_page

    cli_md = ROOT / "docs" / "cli.md"
    return {
        cli_md: update(cli_md.read_text(encoding="utf-8"), cli),
        ROOT / "docs" / "templates.md": templates_page(),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in pages().items():
        if path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if check and stale:
        for path in stale:
            print(f"{path} is out of date: run python scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
