"""The CLI's side of the outbox (incidents/outbox.py): a write that finds the team database
unreachable is queued (exit 0, one line on stderr); every command that opens the database
delivers what is queued first, so writes reach the server in the order they were typed.

Reads show the last known state, marked stale: `incident list`, `show` and `timeline` keep
what they last printed from the database (per command and options, in the outbox file), and
print it again while the database is unreachable, after a line on stderr saying it is stale
and from when; a JSON object gains `"stale": true` and `"as_of"`. A read never made while the
database answered is the one-line error (exit 2). The TUI keeps its last state on screen under
a banner saying it is stale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlops_oncall.cli.common import EXIT_USAGE, AppContext, echo_json, fail, opened, warn

if TYPE_CHECKING:
    from datetime import datetime

    from mlops_oncall.session import Session
    from mlops_oncall.store.errors import StoreError
    from mlops_oncall.store.outbox import Entry


STALE_LINE = "database unreachable: the last known state, as of {at} (stale)"


def last_known(command):
    """For a read command: keep what it prints while the team database answers, and print
    that again, marked stale, when it cannot be reached. Not for SQLite or --follow."""
    import functools

    @functools.wraps(command)
    def read(app: AppContext, *args: Any, **kwargs: Any) -> None:
        writes = app.session.outbox
        if writes is None or kwargs.get("follow"):
            return command(app, *args, **kwargs)
        import contextlib
        import io
        import json
        import sys

        ctx = click.get_current_context()
        key = json.dumps([ctx.command_path, ctx.params], sort_keys=True, default=str)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                command(app, *args, **kwargs)
        except Exception as exc:
            sys.stdout.write(out.getvalue())
            kept = writes.recall(key) if _unreachable(exc) else None
            if kept is None:
                raise
            _stale(app, *kept, as_json=bool(kwargs.get("as_json")))
            return
        printed = out.getvalue()
        sys.stdout.write(printed)
        writes.remember(key, printed)

    return read


def _unreachable(exc: BaseException) -> bool:
    from mlops_oncall.store.errors import StoreError

    # opened() turns the StoreError into one line (a Failure raised while handling it)
    return any(isinstance(e, StoreError) and e.unreachable for e in (exc, exc.__context__))


def _stale(app: AppContext, at: datetime, printed: str, *, as_json: bool) -> None:
    import json

    from mlops_oncall.formats.timestamps import rfc3339

    warn(STALE_LINE.format(at=rfc3339(at)))
    if as_json:
        try:
            data = json.loads(printed)
        except ValueError:  # more than one document: as it was
            data = None
        if isinstance(data, dict):
            echo_json(data | {"stale": True, "as_of": rfc3339(at)})
            return
    click.echo(printed, nl=False)


class Queued:
    """What ``perform`` returns when the write went to the outbox."""

    def __init__(self, entry: Entry):
        self.entry = entry


def when(app: AppContext, text: str | None) -> datetime | None:
    """A --at value against the session's clock and zone, without opening the database."""
    from mlops_oncall.incidents.dates import parse_time

    if text is None:
        return None
    session = app.session
    return parse_time(text, session.workspace.zone(), session.clock.now())


def zone(app: AppContext):
    return app.session.workspace.zone()


def queued(app: AppContext, results: list[Any], as_json: bool) -> bool:
    """If any of a command's writes went to the outbox, say so (stderr; with --json the
    queued entries on stdout) and return True: the command prints nothing else."""
    entries = [r.entry for r in results if isinstance(r, Queued)]
    if not entries:
        return False
    writes = app.session.outbox
    pending = writes.counts()["pending"] if writes is not None else len(entries)
    if as_json:
        echo_json({"queued": True, "pending": pending, "entries": [e.to_json() for e in entries]})
    from mlops_oncall.incidents.outbox import QUEUED_LINE

    warn(QUEUED_LINE.format(pending=pending))
    return True


