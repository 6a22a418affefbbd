"""`mlops-oncall incident ...`: the incident lifecycle, timeline and triage, headless."""

from __future__ import annotations

import signal
import sys
import threading

import click

from mlops_oncall.cli.common import (
    COUNT,
    EXIT_NO,
    EXIT_USAGE,
    AppContext,
    at_option,
    domain_errors,
    echo_json,
    echo_stored,
    fail,
    fmt_ts,
    incidents,
    json_option,
    pass_app,
    runbook_entry,
    strict_option,
    verified,
    window,
)
from mlops_oncall.cli.offline import last_known, perform, queued, when, zone
from mlops_oncall.formats.words import plural

NARRATIVE = (
    ("summary", "--summary"),
    ("impact", "--impact"),
    ("root_cause", "--root-cause"),
    ("trigger", "--trigger"),
    ("resolution", "--resolution"),
    ("authors", "--authors"),
    ("postmortem_status", "--postmortem-status"),
    ("contributing_factors", "--contributing-factors"),
    ("went_well", "--went-well"),
    ("went_wrong", "--went-wrong"),
    ("lucky", "--lucky"),
    ("model_versions", "--model-versions"),
    ("predictions_affected", "--predictions-affected"),
    ("decisions_to_review", "--decisions-to-review"),
    ("labels_confirm_by", "--labels-confirm-by"),
)


def _summary(row) -> dict:
    from mlops_oncall.formats.refs import public_id

    return {
        "id": public_id(row.id),
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "service": row.service,
        "is_drill": bool(row.is_drill),
        "created_at": row.created_at,
        "declared_at": row.declared_at,
        "mitigated_at": row.mitigated_at,
        "resolved_at": row.resolved_at,
    }


def _print_view(view, zone, as_json: bool, line: str | None = None) -> None:
    if as_json:
        echo_json(view.to_json())
        return
    r = view.row
    echo_stored(line or f"{view.id} {r.severity} {r.status}: {r.title}")


@click.group()
def incident() -> None:
    """Declare and work incidents; every action is recorded in the timeline."""


@incident.command()
@click.option("--title", required=True, help="What is wrong, in a line.")
@click.option("--severity", required=True, metavar="SEV", help="SEV1 (critical) .. SEV4 (minor).")
@click.option("--service", help="The affected service (ties checks, incidents and deploys).")
@click.option("--runbook", "runbook_id", metavar="ID", help="Attach this runbook now.")
@click.option("--drill", is_flag=True, help="A drill: flagged, and kept out of every metric.")
@click.option("--detected", metavar="TS", help="When it was detected (default: the declaration).")
@click.option("--impact-started", metavar="TS", help="When the impact began, if known.")
@click.option("--from-check", metavar="ID", help="The check this incident was declared from.")
@at_option
@json_option
@pass_app
@domain_errors
def declare(
    app,
    title,
    severity,
    service,
    runbook_id,
    drill,
    detected,
    impact_started,
    from_check,
    at,
    as_json,
):
    """Declare an incident. Prints its id (INC-0001)."""
    if from_check:
        _known_check(app, from_check)
    rb = runbook_entry(app, runbook_id) if runbook_id else None
    # a team database that is unreachable refuses it in one line: no id to hand out
    view = perform(
        app,
        "declare",
        title,
        severity,
        service=service,
        runbook=rb,
        drill=drill,
        at=when(app, at),
        detected_at=when(app, detected),
        impact_started_at=when(app, impact_started),
        declared_from_check=from_check,
    )
    _print_view(view, zone(app), as_json, view.id)


