"""The control endpoint: inject and clear faults, and read the state, over HTTP.

Drills, the demo, the CLI and tests all drive the fake system through these three routes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlops_oncall.drills.fake.catalog import FAULTS, SERVICES
from mlops_oncall.drills.fake.faults import FaultError
from mlops_oncall.drills.fake.httpd import Request, Response, json_response

if TYPE_CHECKING:
    from mlops_oncall.drills.fake.system import FakeSystem

FAULTS_PATH = "/_control/faults"
STATE_PATH = "/_control/state"
_FIELDS = ("service", "fault", "params")
_CLEAR_ARGS = ("service", "fault")


def parse_inject(body: bytes) -> tuple[Any, Any, dict[str, Any]]:
    """The service, fault and params of a POST body; FaultError says what is wrong."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FaultError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FaultError(
            'request body must be a JSON object: {"service": ..., "fault": ..., "params": {...}}'
        )
    for key in data:
        if key not in _FIELDS:
            raise FaultError(f"unknown field {key!r}; fields: {', '.join(_FIELDS)}", list(_FIELDS))
    if "service" not in data:
        raise FaultError(
            f"missing field 'service'; known services: {', '.join(SERVICES)}", list(SERVICES)
        )
    if "fault" not in data:
        raise FaultError(f"missing field 'fault'; known faults: {', '.join(FAULTS)}", list(FAULTS))
    params = data.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise FaultError(f"field 'params' must be a JSON object, got {params!r}")
    return data["service"], data["fault"], params


def parse_clear(req: Request) -> tuple[str | None, str | None]:
    for key in req.query:
        if key not in _CLEAR_ARGS:
            raise FaultError(
                f"unknown query parameter {key!r}; allowed: {', '.join(_CLEAR_ARGS)}",
                list(_CLEAR_ARGS),
            )
    return req.arg("service"), req.arg("fault")


def _not_allowed(allow: str) -> Response:
    resp = json_response({"error": "Method Not Allowed"}, 405)
    resp.headers["Allow"] = allow
    return resp


class ControlApp:
    def __init__(self, system: FakeSystem):
        self._system = system

    async def __call__(self, req: Request) -> Response:
        try:
            return await self._route(req)
        except FaultError as exc:
            return json_response(exc.to_json(), 400)
        except OSError as exc:  # the port of a refused service was taken meanwhile
            return json_response({"error": f"could not listen again: {exc}"}, 500)

    async def _route(self, req: Request) -> Response:
        if req.path == FAULTS_PATH:
            if req.method == "POST":
                service, fault, params = parse_inject(req.body)
                return json_response(await self._system.ainject_params(service, fault, params))
            if req.method == "DELETE":
                service, fault = parse_clear(req)
                return json_response({"cleared": await self._system.aclear(service, fault)})
            return _not_allowed("POST, DELETE")
        if req.path == STATE_PATH:
            if req.method == "GET":
                return json_response(self._system.state())
            return _not_allowed("GET")
        return json_response(
            {
                "error": f"no such endpoint: {req.method} {req.path}; endpoints: "
                f"POST {FAULTS_PATH}, DELETE {FAULTS_PATH}, GET {STATE_PATH}"
            },
            404,
        )
