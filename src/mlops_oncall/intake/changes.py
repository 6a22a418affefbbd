"""POST /changes: a deploy or other change reported by CI/CD or a script (docs/intake.md)."""

from __future__ import annotations

from aiohttp import web

from mlops_oncall.intake.body import error, read_json


async def handle(request: web.Request) -> web.Response:
    await read_json(request)
    return error(501, "not implemented yet")
