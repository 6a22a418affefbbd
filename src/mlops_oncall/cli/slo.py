"""`mlops-oncall slo status|eval`: error budgets and burn-rate alerts of the workspace's SLOs
(slos.yaml; docs/slo.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mlops_oncall.cli.common import (
    EXIT_NO,
    EXIT_USAGE,
    AppContext,
    domain_errors,
    echo_json,
    fail,
    json_option,
    opened,
    pass_app,
    warn,
)

if TYPE_CHECKING:
    from mlops_oncall.slo.evaluate import SloStatus
    from mlops_oncall.slo.service import Slos


@click.group()
def slo() -> None:
    """SLOs: error budgets left and the SRE Workbook's multiwindow burn-rate alerts.

    SLOs live in slos.yaml beside oncall.yaml (`slos:` names another file); each is computed
    from its checks' polls, from the per-minute and hourly roll-ups the monitor writes
    (`check watch`, the TUI).
    """


def _slos(app: AppContext) -> Slos:
    """The session's SLO service; an invalid slos.yaml is its located problems and exit 2."""
    from mlops_oncall.formats.problems import ProblemsError

    try:
        return app.session.slos  # its warnings are printed as it loads
    except ProblemsError as exc:
        for p in exc.problems:
            warn(str(p))
        fail("the SLOs file is invalid", EXIT_USAGE)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def _print(statuses: list[SloStatus]) -> None:
    from mlops_oncall.formats.durations import format_duration

    if not statuses:
        click.echo("no SLOs (slos.yaml)")
        return
    for s in statuses:
        slo, c = s.slo, s.counts
        tte = s.time_to_exhaustion
        if s.error is not None:  # a Prometheus SLO whose queries failed: its one line
            click.echo(f"{slo.id}  {slo.objective}% over {slo.window_text}: error: {s.error}")
            continue
        if s.remaining is None:
            budget = "no data"
        else:
            budget = f"{_pct(s.remaining)} of the budget left ({c.bad(slo.count_degraded):,} bad of {c.polls:,})"
        if s.state == "insufficient history":
            budget += ", insufficient history"
        lasts = "–" if tte is None else ("spent" if not tte else format_duration(tte))
        firing = ", ".join(
            f"{format_duration(r.row.long)}/{format_duration(r.row.short)} {r.row.severity}"
            for r in s.firing
        )
        click.echo(
            f"{slo.id}  {slo.objective}% over {slo.window_text}: {budget}; "
            f"burn {_rate(s.current_rate)}, exhausted in {lasts}"
            + (f"; FIRING {firing}" if firing else "")
        )
        for r in s.rows:
            pair = f"{format_duration(r.row.long)}/{format_duration(r.row.short)}"
            over = f"> {r.row.burn_rate:g}x"
            click.echo(
                f"  {pair:<7} {over:<7} {r.row.severity:<6} "
                f"{_rate(r.long_rate):>9} {_rate(r.short_rate):>9}  {r.state}"
            )


def _out(statuses: list[SloStatus], at, as_json: bool) -> None:
    from mlops_oncall.formats.timestamps import rfc3339

    if as_json:
        echo_json({"at": rfc3339(at), "slos": [s.to_json() for s in statuses]})
    else:
        _print(statuses)


@slo.command()
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Each SLO now: objective, budget left, the burn rate of each policy row's windows,
    which rows fire, and when the budget runs out at the last hour's burn."""
    slos = _slos(app)
    opened(app)  # an unopenable database is one line, exit 2
    statuses = slos.status()
    _out(statuses, statuses[0].at if statuses else slos.clock.now(), as_json)


@slo.command(name="eval")
@click.option("--at", "at", metavar="TS", required=True, help="When: ISO 8601, or -10m.")
@click.option(
    "--history",
    type=click.Path(dir_okay=False),
    metavar="FILE.jsonl",
    help='Polls, one a line: {"check": ID, "at": RFC 3339, "state": "up|degraded|down"}; '
    "default: the store's roll-ups.",
)
@json_option
@pass_app
@domain_errors
def eval_(app: AppContext, at: str, history: str | None, as_json: bool) -> None:
    """The SLOs as they were at a given time: from the store, or from a history of polls
    (backfills; trying a policy on past data). Polls after --at are left out."""
    from mlops_oncall.incidents.dates import parse_time

    session = app.session
    when = parse_time(at, session.workspace.zone(), session.clock.now())
    slos = _slos(app)
    source = None
    if history is not None:
        from mlops_oncall.slo.history import read_history

        checks = {c for s in slos.set for c in s.checks}
        source = read_history(history, until=when, checks=checks)
    else:
        opened(app)
    _out(slos.evaluate(when, source), when, as_json)


@slo.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--url",
    default="http://localhost:9090",
    show_default=True,
    help="The Prometheus server the imported SLOs ask.",
)
@click.option(
    "--write",
    "write",
    type=click.Path(dir_okay=False),
    metavar="SLOS.YAML",
    help="Add the entries to this file (created, or appended to its slos: list) instead of "
    "printing them.",
)
@json_option
def import_(file: str, url: str, write: str | None, as_json: bool) -> None:
    """Sloth's or Pyrra's SLO files as slos.yaml entries on a Prometheus query pair.

    What does not map (Sloth's raw SLIs and plugins, Pyrra's native-histogram latency, a
    window other than 28d/30d...) is a located warning with the reason. Exit 2 when the file
    is not a Sloth or Pyrra file, 1 when nothing could be imported or --write was refused.
    """
    from pathlib import Path

    from mlops_oncall.slo.imports import WriteRefused, import_slos, merged_text

    imported = import_slos(file, url)
    for p in imported.problems:
        warn(str(p))
    if not imported.ok:
        fail(f"{file}: nothing was imported", EXIT_USAGE)
    if not imported.entries:
        fail(f"{file}: no SLO in it maps to slos.yaml", EXIT_NO)
    written = None
    if write is not None:
        target = Path(write)
        try:
            existing = target.read_text(encoding="utf-8") if target.exists() else None
            text = merged_text(existing, imported, write)
            tmp = target.with_name(f".{target.name}.import")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)  # whole or not at all
        except WriteRefused as exc:
            fail(str(exc), EXIT_NO)
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot write {write}: {getattr(exc, 'strerror', None) or exc}", EXIT_NO)
        written = write
    warnings = [p for p in imported.problems if not p.is_error]
    if as_json:
        echo_json(
            {
                "file": file,
                "formats": sorted(set(imported.formats)),
                "slos": imported.entries,
                "warnings": [p.to_json() for p in warnings],
                "written": written,
            }
        )
    elif written is None:
        click.echo(imported.yaml(), nl=False)
    n = len(imported.entries)
    where = f" into {written}" if written else ""
    warn(f"imported {n} SLO{'s' if n != 1 else ''}{where} with {len(warnings)} warning(s)")
