"""`mlops-oncall changes poll|sources`: what changed, collected from the model registry."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import (
    domain_errors,
    echo_json,
    fail,
    fmt_ts,
    json_option,
    opened,
    pass_app,
)

NONE_CONFIGURED = "no change sources configured; add changes: to oncall.yaml (docs/changes.md)"


@click.group()
def changes() -> None:
    """Change sources: the model registry's new versions, stage and alias moves, recorded as
    deploys (`serve` polls them on their interval)."""


def _sources(session):
    found = session.change_sources()
    if not found:
        fail(NONE_CONFIGURED)
    return found


def poll_json(got) -> dict:
    """One poll in `--json`: the deploys it recorded, and what failed."""
    from mlops_oncall.incidents.deploys import deploy_json

    return {
        "source": got.source,
        "url": got.url,
        "at": got.at,
        "ok": got.ok,
        "recorded": [deploy_json(d) for d in got.recorded],
        "errors": got.errors,
    }


def _say(got, zone) -> None:
    from mlops_oncall.reports.text import terminal_text

    shown = poll_json(got)
    for d in shown["recorded"]:
        click.echo(
            terminal_text(
                f"{fmt_ts(d['at'], zone)}  deploy {d['id']}: {d['service']} {d['version']}  "
                f"{d['notes']}"
            )
        )
    for error in shown["errors"]:
        click.echo(terminal_text(f"error: {error}"), err=True)
    if shown["ok"] and not shown["recorded"]:
        click.echo(f"{shown['source']}: nothing changed", err=True)


@changes.command()
@click.option("--once", is_flag=True, help="Poll every source once and exit (default: loop).")
@json_option
@pass_app
@domain_errors
def poll(app, once, as_json):
    """Poll the change sources: each new model version, stage or alias move is recorded as a
    `model` deploy of its service. Exit 1 if a poll failed. Without --once, poll on each
    source's interval until Ctrl-C (--json: one object per poll, one per line)."""
    import asyncio

    from mlops_oncall.changes.runner import poll_once, run_sources
    from mlops_oncall.jsonout import dumps

    session = opened(app)
    _sources(session)  # none configured, or unusable: said before anything runs
    zone = session.workspace.zone()
    if once:
        results = asyncio.run(poll_once(session))
        if as_json:
            echo_json({"polls": [poll_json(r) for r in results]})
        else:
            for got in results:
                _say(got, zone)
        if not all(r.ok for r in results):
            raise SystemExit(1)
        return

    def on_poll(got) -> None:
        if as_json:
            click.echo(dumps(poll_json(got), pretty=False))
        else:
            _say(got, zone)

    asyncio.run(run_sources(session, on_poll=on_poll))


@changes.command()
@json_option
@pass_app
@domain_errors
def sources(app, as_json):
    """The configured change sources, their last poll and the last deploy each recorded."""
    from mlops_oncall.changes import status
    from mlops_oncall.reports.text import terminal_text

    session = opened(app)
    polled = status.read(status.status_path(session.database))
    rows = []
    for source in session.change_sources():
        last = source.last_recorded()
        rows.append(
            source.describe()
            | {
                "last_poll": polled.get(source.name),
                "last_recorded": None
                if last is None
                else {
                    "id": last["id"],
                    "service": last["service"],
                    "version": last["version"],
                    "at": last["at"],
                },
            }
        )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(NONE_CONFIGURED, err=True)
        return
    zone = session.workspace.zone()
    for row in rows:
        models = ", ".join(f"{m} -> {s}" for m, s in row["models"].items())
        click.echo(
            terminal_text(
                f"{row['source']}  {row['url']}  every {row['interval_seconds']:g}s  {models}"
            )
        )
        last_poll = row["last_poll"]
        if last_poll is None:
            click.echo("  last poll: never")
        else:
            how = "ok" if last_poll.get("ok") else "; ".join(last_poll.get("errors") or ["failed"])
            click.echo(
                terminal_text(
                    f"  last poll: {last_poll.get('at')} ({how}, {last_poll.get('recorded', 0)} recorded)"
                )
            )
        last = row["last_recorded"]
        if last is not None:
            click.echo(
                terminal_text(
                    f"  last recorded: deploy {last['id']} {last['service']} {last['version']} at {fmt_ts(last['at'], zone)}"
                )
            )
