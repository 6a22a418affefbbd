"""POST /changes: a deploy or another change reported by CI/CD, Argo CD or a script, recorded
as a deploy (docs/intake.md has the shape and examples).

Idempotent on (service, version, kind, at): a sender's retry answers 200 with the deploy its
first delivery recorded; a new one answers 201."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from mlops_oncall.formats.actors import actor_problem
from mlops_oncall.formats.errors import IncidentError
from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.intake.body import read_json, refuse
from mlops_oncall.intake.keys import SESSION
from mlops_oncall.intake.write import write

KINDS = ("model", "config", "code")
OUTCOMES = ("succeeded", "failed", "rolled_back")
DEFAULT_KIND = "code"
DEFAULT_OUTCOME = "succeeded"
DEFAULT_ACTOR = "ci"  # a machine reported it: never put on a person
MAX_TEXT = 200  # service, version
MAX_URL = 2000
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Change:
    service: str
    version: str
    kind: str
    outcome: str
    url: str | None
    at: datetime | None
    actor: str


class Invalid(ValueError):
    """A field that is not what /changes expects: ``field: what was expected``."""


def parse_change(doc: dict[str, Any]) -> Change:
    """The change in a /changes body; unknown fields are ignored. Invalid names the field."""
    return Change(
        service=_text(doc, "service", required=True),
        version=_text(doc, "version", required=True, numbers=True),
        kind=_choice(doc, "kind", KINDS, DEFAULT_KIND),
        outcome=_choice(doc, "outcome", OUTCOMES, DEFAULT_OUTCOME),
        url=_url(doc.get("url")),
        at=_at(doc.get("at")),
        actor=_actor(doc.get("actor")),
    )


def _text(doc: dict, key: str, *, required: bool, numbers: bool = False) -> str:
    value = doc.get(key)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a build number
    if not isinstance(value, str) or not value.strip():
        raise Invalid(
            f"{key}: expected a non-empty string"
            + (", and it is required" if required and value is None else "")
        )
    if len(value) > MAX_TEXT:
        raise Invalid(f"{key}: expected at most {MAX_TEXT} characters")
    return value.strip()


def _choice(doc: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = doc.get(key)
    if value is None:
        return default
    if value not in allowed:
        raise Invalid(f"{key}: expected one of {', '.join(allowed)}")
    return value


def _url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL or not _URL.match(value):
        raise Invalid(f"url: expected an http:// or https:// URL of at most {MAX_URL} characters")
    return value


def _at(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise Invalid("at: expected an RFC 3339 time with its offset, e.g. 2026-12-06T10:00:00Z")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # 2026-02-30, 25:00
        raise Invalid("at: expected a real date and time, e.g. 2026-12-06T10:00:00Z") from None


def _actor(value: Any) -> str:
    if value is None:
        return DEFAULT_ACTOR
    problem = actor_problem(value) if isinstance(value, str) else "expected a string"
    if problem:
        raise Invalid(f"actor: {problem}")
    return value.strip()


async def handle(request: web.Request) -> web.Response:
    doc = await read_json(request)
    try:
        change = parse_change(doc)
    except Invalid as exc:
        refuse(request, 400, "invalid", str(exc))
    session = request.app[SESSION]

    def record() -> tuple[Any, bool]:
        deploys = session.deploys_as(change.actor)
        if change.at is None:  # nothing to know a retry by: a deploy of its own, now
            deploy = deploys.record(
                change.service, change.version, change.kind, change.outcome, notes=change.url
            )
            return deploy, True
        # the duplicate check and the insert in one transaction, the key locked
        return deploys.record_once(
            change.service,
            change.version,
            change.kind,
            change.outcome,
            at=change.at,
            notes=change.url,
        )

    try:
        deploy, created = await write(request, record)
    except IncidentError as exc:  # a time in the future, a rollback of an older version
        refuse(request, 400, "invalid", session.redactor.text(str(exc)))
    return web.json_response(
        {
            "id": deploy.id,
            "created": created,
            "service": deploy.service,
            "version": deploy.version,
            "kind": deploy.kind,
            "outcome": deploy.outcome,
            "at": rfc3339(deploy.at),
            "actor": deploy.actor,
        },
        status=201 if created else 200,
    )
