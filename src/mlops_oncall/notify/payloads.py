"""The wire shape of a status update for each destination type.

- Slack incoming webhooks: ``{"text", "blocks"}``; ``text`` is the notification fallback. A
  header block's text is at most 150 characters, a section's at most 3000, a message at most
  50 blocks (Slack's Block Kit reference); ``&``, ``<`` and ``>`` are escaped as Slack's
  "Formatting text for app surfaces" asks, so no update can write ``<!channel>``, ``<!here>``
  or a ``<@user>`` mention, and ``link_names`` is never set.
- Atlassian Statuspage (REST API v1): ``POST /v1/pages/{page_id}/incidents`` opens the
  incident, ``PATCH /v1/pages/{page_id}/incidents/{incident_id}`` adds each later update; the
  body is ``{"incident": {...}}`` with ``status`` (investigating, identified, monitoring,
  resolved), ``body``, ``components`` (component id -> state) and ``component_ids``.
- The generic JSON webhook: a versioned document (``"version": 1``, docs/communication.md).
- SMTP: one plain-text email.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from mlops_oncall.formats.timestamps import rfc3339

WEBHOOK_VERSION = 1
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
SLACK_FALLBACK_MAX = 3000

# the incident's status -> Statuspage's incident status
STATUSPAGE_STATUS = {
    "triage": "investigating",
    "investigating": "investigating",
    "identified": "identified",
    "mitigated": "monitoring",
    "resolved": "resolved",
    "closed": "resolved",
    "declined": "resolved",
}
# the incident's severity -> the state of its service's component while it is open
STATUSPAGE_COMPONENT = {
    "SEV1": "major_outage",
    "SEV2": "partial_outage",
    "SEV3": "degraded_performance",
    "SEV4": "degraded_performance",
}
STATUSPAGE_IMPACT = {"SEV1": "critical", "SEV2": "major", "SEV3": "minor", "SEV4": "none"}


@dataclass(frozen=True)
class Update:
    """One status update as it leaves: redacted text, and what it is about."""

    incident: str  # public id
    title: str
    severity: str
    status: str
    service: str | None
    text: str
    seq: int  # the status_update event's seq
    at: datetime
    by: str
    key: str  # the idempotency key (per update and destination)


def encode(doc: dict[str, Any]) -> bytes:
    """The exact bytes sent (and hashed)."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_escaped(text: str, limit: int) -> str:
    """Escaped text cut to ``limit`` characters, never inside an escape (``&amp;``)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most ``limit`` characters, split at line ends where it can
    be and never inside an escape (``&amp;``)."""
    out: list[str] = []
    rest = slack_escape(text.strip()) or "(empty)"
    while rest:
        if len(rest) <= limit:
            out.append(rest)
            break
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
            amp = rest.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
        out.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return out


def slack(u: Update) -> dict[str, Any]:
    title = f"[{u.severity}] {u.incident}: {u.title}"
    header = _cut_escaped(slack_escape(title), SLACK_HEADER_MAX)
    sections = _chunks(u.text, SLACK_SECTION_MAX)
    room = SLACK_BLOCKS_MAX - 2  # the header and the context
    if len(sections) > room:
        sections = [*sections[: room - 1], "… (the rest of this update is in the incident)"]
    context = f"{u.status} · {u.service or 'no service'} · by {u.by} · {rfc3339(u.at)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": s, "verbatim": True}}
            for s in sections
        ),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(context)}]},
    ]
    first = next((line for line in u.text.splitlines() if line.strip()), "")
    fallback = _cut_escaped(
        slack_escape(f"{title}: {first}" if first else title), SLACK_FALLBACK_MAX
    )
    return {"text": fallback, "blocks": blocks}


def statuspage(u: Update, components: dict[str, str], *, create: bool) -> dict[str, Any]:
    status = STATUSPAGE_STATUS.get(u.status, "investigating")
    incident: dict[str, Any] = {"status": status, "body": u.text}
    component = components.get(u.service or "")
    if component:
        state = (
            "operational"
            if status in ("monitoring", "resolved")
            else (STATUSPAGE_COMPONENT.get(u.severity, "degraded_performance"))
        )
        incident["component_ids"] = [component]
        incident["components"] = {component: state}
    if create:
        incident = {
            "name": u.title,
            "impact_override": STATUSPAGE_IMPACT.get(u.severity, "none"),
            "deliver_notifications": True,
            **incident,
        }
    return {"incident": incident}


def webhook(u: Update) -> dict[str, Any]:
    """The generic webhook's document, version 1 (docs/communication.md pins it)."""
    return {
        "version": WEBHOOK_VERSION,
        "type": "status_update",
        "idempotency_key": u.key,
        "incident": {
            "id": u.incident,
            "title": u.title,
            "severity": u.severity,
            "status": u.status,
            "service": u.service,
        },
        "update": {"seq": u.seq, "at": rfc3339(u.at), "by": u.by, "text": u.text},
    }


def email(u: Update, sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = _cut(f"[{u.severity}] {u.incident} {u.status}: {u.title}", 200)
    msg["Date"] = format_datetime(u.at)
    msg["Message-ID"] = f"<{u.key}@mlops-oncall>"  # a resend is recognisably the same mail
    msg.set_content(u.text)
    return msg
