"""checks.yaml's types: the pydantic models of the file (an entry, its timeout, thresholds,
SLO, maintenance windows) and the runtime specs a load turns them into (``CheckSpec`` with its
``Request``, the ``CheckSet``). Loading and validation are in ``checks.config``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_serializer, field_validator, model_validator

from mlops_oncall.checks import presets as _presets
from mlops_oncall.checks import promql as _promql
from mlops_oncall.checks.conditions import Condition, Level
from mlops_oncall.checks.redact import Redactor, strip_userinfo
from mlops_oncall.formats.durations import Duration
from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.validate import FileModel, did_you_mean, new_dict, new_list, zone_name

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
LABEL_PATTERN = r"^[a-z_][a-z0-9_]*$"  # a label fills the runbook placeholder of its name
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


# --------------------------------------------------------------------------- models


class Thresholds(FileModel):
    """Consecutive results needed before a check changes state."""

    degraded_after: int = Field(default=2, ge=1, le=1000, description="Results degraded or worse.")
    down_after: int = Field(default=3, ge=1, le=1000, description="Results down in a row.")
    recover_after: int = Field(default=2, ge=1, le=1000, description="Results up in a row.")


class Timeout(FileModel):
    """Time limits of one probe: connecting, and the whole exchange including the body."""

    connect: Duration | None = Field(default=None, description="Default: the total.")
    total: Duration

    @field_validator("connect", "total")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() <= 0:
            raise ValueError("a timeout must be longer than 0s")
        return value

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"total": value}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(
                f"expected a duration with a unit such as '5s', or {{connect, total}}; got {value}"
            )
        return value

    @model_validator(mode="after")
    def _order(self) -> Timeout:
        if self.connect is not None and self.connect > self.total:
            raise ValueError("timeout.connect must not be longer than timeout.total")
        return self

    @property
    def connect_seconds(self) -> float:
        return (self.connect or self.total).total_seconds()

    @property
    def total_seconds(self) -> float:
        return self.total.total_seconds()


class Slo(FileModel):
    """Service level objective, used by the weekly report."""

    availability: float | None = Field(
        default=None,
        description="Target share of polls up, as a percentage such as '99.9%'.",
        json_schema_extra={"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
    )
    latency: Duration | None = Field(default=None, description="Target response time.")
    window: Duration = Field(
        default=timedelta(days=28),
        description="The rolling window the availability is measured over (the weekly "
        "report reads this many days back from its end).",
    )
    degraded: Literal["up", "down"] = Field(
        default="up",
        description="How a degraded poll counts against the availability: 'up' (it answered) "
        "or 'down' (too slow or partial is a failure for this objective).",
    )

    @field_validator("availability", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip() if not isinstance(value, bool) else ""
        if text.endswith("%"):
            try:
                pct = Decimal(text[:-1].strip())
            except InvalidOperation:
                pct = None
            if pct is not None and 0 < pct <= 100:
                return float(pct / 100)
        raise ValueError(f"expected a percentage such as '99.9%', got {value!r}")

    @field_serializer("availability")
    def _dump_percent(self, value: float | None) -> str | None:
        if value is None:
            return None
        return f"{Decimal(str(value)) * 100:f}".rstrip("0").rstrip(".") + "%"


class Maintenance(FileModel):
    """A recurring window in which a check reports ``maintenance`` and raises no alarm."""

    every: list[str] = Field(
        default_factory=new_list, description="Weekday names; empty means every day."
    )
    start: str = Field(description="Local start time, HH:MM (24h).", pattern=r"^\d{1,2}:\d{2}$")
    duration: Duration
    tz: str = Field(default="UTC", description="IANA time zone of start, e.g. Europe/Berlin.")

    @field_validator("every")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        out = []
        for day in value:
            low = str(day).strip().lower()
            full = next((d for d in WEEKDAYS if d == low or d[:3] == low), None)
            if full is None:
                raise ValueError(
                    f"unknown weekday '{day}'{did_you_mean(low, WEEKDAYS)}; "
                    "expected monday … sunday"
                )
            out.append(full)
        return out

    @field_validator("start")
    @classmethod
    def _clock(cls, value: str) -> str:
        hh, mm = (int(p) for p in value.split(":"))
        if hh > 23 or mm > 59:
            raise ValueError(f"expected a time HH:MM between 00:00 and 23:59, got '{value}'")
        return f"{hh:02d}:{mm:02d}"

    @field_validator("duration")
    @classmethod
    def _span(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(days=7):
            raise ValueError("a maintenance window lasts more than 0s and at most 7d")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        return zone_name(value)

    def window_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of the window containing ``now``, in UTC, or None."""
        zone = ZoneInfo(self.tz)
        local = now.astimezone(zone)
        hh, mm = (int(p) for p in self.start.split(":"))
        days_back = self.duration.days + 1
        for back in range(days_back + 1):
            day = local.date() - timedelta(days=back)
            if self.every and WEEKDAYS[day.weekday()] not in self.every:
                continue
            start = datetime(day.year, day.month, day.day, hh, mm, tzinfo=zone)
            begin = start.astimezone(UTC)
            end = begin + self.duration
            if begin <= now < end:
                return begin, end
        return None


