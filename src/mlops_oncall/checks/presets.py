"""Presets: the health endpoints of common ML servers, each expanding into one check per endpoint.

Each preset was checked against the server's own source; the version and file are named with it.
Where a server answers "not ready" for one model while the server as a whole is up, the
server-wide check is ``degraded`` (a warn condition) and the per-model check carries the ``down``.

- ``oip_v2``, Open Inference Protocol v2. MLServer 1.7.1 (``mlserver/handlers/dataplane.py``
  ``ready()``: all models ready; ``mlserver/rest/endpoints.py``: 200/400, empty body; an unknown
  model is 404 ``{"error": "Model … not found"}``) and KServe 0.21.0's Python server
  (``kserve/protocol/rest/v2_endpoints.py``: a model not ready is 503
  ``{"error":"Model with name … is not ready."}``; its server-ready does not look at the models).
  ``/v2/health/live``, ``/v2/health/ready`` (every model ready, so with ``model`` set it only
  degrades) and ``/v2/models/{model}/ready``.
- ``triton``, Triton Inference Server 2.73.0dev, commit e1db8a6 (``src/http_server.cc``
  ``HandleServerHealth``: 200 or 400 with an empty body; ``HandleModelReady``: 400
  ``{"error":"Model version not ready"}``). With ``--strict-readiness=true``, the default
  (``docs/customization_guide/deploy.md``), the server's ready fails while any model is unavailable,
  so with ``model`` set it only degrades.
- ``kserve_v1``, KServe 0.21.0's Python model server, v1 protocol
  (``kserve/protocol/rest/v1_endpoints.py``): ``/`` answers ``{"status": "alive"}`` and
  ``/v1/models/{model}`` answers ``{"name": …, "ready": true}``, or 503 while it loads.
- ``torchserve``, TorchServe 0.12.0, commit 62c4d6a. ``/ping`` (``InferenceRequestHandler.java``)
  answers 200 ``{"status": "Healthy"}`` or, since 0.8.0, 500 ``"Unhealthy"`` when a model has fewer
  workers than its minWorkers; up to 0.7.1 it answered 200 ``"Partial Healthy"`` (``ApiUtils.java``
  ``getWorkerStatus``), read here as degraded. The management API's ``/models/{model}`` lists the
  workers: none READY is down, fewer READY than minWorkers is degraded. Token authorisation
  (``TokenAuthorizationHandler.java``, on by default since 0.11.1) wants
  ``Authorization: Bearer <key>``: the management key on the management API, the inference key
  on ``/ping``; a wrong or missing key is 400 ``InvalidKeyException``.
- ``mlflow_tracking``, MLflow 3.17.2 tracking server, ``mlflow server``
  (``mlflow/server/__init__.py``): ``/health`` answers ``OK`` without touching the backend store, so
  readiness is a one-row ``registered-models/search`` (REST API, reads the store); it has no
  ``/ping`` (Flask's HTML 404).
- ``mlflow_scoring``, MLflow 3.17.2 scoring server, ``mlflow models serve``
  (``mlflow/pyfunc/scoring_server/__init__.py``): ``/ping`` and ``/health`` are one handler, 200
  with a body of ``"\\n"`` labelled JSON (it is not, so no condition reads it), 404 if the model did
  not load; until it has loaded the port refuses connections. ``mlflow`` is its deprecated old name.
- ``bentoml``, BentoML 1.4.40 (``_bentoml_impl/server/app.py``): ``/livez`` and ``/readyz``, 503
  with a text reason while not ready.
- ``vllm``, vLLM's OpenAI server, main at commit 055e47c
  (``vllm/entrypoints/serve/instrumentator/health.py``): ``/health`` is an empty 200, or 503 once
  the engine is dead. Its queue is the Prometheus gauge ``vllm:num_requests_waiting`` on
  ``/metrics`` (``vllm/v1/metrics/loggers.py``), summed over engines and models.
- ``tgi``, Text Generation Inference 3.3.6-dev0, commit db931fc (``router/src/server.rs``):
  ``/health`` is an empty 200, or 503 ``{"error": "unhealthy", "error_type": "healthcheck"}``; its
  queue is the gauge ``tgi_queue_size`` on ``/metrics``. For both, ``max_queue`` makes a longer
  queue degraded; a ``/metrics`` without the gauge is down (another server, or a renamed metric).
- ``ray_serve``, Ray Serve 2.60.0 (``ray/serve/_private/proxy.py``): ``/-/healthz`` answers
  ``success``, or 503 while the node drains; ``/-/routes`` maps route prefixes to applications, 503
  until the route table is populated.
- ``feast``, the Feast 0.67.0 feature server (``feast/feature_server.py``): ``/health`` is an empty
  200, or 503 when the registry cannot be read.
- ``vllm_queue``, ``triton_queue_time`` and ``prometheus_targets`` are ``kind: prometheus``
  checks against the Prometheus server at ``base_url`` (checks/promql.py). ``vllm_queue``: the
  gauge ``vllm:num_requests_waiting`` (labels ``model_name``, ``engine``; vLLM
  ``vllm/v1/metrics/loggers.py``) summed per job, instance and model, down above ``max_queue``.
  ``triton_queue_time``: Triton's counters ``nv_inference_queue_duration_us`` (cumulative queue
  time) and ``nv_inference_request_success`` (labels ``model``, ``version``; Triton
  ``docs/user_guide/metrics.md``), their 5-minute rates divided per job, instance and model,
  in ms, down above ``max_queue_time``; no requests in 5 minutes is 0/0 = NaN, read as up.
  ``prometheus_targets``: ``up`` (1 when the last scrape worked, Prometheus's
  ``docs/concepts/jobs_instances.md``) of every target, or of ``job``, down when any is 0. For
  all three, no series at all is down: Prometheus does not scrape the server (or a metric was
  renamed).
- ``health_json``, ``application/health+json`` (IETF draft-inadarei-api-health-check): ``status``
  pass/warn/fail (also ok/up, error/down) maps to up/degraded/down, and every entry under ``checks``
  is reported as a condition result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from mlops_oncall.checks.conditions import ConditionResult, Observation, json_value

PRESETS: tuple[str, ...] = (
    "oip_v2",
    "triton",
    "kserve_v1",
    "torchserve",
    "mlflow_tracking",
    "mlflow_scoring",
    "mlflow",
    "bentoml",
    "vllm",
    "tgi",
    "ray_serve",
    "feast",
    "health_json",
    "vllm_queue",
    "triton_queue_time",
    "prometheus_targets",
    "oip_v2_grpc",
    "triton_grpc",
)
HEALTH_JSON = "health_json"
GRPC_HEALTH = "grpc_health"  # the evaluator of a grpc check on the standard health protocol
TORCHSERVE_WORKERS = "torchserve_workers"
QUEUE = "queue"  # evaluator "queue:<gauge>:<max or empty>"
# Old names still accepted, with the warning a load gives and the preset they stand for.
DEPRECATED: dict[str, tuple[str, str]] = {
    "mlflow": (
        "mlflow_scoring",
        "preset mlflow is deprecated: it probes MLflow's scoring server (/ping); write "
        "mlflow_scoring for `mlflow models serve`, or mlflow_tracking for `mlflow server`",
    ),
}
# Preset parameters beyond base_url; which presets take each (the rest refuse it).
TAKES_MODEL = (
    "oip_v2",
    "triton",
    "kserve_v1",
    "torchserve",
    "vllm_queue",
    "triton_queue_time",
    "oip_v2_grpc",
    "triton_grpc",
)
# gRPC twins of the Open Inference Protocol presets: base_url is grpc://host:port (grpcs://)
GRPC_PRESETS = ("oip_v2_grpc", "triton_grpc")
TAKES_TOKENS = ("torchserve",)
QUEUE_GAUGES = {"vllm": "vllm:num_requests_waiting", "tgi": "tgi_queue_size"}
# kind: prometheus presets: base_url is the Prometheus server
PROMETHEUS = ("vllm_queue", "triton_queue_time", "prometheus_targets")


@dataclass(frozen=True, slots=True)
class Endpoint:
    suffix: str  # the expanded check id is "<id>.<suffix>"
    title: str
    url: str
    conditions: tuple[str, ...]
    depends_on: tuple[str, ...] = ()  # suffixes of the same preset
    evaluator: str | None = None
    warn: tuple[str, ...] = ()  # failing one makes the check degraded, not down
    headers: tuple[tuple[str, str], ...] = ()  # e.g. a token; secrets resolved by the loader
    kind: str = "http"  # or "prometheus": url is the server, query its PromQL
    query: str | None = None
    on_empty: str = "unknown"
    on_nan: str = "unknown"
    rpc: str | None = None  # kind "grpc": the full method name; request: its message as JSON
    request: str | None = None


class PresetError(ValueError):
    """A preset parameter is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"),) if token else ()


