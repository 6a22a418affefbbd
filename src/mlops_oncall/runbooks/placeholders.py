"""`{{ name }}` placeholders in runbook commands, and the values that fill them.

Plain substitution, not a template language: a command is shell text, and the only thing a
value may do is stand in for one word. Each value is shell-quoted (shlex.quote) for the quoting
context it lands in, so `'query={namespace="{{ namespace }}"}'` stays one argument whatever the
namespace holds. A name without a value is left as written and reported as missing: the caller
asks for it, and nothing runs or is copied until every name has a value.

Where values come from (a name may be filled by the first source that has it):

- the incident: ``incident``, ``service``, ``severity``, ``detected_at``, ``since``;
- the check it was declared from: ``check``, ``check_url``, ``base_url``, ``model``;
- what that check last saw, from the incident's timeline (its latest ``check_transition`` or
  ``check_run``): ``observed_status``, ``observed_latency_ms``, ``observed_error_class`` and, for
  each ``[BODY].a.b`` condition, ``observed_body_a_b``;
- the ``labels:`` of that check in checks.yaml (else of its service's checks): any name;
- the deploys of its service ("what changed"): ``current_version``, ``previous_version``;
- the workspace, ``vars:`` in oncall.yaml: any name (``namespace``, ``prometheus_url``…);
- the responder, asked at the step: the names below whose source is ``responder``.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlops_oncall.formats.timestamps import utc_seconds

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
OPEN = "{{"
NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
LOOKBACK = timedelta(hours=2)  # "what changed" looks this far before detection

# Every name a runbook may use without the workspace declaring it, and who fills it.
NAMES: dict[str, tuple[str, str]] = {
    "incident": ("incident", "the incident id, e.g. INC-0007"),
    "service": ("incident", "the incident's service (else the check's)"),
    "severity": ("incident", "the incident's severity"),
    "detected_at": ("incident", "when the failure was detected (RFC 3339, UTC)"),
    "since": ("incident", "a duration from 2h before detection until now, in minutes"),
    "check": ("check", "the check the incident was declared from"),
    "check_url": ("check", "the URL that check probes"),
    "base_url": ("check", "scheme://host:port of that URL"),
    "model": ("check", "the model name in an Open Inference Protocol URL"),
    "observed_status": ("check", "the HTTP status the check last saw ([STATUS])"),
    "observed_latency_ms": ("check", "the response time the check last saw, ms ([RESPONSE_TIME])"),
    "observed_error_class": ("check", "the error class of the check's last failure"),
    "current_version": ("deploys", "the service's newest succeeded deploy"),
    "previous_version": ("deploys", "the succeeded deploy before it, of another version"),
    "namespace": ("workspace", "the Kubernetes namespace of the service"),
    "prometheus_url": ("workspace", "the Prometheus base URL"),
    "mlflow_tracking_uri": ("workspace", "the MLflow tracking server's base URL"),
    "feature_server_url": ("workspace", "the Feast feature server's base URL"),
    "airflow_url": ("workspace", "the Airflow API server's base URL"),
    "dag_id": ("workspace", "the DAG that failed or is late"),
    "fallback_model": ("workspace", "the fallback model the router can switch to"),
    "flag_share": ("workspace", "the share of requests a model usually flags (0.012 = 1.2%)"),
    "llm_api_url": ("workspace", "the upstream LLM provider's API base URL"),
    "provider_status_url": ("workspace", "the LLM provider's status page (Statuspage API v2)"),
    "vector_db_url": ("workspace", "the vector database's base URL (Qdrant)"),
    "index": ("workspace", "the alias the service queries in the vector database"),
    "kafka_bootstrap": ("workspace", "Kafka bootstrap servers, host:port"),
    "consumer_group": ("workspace", "the inference consumers' Kafka group"),
    "topic": ("workspace", "the topic the inference consumers read"),
    "logical_date": ("responder", "the failed DAG run's logical date (RFC 3339)"),
    "run_id": ("responder", "a DAG run or training run id"),
    "task_id": ("responder", "an Airflow task id"),
    "pod": ("responder", "a pod name"),
    "node": ("responder", "a node name"),
    "job": ("responder", "a Kubernetes job name"),
    "threshold": ("responder", "a decision threshold derived during the step"),
    "value": ("responder", "a value derived during the step (e.g. a feature default)"),
    "commit": ("responder", "a git commit to revert"),
    "replicas": ("responder", "a replica count (the HPA floor)"),
    "max_replicas": ("responder", "a replica ceiling"),
    "max_requests": ("responder", "a concurrency cap"),
    "max_pending": ("responder", "a queue cap"),
    "cronjob": ("responder", "a Kubernetes CronJob name"),
    "team": ("responder", "the owning team"),
    "ticket": ("responder", "an approval ticket"),
    "gpu_quota": ("responder", "a GPU quota for the namespace"),
    "step": ("responder", "a checkpoint step"),
    "batch_size": ("responder", "a training batch size"),
    "grad_accum_steps": ("responder", "gradient accumulation steps"),
    "good_image": ("responder", "the last good image"),
    "bad_image": ("responder", "the failing image"),
    "digest": ("responder", "an image digest"),
    "ddl_time": ("responder", "when the schema change landed"),
    "partition": ("responder", "a table partition (YYYYMMDD)"),
    "start_time": ("responder", "where a backfill starts (the last good timestamp)"),
    "collection": ("responder", "a vector collection (the last good one)"),
    "offset": ("responder", "a Kafka offset to resume from"),
    "image": ("responder", "a container image (the last good one)"),
}


OBSERVED_BODY = "observed_body_"  # + a [BODY] path of a check's condition: any such name


def known_names(variables: Iterable[str] = ()) -> set[str]:
    """Built-in names plus ``variables`` (oncall.yaml vars, check labels). ``observed_body_*``
    names are known too (see ``is_known``): they depend on the checks' conditions."""
    return set(NAMES) | set(variables)