def _known_check(app: AppContext, check_id: str) -> None:
    """--from-check names a check of the workspace (its detected time and runbook follow it)."""
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.formats.validate import did_you_mean

    path = app.workspace.checks_file
    if path is None or not path.is_file():
        fail(
            f"unknown check '{check_id}': the workspace has no checks file ({path or 'checks.yaml'})"
        )
    checks, problems = load_checks(path)
    if checks is None:
        first = f" (first: {problems[0]})" if problems else ""
        fail(f"cannot look up --from-check: {path} has errors{first}", EXIT_USAGE)
    ids = checks.ids()
    if check_id not in ids:
        known = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        fail(
            f"unknown check '{check_id}'{did_you_mean(check_id, ids)}; "
            f"{path.name} has: {known or 'no checks'}"
        )


@incident.command("list")
@click.option("--status", metavar="S", help="open, or one status (triage, investigating, ...).")
@click.option("--service", help="Only this service.")
@click.option(
    "--drills/--no-drills", default=None, help="Only drills, or no drills (default: all)."
)
@click.option("--limit", type=COUNT, help="At most N, newest first.")
@json_option
@pass_app
@domain_errors
@last_known
def list_(app, status, service, drills, limit, as_json):
    """List incidents, newest first."""
    svc = incidents(app)
    rows = svc.list(status=status, drills=drills, service=service, limit=limit)
    if as_json:
        echo_json([_summary(r) for r in rows])
        return
    if not rows:
        click.echo("no incidents", err=True)
        return
    for r in rows:
        s = _summary(r)
        drill = " [drill]" if s["is_drill"] and not s["title"].startswith("[drill]") else ""
        svc_name = f" ({s['service']})" if s["service"] else ""
        echo_stored(
            f"{s['id']}  {s['severity']}  {s['status']:<13} {fmt_ts(r.declared_at, svc.zone)}  "
            f"{s['title']}{svc_name}{drill}"
        )


@incident.command()
@click.argument("ref", metavar="ID")
@json_option
@pass_app
@domain_errors
@last_known
def show(app, ref, as_json):
    """Show an incident: milestones, roles, runbook progress, action items."""
    from mlops_oncall.formats.durations import format_duration
    from mlops_oncall.incidents.lifecycle import in_time_order

    svc = incidents(app)
    notify = app.session.notify
    view = svc.get(ref)
    if notify.note_overdue(view.row) is not None:  # update_overdue, once per overdue period
        view = svc.get(ref)  # the event moved the incident's head
    updates = notify.cadence(view.row)
    if as_json:
        echo_json(view.to_json() | {"updates": updates.to_json()})
        return
    r, z = view.row, svc.zone
    data = view.to_json()
    drill = "  [DRILL]" if r.is_drill else ""
    click.echo(f"{view.id}  {r.severity}  {r.status}{drill}")
    echo_stored(f"  {r.title}")
    if r.service:
        echo_stored(f"  service: {r.service}")
    click.echo("milestones:")
    for m in in_time_order(r):
        if getattr(r, f"{m}_at"):
            click.echo(
                f"  {m:<15} {fmt_ts(getattr(r, f'{m}_at'), z)}  ({getattr(r, f'{m}_source')})"
            )
    metrics = "  ".join(
        f"{k.upper()} {format_duration(v) if v is not None else '–'}"
        for k, v in data["metrics"].items()
    )
    click.echo(f"  {metrics}")
    if view.roles:
        echo_stored("roles: " + ", ".join(f"{k}={v}" for k, v in sorted(view.roles.items())))
    if view.triage:
        t = view.triage
        num, total = t.position()
        where = "complete" if t.complete else f"step {num} of {total}: {t.current}"
        click.echo(f"runbook: {t.runbook.id} ({where})")
    if view.actions:
        click.echo("action items:")
        for a in view.actions:
            due = f" due {a.due}" if a.due else ""
            echo_stored(f"  {a.number}. [{a.status}] ({a.type}, {a.owner}{due}) {a.text}")
    if line := updates.line(svc.clock.now()):
        click.echo(f"updates: {line}")
    click.echo(f"timeline: {plural(r.head_seq, 'event')}, head {r.head_hash[:16]}")


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("text", nargs=-1, required=True)
@at_option
@json_option
@pass_app
@domain_errors
def note(app, ref, text, at, as_json):
    """Add a note to the timeline."""
    ev = perform(app, "note", ref, " ".join(text), at=when(app, at))
    if queued(app, [ev], as_json):
        return
    if as_json:
        echo_json(ev.to_json())
    else:
        click.echo(f"{fmt_ts(ev.ts, zone(app))}  note #{ev.seq}")


