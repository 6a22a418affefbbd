"""Silences in Alertmanager through its API v2 (``POST /api/v2/silences``; api/v2/openapi.yaml
in Alertmanager's repository): a body of ``matchers`` (name, value, isRegex, isEqual),
``startsAt``, ``endsAt``, ``createdBy`` and ``comment``; the answer is 200 with
``{"silenceID": "..."}``, a 400 with the reason as text. Sent with the project's one HTTP stack
(httpx over the aiohttp transport), the response body bounded."""

from __future__ import annotations

import json
from datetime import datetime

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.decode import BodyDecodeError, BodyTooLarge
from mlops_oncall.checks.transport import build_client, build_transport
from mlops_oncall.formats.timestamps import rfc3339

MAX_RESPONSE = 64 * 1024  # a silence id, or an error line: anything larger is not Alertmanager
TIMEOUT_S = 10.0


class SilenceError(Exception):
    """The silence was not created: why, in one line."""


async def create_silence(
    url: str,
    token: str | None,
    *,
    matchers: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
) -> str:
    """Create one silence matching these labels exactly; its id."""
    body = {
        "matchers": [
            {"name": k, "value": v, "isRegex": False, "isEqual": True}
            for k, v in sorted(matchers.items())
        ],
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at),
        "createdBy": created_by,
        "comment": comment,
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = build_transport(max_connections=1, max_body=MAX_RESPONSE)
    where = f"{url}/api/v2/silences"
    try:
        async with build_client(transport) as client:
            resp = await client.post(where, json=body, headers=headers, timeout=TIMEOUT_S)
    except (httpx.HTTPError, BodyTooLarge, BodyDecodeError) as exc:
        raise SilenceError(
            f"Alertmanager at {url} did not answer: {exc or type(exc).__name__}"
        ) from None
    finally:
        await transport.aclose()
    if resp.status_code != 200:
        reason = resp.text.strip().splitlines()[0][:200] if resp.text.strip() else ""
        raise SilenceError(
            f"Alertmanager at {url} refused the silence: HTTP {resp.status_code}"
            + (f": {reason}" if reason else "")
        )
    try:
        silence_id = json.loads(resp.content)["silenceID"]
    except (ValueError, KeyError, TypeError):
        raise SilenceError(f"Alertmanager at {url} answered 200 without a silenceID") from None
    if not isinstance(silence_id, str) or not silence_id:
        raise SilenceError(f"Alertmanager at {url} answered 200 without a silenceID")
    return silence_id