OK = ("[STATUS] == 200",)


def endpoints(
    preset: str,
    *,
    base_url: str | None,
    model: str | None = None,
    management_url: str | None = None,
    url: str | None = None,
    management_token: str | None = None,
    inference_token: str | None = None,
    max_queue: int | None = None,
    max_queue_time: float | None = None,  # seconds
    job: str | None = None,
    model_version: str | None = None,
) -> list[Endpoint]:
    """The endpoints a preset covers; raises PresetError naming the parameter at fault."""
    preset = DEPRECATED[preset][0] if preset in DEPRECATED else preset
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
    if model and preset not in TAKES_MODEL:
        raise PresetError("model", f"preset {preset} checks the whole server; remove model")
    if preset not in TAKES_TOKENS:
        for name, value in (
            ("management_token", management_token),
            ("inference_token", inference_token),
        ):
            if value:
                raise PresetError(name, f"{name} is a torchserve parameter; remove it")
    if max_queue is not None and preset not in (*QUEUE_GAUGES, "vllm_queue"):
        raise PresetError(
            "max_queue", "max_queue is a vllm, tgi and vllm_queue parameter; remove it"
        )
    if max_queue_time is not None and preset != "triton_queue_time":
        raise PresetError(
            "max_queue_time", "max_queue_time is a triton_queue_time parameter; remove it"
        )
    if job is not None and preset != "prometheus_targets":
        raise PresetError("job", "job is a prometheus_targets parameter; remove it")
    if preset in QUEUE_GAUGES:
        return _llm(base_url, QUEUE_GAUGES[preset], max_queue)
    if management_url and preset != "torchserve":
        raise PresetError("management_url", "management_url is a torchserve parameter; remove it")
    if model_version is not None and (preset not in GRPC_PRESETS or not model):
        raise PresetError(
            "model_version", "model_version is an oip_v2_grpc and triton_grpc parameter with model"
        )
    if preset in GRPC_PRESETS:
        return _v2_grpc(base_url, model, model_version, _SERVER_READY[preset.removesuffix("_grpc")])
    if preset in PROMETHEUS:
        return [_prometheus(preset, base_url, model, max_queue, max_queue_time, job)]
    build = _BUILDERS.get(preset)
    if build is None:  # pragma: no cover - the schema guards
        raise PresetError("preset", f"unknown preset '{preset}'")
    return build(base_url, model, management_url, management_token, inference_token)