def _status_command(name: str, target: str | None, doc: str):
    @incident.command(name, help=doc)
    @click.argument("ref", metavar="ID")
    @at_option
    @json_option
    @pass_app
    @domain_errors
    def cmd(app, ref, at, as_json):
        view = (
            perform(app, "ack", ref, at=when(app, at))
            if target is None
            else perform(app, "set_status", ref, target, at=when(app, at))
        )
        if not queued(app, [view], as_json):
            _print_view(view, zone(app), as_json)

    return cmd


_status_command(
    "ack", None, "Acknowledge: sets the acknowledged milestone; triage → investigating."
)
_status_command("mitigate", "mitigated", "Mark mitigated (the impact has stopped).")
_status_command("resolve", "resolved", "Mark resolved (sets mitigated too, if it never was).")
_status_command("close", "closed", "Close a resolved incident.")


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("status")
@click.option("--note", help="Why, recorded with the change.")
@at_option
@json_option
@pass_app
@domain_errors
def status(app, ref, status, note, at, as_json):
    """Move to STATUS (the allowed moves are in docs/incidents.md)."""
    view = perform(app, "set_status", ref, status, at=when(app, at), note=note)
    if not queued(app, [view], as_json):
        _print_view(view, zone(app), as_json)


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("sev", metavar="SEV")
@at_option
@json_option
@pass_app
@domain_errors
def severity(app, ref, sev, at, as_json):
    """Change the severity."""
    view = perform(app, "set_severity", ref, sev, at=when(app, at))
    if not queued(app, [view], as_json):
        _print_view(view, zone(app), as_json)


@incident.command()
@click.argument("ref", metavar="ID")
@click.option("--role", required=True, help="commander, operations, communications or scribe.")
@click.option("--who", help="Who takes the role (default: you, as --as or the workspace says).")
@click.option(
    "--take-over",
    is_flag=True,
    help="Take the role from whoever holds it; recorded as a take-over.",
)
@at_option
@json_option
@pass_app
@domain_errors
def assign(app, ref, role, who, take_over, at, as_json):
    """Assign a role. A role someone else holds is refused (exit 1, naming them) unless
    --take-over is given; assigning it to its holder again changes nothing."""
    from mlops_oncall.incidents.service import RoleHeld

    try:
        view = perform(app, "assign", ref, role, who, at=when(app, at), take_over=take_over)
    except RoleHeld as exc:
        fail(app.session.redactor.text(f"{exc.held}; add --take-over to take it"), EXIT_NO)
    if not queued(app, [view], as_json):
        _print_view(view, zone(app), as_json, f"{view.id} {role}: {view.roles.get(role, '')}")


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("name")
@click.option("--at", "at", required=True, metavar="TS", help="The corrected time.")
@click.option(
    "--source", default="manual", show_default=True, help="manual, check, alert or drill."
)
@json_option
@pass_app
@domain_errors
def milestone(app, ref, name, at, source, as_json):
    """Correct a milestone's time (the correction wins, and is itself an event)."""
    view = perform(app, "milestone", ref, name, when(app, at), source=source)
    if not queued(app, [view], as_json):
        tz = zone(app)
        _print_view(view, tz, as_json, f"{view.id} {name} {fmt_ts(view.milestone(name), tz)}")


