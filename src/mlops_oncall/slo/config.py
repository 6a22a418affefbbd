"""slos.yaml: the workspace's SLOs, their error budgets and burn-rate alert policies.

Each SLO is computed from the polls of one or more checks (a ratio of sums over all of them);
bad means down, and degraded too with ``count_degraded: true``. The default policy is the SRE
Workbook's multiwindow, multi-burn-rate table for a 30-day window (chapter 5, "Alerting on
SLOs"). Problems are located (file:line:col: field: message) like every other file's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from mlops_oncall.formats.durations import Duration, format_duration
from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.validate import FileModel, validate
from mlops_oncall.formats.yamlsrc import load_file
from mlops_oncall.store.checks_history import LONGEST_ALERT_WINDOW

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
WINDOWS = {"28d": timedelta(days=28), "30d": timedelta(days=30)}
DEFAULT_MIN_BAD_EVENTS = 3


class PolicyRow(FileModel):
    """One alert: it fires when the burn rate over both windows exceeds ``burn_rate``."""

    long: Duration = Field(description="The long window, e.g. '1h'.")
    short: Duration = Field(description="The short window, e.g. '5m' (1/12 of the long).")
    burn_rate: float = Field(gt=0, description="How many times the sustainable rate, e.g. 14.4.")
    severity: Literal["page", "ticket"] = Field(description="page or ticket.")

    @model_validator(mode="after")
    def _windows(self) -> PolicyRow:
        for name, value in (("long", self.long), ("short", self.short)):
            if value.total_seconds() <= 0 or value.total_seconds() % 60:
                raise ValueError(f"{name} must be a whole number of minutes, such as '5m'")
        if self.short >= self.long:
            raise ValueError("short must be shorter than long")
        if self.long > LONGEST_ALERT_WINDOW:
            raise ValueError(
                f"long is at most {format_duration(LONGEST_ALERT_WINDOW)}: the per-minute "
                "roll-ups the windows are computed from are kept that long"
            )
        return self


def _row(long: int, short: int, rate: float, severity: str) -> PolicyRow:
    return PolicyRow(
        long=timedelta(minutes=long),
        short=timedelta(minutes=short),
        burn_rate=rate,
        severity=severity,  # type: ignore[arg-type]
    )


# The Workbook's table for 30 days: 2% of the budget in 1h, 5% in 6h, 10% in 1d, 10% in 3d.
DEFAULT_POLICY: tuple[PolicyRow, ...] = (
    _row(60, 5, 14.4, "page"),
    _row(360, 30, 6, "page"),
    _row(1440, 120, 3, "ticket"),
    _row(4320, 360, 1, "ticket"),
)


def parse_objective(value: Any) -> Decimal:
    """99.9 or '99.9%' -> Decimal('99.9'); more than 0 and less than 100."""
    if isinstance(value, bool):
        value = None
    text = str(value).strip().removesuffix("%").strip() if value is not None else ""
    try:
        pct = Decimal(text)
    except InvalidOperation:
        pct = None
    if pct is None or not pct.is_finite() or not 0 < pct < 100:
        raise ValueError(
            f"expected a percentage above 0 and below 100, such as 99.5, got {value!r}"
        )
    return pct


# Sloth's placeholder for the window (a Go template: '{{.window}}', spaces allowed)
WINDOW_TEMPLATE = re.compile(r"\{\{\s*\.window\s*\}\}")


def _selector_problem(query: str) -> str | None:
    """Why ``query`` is neither a series selector nor a template over ``{{.window}}``."""
    if WINDOW_TEMPLATE.search(query):
        return None
    bare = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', query)
    if any(c in bare for c in "()[]") or not bare.strip():
        return (
            "expected a counter's series selector, such as "
            'http_requests_total{code=~"5.."} (summed as sum(increase(SELECTOR[window]))), '
            "or a query of the events' per-second rate over {{.window}}, such as "
            'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
        )
    return None


class PrometheusPair(FileModel):
    """An SLO's events from Prometheus: bad (or good) and total events, as counters."""

    url: str = Field(
        description="The Prometheus server's base URL, e.g. http://prometheus:9090.",
        json_schema_extra={"pattern": r"^https?://\S+$"},
    )
    bad: str | None = Field(
        default=None,
        description="Bad events: a counter's series selector, or a per-second rate over "
        "{{.window}}.",
    )
    good: str | None = Field(
        default=None, description="Instead of bad: good events (bad = total - good)."
    )
    total: str = Field(description="All events, in the same form as bad or good.")
    unit: Literal["per_second", "events"] = Field(
        default="per_second",
        description="What a query over {{.window}} gives: the events' per-second rate "
        "(sum(rate(...)), as Sloth's) or the events themselves (increase, count_over_time).",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        if parts.username is not None:
            raise ValueError("credentials in the URL are not supported; give the bare URL")
        return value

    @field_validator("bad", "good", "total")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        why = None if value is None else _selector_problem(value)
        if why is not None:
            raise ValueError(why)
        return value

    @model_validator(mode="after")
    def _pair(self) -> PrometheusPair:
        if (self.bad is None) == (self.good is None):
            raise ValueError("give bad or good events (one of them), and total")
        return self


class SloEntry(FileModel):
    id: str = Field(pattern=ID_PATTERN, description="Unique id of the SLO.")
    description: str | None = Field(default=None, description="What it promises, to whom.")
    checks: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Check ids (checks.yaml) whose polls are its events (or prometheus).",
    )
    objective: str = Field(
        description="Target share of good polls, a percentage such as 99.5 or '99.9%'.",
        json_schema_extra={"type": ["number", "string"], "pattern": r"^\d+(\.\d+)?%?$"},
    )
    window: Literal["28d", "30d"] = Field(default="30d", description="The budget's window.")
    count_degraded: bool = Field(
        default=False, description="A degraded poll is bad too (down always is)."
    )
    min_bad_events: int = Field(
        default=DEFAULT_MIN_BAD_EVENTS,
        ge=1,
        description="Bad polls a page row's long window needs before it fires.",
    )
    policy: list[PolicyRow] | None = Field(
        default=None,
        description="Alert rows; default: the SRE Workbook's 1h/5m 14.4 page, 6h/30m 6 page, "
        "1d/2h 3 ticket, 3d/6h 1 ticket.",
    )
    prometheus: PrometheusPair | None = Field(
        default=None,
        description="Instead of checks: a Prometheus query pair of bad (or good) and total events.",
    )

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> str:
        return str(parse_objective(value))

    @model_validator(mode="after")
    def _events(self) -> SloEntry:
        if (self.checks is None) == (self.prometheus is None):
            raise ValueError("give its events as checks or as a prometheus query pair (one)")
        return self


