"""`mlops-oncall drill list|run|control|debrief|from-incident|history`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from mlops_oncall.cli.common import (
    EXIT_NO,
    EXIT_USAGE,
    AppContext,
    domain_errors,
    echo_json,
    fail,
    json_option,
    pass_app,
    warn,
)


def _drill_session(app: AppContext, mode: str, speed: float, **kw):
    """A drill's own Session, built with the drill clock from the start: everything the drill
    records (incident events, check history) is stamped in drill time."""
    from mlops_oncall.drills.clock import DrillClock
    from mlops_oncall.session import Session

    return Session(app.workspace, clock=DrillClock.for_mode(mode, speed), on_warning=warn, **kw)


def _drill_id(ref: str) -> int:
    from mlops_oncall.formats.refs import parse_drill_ref

    n = parse_drill_ref(ref)
    if n is None:
        fail(f"unknown drill '{ref}' (ids look like DRILL-0001)")
    return n


def _drill_row(session, ref: str):
    row = session.drills.get(_drill_id(ref))
    if row is None:
        fail(f"unknown drill '{ref}'")
    return row


def _scenario(app: AppContext, name: str):
    from mlops_oncall.drills.library import find_scenario
    from mlops_oncall.formats.problems import ProblemsError

    try:
        return find_scenario(name, app.workspace.scenarios_dir)
    except ProblemsError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        fail("the scenario is invalid", EXIT_USAGE)
    except LookupError as exc:
        fail(str(exc.args[0]))


@click.group()
def drill() -> None:
    """Tabletop drills against the fake ML system, scored from the timeline."""


@drill.command("list")
@json_option
@pass_app
def list_(app, as_json):
    """The scenarios: the workspace's, then the shipped set."""
    from mlops_oncall.drills.library import list_scenarios

    entries, problems = list_scenarios(app.workspace.scenarios_dir)
    for p in problems:
        click.echo(str(p), err=True)
    if as_json:
        echo_json(
            [
                {
                    "id": e.scenario.id,
                    "title": e.scenario.title,
                    "difficulty": e.scenario.difficulty,
                    "runbook": e.scenario.runbook,
                    "injects": len(e.scenario.injects),
                    "duration": e.scenario.end,
                    "file": e.file,
                    "source": e.source,
                }
                for e in entries
            ]
        )
        return
    for e in entries:
        sc = e.scenario
        click.echo(f"{sc.id:<28} {sc.difficulty:<7} {sc.runbook:<26} {sc.title}")


def _fake_for_drill(app: AppContext):
    """The fake ML system on the workspace's address (port_base 0: ports the OS picks)."""
    from mlops_oncall.drills.fake.catalog import ports_from_base
    from mlops_oncall.drills.fake.system import FakeSystem

    cfg = app.workspace.config.fake_system
    try:
        return FakeSystem(host=cfg.host, ports=ports_from_base(cfg.port_base)).start()
    except OSError as exc:
        fail(
            f"cannot start the fake ML system on {cfg.host} (port base {cfg.port_base}): {exc.strerror}",
            EXIT_USAGE,
        )


def _drill_checks(fake, folder: Path):
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.demo import write_checks
    from mlops_oncall.drills.fake.catalog import SERVICES

    folder.mkdir(parents=True, exist_ok=True)
    # 600 ms: a 400 ms latency fault reads as degraded, 2 s as a timeout, and a headless
    # probe round of a broken service costs little wall time
    path = write_checks(
        folder / "drill-checks.yaml", {s: fake.url(s) for s in SERVICES}, timeout="600ms"
    )
    checks, _ = load_checks(path)
    return path, checks


MAX_SPEED = 10_000.0  # a drill hour in 0.36 s: beyond that the fake's faults cannot keep up


def _speed(_ctx, _param, value: float) -> float:
    # a callback, not FloatRange: the range lets nan through, and its usage error is 4 lines
    if not (0.01 <= value <= MAX_SPEED):  # false for nan too
        fail(f"--speed: expected a number from 0.01 to {MAX_SPEED:g}, got {value:g}", EXIT_USAGE)
    return value