# the record types a dns check asks for (validated here: dnspython is imported only to query)
DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "SOA", "CAA")


class DnsQuery(FileModel):
    """What a ``kind: dns`` check asks, and of which server."""

    name: str = Field(
        min_length=1,
        max_length=253,
        description="The name to resolve; for PTR, an IP address is turned into its reverse name.",
    )
    type: str = Field(default="A", description=f"Record type: {', '.join(DNS_TYPES)}.")
    server: str | None = Field(
        default=None,
        description="The name server, host or host:port (port 53 by default); "
        "default: the first nameserver of /etc/resolv.conf.",
    )

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        up = value.strip().upper()
        if up not in DNS_TYPES:
            raise ValueError(
                f"unknown record type '{value}'{did_you_mean(up, DNS_TYPES)}; "
                f"expected one of {', '.join(DNS_TYPES)}"
            )
        return up


class Defaults(FileModel):
    interval: Duration = Field(default=timedelta(seconds=30), description="How often to probe.")
    timeout: Timeout = Field(
        default_factory=lambda: Timeout(total=timedelta(seconds=5)),
        description="One duration, or {connect, total}.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        return _check_interval(value)


def _check_interval(value: timedelta) -> timedelta:
    if value.total_seconds() < 0.01:
        raise ValueError("an interval must be at least 10ms")
    return value


class Check(FileModel):
    """One entry of ``checks``: a probe, or a preset that expands into several."""

    id: str = Field(pattern=ID_PATTERN, description="Unique id, e.g. fraud-model-ready.")
    name: str | None = Field(default=None, description="Display name; default: the id.")
    group: str | None = Field(default=None, description="Grouping in the UI, e.g. serving.")
    service: str | None = Field(default=None, description="Ties checks, incidents and deploys.")
    kind: Literal["http", "tcp", "grpc", "dns", "prometheus"] = "http"
    url: str | None = Field(
        default=None,
        description="http(s)://…; for tcp, tcp://host:port (tls://host:port with TLS); "
        "for grpc, grpc://host:port or grpcs://host:port; none for dns (see dns:); "
        "for prometheus, the Prometheus server's base URL (http://prometheus:9090).",
    )
    grpc_service: str | None = Field(
        default=None,
        description="grpc: the service name asked of grpc.health.v1.Health/Check; "
        "default: the server as a whole.",
    )
    dns: DnsQuery | None = Field(default=None, description="kind dns: the query.")
    method: str = Field(default="GET", description="HTTP method.")
    headers: dict[str, str] = Field(default_factory=new_dict)
    body: str | None = Field(default=None, description="Request body.")
    query: str | None = Field(
        default=None,
        description="prometheus: the PromQL of an instant query; conditions read each "
        "series' value as [VALUE].",
    )
    on_empty: Literal[_promql.ON_NO_VALUE] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="prometheus: the state when the query returns no series (default unknown).",
    )
    on_nan: Literal[_promql.ON_NO_VALUE] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="prometheus: how a series whose value is NaN or ±Inf counts: unknown "
        "(left out; the default), up or down.",
    )
    interval: Duration | None = None
    timeout: Timeout | None = Field(default=None, description="One duration, or {connect, total}.")
    conditions: list[str] = Field(default_factory=new_list, description="Failing any: down.")
    warn: list[str] = Field(default_factory=new_list, description="Failing any: degraded.")
    thresholds: Thresholds | None = None
    slo: Slo | None = None
    runbook: str | None = None
    labels: dict[str, str | int | float] = Field(
        default_factory=new_dict,
        description="Values for runbook command placeholders of the same name, e.g. "
        "namespace: ml-serving; they win over oncall.yaml vars: for this check's incidents.",
        json_schema_extra={"propertyNames": {"pattern": LABEL_PATTERN}},
    )
    depends_on: list[str] = Field(default_factory=new_list)
    insecure: bool = Field(default=False, description="Skip TLS certificate verification.")
    maintenance: list[Maintenance] = Field(default_factory=new_list)
    preset: Literal[_presets.PRESETS] | None = Field(  # type: ignore[valid-type]
        default=None, description="Expand into the health endpoints of an ML server."
    )
    base_url: str | None = Field(default=None, description="Preset: the server's base URL.")
    model: str | None = Field(default=None, description="Preset: the model name.")
    model_version: str | None = Field(
        default=None,
        description="Preset oip_v2_grpc or triton_grpc: the model version ModelReady asks for; "
        "default: the server's choice.",
    )
    management_url: str | None = Field(
        default=None, description="Preset torchserve: the management API's base URL."
    )
    management_token: str | None = Field(
        default=None,
        description="Preset torchserve: the management key, as ${env:NAME} (token authorisation).",
    )
    inference_token: str | None = Field(
        default=None,
        description="Preset torchserve: the inference key for /ping, as ${env:NAME}.",
    )
    max_queue: int | None = Field(
        default=None,
        ge=0,
        description="Preset vllm or tgi: degraded when more requests than this wait (/metrics); "
        "vllm_queue: down when more wait.",
    )
    max_queue_time: Duration | None = Field(
        default=None,
        description="Preset triton_queue_time: down when a request waits longer than this "
        "in the queue, on average over 5 minutes.",
    )
    job: str | None = Field(
        default=None, description="Preset prometheus_targets: only the targets of this job."
    )

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        up = value.upper()
        if up not in METHODS:
            raise ValueError(f"expected one of {', '.join(METHODS)}; got '{value}'")
        return up

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else _check_interval(value)