@incident.command("set")
@click.argument("ref", metavar="ID")
@click.option("--summary", help="What happened, in a few lines (Markdown).")
@click.option("--impact", help="Who or what was affected, and how much.")
@click.option("--root-cause", help="Why it happened.")
@click.option("--trigger", help="What set it off (a deploy, a load spike, ...).")
@click.option("--resolution", help="What ended it.")
@click.option("--authors", help="Who wrote the postmortem.")
@click.option(
    "--postmortem-status",
    type=click.Choice(["draft", "final"]),
    help="The postmortem's state.",
)
@click.option("--contributing-factors", help="What made it worse or more likely.")
@click.option("--went-well", help="Lessons: what went well (one item a line).")
@click.option("--went-wrong", help="Lessons: what went wrong (one item a line).")
@click.option("--lucky", help="Lessons: where we got lucky (one item a line).")
@click.option("--model-versions", help="ML impact: the model versions involved.")
@click.option("--predictions-affected", help="ML impact: which predictions, how many, when.")
@click.option(
    "--decisions-to-review", help="ML impact: decisions made on them that need re-review."
)
@click.option("--labels-confirm-by", help="ML impact: when labels will confirm the impact.")
@at_option
@json_option
@pass_app
@domain_errors
def set_(app, ref, at, as_json, **fields):
    """Write the postmortem narrative (one event per field)."""
    given = {k: v for k, v in fields.items() if v is not None}
    if not given:
        fail("give at least one of " + ", ".join(flag for _, flag in NARRATIVE), EXIT_USAGE)
    views = [perform(app, "set_field", ref, k, v, at=when(app, at)) for k, v in given.items()]
    if not queued(app, views, as_json):
        view = views[-1]
        _print_view(view, zone(app), as_json, f"{view.id}: set {', '.join(given)}")


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("runbook_id", metavar="RUNBOOK")
@at_option
@json_option
@pass_app
@domain_errors
def attach(app, ref, runbook_id, at, as_json):
    """Attach a runbook (frozen as it is now) and start at its first step."""
    svc = incidents(app)
    rb = runbook_entry(app, runbook_id)
    view = svc.attach(ref, rb, at=svc.time(at))
    _print_view(
        view,
        svc.zone,
        as_json,
        f"{view.id}: runbook {rb.id}, step 1 of {len(rb.steps)}: {rb.steps[0].id}",
    )


def _triage_json(state) -> dict:
    num, total = state.position()
    return {
        "runbook": state.runbook.id,
        "current_step": state.current,
        "position": num,
        "steps": total,
        "complete": state.complete,
        "path": state.path,
        "outcomes": {
            s: {"outcome": o.outcome, "choice": o.choice, "note": o.note, "at": o.ts}
            for s, o in state.outcomes.items()
        },
    }


def _print_triage(state, as_json: bool) -> None:
    if as_json:
        echo_json(_triage_json(state))
        return
    if state.complete:
        click.echo(f"runbook {state.runbook.id} complete")
        return
    num, total = state.position()
    step = state.runbook.step(state.current)
    click.echo(f"next: {state.current} (step {num} of {total}): {step.title}")


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("step_id", metavar="STEP")
@click.argument("outcome", type=click.Choice(["done", "skipped", "failed"]))
@click.option("--note", help="What you saw or did.")
@at_option
@json_option
@pass_app
@domain_errors
def step(app, ref, step_id, outcome, note, at, as_json):
    """Record a step's outcome and move on through the runbook."""
    state = perform(app, "step", ref, step_id, outcome, note=note, at=when(app, at))
    if not queued(app, [state], as_json):
        _print_triage(state, as_json)


@incident.command()
@click.argument("ref", metavar="ID")
@click.argument("step_id", metavar="STEP")
@click.argument("choice")
@click.option("--note", help="Why.")
@at_option
@json_option
@pass_app
@domain_errors
def decide(app, ref, step_id, choice, note, at, as_json):
    """Answer a decide step (by label, number or target step)."""
    state = perform(app, "decide", ref, step_id, choice, note=note, at=when(app, at))
    if not queued(app, [state], as_json):
        _print_triage(state, as_json)


