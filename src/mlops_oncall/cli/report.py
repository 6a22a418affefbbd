"""`mlops-oncall report weekly`: the one-page weekly status report (Markdown).

Also the plumbing the document commands share (`postmortem`, `risk export`): the store, the
clock, the checks file's SLOs and secrets, the workspace's templates, and writing the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_oncall.cli.common import (
    AppContext,
    domain_errors,
    echo_json,
    json_option,
    opened,
    pass_app,
    warn,
)
from mlops_oncall.formats.words import plural

if TYPE_CHECKING:
    from mlops_oncall.session import Session

output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE instead of stdout.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Replace FILE if it exists (never the database or a workspace file).",
)
template_option = click.option(
    "--template",
    "template_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Render with this Jinja2 template instead of the workspace's or the shipped one.",
)


@dataclass
class DocumentEnv:
    session: Session
    store: Any
    clock: Any
    sources: Any
    templates_dir: Path | None


def document_env(app: AppContext) -> DocumentEnv:
    """What every document needs; a checks file with errors costs only its SLOs (a warning)."""
    session = opened(app)
    ws = app.workspace
    sources = session.sources()
    if sources.problems:
        warn(
            f"warning: {ws.checks_file} has {plural(len(sources.problems), 'error')}, so "
            "check names "
            f"and SLOs are left out (first: {sources.problems[0]})"
        )
    return DocumentEnv(session, session.store, session.clock, sources, ws.templates_dir)


def emit(app: AppContext, text: str, output: str | None, force: bool = False) -> None:
    """The document to stdout, or to FILE by the output rules (reports/output.py)."""
    if output:
        write_output(app, output, text, force=force)
    else:
        click.echo(text, nl=False)


def write_output(app: AppContext, output: str, content, *, force: bool = False) -> None:
    """Every `-o FILE`: never over the store or a workspace file, no overwrite without
    --force, atomic. Refusals are one line and exit 2."""
    from mlops_oncall.cli.common import EXIT_USAGE, fail
    from mlops_oncall.reports.output import OutputRefused, Protected, write_document

    try:
        write_document(
            output, content, force=force, protected=Protected.of_workspace(app.workspace)
        )
    except OutputRefused as exc:
        fail(str(exc), EXIT_USAGE)
    warn(f"wrote {output}")


def utc_window(clock, since: str | None, until: str | None):
    """--since/--until in UTC: a date, a timestamp, or a duration ago (7d); default 7 days."""
    from mlops_oncall.incidents.dates import parse_since
    from mlops_oncall.incidents.service import BadInput
    from mlops_oncall.reports.weekly import PERIOD

    now = clock.now()
    hi = parse_since(until, now, flag="--until") if until is not None else now
    lo = parse_since(since, now, flag="--since") if since is not None else hi - PERIOD
    if lo >= hi:
        raise BadInput("--since must be before --until")
    return lo, hi


@click.group()
def report() -> None:
    """Status reports rendered from the store (Markdown)."""


@report.command()
@click.option("--since", metavar="DATE", help="Start (UTC): a date, timestamp, or 7d ago.")
@click.option("--until", metavar="DATE", help="End, exclusive (UTC); default now.")
@output_option
@force_option
@template_option
@json_option
@pass_app
@domain_errors
def weekly(app, since, until, output, force, template_file, as_json):
    """The weekly status: RAG, checks against SLOs, incidents, DORA, risks, drills.

    Covers the 7 days up to now unless --since/--until say otherwise. --json prints the
    template's variables instead of the document.
    """
    from mlops_oncall.reports import weekly as wk

    env = document_env(app)
    lo, hi = utc_window(env.clock, since, until)
    if as_json:
        inputs = env.session.weekly_inputs()
        echo_json(wk.build_context(since=lo, until=hi, sources=env.sources, **inputs))
        return
    text = wk.render_weekly(
        since=lo,
        until=hi,
        sources=env.sources,
        templates_dir=env.templates_dir,
        template_file=template_file,
        **env.session.weekly_inputs(),
    )
    emit(app, text, output, force)