def _v2(base: str, model: str | None, server_ready: str) -> list[Endpoint]:
    live = Endpoint("live", "server live", _join(base, "/v2/health/live"), OK)
    if not model:
        return [
            live,
            Endpoint("ready", "server ready", _join(base, "/v2/health/ready"), OK, ("live",)),
        ]
    # server-ready covers every model: another model loading degrades it, this one fails below
    ready = Endpoint("ready", server_ready, _join(base, "/v2/health/ready"), (), ("live",), warn=OK)
    model_ready = Endpoint(
        "model-ready",
        f"model {model} ready",
        _join(base, f"/v2/models/{quote(model, safe='')}/ready"),
        OK,
        ("ready",),
    )
    return [live, ready, model_ready]


_SERVER_READY = {
    "oip_v2": "server ready (all models)",
    "triton": "server ready (strict readiness: all models)",
}


def _oip_v2(base, model, _mgmt, _mt, _it) -> list[Endpoint]:
    return _v2(base, model, _SERVER_READY["oip_v2"])


def _triton(base, model, _mgmt, _mt, _it) -> list[Endpoint]:
    return _v2(base, model, _SERVER_READY["triton"])


OIP = "/inference.GRPCInferenceService/"  # KServe's grpc_predict_v2.proto (checks/oip_grpc.py)


