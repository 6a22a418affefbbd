"""Shared CLI plumbing: the context object, exit codes, JSON and error output."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from mlops_oncall.config import Workspace

EXIT_OK = 0
EXIT_NO = 1  # the answer is "no": validation errors, a check not up, an invalid move
EXIT_USAGE = 2  # usage or config error


class Failure(click.ClickException):
    """One clear line on stderr and a chosen exit code; never a traceback."""

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


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def echo_json(value: Any) -> None:
    from mlops_oncall.jsonout import dumps

    click.echo(dumps(value))


def warn(message: str) -> None:
    click.echo(message, err=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


json_option = click.option("--json", "as_json", is_flag=True, help="Print a stable JSON shape.")
