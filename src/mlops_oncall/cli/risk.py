"""`mlops-oncall risk add|list|show|update|review|export|candidates`: the risk register."""

from __future__ import annotations

import shlex

import click

from mlops_oncall.cli.common import (
    EXIT_USAGE,
    at_option,
    domain_errors,
    echo_json,
    fail,
    json_option,
    opened,
    pass_app,
)
from mlops_oncall.cli.report import (
    document_env,
    emit,
    force_option,
    output_option,
    template_option,
)

incident_option = click.option(
    "--incident",
    "incident_refs",
    metavar="ID",
    multiple=True,
    help="Link to this incident (repeatable).",
)
runbook_option = click.option(
    "--runbook",
    "runbook_ids",
    metavar="ID",
    multiple=True,
    help="Link to this runbook (repeatable).",
)
residual_options = [
    click.option("--residual-likelihood", type=int, metavar="1-5", help="After treatment."),
    click.option("--residual-impact", type=int, metavar="1-5", help="After treatment."),
]
acceptance_options = [
    click.option("--approver", help="With --treatment tolerate: who accepts the risk."),
    click.option(
        "--expires", metavar="DATE", help="With --treatment tolerate: when the acceptance ends."
    ),
]
next_review_option = click.option(
    "--next-review", metavar="DATE", help="YYYY-MM-DD (default: by band, 7 to 90 days)."
)


def _options(options):
    def wrap(fn):
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return wrap


def _risks(app):
    session = opened(app)
    return session.incidents, session.risks


def _residual(likelihood, impact):
    if likelihood is None and impact is None:
        return None
    if likelihood is None or impact is None:
        fail("give both --residual-likelihood and --residual-impact", EXIT_USAGE)
    return (likelihood, impact)


def _date(text):
    from mlops_oncall.incidents.dates import parse_date

    return parse_date(text) if text else None


def _check_runbooks(app, ids):
    from mlops_oncall.cli.common import runbook_entry

    for rb in ids:
        runbook_entry(app, rb)  # an unknown id fails here, with a did-you-mean


def _line(r) -> str:
    from mlops_oncall.reports.text import score_change

    change = score_change(r["change"]) if r["change"] is not None else "new"
    overdue = " [review overdue]" if r["overdue"] else ""
    cur = r["current"]  # what the register ranks by: the residual once assessed
    return (
        f"{r['id']}  {cur['score']:>2} {cur['band']:<8} {change:<4} {r['status']:<10} "
        f"{r['owner']:<12} next review {r['next_review'] or '–'}{overdue}  {r['title']}"
    )


@click.group()
def risk() -> None:
    """The risk register: score = likelihood × impact, reviews keep the history."""


@risk.command()
@click.option("--title", required=True, help="The risk, in a line.")
@click.option("--likelihood", required=True, type=int, metavar="1-5", help="How likely, 5 most.")
@click.option("--impact", required=True, type=int, metavar="1-5", help="How bad, 5 worst.")
@click.option("--owner", required=True, help="Who watches and treats it.")
@click.option("--category", default="other", show_default=True, help="e.g. data-dependency.")
@click.option("--description", help="Cause → event → effect.")
@click.option("--treatment", default="treat", show_default=True, help="treat, tolerate, ...")
@click.option("--mitigation", help="What lowers its likelihood or impact.")
@click.option("--contingency", help="What to do if it happens.")
@click.option("--early-warning", help="The trigger that says it is about to happen.")
@next_review_option
@_options(residual_options)
@_options(acceptance_options)
@incident_option
@runbook_option
@at_option
@json_option
@pass_app
@domain_errors
def add(
    app,
    title,
    likelihood,
    impact,
    owner,
    category,
    description,
    treatment,
    mitigation,
    contingency,
    early_warning,
    next_review,
    residual_likelihood,
    residual_impact,
    approver,
    expires,
    incident_refs,
    runbook_ids,
    at,
    as_json,
):
    """Add a risk with its inherent score (before controls). Prints its id and score."""
    svc, risks = _risks(app)
    _check_runbooks(app, runbook_ids)
    r = risks.add(
        title,
        likelihood,
        impact,
        owner,
        category=category,
        description=description,
        treatment=treatment,
        mitigation=mitigation,
        contingency=contingency,
        early_warning=early_warning,
        next_review=_date(next_review),
        residual=_residual(residual_likelihood, residual_impact),
        approver=approver,
        expires=_date(expires),
        incidents=incident_refs,
        runbooks=runbook_ids,
        at=svc.time(at),
    )
    if as_json:
        echo_json(r)
    else:
        click.echo(f"{r['id']} added: inherent score {r['score']} ({r['band']})")


