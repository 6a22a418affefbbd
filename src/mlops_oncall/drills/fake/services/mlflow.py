"""model-registry: an MLflow tracking server with its model registry.

MLflow's /health and /ping answer 200 with a body of "\\n" labelled application/json, which is
not JSON; and MLflow has no not-ready state (its port refuses connections until it has
loaded), so ``not_ready`` closes the port here just like ``refuse``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops_oncall.drills.fake.faults import Fault
from mlops_oncall.drills.fake.httpd import JSON, Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import epoch_ms, last_daily

MODEL = "fraud"
VERSION = "3"
RUN_ID = "5f1d3c9a2b7e4e0f9c8d1a2b3c4d5e6f"

_ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 404: "ENDPOINT_NOT_FOUND", 405: "BAD_REQUEST"}


class ModelRegistry(Service):
    name = "model-registry"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {
            "/health": {"GET": self.health},
            "/ping": {"GET": self.health},
            "/api/2.0/mlflow/registered-models/get": {"GET": self.get_model},
        }

    def wants_listening(self, faults: dict[str, Fault]) -> bool:
        return "refuse" not in faults and "not_ready" not in faults

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        code = code or _ERROR_CODES.get(status, "INTERNAL_ERROR")
        return json_response({"error_code": code, "message": message}, status)

    def health(self, req: Request) -> Response:
        return Response(200, b"\n", JSON)

    def promoted_at(self) -> datetime:
        stale = self.fault("stale")
        if stale and stale.since is not None:
            return stale.since - timedelta(seconds=stale.params["age"])
        return last_daily(self.now(), 14, 2, 0) - timedelta(days=5)

    def get_model(self, req: Request) -> Response:
        name = req.arg("name")
        if not name:
            return self.error(
                400,
                "Missing value for required parameter 'name'. See the API docs for more "
                "information about request parameters.",
            )
        if name != MODEL:
            return self.error(
                404, f"Registered Model with name={name} not found", "RESOURCE_DOES_NOT_EXIST"
            )
        at = epoch_ms(self.promoted_at())
        version = {
            "name": MODEL,
            "version": VERSION,
            "creation_timestamp": at,
            "last_updated_timestamp": at,
            "current_stage": "Production",
            "description": "",
            "source": f"mlflow-artifacts:/1/{RUN_ID}/artifacts/model",
            "run_id": RUN_ID,
            "status": "READY",
        }
        return json_response(
            {
                "registered_model": {
                    "name": MODEL,
                    "creation_timestamp": at - 90 * 86_400_000,
                    "last_updated_timestamp": at,
                    "latest_versions": [version],
                    "aliases": [{"alias": "champion", "version": VERSION}],
                }
            }
        )
