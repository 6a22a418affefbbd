"""Alertmanager's webhook body, payload version 4, checked field by field.

The shape (Alertmanager's notify/webhook and template.Data): ``version``, ``groupKey``,
``truncatedAlerts``, ``status``, ``receiver``, ``groupLabels``, ``commonLabels``,
``commonAnnotations``, ``externalURL`` and ``alerts[]``, each alert with ``status``,
``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL`` and ``fingerprint``.
A firing alert's ``endsAt`` is Go's zero time, ``0001-01-01T00:00:00Z``. Unknown fields are
ignored (newer Alertmanagers add some); a wrong shape is a ``PayloadError`` whose message is
the 400's reason (Alertmanager does not retry a 4xx).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUSES = ("firing", "resolved")
MAX_ALERTS = 10_000  # past Alertmanager's own default max_alerts (0: all) is a misconfiguration
_ZERO_YEAR = 1  # Go's zero time
# RFC 3339 as Go writes it: up to nanoseconds, 'Z' or an offset
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload: the reason, naming the field."""


@dataclass(frozen=True)
class AlertIn:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None while firing (Go's zero time)
    generator_url: str | None
    fingerprint: str

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    receiver: str
    group_key: str
    status: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str | None
    truncated: int
    alerts: list[AlertIn]


def parse_time(text: Any, where: str) -> datetime | None:
    """An RFC 3339 time (Go writes nanoseconds: kept to microseconds); None for Go's zero."""
    if not isinstance(text, str):
        raise PayloadError(f"{where}: expected an RFC 3339 time string")
    m = _RFC3339.match(text.strip())
    if not m:
        raise PayloadError(f"{where}: '{text[:40]}' is not an RFC 3339 time")
    whole, frac, zone = m.groups()
    micro = (frac or "")[:6].ljust(6, "0")
    try:
        value = datetime.fromisoformat(f"{whole}.{micro}{'+00:00' if zone in 'Zz' else zone}")
    except ValueError:
        raise PayloadError(f"{where}: '{text[:40]}' is not a valid time") from None
    if value.year == _ZERO_YEAR:
        return None
    return value.astimezone(UTC)


def _labels(value: Any, where: str, *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where}: expected an object of strings")
    for k, v in value.items():
        if not isinstance(v, str):
            raise PayloadError(f"{where}.{k}: expected a string")
    return dict(value)


def _string(body: dict, key: str, where: str = "", *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise PayloadError(f"{where}{key}: expected a non-empty string")
    return value


def parse(body: Any) -> Notification:
    """The notification in ``body`` (parsed JSON); PayloadError naming the first bad field."""
    if not isinstance(body, dict):
        raise PayloadError("expected a JSON object (Alertmanager's webhook payload)")
    version = body.get("version")
    if version != "4":
        raise PayloadError(f'version: expected "4" (Alertmanager\'s webhook), got {version!r}')
    status = _string(body, "status")
    if status not in STATUSES:
        raise PayloadError(f"status: expected firing or resolved, got '{status}'")
    truncated = body.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("truncatedAlerts: expected a number of alerts (0 or more)")
    raw = body.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise PayloadError("alerts: expected a non-empty list")
    if len(raw) > MAX_ALERTS:
        raise PayloadError(f"alerts: {len(raw)} alerts in one notification, at most {MAX_ALERTS}")
    return Notification(
        receiver=_string(body, "receiver") or "",
        group_key=_string(body, "groupKey") or "",
        status=status,
        group_labels=_labels(body.get("groupLabels"), "groupLabels", required=False),
        common_labels=_labels(body.get("commonLabels"), "commonLabels", required=False),
        common_annotations=_labels(
            body.get("commonAnnotations"), "commonAnnotations", required=False
        ),
        external_url=_string(body, "externalURL", required=False) or None,
        truncated=truncated,
        alerts=[_alert(a, f"alerts[{i}].") for i, a in enumerate(raw)],
    )


def _alert(a: Any, where: str) -> AlertIn:
    if not isinstance(a, dict):
        raise PayloadError(f"{where[:-1]}: expected an object")
    status = _string(a, "status", where)
    if status not in STATUSES:
        raise PayloadError(f"{where}status: expected firing or resolved, got '{status}'")
    fingerprint = _string(a, "fingerprint", where) or ""
    if len(fingerprint) > 64:
        raise PayloadError(f"{where}fingerprint: expected at most 64 characters")
    starts = parse_time(a.get("startsAt"), f"{where}startsAt")
    if starts is None:
        raise PayloadError(f"{where}startsAt: expected the time the alert started")
    return AlertIn(
        status=status,
        labels=_labels(a.get("labels"), f"{where}labels"),
        annotations=_labels(a.get("annotations"), f"{where}annotations", required=False),
        starts_at=starts,
        ends_at=parse_time(a["endsAt"], f"{where}endsAt") if a.get("endsAt") else None,
        generator_url=_string(a, "generatorURL", where, required=False) or None,
        fingerprint=fingerprint,
    )
