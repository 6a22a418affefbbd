"""Action items: what an incident taught, each with a type, owner, due date, priority and the
ticket that tracks it. Every add and done is a timeline event, so the summary table can be
checked against the chain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from mlops_oncall.formats.errors import BadInput, IncidentError
from mlops_oncall.formats.refs import MAX_ID, public_id
from mlops_oncall.incidents import lifecycle as lc
from mlops_oncall.incidents.writer import Writer, retried
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.models import ActionItem as ActionRecord
from mlops_oncall.store.tables import ActionItem as ACTION
from mlops_oncall.store.tables import Incident as INC

PRIORITIES = ("P0", "P1", "P2", "P3")
MAX_LINK = 2000


class ActionItems(Writer):
    @retried
    def action_add(
        self,
        ref: str | int,
        text: str,
        *,
        type: str,
        owner: str,
        due: date | None = None,
        priority: str | None = None,
        link: str | None = None,
        at: datetime | None = None,
    ) -> ActionRecord:
        """Add an action item: what, its type, owner, due date, priority (P0 most urgent ..
        P3, as the Google SRE postmortem's) and the link to the ticket that tracks it."""
        priority, link = _priority(priority), _link(link)
        if type not in lc.ACTION_TYPES:
            raise BadInput(
                f"unknown action type '{type}'; expected one of {', '.join(lc.ACTION_TYPES)}"
            )
        text = text.strip()
        if not text:
            raise BadInput("an action item needs text")
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            if due is not None:  # before the incident: a typo, such as 12/20 read as last year
                from mlops_oncall.incidents.dates import check_due, local_day

                check_due(due, local_day(row["declared_at"] or row["created_at"], self.zone))
            number = (
                conn.execute(
                    select(func.max(ACTION.c.number)).where(ACTION.c.incident_id == row["id"])
                ).scalar()
                or 0
            ) + 1
            added = self._redacted(
                {
                    "op": "added",
                    "number": number,
                    "type": type,
                    "owner": owner,
                    "due": due.isoformat() if due else None,
                    "text": text,
                }
                # only when given: an item without them hashes as it always did
                | ({"priority": priority} if priority else {})
                | ({"link": link} if link else {})
            )
            item = {
                "incident_id": row["id"],
                "number": number,
                "text": added["text"],
                "type": type,
                "owner": added["owner"],
                "due": due,
                "status": "open",
                "created_at": when,
                "priority": priority,
                "link": added.get("link"),
            }
            item["id"] = conn.execute(insert(ACTION).values(**item)).inserted_primary_key[0]
            app = tl.Appender.for_row(conn, row)
            self._append(
                app,
                "action_item",
                when,
                f"action {number} ({type}, {owner}): {text}",
                added,
                redacted=True,
            )
        return ActionRecord.model_validate(item)

    @retried
    def action_done(
        self, ref: str | int, number: int, *, at: datetime | None = None
    ) -> ActionRecord:
        with self._write() as conn:
            row = self._row(conn, ref, lock=True)
            when = self._when(row, at)
            if not 0 < number <= MAX_ID:
                raise IncidentError(f"{public_id(row['id'])} has no action item {number}")
            item = (
                conn.execute(
                    select(ACTION).where(
                        ACTION.c.incident_id == row["id"], ACTION.c.number == number
                    )
                )
                .mappings()
                .first()
            )
            pid = public_id(row["id"])
            if item is None:
                raise IncidentError(f"{pid} has no action item {number}")
            if item["status"] == "done":
                raise IncidentError(f"action item {number} of {pid} is already done")
            conn.execute(
                update(ACTION).where(ACTION.c.id == item["id"]).values(status="done", done_at=when)
            )
            app = tl.Appender.for_row(conn, row)
            self._append(
                app, "action_item", when, f"action {number} done", {"op": "done", "number": number}
            )
            return ActionRecord.model_validate(dict(item) | {"status": "done", "done_at": when})

    def overdue_actions(self, day: date) -> list[tuple[ActionRecord, bool]]:
        """Open action items due before ``day``, the longest overdue first, each with whether
        its incident is a drill."""
        q = (
            select(ACTION, INC.c.is_drill)
            .join(INC, INC.c.id == ACTION.c.incident_id)
            .where(ACTION.c.status == "open", ACTION.c.due.is_not(None), ACTION.c.due < day)
            .order_by(ACTION.c.due, ACTION.c.incident_id, ACTION.c.number)
        )
        with self.store.read() as conn:
            rows = conn.execute(q).mappings().all()
        return [(ActionRecord.model_validate(r), bool(r["is_drill"])) for r in rows]


def _priority(value: str | None) -> str | None:
    if value is None:
        return None
    p = value.strip().upper()
    if p not in PRIORITIES:
        raise BadInput(
            f"unknown priority '{value}'; expected one of {', '.join(PRIORITIES)} (P0 most urgent)"
        )
    return p


def _link(value: str | None) -> str | None:
    """The tracking ticket: a URL or an id such as OPS-123, one token with no spaces."""
    if value is None:
        return None
    link = value.strip()
    if not link or len(link) > MAX_LINK or any(c.isspace() or not c.isprintable() for c in link):
        raise BadInput(
            f"a tracking link is a URL or a ticket id with no spaces, at most {MAX_LINK} "
            "characters (https://tracker/OPS-123 or OPS-123)"
        )
    return link


# the keys of an action item in `--json`, in their order (pinned by the CLI's tests)
JSON_KEYS = (
    "number",
    "text",
    "type",
    "owner",
    "due",
    "priority",
    "link",
    "status",
    "created_at",
    "done_at",
)


def action_json(item: ActionRecord) -> dict[str, Any]:
    d = item.model_dump()
    return {k: d[k] for k in JSON_KEYS}
