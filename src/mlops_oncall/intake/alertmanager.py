"""POST /alertmanager: Alertmanager's webhook (payload version 4; docs/alerts.md).

The notification is parsed and stored on the daemon's writer thread with the other
deliveries waiting at that moment, in one transaction (``Session.alerts.receive_many``; the
group commit of intake/write.py). 200 with a small summary once it is committed; 400 with the
reason for a body that is not a version 4 payload (Alertmanager does not retry a 4xx); 503
when the store failed (Alertmanager retries it, and the retry records nothing twice)."""

from __future__ import annotations

from aiohttp import web

from mlops_oncall.alerts.payload import PayloadError
from mlops_oncall.intake.body import read_json, refuse
from mlops_oncall.intake.keys import SESSION
from mlops_oncall.intake.write import GroupCommit, group_commit, grouped

WRITER: web.AppKey[GroupCommit] = web.AppKey("alerts writer", GroupCommit)
# app.cleanup_ctx: the writer thread, while the daemon runs
writer = group_commit(WRITER, lambda app: app[SESSION].alerts.receive_many)


async def handle(request: web.Request) -> web.Response:
    body = await read_json(request)
    session = request.app[SESSION]
    try:
        result = await grouped(request, request.app[WRITER], body)
    except PayloadError as exc:
        refuse(request, 400, "invalid", session.redactor.text(str(exc)))
    return web.json_response(result.to_json())
