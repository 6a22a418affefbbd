"""model-registry: an MLflow tracking server (``mlflow server``) with its model registry.

As MLflow 3.17.2's tracking server answers (``mlflow/server/__init__.py``, checked against the
running server): ``/health`` is ``OK`` as text/plain, ``/version`` the version as text/html,
and there is no ``/ping`` (that is the scoring server's): an unknown path is Flask's HTML 404.
The tracking server has no not-ready state (its port refuses connections until it has
started), so ``not_ready`` closes the port here just like ``refuse``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops_oncall.drills.fake.faults import Fault
from mlops_oncall.drills.fake.httpd import Request, Response, json_response, text_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import epoch_ms, last_daily

MODEL = "fraud"
VERSION = "3"
SERVER_VERSION = "3.17.2"
# Flask's own 404 page, byte for byte, for paths outside the REST API
FLASK_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)
RUN_ID = "5f1d3c9a2b7e4e0f9c8d1a2b3c4d5e6f"

_ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 404: "ENDPOINT_NOT_FOUND", 405: "BAD_REQUEST"}


class ModelRegistry(Service):
    name = "model-registry"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {
            "/health": {"GET": self.health},
            "/version": {"GET": self.version},
            "/api/2.0/mlflow/registered-models/get": {"GET": self.get_model},
            "/api/2.0/mlflow/registered-models/search": {"GET": self.search_models},
        }

    def wants_listening(self, faults: dict[str, Fault]) -> bool:
        return "refuse" not in faults and "not_ready" not in faults

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        code = code or _ERROR_CODES.get(status, "INTERNAL_ERROR")
        return json_response({"error_code": code, "message": message}, status)

    def not_found(self, req: Request) -> Response:
        if req.path.startswith("/api/"):
            return self.error(404, "Not Found")
        return text_response(FLASK_404, 404, content_type="text/html")

    def health(self, req: Request) -> Response:
        return text_response("OK")

    def version(self, req: Request) -> Response:
        return text_response(SERVER_VERSION, content_type="text/html")

    def promoted_at(self) -> datetime:
        stale = self.fault("stale")
        if stale and stale.since is not None:
            return stale.since - timedelta(seconds=stale.params["age"])
        return last_daily(self.now(), 14, 2, 0) - timedelta(days=5)

    def search_models(self, req: Request) -> Response:
        # one page of registered models, as the REST API answers it (no next_page_token: one)
        return json_response({"registered_models": [self.registered_model()]})

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
        return json_response({"registered_model": self.registered_model()})

    def registered_model(self) -> dict:
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
        return {
            "name": MODEL,
            "creation_timestamp": at - 90 * 86_400_000,
            "last_updated_timestamp": at,
            "latest_versions": [version],
            "aliases": [{"alias": "champion", "version": VERSION}],
        }
