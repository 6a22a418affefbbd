"""What a queued notification says, and its body for each destination type.

A message is built when the notification is queued, from the timeline event that caused it and
the incident's row, redacted, and kept as JSON in the queue row: a resend after a restart sends
the same bytes. Keys: kind (declared, unacknowledged, escalation, acknowledge, resolve),
incident (public id), title, severity, status, service, at (the event's time, RFC 3339),
summary (one line), detail (a second line or empty).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.notify import pagerduty
from mlops_oncall.notify.payloads import WEBHOOK_VERSION, slack_escape

SUMMARY = {
    "declared": "declared",
    "unacknowledged": "not acknowledged",
    "escalation": "escalation",
    "acknowledge": "acknowledged",
    "resolve": "resolved",
}


def message(
    kind: str, ev: dict[str, Any], pid: str, data: dict[str, Any], at: str
) -> dict[str, Any]:
    """The message of ``kind`` for the trigger event ``ev`` (with its incident's columns)."""
    detail = ""
    if kind == "unacknowledged":
        detail = (
            f"not acknowledged {format_duration_s(data.get('after_seconds'))} after it was declared"
        )
    elif kind == "escalation":
        detail = (
            f"escalate to {data.get('to')}: runbook {data.get('runbook')}'s "
            f"{format_duration_s(data.get('after_seconds'))} passed without mitigation"
        )
    summary = f"[{ev['severity']}] {pid} {SUMMARY[kind]}: {ev['title']}"
    return {
        "kind": kind,
        "incident": pid,
        "title": ev["title"],
        "severity": ev["severity"],
        "status": ev["status"],
        "service": ev["service"],
        "at": at,
        "summary": summary,
        "detail": detail,
    }


def format_duration_s(seconds: Any) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=int(seconds or 0)))


def slack(m: dict[str, Any]) -> dict[str, Any]:
    """A plain Slack message (escaped like status updates: no mention can be written)."""
    text = m["summary"] + (f"\n{m['detail']}" if m["detail"] else "")
    return {"text": slack_escape(text)[:3000]}


def webhook(m: dict[str, Any], key: str) -> dict[str, Any]:
    """The webhook document, version 1, type notification (docs/communication.md)."""
    if m["kind"] == "slo_page":  # no incident needed: the SLO's figures instead
        return {
            "version": WEBHOOK_VERSION,
            "type": "notification",
            "idempotency_key": key,
            "incident": {"id": m["incident"]} if m.get("incident") else None,
            "slo": {
                k: m[k]
                for k in ("slo", "objective", "window", "checks", "rows", "budget_remaining")
            }
            | {"runbook": m.get("runbook")},
            "notification": {
                "kind": m["kind"],
                "at": m["at"],
                "summary": m["summary"],
                "detail": m["detail"],
            },
        }
    return {
        "version": WEBHOOK_VERSION,
        "type": "notification",
        "idempotency_key": key,
        "incident": {
            "id": m["incident"],
            "title": m["title"],
            "severity": m["severity"],
            "status": m["status"],
            "service": m["service"],
        },
        "notification": {
            "kind": m["kind"],
            "at": m["at"],
            "summary": m["summary"],
            "detail": m["detail"],
        },
    }


def email(m: dict[str, Any], key: str, sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = m["summary"][:200]
    msg["Message-ID"] = f"<{key}@mlops-oncall>"
    msg.set_content((m["detail"] or m["summary"]) + "\n")
    return msg


def pagerduty_event(m: dict[str, Any], routing_key: str, dedup: str) -> dict[str, Any]:
    return pagerduty.event(m, routing_key, dedup)