@risk.command("list")
@click.option("--status", help="open, monitoring or closed (default: all).")
@click.option("--category", help="Only this category.")
@json_option
@pass_app
@domain_errors
def list_(app, status, category, as_json):
    """List risks by score, highest first."""
    from mlops_oncall.reports.text import terminal_text

    _svc, risks = _risks(app)
    rows = risks.list(status=status, category=category)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no risks", err=True)
        return
    for r in rows:
        click.echo(terminal_text(_line(r)))


@risk.command()
@click.argument("ref", metavar="ID")
@json_option
@pass_app
@domain_errors
def show(app, ref, as_json):
    """Show a risk with its score history and links."""
    from mlops_oncall.reports.text import score_change, terminal_text, ts_minute

    def echo(text: str) -> None:  # stored text: escape sequences shown, never sent
        click.echo(terminal_text(text))

    _svc, risks = _risks(app)
    r = risks.get(ref)
    if as_json:
        echo_json(r)
        return
    echo(f"{r['id']}  {r['title']}")
    echo(f"  inherent {r['likelihood']}×{r['impact']} = {r['score']} ({r['band']})")
    if r["residual"]:
        res = r["residual"]
        echo(
            f"  residual {res['likelihood']}×{res['impact']} = {res['score']} ({res['band']}), "
            f"{score_change(r['change'])} since the last review"
        )
    else:
        echo("  residual not assessed yet (risk review)")
    echo(f"  {r['category']}, {r['status']}, owner {r['owner']}, treatment {r['treatment']}")
    if r["treatment"] == "tolerate":
        ended = " (expired: review it)" if r["acceptance_expired"] else ""
        echo(f"  accepted by {r['approver']} until {r['expires']}{ended}")
    for label, key in (
        ("description", "description"),
        ("mitigation", "mitigation"),
        ("contingency", "contingency"),
        ("early warning", "early_warning"),
    ):
        if r[key]:
            echo(f"  {label}: {r[key]}")
    overdue = " (overdue)" if r["overdue"] else ""
    echo(
        f"  identified {r['identified_on']}, last reviewed {r['last_reviewed'] or 'never'}, "
        f"next review {r['next_review'] or '–'}{overdue}"
    )
    links = r["links"]["incidents"] + [f"runbook {x}" for x in r["links"]["runbooks"]]
    if links:
        echo(f"  links: {', '.join(links)}")
    echo("history:")
    for h in r["history"]:
        note = f": {h['note']}" if h["note"] else ""
        echo(
            f"  {ts_minute(h['at'])}  {h['kind']:<10} {h['score_kind']:<8} "
            f"{h['likelihood']}×{h['impact']} = "
            f"{h['score']} ({h['band']}) by {h['actor']}{note}"
        )