def _v2_grpc(
    base: str, model: str | None, version: str | None, server_ready: str
) -> list[Endpoint]:
    """The REST twin's checks over gRPC: the same states, read from the replies' booleans."""

    def call(suffix, title, rpc, flag, request="{}", depends=(), warn=False) -> Endpoint:
        conds = ("[STATUS] == OK", f"[BODY].{flag} == true")
        return Endpoint(
            suffix,
            title,
            base,
            () if warn else conds,
            depends,
            warn=conds if warn else (),
            kind="grpc",
            rpc=OIP + rpc,
            request=request,
        )

    live = call("live", "server live", "ServerLive", "live")
    if not model:
        return [live, call("ready", "server ready", "ServerReady", "ready", depends=("live",))]
    ask = {"name": model, **({"version": version} if version else {})}
    title = f"model {model}" + (f" version {version}" if version else "") + " ready"
    return [
        live,
        call("ready", server_ready, "ServerReady", "ready", depends=("live",), warn=True),
        call("model-ready", title, "ModelReady", "ready", json.dumps(ask), ("ready",)),
    ]


def _kserve_v1(base, model, _mgmt, _mt, _it) -> list[Endpoint]:
    if not model:
        raise PresetError("model", "preset kserve_v1 needs model (its /v1/models/{model})")
    return [
        Endpoint("live", "server live", _join(base, "/"), (*OK, "[BODY].status == alive")),
        Endpoint(
            "model-ready",
            f"model {model} ready",
            _join(base, f"/v1/models/{quote(model, safe='')}"),
            (*OK, "[BODY].ready == true"),
            ("live",),
        ),
    ]


def _torchserve(base, model, mgmt, management_token, inference_token) -> list[Endpoint]:
    out = [
        Endpoint(
            "ready",
            "ping",
            _join(base, "/ping"),
            OK,
            warn=("[BODY].status == Healthy",),  # "Partial Healthy" (TorchServe <= 0.7.1)
            headers=_bearer(inference_token),
        )
    ]
    if mgmt or model:
        if not model:
            raise PresetError("model", "preset torchserve with management_url needs model")
        if not mgmt:
            raise PresetError("management_url", "preset torchserve with model needs management_url")
        out.append(
            Endpoint(
                "model-ready",
                f"model {model} workers READY",
                _join(mgmt, f"/models/{quote(model, safe='')}"),
                OK,
                ("ready",),
                TORCHSERVE_WORKERS,
                headers=_bearer(management_token),
            )
        )
    elif management_token:
        raise PresetError("management_token", "management_token needs management_url and model")
    return out


def _mlflow_tracking(base, *_rest) -> list[Endpoint]:
    # /health never touches the backend store; a one-row registry search does
    search = "/api/2.0/mlflow/registered-models/search?max_results=1"
    return [
        Endpoint("live", "health", _join(base, "/health"), (*OK, "[BODY] == OK")),
        Endpoint("ready", "registry search", _join(base, search), OK, ("live",)),
    ]


