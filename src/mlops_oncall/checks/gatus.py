"""``check import-gatus``: a Gatus config's endpoints as a checks.yaml, plus what did not carry over.

Carried over: ``name`` (also as a slug ``id``), ``group``, ``url``, ``method``, ``headers``,
``body`` (GraphQL bodies wrapped as Gatus does), ``interval``, ``conditions``, ``client.timeout``,
``client.insecure``, per-endpoint and global maintenance windows, and an alert's
failure/success thresholds as ``down_after``/``recover_after``. Gatus's ``${VAR}`` becomes
``${env:VAR}`` in url, headers and body. Everything else (alerting providers, non-HTTP kinds,
conditions on placeholders we do not have, UI and storage settings) is reported as a warning
located in the Gatus file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops_oncall.checks.conditions import Condition, ConditionError, parse_condition
from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.yamlsrc import Document, load_file

GATUS_INTERVAL = "60s"  # Gatus's defaults, so imported checks keep their pace
GATUS_TIMEOUT = "10s"
_GO_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_ENV_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_BARE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_UNSUPPORTED_SCHEMES = {
    "icmp": "icmp (ping)",
    "udp": "udp",
    "sctp": "sctp",
    "starttls": "starttls",
    "ssh": "ssh",
    "sftp": "sftp",
    "ws": "websocket",
    "wss": "websocket",
    "mqtt": "mqtt",
}
_TOP_LEVEL_NOTES = {
    "alerting": "alerting providers are not carried over; mlops-oncall raises alarms from "
    "check thresholds",
    "external-endpoints": "external endpoints (pushed results) are not supported; skipped",
    "suites": "suites are not supported; skipped",
    "storage": "storage is not carried over (mlops-oncall keeps its own store)",
    "web": "web is not carried over",
    "ui": "ui is not carried over",
    "security": "security is not carried over",
    "metrics": "metrics is not carried over",
    "connectivity": "connectivity checker is not carried over",
    "remote": "remote instances are not carried over",
    "announcements": "announcements are not carried over",
}


class _PlainDumper(yaml.SafeDumper):
    """No anchors and aliases: people edit this file by hand."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Imported:
    data: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    def yaml(self, source: str) -> str:
        header = (
            f"# Imported from {source} by `mlops-oncall check import-gatus`.\n"
            "# Differences from Gatus: numbers compare as decimals, a missing JSON path fails,\n"
            "# and `warn:` conditions make a check degraded.\n"
        )
        body = yaml.dump(
            self.data,
            Dumper=_PlainDumper,
            sort_keys=False,
            allow_unicode=True,
            width=1000,
            default_flow_style=False,
        )
        return header + body


def import_gatus(path: Path | str, display: str | None = None) -> Imported:
    doc = load_file(path, display)
    out = Imported(
        {"defaults": {"interval": GATUS_INTERVAL, "timeout": GATUS_TIMEOUT}, "checks": []}
    )
    out.problems.extend(doc.problems)
    if not isinstance(doc.data, dict):
        return out
    data = doc.data
    for key, note in _TOP_LEVEL_NOTES.items():
        if key in data:
            detail = note
            if key == "alerting" and isinstance(data[key], dict) and data[key]:
                detail = f"{note} ({', '.join(sorted(map(str, data[key])))})"
            out.problems.append(doc.warning((key,), detail, key=True))
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        out.problems.append(doc.error(("endpoints",), "no endpoints to import"))
        return out
    global_windows = _maintenance(doc, ("maintenance",), data.get("maintenance"), out)
    if global_windows:
        out.problems.append(
            doc.warning(
                ("maintenance",),
                "the global maintenance window is applied to every check",
                key=True,
            )
        )
    used: set[str] = set()
    for i, ep in enumerate(endpoints):
        if not isinstance(ep, dict):
            out.problems.append(doc.warning(("endpoints", i), "not a mapping; skipped"))
            continue
        check = _endpoint(doc, i, ep, out, used)
        if check is None:
            continue
        if global_windows:
            check.setdefault("maintenance", []).extend(global_windows)
        out.data["checks"].append(_ordered(check))
    if not out.data["checks"]:
        out.problems.append(doc.error(("endpoints",), "none of the endpoints could be imported"))
    out.problems.sort(key=lambda p: (p.line, p.col))
    return out


_ORDER = (
    "id", "name", "group", "kind", "url", "dns", "method", "headers", "body", "interval", "timeout",
    "insecure", "conditions", "thresholds", "maintenance",
)  # fmt: skip


