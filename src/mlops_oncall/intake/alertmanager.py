"""POST /alertmanager: Alertmanager's webhook (payload version 4). Being built (ALERTS)."""

from __future__ import annotations

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    return web.json_response({"error": "not implemented yet"}, status=501)