class ChecksFile(FileModel):
    """checks.yaml."""

    defaults: Defaults = Field(default_factory=Defaults)
    checks: list[Check] = Field(default_factory=new_list)


# --------------------------------------------------------------------------- runtime specs


@dataclass(frozen=True, slots=True)
class ParsedCondition:
    condition: Condition
    level: Level


class Request:
    """What a probe sends, with secrets resolved; it never prints them."""

    __slots__ = ("_host_key", "body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes | None):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self._host_key: str | None = None

    def __repr__(self) -> str:
        return f"Request({self.method} {strip_userinfo(self.url)!r}, secrets hidden)"

    __str__ = __repr__

    def host_key(self) -> str:
        """host:port, for the per-host concurrency limit (computed once: read every poll)."""
        if self._host_key is None:
            parts = urlsplit(self.url if "://" in self.url else f"tcp://{self.url}")
            self._host_key = f"{parts.hostname or ''}:{parts.port or ''}"
        return self._host_key


@dataclass(frozen=True)
class CheckSpec:
    """One runnable check after defaults, presets and ${env:} resolution."""

    id: str
    name: str
    kind: str
    url: str  # for display: ${env:NAME} unresolved, URL credentials masked
    method: str
    interval: timedelta
    connect_timeout: float
    total_timeout: float
    conditions: tuple[ParsedCondition, ...]
    thresholds: Thresholds
    request: Request = field(repr=False, compare=False)
    group: str | None = None
    service: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # for display, unresolved
    slo: Slo | None = None
    runbook: str | None = None
    depends_on: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    insecure: bool = False
    maintenance: tuple[Maintenance, ...] = ()
    preset: str | None = None
    parent: str | None = None  # the preset entry's id
    evaluator: str | None = None  # "health_json"
    promql: _promql.PromQuery | None = None  # kind prometheus: its query
    source: str = ""  # file:line of the entry

    @cached_property  # read on every poll
    def needs_body(self) -> bool:
        return (
            self.evaluator is not None
            or self.promql is not None
            or any(c.condition.needs_body for c in self.conditions)
        )

    @cached_property
    def needs_certificate(self) -> bool:
        return any(c.condition.needs_certificate for c in self.conditions)

    def maintenance_window(self, now: datetime) -> tuple[datetime, datetime] | None:
        for window in self.maintenance:
            hit = window.window_at(now)
            if hit:
                return hit
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "service": self.service,
            "kind": self.kind,
            "url": self.url,
            "preset": self.preset,
            "interval": self.interval,
            "depends_on": list(self.depends_on),
            "runbook": self.runbook,
        }


@dataclass(frozen=True)
class RefusedCheck:
    """A check entry left out by a lenient load, with the problems that refused it."""

    id: str  # the entry's id, or checks[N] when it has no usable one
    index: int  # position in the file's checks list
    line: int
    problems: tuple[Problem, ...]
    group: str | None = None  # the entry's group, if it names one: the UI shows it there


@dataclass
class CheckSet:
    file: str
    specs: dict[str, CheckSpec]
    redactor: Redactor
    defaults: Defaults
    groups: dict[str, list[str]] = field(default_factory=dict)  # preset id -> expanded ids
    refused: list[RefusedCheck] = field(default_factory=list)  # lenient loads only

    def __iter__(self):
        return iter(self.specs.values())

    def __len__(self) -> int:
        return len(self.specs)

    def ids(self) -> list[str]:
        return list(self.specs)

    def select(self, wanted: list[str] | tuple[str, ...]) -> tuple[list[CheckSpec], list[str]]:
        """Specs named by ids or preset ids; plus the names that matched nothing."""
        out: list[CheckSpec] = []
        unknown: list[str] = []
        for name in wanted:
            ids = self.groups.get(name) or ([name] if name in self.specs else [])
            if not ids:
                unknown.append(name)
            out.extend(self.specs[i] for i in ids if self.specs[i] not in out)
        return out, unknown
