"""POST /alertmanager: Alertmanager's webhook (payload version 4; docs/alerts.md).

The notification is parsed and stored in a worker thread (``Session.alerts.receive``, one
transaction). 200 with a small summary once it is stored; 400 with the reason for a body that
is not a version 4 payload (Alertmanager does not retry a 4xx); 503 when the store failed
(Alertmanager retries it, and the retry records nothing twice)."""

from __future__ import annotations

from aiohttp import web

from mlops_oncall.alerts.payload import PayloadError
from mlops_oncall.intake.body import read_json, refuse
from mlops_oncall.intake.keys import SESSION
from mlops_oncall.intake.write import write


async def handle(request: web.Request) -> web.Response:
    body = await read_json(request)
    session = request.app[SESSION]
    try:
        result = await write(request, lambda: session.alerts.receive(body))
    except PayloadError as exc:
        refuse(request, 400, "invalid", session.redactor.text(str(exc)))
    return web.json_response(result.to_json())
