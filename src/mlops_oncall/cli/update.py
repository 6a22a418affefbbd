"""`mlops-oncall incident update ID`: draft a status update, record it, post it to a
destination of `notify:` (docs/communication.md)."""

from __future__ import annotations

import sys

import click

from mlops_oncall.cli.common import (
    EXIT_NO,
    EXIT_USAGE,
    domain_errors,
    echo_json,
    echo_stored,
    fail,
    json_option,
    opened,
    pass_app,
)


def _read_text(path: str, limit: int) -> str:
    """The update's text from a file or '-' (stdin), at most ``limit`` characters read."""
    try:
        if path == "-":
            text = sys.stdin.read(limit + 1)
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read(limit + 1)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--text {path}: cannot read it: {exc.strerror or type(exc).__name__}", EXIT_USAGE)
    if len(text) > limit:
        fail(f"--text {path}: longer than {limit} characters", EXIT_USAGE)
    return text


@click.command()
@click.argument("ref", metavar="ID")
@click.option("--draft", "show_draft", is_flag=True, help="Print the draft (the default).")
@click.option(
    "--post", "to", metavar="NAME", help="Send it to this destination of notify: in oncall.yaml."
)
@click.option(
    "--text",
    "text_file",
    metavar="FILE",
    help="The update's text (- for stdin); without it, --post sends the draft. "
    "Without --post, the text is recorded as sent by other means.",
)
@json_option
@pass_app
@domain_errors
def update(app, ref, show_draft, to, text_file, as_json):
    """Draft a status update from the timeline, or record and post one.

    Posting records a status_update event with the (redacted) text and delivers it; a 429 or
    5xx is retried with backoff. Posting the same text again resends that update (same
    idempotency key) if it failed, and sends nothing if it was delivered. Exit 1 when the
    destination refused it or could not be reached."""
    from mlops_oncall.formats.refs import parse_ref, public_id
    from mlops_oncall.notify.service import MAX_TEXT, delivery_json

    if show_draft and (to or text_file):
        fail("--draft prints the draft only: leave out --post and --text", EXIT_USAGE)
    session = opened(app)
    notify = session.notify
    if not to and not text_file:
        text = notify.draft(ref)
        if as_json:
            view = session.incidents.get(ref)
            cad = notify.cadence(view.row)
            echo_json({"incident": view.id, "draft": text, "updates": cad.to_json()})
        else:
            echo_stored(text, nl=False)
        return
    text = _read_text(text_file, MAX_TEXT) if text_file else notify.draft(ref)
    posted = notify.post(ref, text, to)
    d = posted.delivery
    pid = public_id(parse_ref(ref))
    if as_json:
        echo_json(
            {
                "incident": pid,
                "update": posted.event.to_json(),
                "new_update": posted.new_update,
                "sent": posted.sent,
                "delivery": delivery_json(d) if d else None,
            }
        )
    else:
        head = f"{pid} update #{posted.event.seq}"
        if d is None:
            click.echo(f"{head} recorded")
        elif not posted.sent:
            click.echo(f"{head} → {to}: delivered already, not sent again")
        elif d.state == "delivered":
            tries = f", {d.attempts} attempts" if d.attempts > 1 else ""
            status = f"HTTP {d.http_status}" if d.http_status else "accepted"
            click.echo(f"{head} → {to}: delivered ({status}{tries})")
        else:
            echo_stored(f"{head} → {to}: failed: {d.error}", err=True)
    if d is not None and d.state != "delivered":
        sys.exit(EXIT_NO)
