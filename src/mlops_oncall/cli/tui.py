"""`mlops-oncall` (the TUI for the workspace), `mlops-oncall demo` and `mlops-oncall init`."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_oncall.cli.common import EXIT_NO, AppContext, fail, pass_app


def run_tui(session, **kwargs) -> None:
    from mlops_oncall.ui.app import OncallApp  # Textual is imported only here

    app = OncallApp(session, **kwargs)
    try:
        app.run()
    finally:
        session.close()
    _exit_like(app)


def _exit_like(app) -> None:
    """A TUI that ended on an error exits non-zero (Textual has printed the error)."""
    if app.return_code:
        raise SystemExit(app.return_code)


def open_workspace(app: AppContext) -> None:
    from mlops_oncall.session import Session

    ws = app.workspace
    run_tui(Session(ws))


@click.command()
@click.option("--calm", is_flag=True, help="No story: nothing breaks unless you inject a fault.")
@click.option(
    "--delay",
    type=click.FloatRange(0),
    default=20.0,
    show_default=True,
    help="Seconds before the story starts.",
)
@click.option(
    "--keep", is_flag=True, help="Keep the last demo's database instead of starting afresh."
)
@pass_app
def demo(app: AppContext, calm: bool, delay: float, keep: bool) -> None:
    """The TUI on the bundled runbooks and a fake ML system: nothing to configure.

    It uses its own database (demo/demo.db in the user data dir, reset at each start unless
    --keep). About 20 seconds in, a model rollout is recorded and the model server's latency
    climbs; the runbook's rollback step rolls it back. Press f (or "Inject fault" in ctrl+p) to
    break any service yourself.
    """
    plans = []

    def setup():
        from mlops_oncall.config import configured_me
        from mlops_oncall.demo import DemoPlan

        plan = DemoPlan(
            calm=calm,
            delay=delay,
            actor=app.actor,
            me=configured_me(app.config_path),
            keep=keep,
        )
        plans.append(plan)
        return plan.session, plan.story, plan.prepare, plan.seed

    from mlops_oncall.ui.app import OncallApp  # Textual is imported only here

    tui = OncallApp(setup=setup, title="demo · fake ML system", fake_system=True)
    try:
        tui.run()
    finally:
        for plan in plans:
            plan.stop()
            plan.session.close()
            click.echo(
                f"demo database: {plan.database} (the next demo resets it; --keep keeps it)",
                err=True,
            )
    _exit_like(tui)


STARTER_CONFIG = """\
# mlops-oncall workspace. `mlops-oncall schema config` prints the JSON Schema of this file.
name: {name}
# me: alice                         # who you are on the timeline (else --as, $MLOPS_ONCALL_ACTOR, your login)
timezone: UTC
# database: sqlite:///oncall.db      # default: oncall.db next to this file
runbooks: [runbooks]
checks: checks.yaml
allow_commands: false               # let the TUI run a step's command after confirmation
command_timeout: 60s
slos: slos.yaml                     # error budgets over the checks (`mlops-oncall slo status`)

# Alerts from Alertmanager and deploys from CI arrive through `mlops-oncall serve`
# (docs/intake.md, docs/alerts.md). Uncomment to use.
# intake:
#   token: ${{env:MLOPS_ONCALL_INTAKE_TOKEN}}   # needed to listen beyond 127.0.0.1
# alerts:
#   routes:                                   # the first route whose matchers all match decides
#     - name: pages
#       matchers: ['severity="critical"']
#       declare: true                         # declare at once; otherwise the inbox (a)
#   alertmanager: {{url: http://127.0.0.1:9093}} # for silences
# changes:
#   mlflow:                                   # registry moves recorded as model deploys
#     url: http://127.0.0.1:5000
#     models: {{my-model: my-model}}
# Status updates (`mlops-oncall incident update`, u in the TUI; docs/communication.md).
# notify:
#   team: {{type: slack, url: "${{env:SLACK_WEBHOOK_URL}}"}}
# update_every: {{SEV1: 30m, SEV2: 1h}}
"""

STARTER_SLOS = """\
# Service-level objectives over the checks' polls (docs/slo.md). `mlops-oncall slo status`
# shows each one's error budget and burn rates; the dashboard shows them too.
slos:
  - id: model-availability
    checks: [model.ready]            # its polls are the events; bad = down
    objective: 99.5                  # percent of polls up
    window: 30d
