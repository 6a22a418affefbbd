"""`mlops-oncall serve`: the intake daemon (docs/intake.md)."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import EXIT_USAGE, AppContext, fail, opened, pass_app, warn


@click.command("serve")
@click.option(
    "--listen",
    default="127.0.0.1:9417",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to listen; an address other than loopback needs intake.token in oncall.yaml.",
)
@pass_app
def serve(app: AppContext, listen: str) -> None:
    """Receive alerts and changes over HTTP and record them (POST /alertmanager, POST
    /changes; GET /healthz, /metrics). Runs until SIGTERM or Ctrl-C, then finishes the
    requests in flight and exits 0."""
    from mlops_oncall.intake.server import is_loopback, parse_listen, serve

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    intake = app.workspace.config.intake
    try:
        token = intake.token_value()
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    if token is None and not is_loopback(host):
        fail(
            f"refusing to listen on {host} without a bearer token (anyone who can reach it "
            "could record incidents): set intake.token to ${env:NAME} in oncall.yaml and "
            "export that variable, or listen on 127.0.0.1",
            EXIT_USAGE,
        )
    session = opened(app)
    if token is not None:
        session.redactor.add(token)  # whatever quotes it, it is never printed
    try:
        serve(session, host, port, token=token, max_body=intake.max_body, say=warn)
    except OSError as exc:
        fail(f"cannot listen on {listen}: {exc.strerror or exc}", EXIT_USAGE)