def _ordered(check: dict[str, Any]) -> dict[str, Any]:
    return {k: check[k] for k in _ORDER if k in check}


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:90] or "check"


def _endpoint(doc: Document, i: int, ep: dict, out: Imported, used: set[str]) -> dict | None:
    loc = ("endpoints", i)
    name = str(ep.get("name") or f"endpoint-{i + 1}")

    def warn(sub: tuple, message: str, *, key: bool = False) -> None:
        out.problems.append(doc.warning((*loc, *sub), f"'{name}': {message}", key=key))

    if ep.get("enabled") is False:
        warn(("enabled",), "disabled in Gatus; skipped")
        return None
    url = ep.get("url")
    if not isinstance(url, str) or not url:
        warn((), "no url; skipped")
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    query = ep.get("dns")
    if "dns" in ep or scheme == "dns":
        if not (isinstance(query, dict) and query.get("query-name")):
            warn(("dns",) if "dns" in ep else ("url",), "dns without dns.query-name; skipped")
            return None
        scheme = "dns"  # Gatus's url is the name server: host, host:port or tcp://host:port
    if scheme in _UNSUPPORTED_SCHEMES:
        warn(("url",), f"{_UNSUPPORTED_SCHEMES[scheme]} checks are not supported; skipped")
        return None
    if scheme not in ("http", "https", "tcp", "tls", "grpc", "grpcs", "dns"):
        warn(("url",), f"unsupported URL scheme '{scheme or url}'; skipped")
        return None
    kind = _KINDS.get(scheme, "http")

    base = slug(name)
    cid = base
    if cid in used and ep.get("group"):
        cid = slug(f"{ep['group']}-{name}")
    n = 2
    while cid in used:
        cid = f"{base}-{n}"
        n += 1
    used.add(cid)

    check: dict[str, Any] = {"id": cid, "name": name}
    if ep.get("group"):
        check["group"] = str(ep["group"])
    if kind != "http":
        check["kind"] = kind
    if kind == "dns":
        server = url.split("://", 1)[-1]
        check["dns"] = {"name": str(query["query-name"]).rstrip(".")}
        if query.get("query-type"):
            check["dns"]["type"] = str(query["query-type"]).upper()
        if server:
            check["dns"]["server"] = server
    else:
        check["url"] = _env(url)
    method = ep.get("method")
    if method and kind == "http":
        check["method"] = str(method).upper()
    headers = ep.get("headers")
    if isinstance(headers, dict) and headers and kind in ("http", "grpc"):
        check["headers"] = {str(k): _env(str(v)) for k, v in headers.items()}
    body = ep.get("body")
    if body is not None and kind == "http":
        if ep.get("graphql"):
            # Gatus sends {"query": body} as JSON for graphql endpoints
            body = json.dumps({"query": str(body)})
            check.setdefault("headers", {}).setdefault("Content-Type", "application/json")
        check["body"] = _env(str(body))
    interval = ep.get("interval")
    if interval is not None:
        converted = _duration(interval)
        if converted is None:
            warn(("interval",), f"interval '{interval}' is not a duration; the default applies")
        else:
            check["interval"] = converted

    conditions = []
    for j, cond in enumerate(ep.get("conditions") or []):
        text = str(cond)
        try:
            parsed = parse_condition(text)
        except ConditionError as exc:
            warn(("conditions", j), f"condition '{text}' is not carried over: {exc.message}")
            continue
        dropped = _dropped(kind, scheme, parsed)
        if dropped:
            warn(("conditions", j), f"condition '{text}' {dropped}")
            continue
        if "$" in text and (_ENV_BRACED.search(text) or _ENV_BARE.search(text)):
            warn(("conditions", j), f"condition '{text}' uses an environment variable; "
                 "mlops-oncall resolves them only in url, headers and body")  # fmt: skip
        conditions.append(text)
    if conditions:
        check["conditions"] = conditions

    client = ep.get("client")
    if isinstance(client, dict):
        for key, value in client.items():
            if key == "timeout":
                converted = _duration(value)
                if converted is None:
                    warn(("client", key), f"client.timeout '{value}' is not a duration; dropped")
                else:
                    check["timeout"] = converted
            elif key == "insecure":
                if value and kind != "dns":
                    check["insecure"] = True
            elif key == "ignore-redirect" and value:
                warn(("client", key), "client.ignore-redirect is not supported: redirects are "
                     "followed (at most 5)", key=True)  # fmt: skip
            else:
                warn(("client", key), f"client.{key} is not carried over", key=True)

    alerts = ep.get("alerts")
    if isinstance(alerts, list) and alerts:
        kinds = sorted(
            {str(a.get("type")) for a in alerts if isinstance(a, dict) and a.get("type")}
        )
        warn(("alerts",), f"alerts are not carried over ({', '.join(kinds) or 'unnamed'}); "
             "alarms follow the check's thresholds", key=True)  # fmt: skip
        first = next((a for a in alerts if isinstance(a, dict)), {})
        thresholds = {}
        if isinstance(first.get("failure-threshold"), int) and first["failure-threshold"] > 0:
            thresholds["down_after"] = first["failure-threshold"]
            thresholds["degraded_after"] = min(2, first["failure-threshold"])
        if isinstance(first.get("success-threshold"), int) and first["success-threshold"] > 0:
            thresholds["recover_after"] = first["success-threshold"]
        if thresholds:
            check["thresholds"] = thresholds

    windows = _maintenance(doc, (*loc, "maintenance-windows"), ep.get("maintenance-windows"), out)
    if windows:
        check["maintenance"] = windows
    for key in ("ui", "extra-labels", "ssh", "always-run", "store-result-on-failure"):
        if key in ep:
            warn((key,), f"{key} is not carried over", key=True)
    return check