def _check_pacing(speed: float, no_ui: bool, live: bool) -> None:
    """Refuse what would be ignored or mis-scored, before anything starts."""
    given = click.get_current_context().get_parameter_source("speed")
    if live and not no_ui:
        fail("--live goes with --no-ui (the TUI paces a drill itself)", EXIT_USAGE)
    if no_ui and not live and given is not click.core.ParameterSource.DEFAULT:
        fail(
            "--speed has no effect with --no-ui: a headless drill runs on virtual time, as fast "
            "as it can (add --live to pace it in real time, at speed 1)",
            EXIT_USAGE,
        )
    if live and speed != 1:
        fail(
            "--live paces the drill in real time for a responder elsewhere, so --speed must be 1 "
            "(drill time and wall-clock time would mix in the scores)",
            EXIT_USAGE,
        )


@drill.command()
@click.argument("scenario_name", metavar="SCENARIO")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    callback=_speed,
    help=f"Drill minutes per real minute in the TUI (0.01 to {MAX_SPEED:g}); a headless "
    "drill runs on virtual time and --live in real time.",
)
@click.option(
    "--no-ui", is_flag=True, help="Run to the end without a terminal; print the drill id."
)
@click.option(
    "--live",
    is_flag=True,
    help="With --no-ui: pace in real time, at speed 1 (a responder plays in the TUI elsewhere).",
)
@json_option
@pass_app
@domain_errors
def run(app, scenario_name, speed, no_ui, live, as_json):
    """Run a scenario: the TUI in drill mode, or headless with --no-ui.

    Headless, time is virtual: it jumps ahead whenever nothing is pending, so a drill runs in
    seconds. The drill incident is declared at the first fault inject, as a game master would.
    However the drill ends (finished, aborted, failed), its incidents are resolved with a
    drill_ended event.
    """
    from mlops_oncall.drills.runner import DrillRunner, RunnerStory
    from mlops_oncall.paths import user_data_dir

    _check_pacing(speed, no_ui, live)
    entry = _scenario(app, scenario_name)
    fake = _fake_for_drill(app)
    try:
        folder = (app.workspace.root or user_data_dir()) / ".drills"
        checks_path, checks = _drill_checks(fake, folder)
        if no_ui:
            mode = "live" if live else "headless"
            session = _drill_session(app, mode, speed)

            def tell(text, severity="information"):
                return click.echo(f"[{severity}] {text}", err=True)

            runner = DrillRunner.from_session(
                session, entry.scenario, fake, speed=speed, mode=mode, tell=tell, checks=checks
            )
            ref = runner.begin()

            # the first Ctrl-C stops the drill at its next safe point; a second one is the
            # default interrupt, for a drill that does not stop
            def on_sigint(signum, frame):
                signal.signal(signal.SIGINT, previous)
                runner.interrupt()

            previous = signal.signal(signal.SIGINT, on_sigint)
            try:
                click.echo(f"{ref} started: {entry.scenario.title}", err=True)
                result = runner.run()
            except KeyboardInterrupt:  # also one landing in the echo, before run() guards
                runner.fail("interrupted", status="aborted")  # a no-op if run() did it
                raise
            finally:
                signal.signal(signal.SIGINT, previous)
            if as_json:
                echo_json(result)
            else:
                click.echo(ref)
                click.echo(
                    f"score {result['score']}%"
                    if result["score"] is not None
                    else "no scoring targets",
                    err=True,
                )
            session.close()
            return
        from mlops_oncall.cli.tui import run_tui

        session = _drill_session(
            app, "tui", speed, checks_file=checks_path, fake_control_url=fake.control_url
        )
        runner = DrillRunner.from_session(session, entry.scenario, fake, speed=speed, mode="tui")
        ref = runner.begin()
        session.drill_id = ref  # incidents declared in this TUI are the drill's
        banner = (
            f"DRILL {ref} · {entry.scenario.title} · ×{speed:g} · incidents you declare are drills"
        )
        try:
            run_tui(session, story=RunnerStory(runner), drill_banner=banner)
        except BaseException as exc:
            runner.fail(f"the TUI ended: {type(exc).__name__}: {exc}".splitlines()[0])
            raise
        # a TUI that closed before its story started the drill: not left "running"
        runner.fail("the TUI closed before the drill ended", status="aborted")
        click.echo(f"{ref}: debrief with `mlops-oncall drill debrief {ref}`", err=True)
    finally:
        fake.stop()