@risk.command()
@click.argument("ref", metavar="ID")
@click.option("--title", help="The risk, in a line.")
@click.option("--description", help="Cause → event → effect.")
@click.option("--category", help="e.g. data-dependency.")
@click.option("--owner", help="Who watches and treats it.")
@click.option("--treatment", help="treat, tolerate, ...")
@click.option("--mitigation", help="What lowers its likelihood or impact.")
@click.option("--contingency", help="What to do if it happens.")
@click.option("--early-warning", help="The trigger that says it is about to happen.")
@click.option("--status", help="open, monitoring or closed.")
@next_review_option
@_options(residual_options)
@_options(acceptance_options)
@incident_option
@runbook_option
@json_option
@pass_app
@domain_errors
def update(
    app,
    ref,
    next_review,
    residual_likelihood,
    residual_impact,
    approver,
    expires,
    incident_refs,
    runbook_ids,
    as_json,
    **fields,
):
    """Change a risk's fields or status, or add links. The residual score changes by
    `risk review`; the inherent score is the risk as identified."""
    given = {k: v for k, v in fields.items() if v is not None}
    if approver is not None:
        given["approver"] = approver
    if expires is not None:
        given["expires"] = _date(expires)
    residual = _residual(residual_likelihood, residual_impact)
    if next_review:
        given["next_review"] = _date(next_review)
    if not given and residual is None and not incident_refs and not runbook_ids:
        fail(
            "give at least one field to change (--title, --status, --owner, ...), "
            "--incident or --runbook",
            EXIT_USAGE,
        )
    _svc, risks = _risks(app)
    _check_runbooks(app, runbook_ids)
    r = risks.update(ref, incidents=incident_refs, runbooks=runbook_ids, residual=residual, **given)
    if as_json:
        echo_json(r)
        return
    changed = [*given, *(["residual"] if residual else [])]
    changed += ["links"] if incident_refs or runbook_ids else []
    click.echo(f"{r['id']} updated: {', '.join(changed)}")


@risk.command()
@click.argument("ref", metavar="ID")
@click.option(
    "--likelihood", required=True, type=int, metavar="1-5", help="With the controls in place."
)
@click.option(
    "--impact", required=True, type=int, metavar="1-5", help="With the controls in place."
)
@click.option("--note", help="What changed, or why it did not.")
@next_review_option
@at_option
@json_option
@pass_app
@domain_errors
def review(app, ref, likelihood, impact, note, next_review, at, as_json):
    """Record a review: the residual score (with the controls in place) joins the history;
    the inherent score stays."""
    from mlops_oncall.reports.text import score_change

    svc, risks = _risks(app)
    r = risks.review(
        ref, likelihood, impact, note=note, next_review=_date(next_review), at=svc.time(at)
    )
    if as_json:
        echo_json(r)
        return
    click.echo(
        f"{r['id']} reviewed: residual score {r['residual']['score']} "
        f"({r['residual']['band']}), inherent {r['score']}, "
        f"{score_change(r['change'])} since the last review; next review {r['next_review']}"
    )


@risk.command()
@click.option("--all", "include_all", is_flag=True, help="Every risk, closed ones too.")
@output_option
@force_option
@template_option
@json_option
@pass_app
@domain_errors
def export(app, include_all, output, force, template_file, as_json):
    """The register as Markdown: the top 10 open risks by score, with the change since the
    last review. --json prints the template's variables instead."""
    from mlops_oncall.reports import register

    env = document_env(app)
    if as_json:
        echo_json(
            register.build_context(
                env.session.risks, include_all=include_all, sources=env.sources, clock=env.clock
            )
        )
        return
    text = register.render_register(
        env.session.risks,
        include_all=include_all,
        sources=env.sources,
        clock=env.clock,
        templates_dir=env.templates_dir,
        template_file=template_file,
    )
    emit(app, text, output, force)


@risk.command()
@click.argument("ref", metavar="INCIDENT")
@json_option
@pass_app
@domain_errors
def candidates(app, ref, as_json):
    """Candidate risks from an incident: its "lucky" lines and open prevent items.

    Each comes with the `risk add ... --incident` command that accepts it.
    """
    from mlops_oncall.reports.candidates import candidates as propose

    svc, risks = _risks(app)
    view = svc.get(ref)
    found = propose(view, risks.linked_to(view.id))
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo(
            f"{view.id} has no candidate risks (no lucky lines, no open prevent items)", err=True
        )
        return
    for c in found:
        state = f"already {c['existing']}" if c["existing"] else "candidate"
        click.echo(f"{c['key']} ({state}): {c['title']}")
        if not c["existing"]:
            owner = c["owner"] or "OWNER"
            cmd = [
                "mlops-oncall", "risk", "add", "--incident", view.id, "--title", c["title"],
                "--likelihood", str(c["likelihood"]), "--impact", str(c["impact"]),
                "--owner", owner, "--category", c["category"],
            ]  # fmt: skip
            for flag, key in (("--description", "description"), ("--mitigation", "mitigation")):
                if c[key]:  # accepting keeps them, as the TUI's accept does
                    cmd += [flag, c[key]]
            click.echo("  " + shlex.join(cmd))
