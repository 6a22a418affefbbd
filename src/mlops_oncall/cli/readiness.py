"""`mlops-oncall readiness run|report|history`: production-readiness reviews (docs/readiness.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlops_oncall.cli.common import (
    EXIT_USAGE,
    AppContext,
    echo_json,
    fail,
    json_option,
    opened,
    pass_app,
    warn,
)
from mlops_oncall.cli.report import force_option, output_option, write_output


@click.group()
def readiness() -> None:
    """Production-readiness reviews: run a checklist, keep the review, report and track it."""


def _service(service: str) -> str:
    from mlops_oncall.readiness.review import ReviewError, check_service

    try:
        return check_service(service)
    except ReviewError as exc:
        fail(str(exc), EXIT_USAGE)


def _problems(exc, what: str):
    for p in exc.problems:
        click.echo(str(p), err=True)
    fail(f"{what} is invalid", EXIT_USAGE)


def _reviews(app: AppContext):
    from mlops_oncall.readiness.review import Reviews

    return Reviews(app.session.readiness_dir)


def _history(app: AppContext, service: str) -> list[dict]:
    from mlops_oncall.readiness.review import ReviewError

    try:
        return _reviews(app).history(service)
    except ReviewError as exc:
        fail(str(exc), EXIT_USAGE)


@readiness.command()
@click.argument("service")
@click.option(
    "--checklist",
    "checklist_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A readiness checklist instead of the shipped one (ml-service).",
)
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="YAML: item id to yes, no or partial (or {answer, note}); no questions are asked.",
)
@json_option
@pass_app
def run(app: AppContext, service, checklist_file, answers_file, as_json) -> None:
    """Review SERVICE against a readiness checklist and keep the review.

    Checks, runbooks, drills and SLOs are filled in from the workspace. The other items are
    asked on a terminal (a command item is shown and run only if you confirm it); without a
    terminal every such item needs an answer in --answers, else exit 2 naming them.
    """
    from mlops_oncall.formats.problems import ProblemsError
    from mlops_oncall.readiness import evidence as ev
    from mlops_oncall.readiness.loader import load_answers, load_checklist, shipped_checklist
    from mlops_oncall.readiness.review import build

    service = _service(service)
    try:
        checklist = load_checklist(checklist_file)
    except ProblemsError as exc:
        _problems(exc, f"the checklist {checklist_file}")
    answers = None
    if answers_file is not None:
        try:
            answers = load_answers(answers_file, checklist)
        except ProblemsError as exc:
            _problems(exc, f"the answers file {answers_file}")
    session = opened(app)
    facts = session.readiness_facts(checklist, service)
    findings = ev.evaluate(checklist, facts)
    for f in findings:
        given = answers.by_item.get(f.item.id) if answers else None
        if given is None:
            continue
        if f.status is not None:
            warn(
                f"warning: {f.item.id} is filled in from the workspace ({f.detail}); its answer is not used"
            )
            continue
        ev.answer(f, given.answer, given.note)
    waiting = ev.waiting(findings)
    if waiting and (answers is not None or not sys.stdin.isatty()):
        ids = ", ".join(f.item.id for f in waiting)
        fail(
            f"{len(waiting)} items need an answer: {ids} (give them with --answers FILE)",
            EXIT_USAGE,
        )
    allowed = session.workspace.config.allow_commands
    for f in waiting:
        _ask(f, service, allowed)
    review = build(
        checklist,
        findings,
        service=service,
        at=session.clock.now(),
        actor=session.actor,
        checklist_file=str(checklist_file)
        if checklist_file
        else f"shipped:{shipped_checklist().name}",
        risks=facts.risks,
    )
    review = session.redactor.value(review)
    path = _reviews(app).save(review)
    if as_json:
        echo_json({**review, "file": str(path)})
        return
    _print_review(review)
    warn(f"kept {path}")


def _ask(f, service: str, allowed: bool) -> None:
    """One item on the terminal: a command is shown, confirmed, then run (only with
    `allow_commands: true`, as for runbook steps); else a human answer."""
    from mlops_oncall.readiness import evidence as ev

    item = f.item
    click.echo(f"\n[{item.category}, weight {item.weight}] {item.title}", err=True)
    if item.why:
        click.echo(f"  {item.why}", err=True)
    if item.evidence.command is not None:
        from mlops_oncall.readiness.commands import run_item
        from mlops_oncall.runbooks.commandtext import refusal

        text = ev.command_text(item, service)
        why = refusal(text) or (None if allowed else "commands are off (allow_commands: false)")
        if why:
            click.echo(f"  not offered to run: {why}", err=True)
        else:
            risk = item.evidence.risk or "read"
            click.echo(f"  command ({risk}): {text}", err=True)
            if click.confirm("  Run it?", default=False, err=True):
                run_item(f, service)
                click.echo(f"  {f.detail}: {f.status}", err=True)
                return
        question = "Does the item hold?"
    else:
        # an SLO the checks file lacks is asked with what the tool found
        detail = f" ({f.detail})" if f.detail else ""
        question = item.evidence.ask or f"{item.title}?{detail}"
    word = click.prompt(f"  {question}", type=click.Choice(["yes", "no", "partial"]), err=True)
    note = click.prompt("  note", default="", show_default=False, err=True)
    ev.answer(f, word, note)


def _print_review(review: dict) -> None:
    s = review["score"]
    click.echo(f"{review['service']}: {s['percent']}% ready ({s['points']:g} of {s['max']} points)")
    for c in review["categories"]:
        click.echo(f"  {c['category']:<14} {c['percent']:>5}%  {c['points']:g}/{c['max']}")
    if review["gaps"]:
        click.echo("gaps, heaviest first:")
        for g in review["gaps"][:10]:
            click.echo(f"  {g['weight']:>2}  {g['status']:<8} {g['id']}: {g['title']}")
        if len(review["gaps"]) > 10:
            click.echo(f"  ... and {len(review['gaps']) - 10} more (readiness report)")


@readiness.command()
@click.argument("service")
@output_option
@force_option
@pass_app
def report(app: AppContext, service, output, force) -> None:
    """The one-page assessment (Markdown) of SERVICE's latest kept review: the score per
    category, the gaps ranked by weight, the service's open risks. Exit 1 without a review."""
    from mlops_oncall.incidents.service import BadInput
    from mlops_oncall.readiness.report import build_context

    service = _service(service)
    kept = _history(app, service)
    if not kept:
        fail(f"no readiness review of {service} yet (mlops-oncall readiness run {service})")
    session = app.session
    context = build_context(kept[-1], kept[-2] if len(kept) > 1 else None, session.clock.now())
    try:
        text = session.render_readiness(context)
    except BadInput as exc:
        fail(str(exc), EXIT_USAGE)
    if output:
        write_output(app, output, text, force=force)
    else:
        click.echo(text, nl=False)


@readiness.command()
@click.argument("service")
@json_option
@pass_app
def history(app: AppContext, service, as_json) -> None:
    """SERVICE's kept reviews, oldest first: the overall and per-category scores."""
    from mlops_oncall.readiness.review import summary

    service = _service(service)
    rows = [summary(r) for r in _history(app, service)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"no readiness review of {service} yet", err=True)
        return
    for r in rows:
        click.echo(
            f"{r['at']}  {r['percent']:>5}%  {r['gaps']:>2} gaps  {r['checklist']}  {r['actor']}"
        )