def _mlflow_scoring(base, *_rest) -> list[Endpoint]:
    return [
        Endpoint("live", "ping", _join(base, "/ping"), OK),
        Endpoint("ready", "health", _join(base, "/health"), OK, ("live",)),
    ]


def _bentoml(base, *_rest) -> list[Endpoint]:
    return [
        Endpoint("live", "livez", _join(base, "/livez"), OK),
        Endpoint("ready", "readyz", _join(base, "/readyz"), OK, ("live",)),
    ]


def _health_only(base, *_rest) -> list[Endpoint]:
    return [Endpoint("health", "health", _join(base, "/health"), OK)]


def _llm(base: str, gauge: str, max_queue: int | None) -> list[Endpoint]:
    limit = "" if max_queue is None else str(max_queue)
    return [
        Endpoint("health", "health", _join(base, "/health"), OK),
        Endpoint(
            "queue", "queue", _join(base, "/metrics"), OK, ("health",), f"{QUEUE}:{gauge}:{limit}"
        ),
    ]


def _ray_serve(base, *_rest) -> list[Endpoint]:
    return [
        Endpoint("health", "proxy healthz", _join(base, "/-/healthz"), OK),
        Endpoint("routes", "routes", _join(base, "/-/routes"), (*OK, "[BODY] != {}"), ("health",)),
    ]


def _prometheus(
    preset: str,
    base: str,
    model: str | None,
    max_queue: int | None,
    max_queue_time: float | None,
    job: str | None,
) -> Endpoint:
    def prom(suffix: str, title: str, query: str, condition: str, on_nan: str) -> Endpoint:
        return Endpoint(
            suffix, title, base, (condition,), kind="prometheus", query=query,
            on_empty="down", on_nan=on_nan,
        )  # fmt: skip

    if preset == "vllm_queue":
        if max_queue is None:
            raise PresetError("max_queue", "preset vllm_queue needs max_queue")
        by = "sum by (job, instance, model_name)"
        sel = _selector("model_name", model)
        query = f"{by} (vllm:num_requests_waiting{sel})"
        return prom("queue", "requests waiting", query, f"[VALUE] <= {max_queue}", "unknown")
    if preset == "triton_queue_time":
        if max_queue_time is None:
            raise PresetError("max_queue_time", "preset triton_queue_time needs max_queue_time")
        by = "sum by (job, instance, model)"
        sel = _selector("model", model)
        query = (
            f"{by} (rate(nv_inference_queue_duration_us{sel}[5m]))"
            f" / {by} (rate(nv_inference_request_success{sel}[5m])) / 1000"
        )
        limit = f"{Decimal(str(max_queue_time)) * 1000:f}".rstrip("0").rstrip(".")
        return prom("queue-time", "average queue time (ms)", query, f"[VALUE] <= {limit}", "up")
    return prom("up", "scrape targets up", f"up{_selector('job', job)}", "[VALUE] == 1", "unknown")


def _selector(label: str, value: str | None) -> str:
    """{label="value"} with the value quoted as a PromQL string (Go's escapes, as JSON's)."""
    return f"{{{label}={json.dumps(value)}}}" if value else ""


_BUILDERS: dict[str, Callable[..., list[Endpoint]]] = {
    "oip_v2": _oip_v2,
    "triton": _triton,
    "kserve_v1": _kserve_v1,
    "torchserve": _torchserve,
    "mlflow_tracking": _mlflow_tracking,
    "mlflow_scoring": _mlflow_scoring,
    "bentoml": _bentoml,
    "ray_serve": _ray_serve,
    "feast": _health_only,
}


# --------------------------------------------------------------------------- torchserve workers


