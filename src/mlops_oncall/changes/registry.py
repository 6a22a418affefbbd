"""MLflow's model registry over its REST API: one model's versions, stages and aliases.

The endpoints and shapes are MLflow's (mlflow/server/handlers.py, protos/model_registry.proto):
``GET /api/2.0/mlflow/registered-models/get?name=`` answers ``{"registered_model": {...,
"aliases": [{"alias", "version"}]}}``; ``GET /api/2.0/mlflow/model-versions/search`` with
``filter=name='...'``, ``max_results`` and ``page_token`` answers ``{"model_versions": [{"version":
"3", "creation_timestamp": ms, "last_updated_timestamp": ms, "current_stage": "Production",
"status": "READY", ...}], "next_page_token": "..."}``; an error is a 4xx/5xx with
``{"error_code", "message"}``. Timestamps are milliseconds since the epoch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import BodyTooLarge
from mlops_oncall.formats.errors import IncidentError

API = "/api/2.0/mlflow"
PAGE = 200  # versions a search page asks for; MLflow allows far more
MAX_PAGES = 100  # 20,000 versions of one model: beyond that a registry is not answering sanely
MAX_BODY = 4 * 1024 * 1024  # a page of 200 versions with long descriptions stays well under
TIMEOUT = 10.0  # seconds for one request, whole
STAGES = ("Staging", "Production")  # the legacy stages followed; None and Archived are not targets


class RegistryError(IncidentError):
    """A poll that failed: one line, without the token (exit 1)."""


class Unreachable(RegistryError):
    """The registry did not answer at all: the whole poll stops, nothing is recorded."""


@dataclass(frozen=True)
class Version:
    number: int
    created: datetime | None
    updated: datetime | None
    stage: str


@dataclass
class ModelState:
    """What the registry says of one registered model now (READY versions only)."""

    name: str
    versions: dict[int, Version] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _number(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _filter(name: str) -> str:
    # MLflow's filter grammar quotes a value in ' or "; a name holding ' is quoted in "
    return f'name="{name}"' if "'" in name else f"name='{name}'"


class Registry:
    """One registry's client: the project's httpx+aiohttp transport, bounded bodies, a timeout
    per request, the token as a bearer header (never in a message)."""

    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._transport: Any = None
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Registry:
        from mlops_oncall.checks.transport import build_client, build_transport

        self._transport = build_transport(max_connections=4, max_body=MAX_BODY)
        self._client = build_client(self._transport)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()
            await self._transport.aclose()
            self._client = None

    async def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON object answered, or None for RESOURCE_DOES_NOT_EXIST (404)."""
        assert self._client is not None, "use Registry in `async with`"
        where = f"{self.url}{API}/{endpoint}"
        try:
            async with asyncio.timeout(TIMEOUT):
                resp = await self._client.get(
                    where,
                    params=params,
                    headers=self._headers,
                    timeout=httpx.Timeout(TIMEOUT),
                )
        except TimeoutError:
            raise Unreachable(f"no answer from {self.url} within {TIMEOUT:.0f}s") from None
        except BodyTooLarge:
            raise RegistryError(f"{endpoint}: answer larger than {MAX_BODY // 1024} KiB") from None
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Unreachable(f"cannot reach {self.url}: {reason}") from None
        try:
            body = json.loads(resp.content) if resp.content else {}
        except ValueError:
            body = None
        missing = isinstance(body, dict) and body.get("error_code") == "RESOURCE_DOES_NOT_EXIST"
        if resp.status_code == 404 and missing:
            return None
        if resp.status_code != 200 or not isinstance(body, dict):
            detail = ""
            if isinstance(body, dict) and body.get("error_code"):
                detail = f": {body['error_code']}: {str(body.get('message', ''))[:200]}"
            hint = " (check changes.mlflow.token)" if resp.status_code in (401, 403) else ""
            if resp.status_code == 200:
                detail = ": not a JSON object"
            raise RegistryError(f"{endpoint} answered {resp.status_code}{detail}{hint}")
        return body

    async def model(self, name: str) -> ModelState:
        """The model's READY versions (every page), their stages, and its aliases."""
        got = await self._get("registered-models/get", {"name": name})
        if got is None or not isinstance(got.get("registered_model"), dict):
            raise RegistryError(f"registered model '{name}' not found in {self.url}")
        state = ModelState(name)
        for entry in got["registered_model"].get("aliases") or []:
            number = _number(entry.get("version")) if isinstance(entry, dict) else None
            if number is not None and isinstance(entry.get("alias"), str):
                state.aliases[entry["alias"]] = number
        token: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"filter": _filter(name), "max_results": PAGE}
            if token:
                params["page_token"] = token
            page = await self._get("model-versions/search", params) or {}
            for mv in page.get("model_versions") or []:
                number = _number(mv.get("version")) if isinstance(mv, dict) else None
                if number is None or mv.get("name") != name or mv.get("status", "READY") != "READY":
                    continue
                state.versions[number] = Version(
                    number,
                    _ms(mv.get("creation_timestamp")),
                    _ms(mv.get("last_updated_timestamp")),
                    str(mv.get("current_stage") or "None"),
                )
            token = page.get("next_page_token") or None
            if not token:
                return state
        raise RegistryError(f"'{name}' has more than {PAGE * MAX_PAGES} versions; not followed")
