"""`mlops-oncall notify queue|flush|run`: the notification queue (docs/communication.md,
"Notifications and escalation")."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import domain_errors, echo_json, json_option, opened, pass_app

STATES = ("queued", "sending", "delivered", "failed")


@click.group()
def notify() -> None:
    """The notification queue: what the `notifications:` rules queued, sent and failed
    (`serve` dispatches it; so do `notify flush` and `notify run`)."""


def item_json(d) -> dict:
    """One queued notification in `--json` (docs/communication.md pins it)."""
    from mlops_oncall.formats.refs import public_id
    from mlops_oncall.formats.timestamps import rfc3339

    return {
        "id": d.id,
        "incident": public_id(d.incident_id) if d.incident_id is not None else None,
        "kind": d.kind,
        "destination": d.destination,
        "type": d.type,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": rfc3339(d.next_attempt_at) if d.state == "queued" else None,
        "http_status": d.http_status,
        "error": d.error,
        "idempotency_key": d.idempotency_key,
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.updated_at),
    }


def _slo(d) -> str:
    """An SLO page's notification has no incident: the SLO it is about."""
    import json

    return f"SLO {json.loads(d.message or '{}').get('slo')}"


def pass_json(p) -> dict:
    return {
        "recorded": p.recorded,
        "queued": p.queued,
        "delivered": p.delivered,
        "retrying": p.retrying,
        "failed": p.failed,
        "errors": p.errors,
    }


def _say(p, errors: bool = True) -> None:
    from mlops_oncall.reports.text import terminal_text

    for line in p.recorded:
        click.echo(terminal_text(f"recorded: {line}"))
    click.echo(
        f"queued {p.queued}, delivered {p.delivered}, retrying {p.retrying}, failed {p.failed}"
    )
    for e in p.errors if errors else ():
        click.echo(terminal_text(f"error: {e}"), err=True)


@notify.command()
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only notifications in this state (repeatable).",
)
@json_option
@pass_app
@domain_errors
def queue(app, states, as_json):
    """The queued notifications, oldest first: kind, destination, state, attempts and the next
    attempt's time, the last HTTP status and error."""
    from mlops_oncall.reports.text import terminal_text

    session = opened(app)
    items = session.dispatcher.items(list(states) or None)
    rows = [item_json(d) for d in items]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("the notification queue is empty", err=True)
        return
    for d, r in zip(items, rows, strict=True):
        when = f"  next {r['next_attempt_at']}" if r["next_attempt_at"] else ""
        status = f"  HTTP {r['http_status']}" if r["http_status"] else ""
        click.echo(
            terminal_text(
                f"{r['id']:>5}  {r['incident'] or _slo(d)}  {r['kind']:<14} → {r['destination']} "
                f"({r['type']})  {r['state']}  attempts {r['attempts']}{status}{when}"
            )
        )
        if r["error"] and r["state"] != "delivered":
            click.echo(terminal_text(f"       {r['error']}"))


@notify.command()
@json_option
@pass_app
@domain_errors
def flush(app, as_json):
    """One dispatcher pass: record the deadlines that passed, queue what the rules ask for,
    send every notification due now (one attempt each; a retry waits for its time). Exit 1 if
    one failed for good."""
    import asyncio

    session = opened(app)
    p = asyncio.run(session.dispatcher.tick())
    if as_json:
        echo_json(pass_json(p))
    else:
        _say(p)
    if p.failed:
        raise SystemExit(1)


@notify.command()
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    show_default=True,
    help="Seconds between passes.",
)
@pass_app
@domain_errors
def run(app, interval):
    """Dispatch until Ctrl-C: a pass every --interval seconds (what `serve` runs beside its
    endpoints). Several may run at once: each notification is sent by one of them."""
    import asyncio
    import logging

    session = opened(app)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    def said(p) -> None:
        if p.recorded or p.queued or p.delivered or p.retrying:
            _say(p, errors=False)  # errors: logged by the dispatcher, once

    asyncio.run(session.dispatcher.run(interval, on_pass=said))
