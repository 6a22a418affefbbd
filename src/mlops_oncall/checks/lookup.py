"""What checks.yaml says about checks, for other commands (``runbook match --check``).

Secrets do not matter here, so an unset ``${env:NAME}`` does not stop the lookup; a missing or
broken checks file simply yields nothing.
"""

from __future__ import annotations

import os
from typing import Any

from mlops_oncall.checks.config import load_checks
from mlops_oncall.checks.spec import CheckSet


class _AnyEnv(dict):
    """The environment, with a stand-in for unset names (only ids and runbooks are read)."""

    def get(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return os.environ.get(key, "unset")


def load_for_lookup(workspace: Any) -> CheckSet | None:
    path = getattr(workspace, "checks_file", None)
    if path is None or not path.is_file():
        return None
    checkset, _ = load_checks(path, env=_AnyEnv())
    return checkset


def runbook_context(
    workspace: Any, check_ids: list[str], services: list[str]
) -> tuple[dict[str, str], list[str]]:
    """(check id -> the runbook its config names, services extended with the checks' own)."""
    checkset = load_for_lookup(workspace)
    named: dict[str, str] = {}
    services = list(services)
    if checkset is None:
        return named, services
    for cid in check_ids:
        specs, _ = checkset.select([cid])
        for spec in specs:
            if spec.runbook and cid not in named:
                named[cid] = spec.runbook
            if spec.service and spec.service not in services:
                services.append(spec.service)
    return named, services
