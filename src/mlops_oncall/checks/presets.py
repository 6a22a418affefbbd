"""Presets: the health endpoints of common ML servers, each expanding into one check per endpoint.

What each server answers (DOMAIN.md, "Health endpoints of ML servers"):
- Open Inference Protocol v2 (KServe, Triton, Seldon MLServer): ``/v2/health/live``,
  ``/v2/health/ready`` and ``/v2/models/{name}/ready``. Triton and MLServer answer with an empty
  body, and 400 while a model loads, so only the status code is checked. An unloaded model's
  ``/ready`` is 404 while the server's stays 200, hence the per-model check.
- TorchServe: ``/ping`` on the inference port (``{"status": "Healthy"}``), and per-model worker
  status on the management port, ``/models/{name}``, where every worker must be READY.
- MLflow scoring server: ``/ping`` and ``/health`` answer 200 with a body of ``"\\n"`` that is
  labelled JSON but is not, so no condition reads the body.
- BentoML: ``/livez`` and ``/readyz``; 503 with a text reason while not ready.
- ``application/health+json`` (IETF draft): ``status`` pass/warn/fail (also ok/up, error/down)
  maps to up/degraded/down, and every entry under ``checks`` is reported as a condition result.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from mlops_oncall.checks.conditions import ConditionResult, Observation, json_value

PresetName = Literal["oip_v2", "triton", "torchserve", "mlflow", "bentoml", "health_json"]
PRESETS: tuple[str, ...] = ("oip_v2", "triton", "torchserve", "mlflow", "bentoml", "health_json")
HEALTH_JSON = "health_json"


@dataclass(frozen=True, slots=True)
class Endpoint:
    suffix: str  # the expanded check id is "<id>.<suffix>"
    title: str
    url: str
    conditions: tuple[str, ...]
    depends_on: tuple[str, ...] = ()  # suffixes of the same preset
    evaluator: str | None = None


class PresetError(ValueError):
    """A preset parameter is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def endpoints(
    preset: str,
    *,
    base_url: str | None,
    model: str | None = None,
    management_url: str | None = None,
    url: str | None = None,
) -> list[Endpoint]:
    """The endpoints a preset covers; raises PresetError naming the parameter at fault."""
    if preset == HEALTH_JSON:
        if url and base_url:
            raise PresetError("url", "give either url or base_url for health_json, not both")
        target = url or (_join(base_url, "/health") if base_url else None)
        if not target:
            raise PresetError("base_url", "preset health_json needs base_url (or url)")
        return [Endpoint("health", "health (application/health+json)", target, (), (), HEALTH_JSON)]
    if url:
        raise PresetError("url", f"preset {preset} builds its URLs from base_url; remove url")
    if not base_url:
        raise PresetError("base_url", f"preset {preset} needs base_url")
    ok = ("[STATUS] == 200",)
    if preset in ("oip_v2", "triton"):
        out = [
            Endpoint("live", "server live", _join(base_url, "/v2/health/live"), ok),
            Endpoint("ready", "server ready", _join(base_url, "/v2/health/ready"), ok, ("live",)),
        ]
        if model:
            out.append(
                Endpoint(
                    "model-ready",
                    f"model {model} ready",
                    _join(base_url, f"/v2/models/{quote(model, safe='')}/ready"),
                    ok,
                    ("ready",),
                )
            )
        return out
    if preset == "torchserve":
        out = [
            Endpoint(
                "ready",
                "ping",
                _join(base_url, "/ping"),
                ("[STATUS] == 200", "[BODY].status == Healthy"),
            )
        ]
        if management_url or model:
            if not model:
                raise PresetError("model", "preset torchserve with management_url needs model")
            if not management_url:
                raise PresetError(
                    "management_url", "preset torchserve with model needs management_url"
                )
            out.append(
                Endpoint(
                    "model-ready",
                    f"model {model} workers READY",
                    _join(management_url, f"/models/{quote(model, safe='')}"),
                    (
                        "[STATUS] == 200",
                        "len([BODY][0].workers) > 0",
                        "[BODY][0].workers[*].status == READY",
                    ),
                    ("ready",),
                )
            )
        return out
    if preset == "mlflow":
        if model:
            raise PresetError("model", "preset mlflow serves one model; remove model")
        return [
            Endpoint("live", "ping", _join(base_url, "/ping"), ok),
            Endpoint("ready", "health", _join(base_url, "/health"), ok, ("live",)),
        ]
    if preset == "bentoml":
        if model:
            raise PresetError("model", "preset bentoml checks the service; remove model")
        return [
            Endpoint("live", "livez", _join(base_url, "/livez"), ok),
            Endpoint("ready", "readyz", _join(base_url, "/readyz"), ok, ("live",)),
        ]
    raise PresetError("preset", f"unknown preset '{preset}'")  # pragma: no cover - schema guards