@incident.group()
def action() -> None:
    """Action items: mitigate, prevent, process."""


@action.command("add")
@click.argument("ref", metavar="ID")
@click.argument("text", nargs=-1, required=True)
@click.option("--type", "type_", required=True, help="mitigate, prevent or process.")
@click.option("--owner", required=True, help="Who will do it.")
@click.option(
    "--due", metavar="DATE", help="YYYY-MM-DD, today, tomorrow, +3d or +2w (the workspace's day)."
)
@click.option("--priority", metavar="P0-P3", help="P0 most urgent .. P3.")
@click.option("--link", metavar="URL", help="The ticket that tracks it (URL or id).")
@at_option
@json_option
@pass_app
@domain_errors
def action_add(app, ref, text, type_, owner, due, priority, link, at, as_json):
    """Add an action item."""
    from mlops_oncall.incidents.actions import action_json
    from mlops_oncall.incidents.dates import local_day, parse_day

    session = app.session
    item = perform(
        app,
        "action_add",
        ref,
        " ".join(text),
        type=type_,
        owner=owner,
        due=parse_day(due, local_day(session.clock.now(), zone(app))) if due else None,
        priority=priority,
        link=link,
        at=when(app, at),
    )
    if queued(app, [item], as_json):
        return
    if as_json:
        echo_json(action_json(item))
    else:
        click.echo(f"action {item.number} added")


@action.command("done")
@click.argument("ref", metavar="ID")
@click.argument("number", type=int)
@at_option
@json_option
@pass_app
@domain_errors
def action_done(app, ref, number, at, as_json):
    """Mark action item N done."""
    from mlops_oncall.incidents.actions import action_json

    item = perform(app, "action_done", ref, number, at=when(app, at))
    if queued(app, [item], as_json):
        return
    if as_json:
        echo_json(action_json(item))
    else:
        click.echo(f"action {number} done")


@incident.command()
@click.argument("ref", metavar="ID")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing new events as anyone records them, until Ctrl-C (with --json: one "
    "JSON object per line).",
)
@click.option("--last", type=COUNT, help="Only the newest N events.")
@json_option
@pass_app
@domain_errors
@last_known
def timeline(app, ref, follow, last, as_json):
    """Print the timeline, oldest first."""
    svc = incidents(app)
    evs = svc.latest(ref, last) if last else svc.events(ref)
    if not follow:
        if as_json:
            echo_json([e.to_json() for e in evs])
        else:
            for e in evs:
                _echo_event(e, svc.zone)
        return
    _follow(app, svc, ref, evs, as_json)


def _follow(app, svc, ref, evs, as_json) -> None:
    """Print ``evs``, then every later event (read as seq > the last printed, so nothing is
    printed twice or skipped) whenever the store's watcher reports the incident changed."""
    from mlops_oncall.formats.refs import parse_ref
    from mlops_oncall.jsonout import dumps
    from mlops_oncall.store.errors import StoreError

    def show(batch) -> int | None:
        for e in batch:
            if as_json:
                click.echo(dumps(e.to_json(), pretty=False))
            else:
                _echo_event(e, svc.zone)
        sys.stdout.flush()
        return batch[-1].seq if batch else None

    wake, stopping = threading.Event(), threading.Event()

    def stop(*_) -> None:
        stopping.set()
        wake.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher = app.session.watch(
        lambda _ids: wake.set(),
        incidents=[parse_ref(ref)],
        on_status=lambda message: click.echo(f"warning: {message}", err=True),
    )
    seq = show(evs) or 0
    retry, failing = None, False
    try:
        watcher.start()
        wake.set()  # what was appended before the watcher started
        while True:
            wake.wait(retry)
            wake.clear()
            if stopping.is_set():
                return
            try:
                seq = show(svc.events(ref, after_seq=seq)) or seq
            except StoreError as err:  # the server restarting: the watcher says when it is back
                if not failing:
                    click.echo(f"warning: {err}; retrying", err=True)
                retry, failing = 1.0, True
                continue
            retry, failing = None, False
    finally:
        watcher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _echo_event(e, zone) -> None:
    echo_stored(f"{fmt_ts(e.ts, zone)}  #{e.seq:<4} {e.actor:<12} {e.kind:<17} {e.text}")


