"""`mlops-oncall db status|upgrade`: the database's schema, backend and server, and the explicit
upgrade a shared (PostgreSQL) database needs when mlops-oncall is newer than its schema."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import EXIT_USAGE, AppContext, echo_json, fail, json_option, pass_app


@click.group()
def db() -> None:
    """The database: its schema version, backend and server; upgrades.

    A fresh database gets the latest schema on first use. An older SQLite file is upgraded
    when opened (with a note on stderr); an older PostgreSQL database is refused until
    `mlops-oncall db upgrade` is run, once, by whoever looks after it.
    """


@db.command()
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Schema version (and the latest this mlops-oncall knows), backend, server version and
    the database's URL, password hidden. Creates and upgrades nothing."""
    from mlops_oncall.cli.offline import flush, outbox_json, unreachable_line
    from mlops_oncall.store.db import STATES, database_status
    from mlops_oncall.store.errors import StoreError

    session = app.session
    try:
        st = database_status(session.database)
        if st.state == "current":
            flush(session)  # the database is back: what waited for it goes now
    except StoreError as exc:
        fail(unreachable_line(session, exc), EXIT_USAGE)
    box = outbox_json(session)  # only while the outbox holds something
    if as_json:
        echo_json(st.to_json() | ({"outbox": box} if box else {}))
        return
    server = "SQLite" if st.backend == "sqlite" else "PostgreSQL"
    schema = "none" if st.schema_version is None else f"version {st.schema_version}"
    click.echo(f"database  {st.url}")
    click.echo(f"backend   {st.backend} ({server} {st.server_version})")
    click.echo(f"schema    {schema} (latest {st.latest_version}): {STATES[st.state]}")
    if box:
        click.echo(
            f"outbox    {box['pending']} pending, {box['undeliverable']} undeliverable "
            f"(`mlops-oncall db outbox`)"
        )


@db.command()
@click.option(
    "--forget",
    type=click.IntRange(1, 2**62, clamp=True),
    metavar="ID",
    help="Remove undeliverable entry ID, once read (type it again to retry it).",
)
@json_option
@pass_app
def outbox(app: AppContext, forget: int | None, as_json: bool) -> None:
    """The writes kept in the local outbox of a team database: those still waiting for it
    (pending) and those it refused when they were delivered (undeliverable, with why).
    Reads the local file only."""
    from mlops_oncall.cli.offline import echo_entries

    if forget is not None:
        writes = app.session.outbox
        if writes is None or not writes.box.forget(forget):
            fail(f"no undeliverable entry {forget} in the outbox (see `mlops-oncall db outbox`)")
        click.echo(f"forgot outbox entry {forget}")
        return
    echo_entries(app.session, as_json)


@db.command()
@json_option
@pass_app
def upgrade(app: AppContext, as_json: bool) -> None:
    """Run the pending schema migrations (each step in its own transaction), or create the
    schema in an empty database. Safe to run twice, and from two terminals at once."""
    with app.session.upgraded_store() as store:
        found, now = store.found_version, store.version
        action = "created" if found is None else "current" if found == now else "upgraded"
        if as_json:
            echo_json(
                {
                    "url": store.display_url,
                    "backend": store.backend,
                    "from_version": found,
                    "to_version": now,
                    "action": action,
                }
            )
        elif action == "created":
            click.echo(f"created the database {store.display_url} at schema version {now}")
        elif action == "current":
            click.echo(f"the database {store.display_url} is already at schema version {now}")
        else:
            click.echo(
                f"upgraded the database {store.display_url} from schema version {found} to {now}"
            )
