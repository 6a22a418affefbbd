"""fraud-scoring: an Open Inference Protocol v2 model server, answering as MLServer 1.7.1 does.

Checked against the running MLServer (``mlserver/rest/endpoints.py``): readiness answers carry
no body and say "not ready" with 400 while the model loads (server-ready too, as it means every
model ready); an unknown model is 404 ``{"error":"Model … not found"}``, compact JSON.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from mlops_oncall.drills.fake.httpd import Request, Response, json_response, text_response
from mlops_oncall.drills.fake.services.base import Handler, Service

MODEL = "fraud"
VERSION = "3"
INPUT = "transaction"
OUTPUT = "fraud_probability"
WIDTH = 8  # features per transaction
WEIGHTS = (0.8, -0.3, 0.5, 0.1, -0.6, 0.9, 0.2, -0.4)
BIAS = -2.0
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROMETHEUS = "text/plain; version=0.0.4"


def score(row: list[float]) -> float:
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, row, strict=True))
    z = max(-60.0, min(60.0, z))  # keeps exp() finite for absurd inputs
    return round(1.0 / (1.0 + math.exp(-z)), 6)


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [x for item in data for x in _flatten(item)]
    return [data]


class BadInput(ValueError):
    pass


def parse_rows(body: Any) -> tuple[list[list[float]], Any]:
    """The rows of an OIP v2 infer request, and its id; BadInput says what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadInput("request body must be a JSON object with an 'inputs' list")
    if len(body["inputs"]) != 1 or not isinstance(body["inputs"][0], dict):
        raise BadInput(f"model {MODEL} takes exactly one input, '{INPUT}'")
    tensor = body["inputs"][0]
    if tensor.get("name") != INPUT:
        raise BadInput(f"unexpected input {tensor.get('name')!r}; model {MODEL} takes '{INPUT}'")
    if tensor.get("datatype") != "FP32":
        raise BadInput(f"input '{INPUT}' must have datatype FP32, got {tensor.get('datatype')!r}")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
        or shape[0] < 1
        or shape[1] != WIDTH
    ):
        raise BadInput(f"input '{INPUT}' must have shape [N, {WIDTH}], got {shape!r}")
    data = _flatten(tensor.get("data"))
    if len(data) != shape[0] * WIDTH:
        raise BadInput(
            f"input '{INPUT}' has {len(data)} values, shape {shape} needs {shape[0] * WIDTH}"
        )
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in data):
        raise BadInput(f"input '{INPUT}' data must be numbers")
    rows = [data[i : i + WIDTH] for i in range(0, len(data), WIDTH)]
    return rows, body.get("id")


class FraudScoring(Service):
    name = "fraud-scoring"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._codes: Counter[int] = Counter()
        self._bucket_counts = [0] * len(BUCKETS)
        self._duration_sum = 0.0
        self._duration_count = 0

    def routes(self) -> dict[str, dict[str, Handler]]:
        routes: dict[str, dict[str, Handler]] = {
            "/v2": {"GET": self.server_metadata},
            "/v2/health/live": {"GET": lambda req: Response(200)},
            "/v2/health/ready": {"GET": self.ready},
            "/metrics": {"GET": self.metrics},
        }
        for model in (f"/v2/models/{MODEL}", f"/v2/models/{MODEL}/versions/{VERSION}"):
            routes[model] = {"GET": self.metadata}
            routes[f"{model}/ready"] = {"GET": self.ready}
            routes[f"{model}/infer"] = {"POST": self.infer}
        return routes

    def dynamic(self, req: Request) -> Response | None:
        parts = req.path.split("/")
        if len(parts) >= 4 and parts[:3] == ["", "v2", "models"]:
            return self.error(404, f"Model {parts[3]} not found")
        return None

    def ready(self, req: Request) -> Response:
        return Response(400 if self.fault("not_ready") else 200)

    def server_metadata(self, req: Request) -> Response:
        return json_response({"name": "mlops-oncall-fake", "version": "2", "extensions": []})

    def metadata(self, req: Request) -> Response:
        return json_response(
            {
                "name": MODEL,
                "versions": [VERSION],
                "platform": "xgboost",
                "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, WIDTH]}],
                "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, 1]}],
            }
        )

    def infer(self, req: Request) -> Response:
        if self.fault("not_ready"):
            return self.error(400, f"Model {MODEL} is not ready yet")
        try:
            rows, request_id = parse_rows(req.json())
        except BadInput as exc:
            return self.error(400, str(exc))
        except ValueError as exc:
            return self.error(400, f"request body is not valid JSON: {exc}")
        answer: dict[str, Any] = {"model_name": MODEL, "model_version": VERSION}
        if request_id is not None:
            answer["id"] = request_id
        answer["outputs"] = [
            {
                "name": OUTPUT,
                "datatype": "FP32",
                "shape": [len(rows), 1],
                "data": [score(row) for row in rows],
            }
        ]
        return json_response(answer)

    def observe(self, req: Request, status: int, seconds: float) -> None:
        if req.method != "POST" or not req.path.endswith("/infer"):
            return
        self._codes[status] += 1
        self._duration_sum += seconds
        self._duration_count += 1
        for i, edge in enumerate(BUCKETS):
            if seconds <= edge:
                self._bucket_counts[i] += 1

    def metrics(self, req: Request) -> Response:
        label = f'model="{MODEL}"'
        name = "model_infer_request_duration_seconds"
        lines = [
            "# HELP model_infer_requests_total Inference requests answered, by status code.",
            "# TYPE model_infer_requests_total counter",
            *(
                f'model_infer_requests_total{{{label},code="{code}"}} {n}'
                for code, n in sorted(self._codes.items())
            ),
            f"# HELP {name} Time to answer an inference request, injected latency included.",
            f"# TYPE {name} histogram",
            *(
                f'{name}_bucket{{{label},le="{edge:g}"}} {n}'
                for edge, n in zip(BUCKETS, self._bucket_counts, strict=True)
            ),
            f'{name}_bucket{{{label},le="+Inf"}} {self._duration_count}',
            f"{name}_sum{{{label}}} {self._duration_sum:.6f}",
            f"{name}_count{{{label}}} {self._duration_count}",
            "# HELP model_ready Whether the model is ready to serve (1) or not (0).",
            "# TYPE model_ready gauge",
            f"model_ready{{{label}}} {0 if self.fault('not_ready') else 1}",
        ]
        return text_response("\n".join(lines) + "\n", content_type=PROMETHEUS)