class SlosFile(FileModel):
    slos: list[SloEntry] = Field(default_factory=list, description="The SLOs.")


@dataclass(frozen=True)
class Slo:
    """One SLO as evaluated: the objective as an exact percentage and its error budget."""

    id: str
    checks: tuple[str, ...]
    objective: Decimal  # percent: Decimal('99.9')
    window: timedelta
    window_text: str
    count_degraded: bool = False
    min_bad_events: int = DEFAULT_MIN_BAD_EVENTS
    policy: tuple[PolicyRow, ...] = DEFAULT_POLICY
    description: str | None = None
    prometheus: PrometheusPair | None = None  # instead of checks (slo/prometheus.py)

    @property
    def budget(self) -> float:
        """The error budget as a share: 1 - objective (0.001 for 99.9, exactly)."""
        return float((Decimal(100) - self.objective) / 100)

    @staticmethod
    def from_entry(entry: SloEntry) -> Slo:
        return Slo(
            id=entry.id,
            checks=tuple(entry.checks or ()),
            objective=Decimal(entry.objective),
            window=WINDOWS[entry.window],
            window_text=entry.window,
            count_degraded=entry.count_degraded,
            min_bad_events=entry.min_bad_events,
            policy=tuple(entry.policy) if entry.policy is not None else DEFAULT_POLICY,
            description=entry.description,
            prometheus=entry.prometheus,
        )


@dataclass
class SloSet:
    file: str
    slos: dict[str, Slo] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.slos.values())

    def __len__(self) -> int:
        return len(self.slos)


def load_slos(
    path: Path | str, display: str | None = None, *, known_checks: set[str] | None = None
) -> tuple[SloSet | None, list[Problem]]:
    """Read slos.yaml; the set is None when any error was found. ``known_checks``: the ids in
    checks.yaml, if it was read: an SLO naming another is a warning (it reads "no data")."""
    doc = load_file(path, display)
    model = validate(SlosFile, doc) if doc.data is not None else None
    if model is not None:
        seen: set[str] = set()
        for i, entry in enumerate(model.slos):
            if entry.id in seen:
                doc.problems.append(doc.error(("slos", i, "id"), f"duplicate SLO id '{entry.id}'"))
            seen.add(entry.id)
            for j, check in enumerate(entry.checks or ()):
                if known_checks is not None and check not in known_checks:
                    doc.problems.append(
                        doc.warning(
                            ("slos", i, "checks", j),
                            f"no check '{check}' in the checks file; it has no polls",
                        )
                    )
            for j, row in enumerate(entry.policy or ()):
                if row.short > row.long / 2:
                    doc.problems.append(
                        doc.warning(
                            ("slos", i, "policy", j, "short"),
                            "the Workbook's short window is 1/12 of the long one",
                        )
                    )
    problems = sorted(doc.problems, key=lambda p: (p.line, p.col, p.message))
    if model is None or any(p.is_error for p in problems):
        return None, problems
    return SloSet(doc.file, {e.id: Slo.from_entry(e) for e in model.slos}), problems
