"""What a document needs from outside the database: the checks file and the redactor.

The reports never probe anything, so the checks file is read only for each check's name,
service and ``slo``, and for the secret values it resolves from the environment: those must be
masked if they ever reached a stored message or note. An unset ``${env:NAME}`` must not cost the
report its SLOs, so it reads as empty here (an empty value is never a secret to mask).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from mlops_oncall.redact import DEFAULT, Redactor


@dataclass(frozen=True)
class CheckInfo:
    id: str
    name: str
    service: str | None
    slo_availability: float | None  # a share: 0.999
    slo_latency_ms: float | None
    slo_window: timedelta = timedelta(days=28)  # the availability is measured over it
    slo_degraded: str = "up"  # a degraded poll counts as up or as down


@dataclass
class Sources:
    """The checks (by id) and the redactor every document passes through (without a workspace:
    credential shapes only)."""

    checks: dict[str, CheckInfo] = field(default_factory=dict)
    redactor: Redactor = DEFAULT
    problems: list[str] = field(default_factory=list)  # why the checks file was not used
    # the weekly report's change failure rate RAG thresholds (oncall.yaml weekly:)
    cfr_amber_above: float = 0.20
    cfr_red_above: float = 0.40

    def redact(self, value: Any) -> Any:
        return self.redactor.value(value)

    def redact_text(self, text: str) -> str:
        return self.redactor.text(text)


class _EnvOrEmpty(dict):
    """Every ${env:NAME} resolves: to its value (which the redactor then knows), or to ""."""

    def get(self, key, default=None):
        return os.environ.get(key, "")


def load_sources(checks_file: Path | None, redactor: Redactor) -> Sources:
    """Read ``checks_file`` if it exists; a file with errors is reported, not fatal.

    ``redactor`` is the workspace's one redactor (``Session.redactor``): it learns every secret
    the file resolves, so a secret added since it was built is masked too."""
    if checks_file is None or not Path(checks_file).is_file():
        return Sources(redactor=redactor)
    from mlops_oncall.checks.config import load_checks

    checkset, problems = load_checks(checks_file, env=_EnvOrEmpty())
    if checkset is None:
        errors = [str(p) for p in problems if p.is_error]
        return Sources(redactor=redactor, problems=errors)
    checks = {}
    for spec in checkset:
        slo = spec.slo
        latency = slo.latency.total_seconds() * 1000 if slo and slo.latency else None
        checks[spec.id] = CheckInfo(
            spec.id,
            spec.name,
            spec.service,
            slo.availability if slo else None,
            latency,
            *((slo.window, slo.degraded) if slo else ()),
        )
    redactor.include(checkset.redactor)  # the checks file's resolved secrets
    return Sources(checks, redactor)
