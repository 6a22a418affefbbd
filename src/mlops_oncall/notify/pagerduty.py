"""PagerDuty Events API v2: one event per notification, correlated per incident.

``POST {events_url}`` (default https://events.pagerduty.com/v2/enqueue) with a JSON body:
``routing_key``, ``event_action`` (trigger, acknowledge, resolve) and ``dedup_key`` (at most
255 characters); a trigger also carries ``payload`` {summary (at most 1024 characters),
source, severity (critical, error, warning, info), timestamp, component, group, class,
custom_details} and ``client``. Acknowledge and resolve carry only the key and action.
PagerDuty answers 202 (accepted), 400 (an invalid event: final), 429 (throttled: retry later)
and 5xx (retry). Later events with the same dedup_key act on the open alert; once it is
resolved an acknowledge or resolve is dropped, a trigger opens a new alert.
(PagerDuty developer docs: events-API-v2 "Send an Alert Event" and "Overview".)
"""

from __future__ import annotations

from typing import Any

SUMMARY_MAX = 1024
DEDUP_MAX = 255
CLIENT = "mlops-oncall"
# the incident's severity -> PagerDuty's
SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
# the notification's kind -> event_action
ACTION = {"acknowledge": "acknowledge", "resolve": "resolve"}


def dedup_key(prefix: str, incident: str) -> str:
    """One key per incident, the same for its trigger, acknowledge and resolve; the prefix is
    the database's own id, so two workspaces paging one service never share a key."""
    return f"{prefix}/{incident}"[:DEDUP_MAX]


def event(message: dict[str, Any], routing_key: str, key: str) -> dict[str, Any]:
    """The Events API v2 body for one queued notification (notify/messages.py's message)."""
    action = ACTION.get(message["kind"], "trigger")
    doc: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": key}
    if action != "trigger":
        return doc
    if message["kind"] == "slo_page":
        return _slo_trigger(doc, message)
    summary = message["summary"]
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1] + "…"
    payload: dict[str, Any] = {
        "summary": summary,
        "source": message.get("service") or CLIENT,
        "severity": SEVERITY.get(message["severity"], "error"),
        "timestamp": message["at"],
        "class": message["kind"],
        "custom_details": {
            "incident": message["incident"],
            "title": message["title"],
            "status": message["status"],
            "severity": message["severity"],
            **({"detail": message["detail"]} if message.get("detail") else {}),
        },
    }
    if message.get("service"):
        payload["component"] = message["service"]
    doc["payload"] = payload
    doc["client"] = CLIENT
    return doc


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _slo_trigger(doc: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """An SLO page episode's trigger (notify/slo_page.py): critical, its figures as details."""
    payload: dict[str, Any] = {
        "summary": _summary(message["summary"]),
        "source": message.get("service") or CLIENT,
        "severity": "critical",
        "timestamp": message["at"],
        "class": "slo_page",
        "custom_details": {
            k: message[k]
            for k in ("slo", "objective", "window", "checks", "rows", "budget_remaining")
        }
        | {k: message[k] for k in ("runbook", "incident") if message.get(k)},
    }
    if message.get("service"):
        payload["component"] = message["service"]
    return doc | {"payload": payload, "client": CLIENT}
