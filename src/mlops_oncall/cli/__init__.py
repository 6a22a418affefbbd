"""The `mlops-oncall` command line: noun-verb commands over the core; exit codes
and --json shapes are public interfaces (docs/cli.md).

Nothing here imports Textual; the TUI is imported only when a command opens it.
"""

from __future__ import annotations

import io
import os
import sys

import click

from mlops_oncall import (
    __version__,
    boottrace,  # noqa: F401 - first, so its clock starts with the process
)
from mlops_oncall.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AppContext,
    Failure,
)
from mlops_oncall.store.errors import StoreError  # light: no SQLAlchemy import

_COMMANDS = {
    # name: (module, attribute, help); imported on first use, so `--help` and each command
    # start without loading the others (or Textual, or SQLAlchemy)
    "runbook": (
        "mlops_oncall.cli.runbook",
        "runbook",
        "Validate, list, show, search and match runbooks.",
    ),
    "check": (
        "mlops_oncall.cli.check",
        "check",
        "Run, watch and validate health checks; import Gatus.",
    ),
    "incident": (
        "mlops_oncall.cli.incident",
        "incident",
        "Declare and work incidents; the timeline.",
    ),
    "deploy": ("mlops_oncall.cli.deploy", "deploy", "Record and list deployments."),
    "alert": (
        "mlops_oncall.cli.alert",
        "alert",
        "Alertmanager's alert groups: the inbox, declare, attach, dismiss, silence.",
    ),
    "notify": (
        "mlops_oncall.cli.notify",
        "notify",
        "The notification queue: rules' notifications, PagerDuty, escalations.",
    ),
    "changes": (
        "mlops_oncall.cli.changes",
        "changes",
        "Poll the model registry: new versions, stage and alias moves as deploys.",
    ),
    "postmortem": (
        "mlops_oncall.cli.postmortem",
        "postmortem",
        "Render an incident's postmortem (Markdown).",
    ),
    "risk": ("mlops_oncall.cli.risk", "risk", "The risk register: add, review, export."),
    "report": ("mlops_oncall.cli.report", "report", "The weekly status report (Markdown)."),
    "slo": (
        "mlops_oncall.cli.slo",
        "slo",
        "SLOs: error budgets left and burn-rate alerts (status, eval).",
    ),
    "handoff": (
        "mlops_oncall.cli.handoff",
        "handoff",
        "The shift hand-off note (Markdown); --record starts the next one here.",
    ),
    "readiness": (
        "mlops_oncall.cli.readiness",
        "readiness",
        "Production-readiness reviews: run a checklist, report, history.",
    ),
    "schema": ("mlops_oncall.cli.schema", "schema", "Print the JSON Schema of a file format."),
    "db": ("mlops_oncall.cli.db", "db", "The database: schema version, backend; upgrade."),
    "drill": (
        "mlops_oncall.cli.drill",
        "drill",
        "Tabletop drills against the fake ML system, scored.",
    ),
    "serve": (
        "mlops_oncall.cli.serve",
        "serve",
        "The intake daemon: alerts and changes over HTTP, recorded as they arrive.",
    ),
    "demo": (
        "mlops_oncall.cli.tui",
        "demo",
        "The TUI on a fake ML system and the shipped runbooks.",
    ),
    "init": (
        "mlops_oncall.cli.tui",
        "init",
        "Write a starter workspace (oncall.yaml, checks, a runbook).",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _COMMANDS:
            import importlib

            module, attr, _help = _COMMANDS[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in _COMMANDS:
                rows.append((name, _COMMANDS[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="The workspace file (default: ./oncall.yaml if present, else built-in defaults).",
)
@click.option(
    "--as",
    "as_actor",
    metavar="NAME",
    help="Who you are, recorded as the actor (default: $MLOPS_ONCALL_ACTOR, me: in "
    "oncall.yaml, else your login name).",
)
@click.version_option(__version__, prog_name="mlops-oncall")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, as_actor: str | None) -> None:
    """mlops-oncall: the on-call console for machine-learning systems.

    With no command it opens the TUI for the workspace.
    """
    _check_actor(as_actor)
    ctx.obj = AppContext(config_path=config_path, actor=as_actor.strip() if as_actor else None)
    if ctx.invoked_subcommand is None:
        from mlops_oncall.cli.tui import open_workspace

        open_workspace(ctx.obj)


def _check_actor(as_actor: str | None) -> None:
    """A name that would be stored on every event is checked before anything runs."""
    from mlops_oncall.formats.actors import ENV_ACTOR, actor_problem

    for where, name in (("--as", as_actor), (ENV_ACTOR, os.environ.get(ENV_ACTOR) or None)):
        problem = actor_problem(name) if name is not None else None
        if problem:
            raise Failure(f"{where}: {problem}", EXIT_USAGE)


def redact(text: str) -> str:
    from mlops_oncall.redact import redact

    return redact(text)


def _show(exc: click.ClickException) -> None:
    """Click's own errors quote what was typed (a token pasted into the wrong option)."""
    buf = io.StringIO()
    exc.show(file=buf)
    click.echo(redact(buf.getvalue()), err=True, nl=False)


def _not_utf8(args: list[str]) -> str | None:
    """Python hands undecodable argv bytes over as lone surrogates, which no encode() accepts;
    refuse them here rather than wherever the text is first stored or printed."""
    for n, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return f"argument {n} is not valid UTF-8: '{shown}'; pass text and paths as UTF-8"
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: click with our exit codes, and no traceback for bad input."""
    problem = _not_utf8(sys.argv[1:] if argv is None else list(argv))
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        rv = cli.main(args=argv, prog_name="mlops-oncall", standalone_mode=False)
    except Failure as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as exc:
        # one line, like every other failure (click's own is usage, hint, blank, message)
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        message = " ".join(exc.format_message().split())
        click.echo(redact(f"Error: {message}{hint}"), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _show(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except StoreError as exc:  # a database that cannot be opened or written, from any command
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so in one line unless asked for the traceback
        if os.environ.get("MLOPS_ONCALL_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(set MLOPS_ONCALL_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)
