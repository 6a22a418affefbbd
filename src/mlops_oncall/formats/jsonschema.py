"""JSON Schemas for every user-written file, for editors (yaml-language-server) and CI."""

from __future__ import annotations

import importlib
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# name -> (module, model, title); resolved lazily so one schema does not import every format
SCHEMAS: dict[str, tuple[str, str, str]] = {
    "runbook": ("mlops_oncall.runbooks.schema", "Runbook", "mlops-oncall runbook"),
    "config": ("mlops_oncall.config", "Config", "mlops-oncall workspace (oncall.yaml)"),
    "checks": (
        "mlops_oncall.checks.spec",
        "ChecksFile",
        "mlops-oncall health checks (checks.yaml)",
    ),
    "scenario": ("mlops_oncall.drills.scenario", "Scenario", "mlops-oncall drill scenario"),
    "slos": ("mlops_oncall.slo.config", "SlosFile", "mlops-oncall SLOs (slos.yaml)"),
    "readiness": (
        "mlops_oncall.readiness.schema",
        "Checklist",
        "mlops-oncall readiness checklist",
    ),
}


def schema_for(name: str) -> dict[str, Any]:
    module, attr, title = SCHEMAS[name]
    model = getattr(importlib.import_module(module), attr)
    body = model.model_json_schema(mode="validation")
    out: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"https://mlops-oncall.dev/schema/{name}.json",
        "title": title,
    }
    body.pop("title", None)
    out.update(body)
    return out