def is_known(name: str, known: set[str]) -> bool:
    return name in known or (name.startswith(OBSERVED_BODY) and len(name) > len(OBSERVED_BODY))


@dataclass(frozen=True)
class Use:
    """One placeholder in a command: its name and where it starts (character offset)."""

    name: str
    start: int


def uses(command: str) -> list[Use]:
    return [Use(m.group(1), m.start()) for m in PLACEHOLDER.finditer(command)]


def malformed(command: str) -> int | None:
    """The offset of a `{{` that does not open a valid placeholder, or None."""
    at = 0
    while (i := command.find(OPEN, at)) >= 0:
        m = PLACEHOLDER.match(command, i)
        if m is None:
            return i
        at = m.end()
    return None


@dataclass
class Sources:
    """Values for placeholders, where each came from, and prefills for those without one."""

    values: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value, origin: str) -> None:
        if name in self.values or value is None:
            return
        text = str(value).strip()
        if text:
            self.values[name] = text
            self.origins[name] = origin

    def with_values(self, extra: Mapping[str, str], origin: str = "responder") -> Sources:
        out = Sources(dict(self.values), dict(self.origins), dict(self.hints))
        for name, value in extra.items():
            if str(value).strip():
                out.values[name] = str(value).strip()
                out.origins[name] = origin
        return out


@dataclass
class Resolved:
    text: str  # the command with every known value substituted, quoted for the shell
    missing: list[str]  # names without a value, in order of first use; left as written

    @property
    def complete(self) -> bool:
        return not self.missing


def resolve(command: str, sources: Sources | Mapping[str, str]) -> Resolved:
    values = sources.values if isinstance(sources, Sources) else sources
    contexts = _quote_contexts(command)
    out: list[str] = []
    missing: list[str] = []
    at = 0
    for m in PLACEHOLDER.finditer(command):
        out.append(command[at : m.start()])
        name = m.group(1)
        value = values.get(name)
        if value is None:
            out.append(m.group(0))
            if name not in missing:
                missing.append(name)
        else:
            out.append(_quoted(str(value), contexts[m.start()]))
        at = m.end()
    out.append(command[at:])
    return Resolved("".join(out), missing)


def _quoted(value: str, context: str | None) -> str:
    """The value as one shell word in the quoting context it appears in.

    A value of safe characters goes in as it is. Otherwise the open quote is closed, the
    shlex-quoted value follows, and the quote reopens: adjacent words join, so the result is
    one argument and nothing in the value can end the quote early."""
    quoted = shlex.quote(value)
    if quoted == value:
        return value
    if context is None:
        return quoted
    return f"{context}{quoted}{context}"


def _quote_contexts(command: str) -> list[str | None]:
    """For each character: the quote it is inside (`'`, `"`) or None, as a POSIX shell reads it.

    `$(` opens a fresh context (its own quotes, even inside double quotes) until its `)`."""
    out: list[str | None] = []
    state: str | None = None
    outer: list[str | None] = []  # the states around each open $( )
    escaped = False
    prev = ""
    for ch in command:
        out.append(state)
        if escaped:
            escaped = False
        elif state == "'":
            if ch == "'":
                state = None
        elif ch == "\\":
            escaped = True
        elif ch == "(" and prev == "$":
            outer.append(state)
            state = None
        elif ch == ")" and state is None and outer:
            state = outer.pop()
        elif state == '"':
            if ch == '"':
                state = None
        elif ch in "'\"":
            state = ch
        prev = ch
    return out


