"""`mlops-oncall runbook validate|list|show|search|match`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlops_oncall.cli.common import (
    EXIT_NO,
    AppContext,
    echo_json,
    fail,
    json_option,
    pass_app,
    warn,
)
from mlops_oncall.formats.words import plural


def load_library(app: AppContext, paths: tuple[str, ...] = (), *, report: bool = True):
    """The workspace's library. Each runbook it had to leave out is one line on stderr, so a
    broken file never just disappears from list, show, search, match or declare.
    ``paths``: these files or folders instead (`runbook validate PATH`)."""
    session = app.session
    lib = session.load_library([Path(p) for p in paths]) if paths else session.library
    if report:
        for refusal in lib.refused:
            warn(str(refusal))
    return lib


@click.group()
def runbook() -> None:
    """Validate, list, show, search and match runbooks."""


@runbook.command()
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@pass_app
def validate(app: AppContext, paths: tuple[str, ...], as_json: bool) -> None:
    """Validate runbook files or folders (default: the workspace's plus the shipped set).

    Exit 0 when there are no errors (warnings allowed), 1 on any error.
    """
    lib = load_library(app, paths, report=False)  # it prints every problem itself
    problems = sorted(lib.problems, key=lambda p: (p.file, p.line, p.col))
    errors = sum(p.is_error for p in problems)
    if as_json:
        echo_json([p.to_json() for p in problems])
    else:
        for p in problems:
            click.echo(str(p))
        warnings = len(problems) - errors
        click.echo(
            f"{plural(len(lib.entries), 'runbook')} in {plural(lib.files, 'file')}: "
            f"{plural(errors, 'error')}, {plural(warnings, 'warning')}",
            err=True,
        )
    if errors:
        raise SystemExit(EXIT_NO)


@runbook.command("list")
@click.option(
    "--category",
    type=click.Choice(["serving", "data", "pipeline", "quality", "release", "cost"]),
    help="Only this category.",
)
@json_option
@pass_app
def list_(app: AppContext, category: str | None, as_json: bool) -> None:
    """List runbooks, grouped by category."""
    lib = load_library(app)
    entries = lib.list(category)
    if as_json:
        echo_json(
            [
                {
                    "id": e.id,
                    "title": e.summary.title,
                    "category": e.summary.category,
                    "severity": e.summary.severity,
                    "file": e.file,
                    "source": e.source,
                    "stale": e.stale,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        click.echo("no runbooks", err=True)
        return
    width = max(len(e.id) for e in entries)
    for e in entries:
        stale = "  [stale]" if e.stale else ""
        src = "" if e.source == "shipped" else "  (workspace)"
        click.echo(
            f"{e.id:<{width}}  {e.summary.severity}  {e.summary.category:<8}  {e.summary.title}{stale}{src}"
        )


@runbook.command()
@click.argument("runbook_id")
@json_option
@pass_app
def show(app: AppContext, runbook_id: str, as_json: bool) -> None:
    """Show one runbook, readably (or as JSON)."""
    from mlops_oncall.formats.validate import did_you_mean
    from mlops_oncall.runbooks.render import runbook_markdown

    lib = load_library(app)
    entry = lib.get(runbook_id)
    if entry is None:
        fail(f"unknown runbook '{runbook_id}'{did_you_mean(runbook_id, list(lib.entries))}")
    if as_json:
        data = entry.runbook.model_dump(mode="json", exclude_none=True)
        data.update(file=entry.file, source=entry.source, stale=entry.stale)
        echo_json(data)
        return
    text = runbook_markdown(entry.runbook, stale=entry.stale)
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        click.echo(text)
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(text, code_theme="ansi_dark"))


@runbook.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--limit", type=click.IntRange(1), default=10, show_default=True, metavar="N", help="At most N."
)
@json_option
@pass_app
def search(app: AppContext, query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Rank runbooks by title, symptoms, triggers and step text. Exit 1 when nothing matches."""
    from mlops_oncall.runbooks.library import tokens

    text = " ".join(query)
    if not tokens(text):  # the library lists everything for no words (the TUI's empty box)
        if as_json:
            echo_json([])
        click.echo("no runbook matches: the query has no words", err=True)
        raise SystemExit(EXIT_NO)
    lib = load_library(app)
    hits = lib.search(text, limit=limit)
    if as_json:
        echo_json(
            [
                {
                    "id": h.entry.id,
                    "title": h.entry.runbook.title,
                    "category": h.entry.runbook.category,
                    "severity": h.entry.runbook.severity,
                    "score": h.score,
                    "fields": h.fields,
                }
                for h in hits
            ]
        )
        if not hits:
            raise SystemExit(EXIT_NO)
        return
    if not hits:
        click.echo("no runbook matches", err=True)
        raise SystemExit(EXIT_NO)
    for h in hits:
        click.echo(
            f"{h.score:7.2f}  {h.entry.id:<28} {h.entry.runbook.title}  ({', '.join(h.fields)})"
        )


@runbook.command()
@click.option("--check", "checks", multiple=True, metavar="ID", help="A failing check id.")
@click.option("--alert", "alerts", multiple=True, metavar="NAME", help="A firing alert name.")
@click.option(
    "--error-class", "error_classes", multiple=True, metavar="X", help="A probe error class."
)
@click.option("--service", "services", multiple=True, metavar="S", help="The affected service.")
@json_option
@pass_app
def match(
    app: AppContext,
    checks: tuple[str, ...],
    alerts: tuple[str, ...],
    error_classes: tuple[str, ...],
    services: tuple[str, ...],
    as_json: bool,
) -> None:
    """The runbooks that fit a failure, best first, each with why it matched."""
    if not (checks or alerts or error_classes):
        fail("give at least one of --check, --alert or --error-class", 2)
    lib = load_library(app)
    named, services = _check_context(app, checks, list(services))
    matches = lib.match(
        checks=list(checks),
        alerts=list(alerts),
        error_classes=list(error_classes),
        services=services,
        named=named,
    )
    if as_json:
        echo_json(
            [
                {
                    "id": m.entry.id,
                    "title": m.entry.summary.title,
                    "severity": m.entry.summary.severity,
                    "score": m.score,
                    "reasons": m.reasons,
                }
                for m in matches
            ]
        )
        return
    if not matches:
        click.echo("no runbook fits", err=True)
        raise SystemExit(EXIT_NO)
    for m in matches:
        click.echo(f"{m.score:4d}  {m.entry.id:<28} {m.entry.summary.title}")
        for r in m.reasons:
            click.echo(f"        - {r}")


def _check_context(app: AppContext, checks, services: list[str]):
    """The runbook each check's config names, and its service, when checks.yaml has them."""
    from mlops_oncall.checks.lookup import runbook_context

    return runbook_context(app.workspace, list(checks), services)
