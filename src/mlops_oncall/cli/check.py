"""`mlops-oncall check run|watch|validate|import-gatus`.

Every line this module prints goes through the check set's Redactor: resolved ``${env:NAME}``
values and URL credentials never reach the terminal, a pipe or a JSON consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_oncall.cli.common import EXIT_NO, EXIT_USAGE, AppContext, Failure, json_option, pass_app
from mlops_oncall.formats.words import plural

if TYPE_CHECKING:
    from mlops_oncall.checks.probe import Result
    from mlops_oncall.checks.redact import Redactor
    from mlops_oncall.checks.spec import CheckSet, CheckSpec
    from mlops_oncall.checks.state import CheckView, Transition

checks_option = click.option(
    "--checks",
    "checks_path",
    type=click.Path(),  # a directory gets the one-line error of _checks_path
    metavar="FILE",
    help="The checks file (default: the workspace's, `checks:` in oncall.yaml).",
)
only_option = click.option(
    "--only",
    "only",
    multiple=True,
    metavar="ID",
    help="Only this check, or every check of a preset; repeatable.",
)


@click.group()
def check() -> None:
    """Run, watch, validate and import health checks."""


# --------------------------------------------------------------------------- loading


def _checks_path(app: AppContext, checks_path: str | None) -> Path:
    if checks_path:
        path = Path(checks_path)
    else:
        path = app.workspace.checks_file
        if path is None:
            raise Failure(
                "no checks file: pass --checks FILE, or run in a workspace whose oncall.yaml "
                "names one (checks: checks.yaml)",
                EXIT_USAGE,
            )
    if path.is_dir():
        raise Failure(
            f"checks file is a directory: {path} (name the YAML file in it, such as "
            f"{path / 'checks.yaml'})",
            EXIT_USAGE,
        )
    if not path.is_file():
        raise Failure(f"checks file not found: {path}", EXIT_USAGE)
    return path


def _runbook_ids(app: AppContext):
    """The ids of the workspace's library, which a check's ``runbook:`` must name; loaded only
    if a check names one."""

    def load() -> list[str]:
        from mlops_oncall.cli.runbook import load_library

        return list(load_library(app, report=False).entries)

    return load


def load_for_use(app: AppContext, checks_path: str | None) -> CheckSet:
    """The check set, or every located problem on stderr and exit 2. An unknown runbook is a
    warning here (the checks still run), an error in `check validate`."""
    from mlops_oncall.checks.config import load_checks

    path = _checks_path(app, checks_path)
    checkset, problems = load_checks(path, runbooks=_runbook_ids(app), unknown_runbook="warning")
    for p in problems:
        click.echo(str(p), err=True)
    if checkset is None:
        errors = sum(p.is_error for p in problems)
        raise Failure(f"{path}: {plural(errors, 'error')}; nothing was run", EXIT_USAGE)
    return checkset


def _select(checkset: CheckSet, only: tuple[str, ...]) -> list[CheckSpec]:
    from mlops_oncall.formats.validate import did_you_mean

    if not only:
        return list(checkset)
    picked, unknown = checkset.select(only)
    if unknown:
        names = checkset.ids() + list(checkset.groups)
        raise Failure(f"unknown check '{unknown[0]}'{did_you_mean(unknown[0], names)}", EXIT_USAGE)
    return picked


class _Out:
    """Redacting output: text lines and JSON."""

    def __init__(self, redactor: Redactor):
        self.redactor = redactor

    def line(self, text: str = "", *, err: bool = False) -> None:
        click.echo(self.redactor.text(text), err=err)

    def json(self, value: Any, *, pretty: bool = True) -> None:
        from mlops_oncall.jsonout import dumps

        # redact the values (a secret inside JSON would be escaped), then the text as well
        click.echo(self.redactor.text(dumps(self.redactor.value(value), pretty=pretty)))


# --------------------------------------------------------------------------- run


def run_json(result: Result, blocked_by: list[str]) -> dict[str, Any]:
    """The stable shape of `check run --json` (docs/cli.md)."""
    return {
        "id": result.check_id,
        "service": result.service,
        "state": result.state,
        "error_class": result.error_class,
        "message": result.message,
        "latency_ms": result.latency_ms,
        "blocked_by": blocked_by,
        "conditions": [c.to_json() for c in result.conditions],
    }


@check.command()
@checks_option
@only_option
@click.option("--once", is_flag=True, help="One round (the default; accepted for scripts).")
@json_option
@pass_app
def run(
    app: AppContext,
    checks_path: str | None,
    only: tuple[str, ...],
    once: bool,
    as_json: bool,
) -> None:
    """Run one round of every check, without thresholds.

    A failing `conditions` entry makes a check down, a failing `warn` entry degraded. Exit 0
    when every check is up or in maintenance, 1 otherwise, 2 on a config error.
    """
    from mlops_oncall.checks.poller import round_blocked_by, run_once
    from mlops_oncall.checks.probe import Prober

    checkset = load_for_use(app, checks_path)
    specs = _select(checkset, only)
    out = _Out(checkset.redactor)

    async def go() -> list[Result]:
        async with Prober(redactor=checkset.redactor) as prober:
            return await run_once(specs, prober)

    results = asyncio.run(go())
    by_id = {r.check_id: r for r in results}
    blocked = round_blocked_by(specs, by_id)
    if as_json:
        out.json([run_json(r, blocked[r.check_id]) for r in results])
    else:
        _print_round(out, specs, results, blocked)
    if any(r.state not in ("up", "maintenance") for r in results):
        raise SystemExit(EXIT_NO)


def _print_round(
    out: _Out, specs: list[CheckSpec], results: list[Result], blocked: dict[str, list[str]]
) -> None:
    width = max((len(s.id) for s in specs), default=2)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.state] = counts.get(r.state, 0) + 1
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "–"
        note = f" [blocked by {', '.join(blocked[r.check_id])}]" if blocked[r.check_id] else ""
        cls = f"{r.error_class}: " if r.error_class else ""
        out.line(f"{r.state:<11} {r.check_id:<{width}}  {latency:>8}  {cls}{r.message}{note}")
    order = ("up", "degraded", "down", "unknown", "maintenance")
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    n = len(results)
    out.line(f"{plural(n, 'check')}: {', '.join(parts) or 'none'}", err=True)


# --------------------------------------------------------------------------- validate


@check.command()
@checks_option
@json_option
@pass_app
def validate(app: AppContext, checks_path: str | None, as_json: bool) -> None:
    """Validate a checks file and list the checks it defines, presets expanded.

    Exit 0 when there are no errors (warnings allowed), 1 on any error.
    """
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.checks.redact import NULL

    path = _checks_path(app, checks_path)
    checkset, problems = load_checks(path, runbooks=_runbook_ids(app))
    out = _Out(checkset.redactor if checkset is not None else NULL)  # shapes only
    errors = sum(p.is_error for p in problems)
    if as_json:
        out.json(
            {
                "file": str(path),
                "valid": checkset is not None,
                "checks": [s.summary() for s in checkset] if checkset is not None else [],
                "problems": [p.to_json() for p in problems],
            }
        )
    else:
        for p in problems:
            out.line(str(p))
        if checkset is not None:
            width = max((len(i) for i in checkset.ids()), default=2)
            for spec in checkset:
                preset = f"  (preset {spec.preset})" if spec.preset else ""
                kind = spec.method if spec.kind == "http" else spec.kind
                out.line(f"{spec.id:<{width}}  {kind:<4} {spec.url}{preset}")
        warnings = len(problems) - errors
        n = len(checkset) if checkset is not None else 0
        out.line(
            f"{path}: {plural(n, 'check')}, {plural(errors, 'error')}, "
            f"{plural(warnings, 'warning')}",
            err=True,
        )
    if errors:
        raise SystemExit(EXIT_NO)


# --------------------------------------------------------------------------- import-gatus


@check.command("import-gatus")
@click.argument("file", type=click.Path(dir_okay=False))
def import_gatus_cmd(file: str) -> None:
    """Convert a Gatus config's endpoints to checks.yaml on stdout; warnings on stderr."""
    from mlops_oncall.checks.gatus import import_gatus

    if not Path(file).is_file():
        raise Failure(f"file not found: {file}", EXIT_USAGE)
    imported = import_gatus(file)
    for p in imported.problems:
        click.echo(str(p), err=True)
    if not imported.ok:
        raise Failure(f"{file}: nothing was imported", EXIT_USAGE)
    click.echo(imported.yaml(Path(file).name), nl=False)
    n = len(imported.data["checks"])
    warnings = sum(not p.is_error for p in imported.problems)
    click.echo(
        f"imported {plural(n, 'check')} with {plural(warnings, 'warning')}",
        err=True,
    )


