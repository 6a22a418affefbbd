"""`mlops-oncall alert list|show|declare|attach|dismiss|silence`: Alertmanager's alert groups
(docs/alerts.md), as the webhook stored them."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import (
    EXIT_USAGE,
    domain_errors,
    echo_json,
    fail,
    json_option,
    opened,
    pass_app,
)


@click.group()
def alert() -> None:
    """Alertmanager's alert groups: the inbox, declaring, attaching, silencing."""


def _line(view) -> str:
    inc = f"  {view.incident} {view.incident_status}" if view.incident else ""
    r = view.row
    return (
        f"{view.id}  {view.state:<9} {r['severity']}  {r['service'] or '-'}  "
        f"{len(view.firing)}/{len(view.alerts)} firing  {view.title}{inc}"
    )


def _show(view, as_json: bool) -> None:
    if as_json:
        echo_json(view.to_json())
        return
    click.echo(_line(view))
    for a in view.alerts:
        summary = a["annotations"].get("summary", "")
        click.echo(f"  {a['fingerprint']}  {a['status']:<8} {a['alertname']}  {summary}".rstrip())


@alert.command("list")
@click.option("--all", "all_", is_flag=True, help="Every group, dismissed and ended included.")
@json_option
@pass_app
@domain_errors
def list_(app, all_, as_json) -> None:
    """The inbox and the groups of open incidents: firing, or seen in the last 24 hours."""
    groups = opened(app).alerts.groups(all=all_)
    if as_json:
        echo_json({"groups": [g.to_json() for g in groups]})
        return
    if not groups:
        click.echo("no alert groups", err=True)
    for g in groups:
        _show(g, False)


@alert.command()
@click.argument("group_id", metavar="ID")
@json_option
@pass_app
@domain_errors
def show(app, group_id, as_json) -> None:
    """One group with its alerts."""
    _show(opened(app).alerts.get(group_id), as_json)


@alert.command()
@click.argument("group_id", metavar="ID")
@click.option("--severity", help="SEV1..SEV4 (default: the routed one).")
@click.option("--title", help="Instead of the alert name and summary.")
@json_option
@pass_app
@domain_errors
def declare(app, group_id, severity, title, as_json) -> None:
    """Declare an incident from an inbox group, prefilled from its alerts."""
    view = opened(app).alerts.declare(group_id, severity=severity, title=title)
    if not as_json:
        click.echo(f"{view.id} declared as {view.incident}")
    if as_json:
        _show(view, True)


@alert.command()
@click.argument("group_id", metavar="ID")
@click.argument("incident", metavar="INC")
@json_option
@pass_app
@domain_errors
def attach(app, group_id, incident, as_json) -> None:
    """Add an inbox group's alerts to an open incident (its later alerts go there too)."""
    view = opened(app).alerts.attach(group_id, incident)
    if as_json:
        _show(view, True)
    else:
        click.echo(f"{view.id} attached to {view.incident}")


@alert.command()
@click.argument("group_id", metavar="ID")
@json_option
@pass_app
@domain_errors
def dismiss(app, group_id, as_json) -> None:
    """Leave an inbox group without an incident."""
    view = opened(app).alerts.dismiss(group_id)
    if as_json:
        _show(view, True)
    else:
        click.echo(f"{view.id} dismissed")


@alert.command()
@click.argument("group_id", metavar="ID")
@click.option("--for", "duration", required=True, metavar="DURATION", help="e.g. 2h, 30m.")
@click.option("--comment", required=True, help="Why, and who to ask (Alertmanager shows it).")
@json_option
@pass_app
@domain_errors
def silence(app, group_id, duration, comment, as_json) -> None:
    """Silence a group's alerts in Alertmanager (API v2), matching the labels they share."""
    from mlops_oncall.formats.durations import parse_duration

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        fail(f"--for: {exc}", EXIT_USAGE)
    done = opened(app).alerts.silence(group_id, length, comment)
    if as_json:
        echo_json(done)
    else:
        where = f" (recorded on {done['incident']})" if done["incident"] else ""
        click.echo(f"silence {done['id']} on {done['group']} until {done['until']}{where}")
