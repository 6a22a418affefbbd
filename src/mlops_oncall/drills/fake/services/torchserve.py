"""recommendations: TorchServe 0.12.0, with /ping and the management API's model description.

TorchServe pretty-prints its JSON and names its errors with a Java exception type. Since 0.8.0
``/ping`` is 200 ``Healthy`` or, once a model has fewer running workers than its minWorkers,
500 ``Unhealthy`` (``InferenceRequestHandler.java``, ``ApiUtils.isModelHealthy``); a worker's
status is READY or UNLOADING, nothing else (``DescribeModelResponse.java``).
"""

from __future__ import annotations

from mlops_oncall.drills.fake.httpd import Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import iso

MODEL = "recs"
WORKERS = 2

_ERROR_TYPES = {
    400: "BadRequestException",
    404: "ResourceNotFoundException",
    405: "MethodNotAllowedException",
}


def _ts_json(obj: object, status: int = 200) -> Response:
    return json_response(obj, status, indent=2)


class Recommendations(Service):
    name = "recommendations"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {
            "/ping": {"GET": self.ping},
            "/models": {"GET": self.list_models},
            f"/models/{MODEL}": {"GET": self.describe},
        }

    def error(self, status: int, message: str) -> Response:
        kind = _ERROR_TYPES.get(status, "InternalServerException")
        return _ts_json({"code": status, "type": kind, "message": message}, status)

    def not_found(self, req: Request) -> Response:
        return self.error(404, "Requested resource is not found, please refer to API document.")

    def dynamic(self, req: Request) -> Response | None:
        parts = req.path.split("/")
        if len(parts) == 3 and parts[1] == "models" and parts[2]:
            return _ts_json(
                {
                    "code": 404,
                    "type": "ModelNotFoundException",
                    "message": f"Model not found: {parts[2]}",
                },
                404,
            )
        return None

    def ping(self, req: Request) -> Response:
        if self.fault("not_ready"):
            return _ts_json({"status": "Unhealthy"}, 500)
        return _ts_json({"status": "Healthy"})

    def list_models(self, req: Request) -> Response:
        return _ts_json({"models": [{"modelName": MODEL, "modelUrl": f"{MODEL}.mar"}]})

    def describe(self, req: Request) -> Response:
        status = "UNLOADING" if self.fault("not_ready") else "READY"
        workers = [
            {
                "id": str(9000 + i),
                "startTime": iso(self.started_at),
                "status": status,
                "memoryUsage": 1_283_457_024 + i * 4096,
                "pid": 4100 + i,
                "gpu": False,
                "gpuUsage": "N/A",
            }
            for i in range(WORKERS)
        ]
        return _ts_json(
            [
                {
                    "modelName": MODEL,
                    "modelVersion": "2.1",
                    "modelUrl": f"{MODEL}.mar",
                    "runtime": "python",
                    "minWorkers": WORKERS,
                    "maxWorkers": WORKERS,
                    "batchSize": 8,
                    "maxBatchDelay": 50,
                    "loadedAtStartup": True,
                    "workers": workers,
                }
            ]
        )
