"""The reference pages written from the code are up to date, and the docs stand alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

from mlops_oncall.cli import cli
from mlops_oncall.cli.common import EXIT_CODES
from mlops_oncall.cli.reference import HAND_WRITTEN, render, update
from mlops_oncall.reports.variables import SOURCE, documented, templates_page
from tests.reports import mdcheck

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_generated_pages_are_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr  # "docs/cli.md is out of date: run ..."
    assert proc.stdout == proc.stderr == ""


def _commands(cmd: click.Command, ctx: click.Context, path: tuple[str, ...] = ()):
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(
                    sub, click.Context(sub, info_name=name, parent=ctx), (*path, name)
                )
    else:
        yield " ".join(path), cmd


def test_cli_reference_has_every_command_option_and_exit_code():
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    generated = page.partition(HAND_WRITTEN)[0]
    commands = list(_commands(cli, click.Context(cli, info_name="mlops-oncall")))
    assert len(commands) > 40
    for path, cmd in commands:
        assert re.search(rf"^#+ `{re.escape(path)}`$", generated, re.M), path
        for opt in cmd.params:
            if isinstance(opt, click.Option) and not opt.hidden:
                assert f"| `{opt.opts[0]}" in generated, f"{path} {opt.opts[0]}"
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", generated, re.M)
    # hidden options (bench switches) stay out of the reference
    assert "--transport" not in generated and "--rollup-every" not in generated


def test_regenerating_keeps_the_hand_written_part_and_replaces_the_rest():
    stale = f"# CLI reference\n\nan option that no longer exists: --gone\n{HAND_WRITTEN}\n\n# Mine\n\nkept\n"
    page = update(stale, cli)
    assert "--gone" not in page
    assert page.startswith(render(cli))
    assert page.endswith(f"{HAND_WRITTEN}\n# Mine\n\nkept\n")
    # a page without the line gets the generated part alone
    assert update("# old page\n", cli) == render(cli)


def test_cli_reference_is_well_formed_markdown():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert len(mdcheck.check(text)) >= 40  # every command's options table


def test_templates_page_is_the_variables_source_one_level_up():
    page = templates_page()
    assert page.startswith("# Template variables\n")
    assert "\n## postmortem.md.j2\n" in page and "\n### " not in page
    assert "## Template variables" in SOURCE.read_text(encoding="utf-8")
    # the same rows, in the same order
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    source_rows = [
        line for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.startswith("| `")
    ]
    assert rows == source_rows
    assert set(documented()) == {"postmortem.md.j2", "weekly.md.j2", "risks.md.j2", "handoff.md.j2"}


def test_readme_is_a_starting_point_not_a_reference():
    readme = ROOT / "README.md"
    # a page for each part of the tool and a link to its reference; the alerts, SLO,
    # communication and readiness sections took it from 20 to 25 kB
    assert readme.stat().st_size < 25_000
    for link in re.findall(r"\]\((docs/[^)#]+)", readme.read_text(encoding="utf-8")):
        assert (ROOT / link).is_file(), link


# Files a maintainer does not have: notes kept outside the repository.
_OUTSIDE = re.compile(r"DESIGN\.md|DOMAIN\.md|\.\./shared|/work/shared")


def test_nothing_points_at_a_file_outside_the_repository():
    found = []
    for top in ("src", "tests", "scripts", "bench", "docs"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in {".py", ".md", ".yaml", ".yml", ".j2", ".toml", ".txt"}:
                continue
            if path == Path(__file__).resolve():
                continue
            for n, line in enumerate(
                path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
            ):
                if _OUTSIDE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    for extra in ("README.md", "pyproject.toml"):
        text = (ROOT / extra).read_text(encoding="utf-8")
        found += [f"{extra}: {m}" for m in _OUTSIDE.findall(text)]
    assert found == []