# -- gathering ------------------------------------------------------------------------------
_OIP_MODEL = re.compile(r"/v[12]/models/([^/:?#]+)")
_BASE = re.compile(r"^([a-z][a-z0-9+.-]*://[^/?#]+)")


def gather(
    *,
    incident: Mapping | None = None,
    check: Mapping | None = None,
    observed: Mapping | None = None,
    labels: Mapping[str, object] | None = None,
    deploys: Iterable[Mapping] = (),
    variables: Mapping[str, object] | None = None,
    now: datetime | None = None,
) -> Sources:
    """Values from the incident row, the check it came from (id, url, service), what that
    check last saw (a check_transition or check_run event's data), the check's labels, the
    deploys of its service (newest first, as `deploy list` gives them) and oncall.yaml's
    `vars:`. The first source to fill a name wins: labels never replace the incident's own
    values, and win over the workspace's vars (a check is more specific)."""
    src = Sources()
    if incident is not None:
        src.put("incident", incident.get("public_id"), "incident")
        src.put("service", incident.get("service"), "incident")
        src.put("severity", incident.get("severity"), "incident")
        detected = incident.get("detected_at") or incident.get("declared_at")
        if isinstance(detected, datetime):
            src.put("detected_at", utc_seconds(detected), "incident")
            if now is not None:
                minutes = math.ceil(max(0.0, (now - detected + LOOKBACK).total_seconds()) / 60)
                src.put("since", f"{max(minutes, 1)}m", "incident")
            # a daily DAG's run for the day before detection is the usual suspect; only a hint
            day = (detected - timedelta(days=1)).date().isoformat()
            src.hints.setdefault("logical_date", f"{day}T00:00:00+00:00")
    if check is not None:
        origin = f"check {check.get('id')}"
        src.put("check", check.get("id"), origin)
        url = check.get("url") or ""
        src.put("check_url", url or None, origin)
        if m := _BASE.match(url):
            src.put("base_url", m.group(1), origin)
        if m := _OIP_MODEL.search(url):
            src.put("model", m.group(1), origin)
        src.put("model", check.get("model"), origin)
        src.put("service", check.get("service"), origin)
    if observed is not None:
        origin = f"check {observed.get('check')} (observed)"
        for name, value in observed_values(observed).items():
            src.put(name, value, origin)
    for name, value in (labels or {}).items():
        src.put(name, value, "checks.yaml labels")
    current = previous = None
    for d in deploys:
        if d.get("outcome") != "succeeded":
            continue
        if current is None:
            current = d
        elif d.get("version") != current.get("version"):
            previous = d
            break
    if current is not None:
        src.put("current_version", current.get("version"), f"deploy {current.get('id')}")
    if previous is not None:
        src.put("previous_version", previous.get("version"), f"deploy {previous.get('id')}")
    for name, value in (variables or {}).items():
        src.put(name, value, "oncall.yaml vars")
    return src


# the left operand of a condition, when it is a bare placeholder: `[BODY].a.b == ...`
_OPERAND = re.compile(r"^\s*\[(STATUS|RESPONSE_TIME|BODY)\](\S*)\s+(?:==|!=|<=|>=|<|>)\s")
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def observed_values(data: Mapping) -> dict[str, str]:
    """``observed_*`` values from a check_run event's data (every condition, its latency and
    error class) or a check_transition's (the conditions that failed, under ``observed``)."""
    out: dict[str, str] = {}
    seen: list[tuple[str, object]] = []
    conditions = data.get("conditions")
    if isinstance(conditions, list):
        seen += [(c.get("condition"), c.get("observed")) for c in conditions if isinstance(c, dict)]
    if isinstance(data.get("observed"), dict):
        seen += list(data["observed"].items())
    for text, value in seen:
        m = _OPERAND.match(text) if isinstance(text, str) else None
        if m is None or value is None:
            continue
        kind, path = m.groups()
        if kind == "STATUS":
            name = "observed_status"
        elif kind == "RESPONSE_TIME":
            name = "observed_latency_ms"
        else:
            # `.data[0].score` -> observed_body_data_0_score
            word = _NOT_NAME.sub("_", path.lower()).strip("_")
            if not word:
                continue
            name = OBSERVED_BODY + word
        out.setdefault(name, _word(value))
    if isinstance(data.get("latency_ms"), (int, float)):
        out.setdefault("observed_latency_ms", _word(round(data["latency_ms"])))
    if data.get("status") is not None:
        out.setdefault("observed_status", _word(data["status"]))
    if data.get("error_class"):
        out.setdefault("observed_error_class", _word(data["error_class"]))
    return out


def _word(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)