# --------------------------------------------------------------------------- health+json

_PASS = {"pass", "ok", "up"}
_WARN = {"warn"}
_FAIL = {"fail", "error", "down"}
MAX_ENTRIES = 100


def health_json_results(obs: Observation) -> list[ConditionResult]:
    """The top-level status and every ``checks`` entry, as condition results.

    A failing entry is reported at the level the overall status implies (the document's
    own verdict wins): under ``fail`` it fails the check, otherwise it makes it degraded.
    """
    data, error = obs.body_json()
    if error is not None:
        return [
            ConditionResult(
                "[BODY].status",
                "fail",
                False,
                None,
                f"[BODY] is not valid JSON ({error})",
                "body_parse",
            )
        ]
    if not isinstance(data, dict) or "status" not in data:
        return [
            ConditionResult("[BODY].status", "fail", False, None, "[BODY].status: path not found")
        ]
    status = data["status"]
    word = status.lower() if isinstance(status, str) else None
    top: list[ConditionResult] = []
    if word in _PASS:
        top.append(ConditionResult("[BODY].status", "fail", True, status, f'status = "{status}"'))
    elif word in _WARN:
        top.append(ConditionResult("[BODY].status", "warn", False, status, f'status = "{status}"'))
    elif word in _FAIL:
        top.append(ConditionResult("[BODY].status", "fail", False, status, f'status = "{status}"'))
    else:
        top.append(
            ConditionResult(
                "[BODY].status",
                "fail",
                False,
                json_value(status),
                f"status = {_show(status)} is not one of pass, warn, fail (ok/up, error/down)",
            )
        )
    entry_level = "fail" if word in _FAIL else "warn"
    out = list(top)
    checks = data.get("checks")
    if isinstance(checks, dict):
        for key, entries in checks.items():
            items = entries if isinstance(entries, list) else [entries]
            for item in items:
                if len(out) > MAX_ENTRIES:
                    break
                out.append(_entry(str(key), item, len(items) > 1, entry_level))
    return out


def _entry(key: str, item: Any, several: bool, level: str) -> ConditionResult:
    if not isinstance(item, dict):
        return ConditionResult(key, level, False, None, f"{key}: entry is not an object")  # type: ignore[arg-type]
    name = key
    if several and item.get("componentId") is not None:
        name = f"{key}[{item['componentId']}]"
    status = item.get("status")
    word = status.lower() if isinstance(status, str) else None
    observed = json_value(item.get("observedValue"))
    unit = item.get("observedUnit")
    shown = f"{name} = {_show(observed)}"
    if unit and observed is not None:
        shown += f" {unit}"
    if status is None:
        shown += " (no status)"
    else:
        shown += f": {status}"
    output = item.get("output")
    if output and word not in _PASS:
        shown += f" ({output})" if isinstance(output, str) else ""
    success = word in _PASS or status is None
    entry_level = "warn" if word in _WARN else level
    return ConditionResult(name, entry_level, success, observed, shown)  # type: ignore[arg-type]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