def torchserve_workers_results(obs: Observation) -> list[ConditionResult]:
    """The workers of the first model version against its minWorkers.

    None READY fails; fewer READY than minWorkers degrades (the case TorchServe's own /ping
    calls "Unhealthy" since 0.8.0, while the READY ones still answer).
    """
    if obs.status != 200:
        return []  # [STATUS] == 200 reports it
    name = "workers READY"
    data, error = obs.body_json()
    if error is not None:
        return [
            ConditionResult(
                name, "fail", False, None, f"[BODY] is not valid JSON ({error})", "body_parse"
            )
        ]
    first = data[0] if isinstance(data, list) and data else None
    workers = first.get("workers") if isinstance(first, dict) else None
    if not isinstance(workers, list):
        return [ConditionResult(name, "fail", False, None, "[BODY][0].workers: path not found")]
    statuses = [w.get("status") if isinstance(w, dict) else None for w in workers]
    ready = sum(1 for s in statuses if s == "READY")
    wanted = first.get("minWorkers")
    wanted = (
        int(wanted) if isinstance(wanted, (int, Decimal)) and not isinstance(wanted, bool) else 0
    )
    others = sorted({str(s) for s in statuses if s != "READY"})
    shown = f"{ready} of {len(workers)} workers READY (minWorkers {wanted})"
    if others:
        shown += f"; others {', '.join(others)}"
    if ready == 0:
        return [ConditionResult(name, "fail", False, ready, shown)]
    if ready < wanted:
        return [ConditionResult(name, "warn", False, ready, shown)]
    return [ConditionResult(name, "fail", True, ready, shown)]


# --------------------------------------------------------------------------- prometheus queue


def gauge_total(text: str, name: str) -> Decimal | None:
    """The sum of a gauge's samples in Prometheus text exposition, or None if it has none."""
    total: Decimal | None = None
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        rest = line[len(name) :]
        if rest[:1] == "{":
            end = rest.rfind("}")
            if end < 0:
                continue
            rest = rest[end + 1 :]
        elif rest[:1] not in (" ", "\t"):
            continue  # another metric whose name starts with this one
        fields = rest.split()
        try:
            value = Decimal(fields[0]) if fields else None
        except ArithmeticError:
            continue
        if value is not None and value.is_finite():
            total = value if total is None else total + value
    return total


def queue_results(obs: Observation, gauge: str, max_queue: int | None) -> list[ConditionResult]:
    if obs.status != 200:
        return []  # [STATUS] == 200 reports it
    value = gauge_total(obs.body_text(), gauge)
    if value is None:
        return [ConditionResult(gauge, "fail", False, None, f"{gauge}: not in /metrics")]
    shown = f"{gauge} = {_show(value.normalize())}"
    if max_queue is not None and value > max_queue:
        return [
            ConditionResult(
                gauge, "warn", False, json_value(value), f"{shown}, expected <= {max_queue}"
            )
        ]
    return [ConditionResult(gauge, "fail", True, json_value(value), shown)]


def grpc_health_results(obs: Observation) -> list[ConditionResult]:
    """A grpc.health.v1 Check reply: SERVING is up, NOT_SERVING (or UNKNOWN) down, and
    SERVICE_UNKNOWN down with its own error class."""
    data, _ = obs.body_json()
    status = data.get("status") if isinstance(data, dict) else None
    name = "serving status"
    if status == "SERVING":
        return [ConditionResult(name, "fail", True, status, "serving status SERVING")]
    error_class = "service_unknown" if status == "SERVICE_UNKNOWN" else None
    shown = f"serving status {status}, expected SERVING"
    return [ConditionResult(name, "fail", False, status, shown, error_class)]


def preset_results(evaluator: str, obs: Observation) -> list[ConditionResult]:
    """The condition results a preset's own evaluator adds to a probe."""
    if evaluator == GRPC_HEALTH:
        return grpc_health_results(obs)
    if evaluator == HEALTH_JSON:
        return health_json_results(obs)
    if evaluator == TORCHSERVE_WORKERS:
        return torchserve_workers_results(obs)
    if evaluator.startswith(QUEUE + ":"):
        gauge, _, limit = evaluator[len(QUEUE) + 1 :].rpartition(":")
        return queue_results(obs, gauge, int(limit) if limit else None)
    return []  # pragma: no cover - endpoints() only names the two above


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
