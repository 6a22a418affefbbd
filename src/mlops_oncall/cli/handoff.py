"""`mlops-oncall handoff`: the shift hand-off note (Markdown), and recording the hand-off."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import domain_errors, echo_json, json_option, pass_app, warn
from mlops_oncall.cli.report import document_env, emit, force_option, output_option, template_option
from mlops_oncall.formats.words import plural


@click.command()
@click.option(
    "--since",
    metavar="LAST|DATE",
    help="Start (UTC): `last` (the last recorded hand-off, else 12 hours ago; the default), "
    "a date, a timestamp, or a duration ago (12h).",
)
@click.option(
    "--record",
    is_flag=True,
    help="Record the hand-off on every open incident's timeline: the next note starts here.",
)
@output_option
@force_option
@template_option
@json_option
@pass_app
@domain_errors
def handoff(app, since, record, output, force, template_file, as_json):
    """The hand-off note for the next shift: open incidents, what changed since the last
    hand-off, action items due within 3 days or overdue, failing checks (as last recorded,
    nothing is probed), risks and drills due for review.

    --json prints the template's variables instead of the document. --record appends a
    `handoff` event to every open incident after the note is written; with no incident open
    nothing is recorded.
    """
    from mlops_oncall.incidents.dates import parse_since
    from mlops_oncall.incidents.service import BadInput
    from mlops_oncall.reports import handoff as ho

    env = document_env(app)
    now = env.clock.now()
    lo = None
    if since is not None and since.strip().lower() != "last":
        lo = parse_since(since, now, flag="--since")
        if lo >= now:
            raise BadInput("--since must be in the past")
    inputs = env.session.handoff_inputs()
    if as_json:
        echo_json(ho.build_context(since=lo, sources=env.sources, **inputs))
    else:
        text = ho.render_handoff(
            since=lo,
            sources=env.sources,
            templates_dir=env.templates_dir,
            template_file=template_file,
            **inputs,
        )
        emit(app, text, output, force)
    if record:
        start = lo if lo is not None else ho.window(env.session.incidents, now).since
        recorded = ho.record_handoff(env.session.incidents, start)
        if recorded:
            warn(f"recorded the hand-off on {plural(len(recorded), 'open incident')}")
        else:
            warn("no open incident: nothing recorded (the next note starts where this one did)")