"""

STARTER_CHECKS = """\
# Health checks. `mlops-oncall check validate` lists them; `mlops-oncall check run` runs them once.
# The condition language is Gatus's (numbers compare as decimals; a missing JSON path fails).
defaults:
  interval: 30s
  timeout: 5s
  thresholds: {degraded_after: 2, down_after: 3, recover_after: 2}
checks:
  - id: model
    name: Model server
    preset: oip_v2                   # /v2/health/live, /v2/health/ready, /v2/models/NAME/ready
    base_url: http://127.0.0.1:8000
    model: my-model
    group: serving
    service: my-model
    runbook: example-model-down
    warn: ["[RESPONSE_TIME] < 300"]
  # - id: features
  #   preset: health_json
  #   url: http://127.0.0.1:6566/health
  #   headers: {Authorization: "Bearer ${env:FEATURE_TOKEN}"}   # secrets come from the environment
"""

STARTER_RUNBOOK = """\
# yaml-language-server: $schema=../runbook.schema.json
id: example-model-down
title: Model server not ready
category: serving
severity: SEV2
owner: my-team
last_validated: {today}
applies_to: [my-model]
triggers: {{checks: [model.ready, model.model-ready], error_classes: [connect, http_status]}}
meaning: The model server does not answer ready, so callers get errors or fall back.
impact: Predictions for my-model fail or come from the fallback.
symptoms: ["/v2/health/ready answers 400 or refuses connections"]
steps:
  - id: what-changed
    title: What changed in the last two hours?
    command: mlops-oncall deploy list --since 2h --service my-model
    expect: {{healthy: "no deploy near the start", unhealthy: "a deploy minutes before the failure"}}
  - id: rolled-out
    title: Was there a deploy just before?
    kind: decide
    question: Did a deploy of my-model land just before the failure?
    choices:
      - {{label: "Yes", next: rollback}}
      - {{label: "No", next: restart}}
  - id: rollback
    title: Roll back to the previous version
    kind: mitigate
    command: kubectl rollout undo deploy/my-model
    next: verify
  - id: restart
    title: Restart the server
    kind: mitigate
    command: kubectl rollout restart deploy/my-model
  - id: verify
    title: Ready again
    kind: verify
    check: model.ready
  - id: communicate
    title: Tell the callers
    kind: communicate
    instructions: Post in the service channel what happened, and when it recovered.
escalation: {{after: 30m, to: my-team-secondary}}
"""


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(directory: str, force: bool) -> None:
    """Write a starter workspace: oncall.yaml, checks.yaml, slos.yaml and a runbook."""
    import datetime as dt
    import json

    from mlops_oncall.formats.jsonschema import schema_for

    root = Path(directory)
    files = {
        root / "oncall.yaml": STARTER_CONFIG.format(
            name=json.dumps(root.resolve().name or "oncall")
        ),
        root / "checks.yaml": STARTER_CHECKS,
        root / "slos.yaml": STARTER_SLOS,
        root / "runbooks" / "example-model-down.yaml": STARTER_RUNBOOK.format(
            today=dt.date.today().isoformat()
        ),
        root / "runbook.schema.json": json.dumps(schema_for("runbook"), indent=2) + "\n",
    }
    existing = [str(p) for p in files if p.exists()]
    if existing and not force:
        fail(f"not overwriting {', '.join(existing)} (use --force)", EXIT_NO)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        click.echo(f"wrote {path}")
    click.echo("next: edit checks.yaml, then run `mlops-oncall` in this folder", err=True)
