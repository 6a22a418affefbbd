"""`mlops-oncall deploy record|list`: model promotions, config pushes and code releases."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import (
    at_option,
    domain_errors,
    echo_json,
    fmt_ts,
    json_option,
    opened,
    pass_app,
    window,
)


def _deploys(app):
    session = opened(app)
    return session.incidents, session.deploys


def what_followed(f):
    """The options `record` and `update` share: what a deploy led to, and its notes."""
    for option in reversed(
        (
            click.option(
                "--incident",
                metavar="ID",
                help="The incident this deploy caused (it counts as a change failure).",
            ),
            click.option(
                "--rolled-back-to",
                metavar="VERSION",
                help="With --outcome rolled_back: the version restored.",
            ),
            click.option(
                "--hotfix-for", metavar="DEPLOY", help="The earlier deploy this one fixes."
            ),
            click.option("--notes", help="Free text: what went out, or what went wrong."),
        )
    ):
        f = option(f)
    return f


@click.group()
def deploy() -> None:
    """Record and list deployments (they feed change failure rate and "what changed")."""


@deploy.command()
@click.option("--service", required=True, help="The service deployed.")
@click.option("--version", "version_", required=True, help="The version deployed.")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["model", "config", "code"]),
    help="What changed: the model, its config, or the serving code.",
)
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(["succeeded", "failed", "rolled_back"]),
    help="How it went; a rollback is recorded on the version rolled back.",
)
@what_followed
@at_option
@json_option
@pass_app
@domain_errors
def record(
    app, service, version_, kind, outcome, incident, rolled_back_to, hotfix_for, notes, at, as_json
):
    """Record a deployment. A rollback is recorded on the version that went bad."""
    from mlops_oncall.cli.offline import perform, queued, when

    d = perform(
        app,
        "deploy_record",
        service,
        version_,
        kind,
        outcome,
        incident=incident,
        at=when(app, at),
        notes=notes,
        rolled_back_to=rolled_back_to,
        hotfix_of=hotfix_for,
    )
    if not queued(app, [d], as_json):
        _print(d, as_json)


def _print(record, as_json) -> None:
    from mlops_oncall.incidents.deploys import deploy_json
    from mlops_oncall.reports.text import terminal_text

    d = deploy_json(record)
    if as_json:
        echo_json(d)
        return
    extra = f", {d['incident']}" if d["incident"] else ""
    if d["rolled_back_to"]:
        extra += f", back to {d['rolled_back_to']}"
    click.echo(
        terminal_text(
            f"deploy {d['id']}: {d['service']} {d['version']} ({d['kind']}, {d['outcome']}{extra})"
        )
    )


@deploy.command()
@click.argument("deploy_id", metavar="ID")
@click.option(
    "--outcome",
    type=click.Choice(["succeeded", "failed", "rolled_back"]),
    help="How it turned out (--at: when).",
)
@what_followed
@at_option
@json_option
@pass_app
@domain_errors
def update(app, deploy_id, outcome, incident, rolled_back_to, hotfix_for, notes, at, as_json):
    """Mark a deploy after the fact: failed or rolled back (--at: when), or the incident it caused."""
    svc, deploys = _deploys(app)
    d = deploys.update(
        deploy_id,
        outcome=outcome,
        incident=incident,
        rolled_back_to=rolled_back_to,
        hotfix_of=hotfix_for,
        notes=notes,
        at=svc.time(at) if at else None,
    )
    _print(d, as_json)


@deploy.command("list")
@click.option("--service", help="Only this service's deploys.")
@click.option("--since", metavar="WHEN", help="A date, a timestamp, or a duration ago (2h, 7d).")
@click.option("--until", metavar="WHEN", help="End, exclusive; default now.")
@click.option("--limit", type=click.IntRange(1), metavar="N", help="Only the newest N.")
@json_option
@pass_app
@domain_errors
def list_(app, service, since, until, limit, as_json):
    """List deployments, newest first."""
    from mlops_oncall.incidents.deploys import deploy_json
    from mlops_oncall.reports.text import terminal_text

    svc, deploys = _deploys(app)
    lo, hi = window(svc, since, until)
    rows = [deploy_json(d) for d in deploys.list(service=service, since=lo, until=hi, limit=limit)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no deployments", err=True)
        return
    for d in rows:
        inc = f"  {d['incident']}" if d["incident"] else ""
        click.echo(  # stored text: escape sequences shown, never sent to the terminal
            terminal_text(
                f"{fmt_ts(d['at'], svc.zone)}  {d['service']:<20} {d['version']:<16} {d['kind']:<6} {d['outcome']}{inc}"
            )
        )
