"""Versioned schema migrations. The store records its version; `db upgrade` moves it on.

A fresh (empty) database is created at the latest version in one go, on open, on both backends:
a single responder needs no setup. An older schema is upgraded one step at a time, each step in
its own transaction, only when asked (`upgrade=True`): `mlops-oncall db upgrade` always, and an
ordinary open of a SQLite file (see Store). A shared PostgreSQL database is never migrated by
whichever teammate's terminal happens to open it first. Creating or upgrading holds an advisory
lock on PostgreSQL (SQLite's write lock does the same), so two terminals take turns.

The test suite keeps a database made by version 1 (tests/fixtures/db/v1.db) and upgrades it
through every step, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, exc, inspect, select, text

from mlops_oncall import __version__
from mlops_oncall.store import tables
from mlops_oncall.store.engine import StoreError, read_tx, write_tx
from mlops_oncall.store.errors import first_line

Migration = Callable[[Connection], None]


def _create(*tables_) -> Migration:
    """A step that adds whole tables (with their indexes) as they are defined now."""

    def step(conn: Connection) -> None:
        for table in tables_:
            table.create(conn)

    return step


def _v3(conn: Connection) -> None:
    # Plain DDL that SQLite and PostgreSQL both accept. The column names are written out, not
    # read from the table: a migration describes the schema as it was when it was written.
    for column in ("contributing_factors", "went_well", "went_wrong", "lucky"):
        conn.execute(text(f"ALTER TABLE incident ADD COLUMN {column} TEXT"))
    _create(tables.Risk, tables.RiskReview, tables.RiskLink)(conn)


def _v5(conn: Connection) -> None:
    columns = {
        "incident": [
            ("model_versions", "TEXT"),
            ("predictions_affected", "TEXT"),
            ("decisions_to_review", "TEXT"),
            ("labels_confirm_by", "TEXT"),
        ],
        "action_item": [("priority", "VARCHAR"), ("link", "VARCHAR")],
        "deployment": [
            ("rolled_back_to", "VARCHAR"),
            # timestamps are VARCHAR(27) like every other (types.UTCTimestamp): SQLite ignores
            # the length, but PostgreSQL keeps it, and its migrated DDL must match a fresh one
            ("outcome_at", "VARCHAR(27)"),
            ("hotfix_of", "INTEGER REFERENCES deployment (id)"),
            ("updated_at", "VARCHAR(27)"),
        ],
        "risk": [("approver", "VARCHAR"), ("accepted_until", "DATE")],
    }
    for table, cols in columns.items():
        # a table an earlier step created as it is defined now (risk, by step 3) has them
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for name, ddl in cols:
            if name not in have:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))


def _v10(conn: Connection) -> None:
    # step 9 created notify_delivery as it is defined now when it ran in the same upgrade
    have = {c["name"] for c in inspect(conn).get_columns("notify_delivery")}
    for name, ddl in (
        ("kind", "VARCHAR"),
        ("message", "TEXT"),
        ("next_attempt_at", "VARCHAR(27)"),
        ("lease_owner", "VARCHAR"),
        ("lease_until", "VARCHAR(27)"),
    ):
        if name not in have:
            conn.execute(text(f"ALTER TABLE notify_delivery ADD COLUMN {name} {ddl}"))
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_notify_delivery_due "
            "ON notify_delivery (state, next_attempt_at)"
        )
    )


# notify_delivery at version 11 in SQLite's words: the table a rebuild creates (the columns of
# version 10 in their order, then slo_episode_id), exactly as a fresh database writes it
_ND_COLUMNS = (
    "id INTEGER NOT NULL",
    "incident_id INTEGER",
    "update_seq INTEGER NOT NULL",
    "destination VARCHAR NOT NULL",
    "type VARCHAR NOT NULL",
    "idempotency_key VARCHAR NOT NULL",
    "state VARCHAR NOT NULL",
    "attempts INTEGER NOT NULL",
    "body_sha256 VARCHAR",
    "http_status INTEGER",
    "response TEXT",
    "error TEXT",
    "external_id VARCHAR",
    "created_at VARCHAR(27) NOT NULL",
    "updated_at VARCHAR(27) NOT NULL",
    "kind VARCHAR",
    "message TEXT",
    "next_attempt_at VARCHAR(27)",
    "lease_owner VARCHAR",
    "lease_until VARCHAR(27)",
    "slo_episode_id INTEGER",
)
_ND_V11 = (
    "\nCREATE TABLE notify_delivery (\n\t"
    + ", \n\t".join(_ND_COLUMNS)
    + ", \n\tPRIMARY KEY (id), \n\tCONSTRAINT uq_notify_delivery_key UNIQUE (idempotency_key), "
    "\n\tFOREIGN KEY(incident_id) REFERENCES incident (id)\n)\n\n"
)
_ND_INDEXES = (
    "CREATE INDEX ix_notify_delivery_due ON notify_delivery (state, next_attempt_at)",
    "CREATE INDEX ix_notify_delivery_incident_id ON notify_delivery (incident_id)",
)


def _v11(conn: Connection) -> None:
    """SLO page episodes; notify_delivery.incident_id nullable (an SLO page's notification has
    no incident) and its slo_episode_id."""
    tables.SloEpisode.create(conn, checkfirst=True)  # with its indexes, as defined now
    got = {c["name"]: c for c in inspect(conn).get_columns("notify_delivery")}
    if "slo_episode_id" in got and got["incident_id"]["nullable"]:
        return  # step 9 created it as it is defined now, in this same upgrade
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE notify_delivery ALTER COLUMN incident_id DROP NOT NULL"))
        conn.execute(text("ALTER TABLE notify_delivery ADD COLUMN slo_episode_id INTEGER"))
        return
    # SQLite cannot drop a NOT NULL: the table is rebuilt, rows, unique key and indexes kept
    # (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes";
    # nothing references notify_delivery, so foreign keys need no switching off)
    old = [name for name in got if name != "slo_episode_id"]
    for index in ("ix_notify_delivery_due", "ix_notify_delivery_incident_id"):
        conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
    conn.execute(text("ALTER TABLE notify_delivery RENAME TO notify_delivery_v10"))
    conn.execute(text(_ND_V11))
    cols = ", ".join(old)
    conn.execute(
        text(f"INSERT INTO notify_delivery ({cols}) SELECT {cols} FROM notify_delivery_v10")
    )
    conn.execute(text("DROP TABLE notify_delivery_v10"))
    for ddl in _ND_INDEXES:
        conn.execute(text(ddl))


# (version, what it does, the step). Version 1 is the first schema; it has no step.
MIGRATIONS: list[tuple[int, str, Migration | None]] = [
    (1, "incidents, timeline, roles, action items, deployments, triage", None),
    (
        2,
        "check history: transitions and hourly roll-ups",
        _create(tables.CheckTransition, tables.CheckRollup),
    ),
    (
        3,
        "postmortem lessons on incidents; the risk register",
        _v3,
    ),
    (4, "drills and their injects", _create(tables.Drill, tables.DrillInject)),
    (
        5,
        "ML impact fields, action item priority and link, deploy outcomes after the fact, "
        "tolerated risks' approver and expiry",
        _v5,
    ),
    (6, "who has an incident open (presence, not evidence)", _create(tables.Presence)),
    (7, "Alertmanager's alert groups and alerts", _create(tables.AlertGroup, tables.Alert)),
    (8, "per-minute check roll-ups for SLO burn rates", _create(tables.CheckMinute)),
    (9, "status updates' deliveries to destinations", _create(tables.NotifyDelivery)),
    (10, "the notification queue: rules' notifications with retries and a lease", _v10),
    (11, "SLO page episodes; notifications without an incident", _v11),
]
LATEST = MIGRATIONS[-1][0]


UPGRADE_COMMAND = "mlops-oncall db upgrade"
# the mlops-oncall that last created or upgraded the schema: the oldest one that can use it
TOOL_KEY = "written_by"
# pg_advisory_xact_lock's key for schema changes (any constant; "mlops-on" in ASCII)
_LOCK_KEY = 0x6D6C6F70732D6F6E


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("meta"):
        return None
    row = conn.execute(
        select(tables.Meta.c.value).where(tables.Meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else None


def written_by(conn: Connection) -> str | None:
    row = conn.execute(select(tables.Meta.c.value).where(tables.Meta.c.key == TOOL_KEY)).first()
    return row[0] if row else None


def _put(conn: Connection, key: str, value: str) -> None:
    meta = tables.Meta
    if conn.execute(select(meta.c.key).where(meta.c.key == key)).first():
        conn.execute(meta.update().where(meta.c.key == key).values(value=value))
    else:
        conn.execute(meta.insert().values(key=key, value=value))


def _set_version(conn: Connection, version: int) -> None:
    _put(conn, "schema_version", str(version))
    _put(conn, TOOL_KEY, __version__)


def _lock(conn: Connection) -> None:
    """Serialise schema changes across processes; released at commit. SQLite's BEGIN IMMEDIATE
    already holds the write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def newer_message(version: int, tool: str | None) -> str:
    needs = f" {tool} or later" if tool and tool != __version__ else ""
    return (
        f"the database is at schema version {version}, newer than this mlops-oncall "
        f"understands ({LATEST}); upgrade mlops-oncall{needs}"
    )