@incident.command()
@click.argument("ref", metavar="ID")
@json_option
@pass_app
@domain_errors
def verify(app, ref, as_json):
    """Check the timeline's hash chain, every stored summary (milestones, status, severity,
    title, roles, action items, narrative, runbook snapshots) against it, and the witnessed
    heads. Exit 0 intact, 1 not (names the first bad event and every column that disagrees)."""
    svc = incidents(app)
    v = svc.verify(ref)
    if as_json:
        echo_json(v.to_json())
    else:
        _print_verdict(v)
    if not v.ok:
        raise SystemExit(EXIT_NO)


def _print_verdict(v) -> None:
    c = v.chain
    if c.ok:
        events = plural(c.events, "event")
        click.echo(f"{v.id}: chain intact, {events}, head {c.head_seq} {c.head_hash}")
    else:
        click.echo(f"{v.id}: chain broken at event {c.bad_seq}: {c.problem}")
    if v.mismatches:
        values = plural(len(v.mismatches), "stored value")
        click.echo(f"{v.id}: {values} disagree{'s' * (len(v.mismatches) == 1)} with the timeline:")
        for m in v.mismatches:
            click.echo(f"  {m.text()}")
    for problem in v.witness.problems:
        click.echo(f"{v.id}: {problem}")
    if c.ok and v.witness.matched and not v.witness.problems:
        last = v.witness.last_seq
        click.echo(f"{v.id}: the witness agrees (last witnessed head: event {last})")
    for what in v.not_checked:
        click.echo(f"{v.id}: not checked: {what}")


@incident.command()
@click.argument("ref", metavar="ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@strict_option
@pass_app
@domain_errors
def export(app, ref, output, force, strict):
    """The full record as JSON, with the verified head hash, as evidence.

    The document starts with the verification result; an incident that fails `incident verify`
    is exported with a warning (on stderr, and as verification.banner), or not at all with
    --strict (exit 1)."""
    svc = incidents(app)
    chunks = svc.export(ref, verified(svc, ref, strict))
    if output:
        from mlops_oncall.cli.report import write_output

        write_output(app, output, chunks, force=force)  # atomic, never over the store
    else:
        out = sys.stdout
        for c in chunks:
            out.write(c)


@incident.command()
@click.option(
    "--since", metavar="DATE", help="From (date, timestamp, or a duration ago such as 30d)."
)
@click.option("--until", metavar="DATE", help="Until (exclusive); default now.")
@json_option
@pass_app
@domain_errors
def metrics(app, since, until, as_json):
    """TTD/TTA/TTM/TTR: counts by severity, median and p90 (nearest rank). Drills excluded."""
    from mlops_oncall.formats.durations import format_duration
    from mlops_oncall.incidents.metrics import window_metrics

    svc = incidents(app)
    lo, hi = window(svc, since, until)
    with svc.store.read() as conn:
        m = window_metrics(conn, lo, hi)
    if as_json:
        echo_json(m)
        return
    click.echo(
        f"incidents: {m['incidents']}  "
        + "  ".join(f"{k} {v}" for k, v in m["by_severity"].items())
    )
    for name in ("ttd", "tta", "ttm", "ttr", "duration"):
        s = m[name]
        med = format_duration(s["median"]) if s["median"] is not None else "–"
        p90 = format_duration(s["p90"]) if s["p90"] is not None else "–"
        click.echo(f"{name.upper()}  n={s['count']:<4} median {med:<8} p90 {p90}")


# `incident update` lives in its own module (cli/update.py)
from mlops_oncall.cli.update import update as _update  # noqa: E402

incident.add_command(_update)