def unreachable_line(session: Session, exc: StoreError) -> str:
    """The one line for a database that cannot be opened; when it is unreachable and writes
    wait for it, it says so."""
    writes = session.outbox
    if writes is None or not exc.unreachable:
        return str(exc)
    counts = writes.counts()
    if not counts["pending"]:
        return str(exc)  # the driver's line already says it (refused, timed out)
    return (
        f"{exc}; the local outbox holds {counts['pending']} pending write(s), delivered when "
        f"the database returns"
    )


def flush(session: Session) -> None:
    """Deliver what is queued, saying what happened on stderr (nothing when nothing was)."""
    writes = session.outbox
    if writes is None or not writes.counts()["pending"]:
        return
    result = writes.deliver()
    if result.delivered:
        n = len(result.delivered)
        warn(f"delivered {n} queued write{'s' * (n != 1)} from the local outbox")
    for entry, reason in result.refused:
        warn(
            f"could not deliver queued {entry.op.replace('_', ' ')}"
            f"{' on ' + entry.incident if entry.incident else ''} (captured "
            f"{entry.captured_at:%Y-%m-%d %H:%M:%S} UTC by {entry.actor}): {reason}; kept in "
            f"the outbox (`mlops-oncall db outbox`)"
        )


def perform(app: AppContext, op: str, *args: Any, **kwargs: Any) -> Any:
    """Run the write ``op`` (a key of incidents/outbox.OPS, or another Incidents method)
    through the session's service now, or, when the team database is unreachable, queue it
    and return Queued (``queued`` then tells the user)."""
    from mlops_oncall.incidents.outbox import OPS
    from mlops_oncall.store.errors import StoreError

    session = app.session
    kind, method = OPS.get(op, ("incidents", op))

    def run() -> Any:
        return getattr(getattr(session, kind), method)(*args, **kwargs)

    writes = session.outbox
    if writes is None:  # SQLite: a file has no network to lose
        opened(app)
        return run()
    try:
        session.store  # noqa: B018 - opened here: unreachable means queue
    except StoreError as exc:
        if not exc.unreachable:
            fail(str(exc), EXIT_USAGE)
        return _queue(session, op, args, kwargs)
    flush(session)
    if writes.counts()["pending"]:  # still some: this one waits behind them, in order
        return _queue(session, op, args, kwargs)
    try:
        return run()
    except StoreError as exc:
        if not exc.unreachable:
            raise
        return _queue(session, op, args, kwargs)


def _queue(session: Session, op: str, args: tuple, kwargs: dict) -> Queued:
    from mlops_oncall.incidents.outbox import NotQueueable

    writes = session.outbox
    assert writes is not None
    try:
        entry = writes.capture(op, *args, **kwargs)
    except NotQueueable as exc:
        fail(str(exc), exc.exit_code)
    return Queued(entry)


def outbox_json(session: Session) -> dict[str, Any] | None:
    """`db status --json`'s "outbox" key: None (left out) when it is empty."""
    writes = session.outbox
    if writes is None:
        return None
    counts = writes.counts()
    if not any(counts.values()):
        return None
    oldest = writes.box.oldest_pending()
    return {
        "pending": counts["pending"],
        "undeliverable": counts["undeliverable"],
        "oldest_pending": oldest,
    }


def echo_entries(session: Session, as_json: bool) -> None:
    """`db outbox`: every entry still in the outbox, oldest first."""
    writes = session.outbox
    entries = [] if writes is None else writes.box.entries()
    if as_json:
        echo_json({"entries": [e.to_json() for e in entries]})
        return
    if not entries:
        click.echo("the outbox is empty")
    for e in entries:
        where = f" {e.incident}" if e.incident else ""
        why = f": {e.reason}" if e.reason else ""
        click.echo(
            f"{e.id}  {e.captured_at:%Y-%m-%d %H:%M:%S}  {e.actor}  {e.op}{where}  {e.state}{why}"
        )
