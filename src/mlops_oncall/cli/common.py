"""Shared CLI plumbing: the context object and the command's one Session, exit codes, JSON and
error output, and the options and helpers several commands share (--at, --strict, domain
errors, --since/--until, timestamps, runbook lookup)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mlops_oncall.formats.timestamps import local_text as fmt_ts  # noqa: F401 - the CLI's name

if TYPE_CHECKING:
    from mlops_oncall.config import Workspace
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.session import Session

EXIT_OK = 0
EXIT_NO = 1  # the answer is "no": validation errors, a check not up, an invalid move
EXIT_USAGE = 2  # usage or config error
EXIT_INTERNAL = 3  # a bug
EXIT_INTERRUPTED = 130  # Ctrl-C, or a prompt aborted

# What each exit code means; docs/cli.md is generated from this (scripts/gen_docs.py).
EXIT_CODES = {
    EXIT_OK: "fine",
    EXIT_NO: 'the answer is "no": validation errors, no match, an unknown id, an invalid move',
    EXIT_USAGE: "usage or config error: a bad option or value, an invalid `oncall.yaml`, "
    "an unopenable database",
    EXIT_INTERNAL: "internal error (a bug; `MLOPS_ONCALL_DEBUG=1` shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C) or aborted at a prompt",
}


class Failure(click.ClickException):
    """One clear line on stderr and a chosen exit code; never a traceback."""

    def __init__(self, message: str, code: int = EXIT_NO):
        super().__init__(message)
        self.exit_code = code

    def show(self, file=None) -> None:
        from mlops_oncall.redact import redact  # the message may quote what was typed
        from mlops_oncall.reports.text import terminal_text

        click.echo(f"error: {terminal_text(redact(self.format_message()))}", err=True)


def fail(message: str, code: int = EXIT_NO) -> NoReturn:
    raise Failure(message, code)


@dataclass
class AppContext:
    config_path: str | None = None
    actor: str | None = None  # --as NAME
    _workspace: Workspace | None = field(default=None, repr=False)
    _session: Session | None = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from mlops_oncall.config import load_workspace
            from mlops_oncall.formats.problems import ProblemsError

            try:
                self._workspace = load_workspace(self.config_path)
            except ProblemsError as exc:
                for p in exc.problems:
                    click.echo(str(p), err=True)
                raise Failure("the workspace config is invalid", EXIT_USAGE) from None
            self._workspace.as_actor = self.actor
        return self._workspace

    @property
    def session(self) -> Session:
        """This invocation's services, one Session per command, each built when first used
        (``opened`` when the command needs the store)."""
        if self._session is None:
            from mlops_oncall.session import Session

            self._session = Session(self.workspace, on_warning=warn)
        return self._session


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def echo_json(value: Any) -> None:
    from mlops_oncall.jsonout import dumps

    click.echo(dumps(value))


def warn(message: str) -> None:
    click.echo(message, err=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


json_option = click.option("--json", "as_json", is_flag=True, help="Print a stable JSON shape.")

# a count larger than any table can hold means "all": clamped, so SQL never sees an integer
# it cannot bind (SQLite and PostgreSQL stop at 2**63 - 1)
COUNT = click.IntRange(1, 2**62, clamp=True)
at_option = click.option(
    "--at", "at", metavar="TS", help="When it happened (ISO 8601, or -10m); default now."
)
strict_option = click.option(
    "--strict", is_flag=True, help="Refuse (exit 1) if the incident fails `incident verify`."
)


def opened(app: AppContext) -> Session:
    """The command's session with its store open (and migrated), the writes its outbox held
    delivered: a database that cannot be opened is one line and exit 2."""
    from mlops_oncall.cli.offline import flush, unreachable_line
    from mlops_oncall.store.errors import StoreError

    session = app.session
    try:
        session.store  # noqa: B018 - opened here, where its failure is a usage error
    except StoreError as exc:
        fail(unreachable_line(session, exc), EXIT_USAGE)
    flush(session)  # writes queued while a team database was unreachable go first
    return session


def incidents(app: AppContext) -> Incidents:
    """The incident service for this workspace (opens and migrates the store)."""
    return opened(app).incidents


def domain_errors(fn):
    """Turn the core's one-line errors into exit codes: 1 for "no", 2 for unusable input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mlops_oncall.incidents.service import IncidentError

        try:
            return fn(*args, **kwargs)
        except IncidentError as exc:
            message = str(exc)  # it may quote the input: mask the workspace's secrets too
            if args and isinstance(args[0], AppContext):
                message = args[0].session.redactor.text(message)
            fail(message, exc.exit_code)

    return wrapper


def verified(svc, ref, strict: bool):
    """Verify before writing a document: a failure is a warning on stderr (the document gets
    a banner), or with --strict an error (exit 1)."""
    verdict = svc.verify(ref)
    if not verdict.ok:
        problems = verdict.problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        what = f"{verdict.id} fails `incident verify`: {problems[0]}{more}"
        if strict:
            fail(f"{what}; not writing the document (--strict)", EXIT_NO)
        warn(f"warning: {what}; the document is marked")
    return verdict


def runbook_entry(app: AppContext, runbook_id: str):
    """The workspace's runbook ``runbook_id``; an unknown id is one line (with a suggestion)."""
    from mlops_oncall.cli.runbook import load_library
    from mlops_oncall.formats.validate import did_you_mean

    lib = load_library(app)
    entry = lib.get(runbook_id)
    if entry is None:
        fail(f"unknown runbook '{runbook_id}'{did_you_mean(runbook_id, list(lib.entries))}")
    return entry.runbook


def window(svc, since: str | None, until: str | None):
    """Parse --since/--until: a date, a timestamp, or a duration meaning that long ago, in the
    service's zone; --until defaults to now."""
    from mlops_oncall.incidents.dates import parse_since
    from mlops_oncall.incidents.service import BadInput

    now = svc.clock.now()
    lo = parse_since(since, now, svc.zone, "--since") if since is not None else None
    hi = parse_since(until, now, svc.zone, "--until") if until is not None else now
    if lo is not None and lo >= hi:
        raise BadInput("--since must be before --until")
    return lo, hi


def echo_stored(text: str, **kw) -> None:
    """Stored text to the terminal: escape sequences shown, never sent."""
    from mlops_oncall.reports.text import terminal_text

    click.echo(terminal_text(text), **kw)