@drill.command()
@click.argument("drill_ref", metavar="DRILL_ID")
@click.argument(
    "action", type=click.Choice(["list", "fire", "message", "fault", "clear"]), default="list"
)
@click.argument("args", nargs=-1)
@json_option
@pass_app
@domain_errors
def control(app, drill_ref, action, args, as_json):
    """The game master's console, from a second terminal.

    \b
      drill control DRILL-0001                       list the injects and what was delivered
      drill control DRILL-0001 fire N                fire inject N now (it will not fire again)
      drill control DRILL-0001 message TEXT...       show a message to the responder
      drill control DRILL-0001 fault SERVICE FAULT [key=value...]
      drill control DRILL-0001 clear [SERVICE]
    """
    from mlops_oncall.drills.control import ControlRefused, listing, send

    session = app.session
    row = _drill_row(session, drill_ref)
    name = drill_ref.upper()
    if action != "list":
        try:
            send(session.drills, row, name, action, args, now=session.clock.now())
        except ControlRefused as exc:
            fail(str(exc), EXIT_USAGE if exc.usage else EXIT_NO)
        click.echo(f"{name}: {action} delivered")
        return
    injects, other = listing(session.drills, row)
    if as_json:
        echo_json({"drill": name, "status": row.status, "injects": injects, "other": other})
        return
    from mlops_oncall.drills.scenario import Scenario
    from mlops_oncall.formats.durations import format_duration

    click.echo(f"{name} {row.status}: {Scenario.model_validate_json(row.scenario).title}")
    for o in injects:
        mark = "✓" if o["delivered"] else " "
        what = o["text"] or f"{o['fault'] or ''} {o['target'] or ''}".strip()
        click.echo(
            f" {mark} {o['number']:>2}  +{format_duration(o['at']):<7} {o['type']:<8} {what}"
        )
    for e in other:
        click.echo(
            f"   --  {e['source']:<8} {e['type']:<8} {e['text'] or (e['fault'] or '') + ' ' + (e['target'] or '')}"
        )


@drill.command()
@click.argument("drill_ref", metavar="DRILL_ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option(
    "--accept",
    "accept_n",
    type=int,
    metavar="N",
    help="Turn improvement item N into an action item.",
)
@json_option
@pass_app
@domain_errors
def debrief(app, drill_ref, output, accept_n, as_json):
    """The debrief: targets, expected actions, skipped steps, hot wash, improvement items."""
    from mlops_oncall.drills.debrief import accept, debrief_markdown
    from mlops_oncall.drills.scoring import score_drill

    session = app.session
    row = _drill_row(session, drill_ref)
    if accept_n is not None:
        item = accept(session.drills, session.incidents, row.id, accept_n)
        click.echo(f"action item {item.number} added: {item.text}")
        return
    if as_json:
        echo_json(score_drill(session.drills, session.incidents, row.id))
        return
    text, _ = debrief_markdown(session.drills, session.incidents, row.id)
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@drill.command("from-incident")
@click.argument("ref", metavar="INCIDENT_ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the scenario to FILE.")
@click.option(
    "--target",
    help="The fake service to break (default: the incident's service if the fake has it).",
)
@click.option(
    "--runbook",
    "runbook_id",
    help="The runbook a responder should pick (default: the one attached).",
)
@pass_app
@domain_errors
def from_incident(app, ref, output, target, runbook_id):
    """Write a scenario that replays a real incident's check transitions, in order and spacing."""
    from mlops_oncall.cli.common import incidents
    from mlops_oncall.drills.replay import dump_scenario, scenario_from_incident
    from mlops_oncall.drills.scenario import TOO_LATE, Scenario, too_late

    svc = incidents(app)
    try:
        data = scenario_from_incident(svc, svc.store, ref, target=target, runbook=runbook_id)
        late = too_late(Scenario.model_validate(data))
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    if late:
        fail(f"{ref} spans more than a day of check changes; {TOO_LATE}")
    text = dump_scenario(data)
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


@drill.command()
@json_option
@pass_app
def history(app, as_json):
    """Drills run and their scores, newest first: readiness over time (apart from incident metrics)."""
    from mlops_oncall.formats.refs import drill_ref
    from mlops_oncall.formats.timestamps import utc_minute

    session = app.session
    out = [
        {
            "id": drill_ref(r.id),
            "scenario": r.scenario_id,
            "title": r.title,
            "mode": r.mode,
            "speed": r.speed,
            "status": r.status,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "score": r.score,
        }
        for r in session.drills.list()
    ]
    if as_json:
        echo_json(out)
        return
    if not out:
        click.echo("no drills yet", err=True)
        raise SystemExit(EXIT_NO)
    for d in out:
        score = "–" if d["score"] is None else f"{d['score']:g}%"
        click.echo(
            f"{d['id']}  {utc_minute(d['started_at'], label=False)}  {d['status']:<9} {score:>6}  {d['scenario']}"
        )