_KINDS = {"tcp": "tcp", "tls": "tcp", "grpc": "grpc", "grpcs": "grpc", "dns": "dns"}


def _dropped(kind: str, scheme: str, cond: Condition) -> str | None:
    """Why a condition cannot be carried over to a check of this kind, or None."""
    if kind == "http":
        return None
    missing = sorted(_names(cond) - _HAS[scheme])
    if not missing:
        return None
    shown = ", ".join(f"[{n}]" for n in missing)
    what = "dns" if scheme == "dns" else f"{scheme}://"
    return f"reads {shown}, which a {what} check does not have; dropped"


# what each non-http check can be asked (a grpc check's [STATUS] is its call's status name,
# where Gatus's is 0: a condition on it is dropped rather than given another meaning)
_BASIC = {"CONNECTED", "RESPONSE_TIME"}
_HAS = {
    "tcp": _BASIC,
    "tls": _BASIC | {"CERTIFICATE_EXPIRATION"},
    "grpc": _BASIC | {"BODY"},
    "grpcs": _BASIC | {"BODY", "CERTIFICATE_EXPIRATION"},
    "dns": _BASIC | {"BODY", "DNS_RCODE"},
}


def _names(cond: Condition) -> set[str]:
    return {
        getattr(getattr(side, "arg", side), "name", None) for side in (cond.left, cond.right)
    } - {None}


def _maintenance(doc: Document, loc: tuple, value: Any, out: Imported) -> list[dict]:
    items = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
    windows = []
    for k, item in enumerate(items):
        where = (*loc, k) if isinstance(value, list) else loc
        if not isinstance(item, dict) or item.get("enabled") is False:
            continue
        duration = _duration(item.get("duration"))
        start = item.get("start")
        if duration is None or not isinstance(start, str):
            out.problems.append(
                doc.warning(where, "maintenance window without start and duration; skipped")
            )
            continue
        window: dict[str, Any] = {"start": start, "duration": duration}
        every = item.get("every")
        if isinstance(every, list) and every:
            window["every"] = [str(d).lower() for d in every]
        window["tz"] = str(item.get("timezone") or "UTC")
        windows.append(window)
    return windows


def _duration(value: Any) -> str | None:
    """A Go duration ('1h30m', '30s') as one of ours ('90m', '30s')."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None  # Gatus needs a unit too
    if not isinstance(value, str) or not _GO_DURATION.match(value.strip()):
        return None
    seconds = sum(float(v) * _SECONDS[u] for v, u in _GO_PART.findall(value.strip()))
    if not 0 < seconds < 1e12:  # 400 digits make inf, which no duration of ours can hold
        return None
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms"


def _env(text: str) -> str:
    """Gatus's ${VAR} and $VAR as our ${env:VAR}."""
    text = _ENV_BRACED.sub(lambda m: f"${{env:{m.group(1)}}}", text)
    return re.sub(r"\$(?!\{)([A-Za-z_][A-Za-z0-9_]*)", lambda m: f"${{env:{m.group(1)}}}", text)
