"""FakeControl: a small synchronous client of the control endpoint, for drills and the CLI."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from mlops_oncall.drills.fake.control import FAULTS_PATH, STATE_PATH
from mlops_oncall.drills.fake.faults import FaultError


class ControlError(RuntimeError):
    """The control endpoint could not be reached, or failed for a reason other than validation."""


# The fake always listens on a local address: never send its traffic through a proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeControl:
    def __init__(self, control_url: str, timeout: float = 5.0):
        self.base = control_url.rstrip("/").removesuffix("/_control")
        self.timeout = timeout

    def inject(self, service: str, fault: str, **params: Any) -> dict[str, Any]:
        """Start a fault; returns it with its parameters filled in. FaultError if invalid."""
        body = {"service": service, "fault": fault, "params": params}
        return self._call("POST", FAULTS_PATH, body)

    def clear(self, service: str | None = None, fault: str | None = None) -> list[dict[str, str]]:
        """End faults (all, one service's, or one kind); returns what was cleared."""
        args = {k: v for k, v in (("service", service), ("fault", fault)) if v is not None}
        path = f"{FAULTS_PATH}?{urlencode(args)}" if args else FAULTS_PATH
        return self._call("DELETE", path)["cleared"]

    def state(self) -> dict[str, Any]:
        return self._call("GET", STATE_PATH)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                text = exc.read().decode("utf-8", "replace")
            try:
                payload = json.loads(text)
            except ValueError:
                payload = None
            if exc.code == 400 and isinstance(payload, dict) and "error" in payload:
                raise FaultError(payload["error"], payload.get("allowed")) from None
            reason = payload.get("error") if isinstance(payload, dict) else text.strip()
            raise ControlError(f"{method} {path} answered {exc.code}: {reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ControlError(
                f"the fake system's control endpoint at {self.base} is not reachable: {reason}"
            ) from exc