def older_message(where: str, version: int) -> str:
    return (
        f"the database {where} is at schema version {version}, older than this "
        f"mlops-oncall's ({LATEST}): run `{UPGRADE_COMMAND}` to upgrade it"
    )


def _foreign() -> StoreError:
    return StoreError(
        "the database has tables but no mlops-oncall schema version; "
        "is it another application's database?"
    )


def open_schema(engine: Engine, where: str, *, upgrade: bool) -> tuple[int | None, int]:
    """Make the schema usable: create it in an empty database, refuse a newer one, and upgrade
    an older one if ``upgrade`` (else refuse it, naming the command). Returns (the version
    found, None for an empty database; the version now in place)."""
    with read_tx(engine) as conn:  # the common case, a current schema, takes no write lock
        version = current_version(conn)
        tool = written_by(conn) if version is not None else None
    if version == LATEST:
        return version, version
    if version is None:
        with write_tx(engine) as conn:
            _lock(conn)
            version = current_version(conn)  # another terminal may have created it meanwhile
            if version is None:
                if inspect(conn).get_table_names():
                    raise _foreign()
                tables.metadata.create_all(conn)
                _set_version(conn, LATEST)
                return None, LATEST
            tool = written_by(conn)
    if version > LATEST:
        raise StoreError(newer_message(version, tool))
    if version < LATEST and not upgrade:
        raise StoreError(older_message(where, version))
    return version, _upgrade(engine, where)


def _upgrade(engine: Engine, where: str) -> int:
    for target, _what, step in MIGRATIONS:
        with write_tx(engine) as conn:
            _lock(conn)
            version = current_version(conn)
            if version is None or version >= target:  # done already, maybe by another process
                continue
            try:
                if step is not None:
                    step(conn)
                _set_version(conn, target)
            except exc.DBAPIError as err:  # the step's transaction rolls back as a whole
                raise StoreError(
                    f"could not upgrade the database {where} to schema version {target}: "
                    f"{first_line(err.orig)}; it is still at version {version}"
                ) from None
    return LATEST