# --------------------------------------------------------------------------- watch


def _history_store(app: AppContext):
    """The workspace's store, from the command's Session; None (and a warning) if it cannot be
    opened: the checks are still watched."""
    from mlops_oncall.store.engine import StoreError

    try:
        return app.session.store
    except StoreError as exc:
        click.echo(f"warning: not recording check history: {exc}", err=True)
        return None


def _print_transition(out: _Out, t: Transition, width: int, as_json: bool) -> None:
    if as_json:
        out.json(t.to_json(), pretty=False)
        return
    from mlops_oncall.formats.timestamps import rfc3339

    cls = f"{t.error_class}: " if t.error_class and t.to_state != "up" else ""
    note = f" [blocked by {', '.join(t.blocked_by)}]" if t.blocked_by else ""
    alarm = " ALARM" if t.alarm else ""
    out.line(
        f"{rfc3339(t.at)}  {t.check_id:<{width}}  {t.from_state} → {t.to_state}{alarm}  "
        f"{cls}{t.message}{note}"
    )


@check.command()
@checks_option
@only_option
@json_option
@click.option(
    "--for",
    "duration",
    metavar="DURATION",
    help="Stop after this long (e.g. 10m); default: until Ctrl-C.",
)
@click.option(
    "--rollup-every",
    default="1m",
    show_default=True,
    hidden=True,
    metavar="DURATION",
    help="How often the hourly roll-ups so far are written to the store.",
)
@pass_app
def watch(
    app: AppContext,
    checks_path: str | None,
    only: tuple[str, ...],
    as_json: bool,
    duration: str | None,
    rollup_every: str,
) -> None:
    """Poll continuously with thresholds and print transitions as they happen.

    Each check runs on its own interval. Only threshold crossings are printed (and recorded);
    --json prints one JSON object per line. Ctrl-C stops cleanly.
    """
    import dataclasses
    import threading

    from mlops_oncall.checks.monitor import Monitor
    from mlops_oncall.checks.poller import tune_gc
    from mlops_oncall.formats.durations import parse_duration

    limit = None
    if duration is not None:
        try:
            limit = parse_duration(duration).total_seconds()
        except ValueError as exc:
            raise Failure(f"--for: {exc}", EXIT_USAGE) from None
    try:
        rollup_seconds = parse_duration(rollup_every).total_seconds()
    except ValueError as exc:
        raise Failure(f"--rollup-every: {exc}", EXIT_USAGE) from None
    if rollup_seconds <= 0:
        raise Failure("--rollup-every: expected a duration longer than 0s", EXIT_USAGE)
    checkset = load_for_use(app, checks_path)
    specs = _select(checkset, only)
    out = _Out(checkset.redactor)
    width = max((len(s.id) for s in specs), default=2)
    # opened before the first poll: the first transitions (unknown → up) are history too
    store = _history_store(app)
    tune_gc()  # this process now only polls

    def on_update(views: list[CheckView], transitions: list[Transition]) -> None:
        for t in transitions:  # on the monitor's thread; the store already has them
            _print_transition(out, t, width, as_json)

    # the TUI's pipeline: poller → state → transitions and roll-ups → store (on a worker
    # thread, so a slow disk never holds up a poll)
    monitor = Monitor(
        dataclasses.replace(checkset, specs={s.id: s for s in specs}),
        store=store,
        on_update=on_update,
        flush_every=min(0.1, rollup_seconds),  # a transition is printed within 0.1 s
        rollup_every=rollup_seconds,  # a kill -9 loses at most this much of the roll-ups
        first_spread=min(2.0, min((s.interval.total_seconds() for s in specs), default=1)),
        on_error=lambda message: click.echo(f"warning: {message}", err=True),
    )
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: Ctrl-C still interrupts
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    out.line(f"watching {plural(len(specs), 'check')} (Ctrl-C to stop)", err=True)
    try:
        monitor.start()
        stop.wait(None if limit is None else min(limit, threading.TIMEOUT_MAX))
    finally:
        monitor.stop(timeout=60)  # the last flush writes what is left to the store
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.line(f"stopped after {monitor.poller.polls} polls", err=True)
