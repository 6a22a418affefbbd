"""Each destination type against a local receiver (a real aiohttp server on 127.0.0.1), the
exact wire shape asserted, on SQLite and PostgreSQL.

Sources of the shapes:
- Slack incoming webhooks: https://api.slack.com/messaging/webhooks (POST JSON ``text`` and
  ``blocks``; 200 ``ok``; 400 ``invalid_payload``, 403 ``invalid_token``, 404
  ``no_service``, 410 ``channel_is_archived``); Block Kit limits: header text 150 characters
  (https://api.slack.com/reference/block-kit/blocks#header), section text 3000
  (…#section), 50 blocks per message; escaping ``&``, ``<``, ``>``:
  https://api.slack.com/reference/surfaces/formatting#escaping
- Atlassian Statuspage REST API v1: https://developer.statuspage.io/ ("Create an incident",
  POST /v1/pages/{page_id}/incidents; "Update an incident", PATCH
  /v1/pages/{page_id}/incidents/{incident_id}; ``Authorization: OAuth <key>``; body
  ``{"incident": {name, status, impact_override, body, component_ids, components,
  deliver_notifications}}``; 201 with the incident's ``id``).
- The generic webhook: docs/communication.md, version 1.
- SMTP: RFC 5321 through the standard library's smtplib, received by aiosmtpd.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.notify.conftest import SECRET, Answer
from tests.real_servers.harness import free_port

pytestmark = pytest.mark.timeout(60)


def _declare(s, **kw):
    return s.incidents.declare(
        "Fraud model p99 over 2s", "SEV1", service=kw.pop("service", "fraud-api"), **kw
    )


def test_slack_shape_and_escaping(make, receiver, monkeypatch):
    monkeypatch.setenv("SLACK_URL", f"{receiver.url}/services/T0/B0/{SECRET}")
    s = make({"notify": {"team": {"type": "slack", "url": "${env:SLACK_URL}"}}})
    view = _declare(s)
    text = "Rolling back <!channel> & <@U123> > now\n@channel p99 at 2.4s"
    posted = s.notify.post(view.id, text, "team")
    assert posted.ok and posted.sent and posted.delivery.http_status == 200
    (req,) = receiver.seen
    assert (req.method, req.path) == ("POST", f"/services/T0/B0/{SECRET}")
    assert req.headers["Content-Type"] == "application/json"
    doc = req.json
    assert set(doc) == {"text", "blocks"}
    escaped = "Rolling back &lt;!channel&gt; &amp; &lt;@U123&gt; &gt; now\n@channel p99 at 2.4s"
    assert doc["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[SEV1] INC-0001: Fraud model p99 over 2s"},
    }
    assert doc["blocks"][1] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": escaped, "verbatim": True},
    }
    assert doc["blocks"][2]["type"] == "context"
    assert doc["text"] == (
        "[SEV1] INC-0001: Fraud model p99 over 2s: Rolling back &lt;!channel&gt; &amp; "
        "&lt;@U123&gt; &gt; now"
    )
    assert "<" not in req.body.decode() and "link_names" not in doc
    assert posted.delivery.body_sha256 == hashlib.sha256(req.body).hexdigest()


def test_slack_limits(make, receiver, monkeypatch):
    monkeypatch.setenv("SLACK_URL", f"{receiver.url}/hook")
    s = make({"notify": {"team": {"type": "slack", "url": "${env:SLACK_URL}"}}})
    view = s.incidents.declare("x" * 140 + " & <b>", "SEV2")
    text = "\n".join(f"line {i} " + "&" * 190 for i in range(200))  # ~195k once escaped
    assert s.notify.post(view.id, text, "team").ok
    doc = receiver.seen[0].json
    blocks = doc["blocks"]
    assert len(blocks) == 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert blocks[0]["text"]["text"].endswith("…")
    assert not blocks[0]["text"]["text"].rstrip("…").endswith(("&", "&amp", "&l", "&lt"))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in sections)
    assert all("&amp;" in t and "& " not in t for t in sections[:-1])
    assert len(doc["text"]) <= 3000


def test_statuspage_create_then_update(make, receiver, monkeypatch):
    monkeypatch.setenv("SP_KEY", SECRET)
    s = make(
        {
            "notify": {
                "status": {
                    "type": "statuspage",
                    "api": receiver.url,
                    "page_id": "kctbh9vrtdwd",
                    "key": "${env:SP_KEY}",
                    "components": {"fraud-api": "8kbf7d35c070"},
                }
            }
        }
    )
    view = _declare(s)
    receiver.script.append(Answer(201, json.dumps({"id": "p31zjtct2jer", "status": "x"})))
    first = s.notify.post(view.id, "We are investigating slow fraud scores.", "status")
    assert first.ok and first.delivery.external_id == "p31zjtct2jer"
    s.incidents.set_status(view.id, "investigating")
    s.incidents.set_status(view.id, "mitigated")
    receiver.script.append(Answer(200, json.dumps({"id": "p31zjtct2jer"})))
    second = s.notify.post(view.id, "Rolled back; monitoring.", "status")
    assert second.ok
    create, amend = receiver.seen
    assert (create.method, create.path) == ("POST", "/v1/pages/kctbh9vrtdwd/incidents")
    assert create.headers["Authorization"] == f"OAuth {SECRET}"
    assert create.headers["Idempotency-Key"] == first.delivery.idempotency_key
    assert create.json == {
        "incident": {
            "name": "Fraud model p99 over 2s",
            "status": "investigating",
            "impact_override": "critical",
            "body": "We are investigating slow fraud scores.",
            "component_ids": ["8kbf7d35c070"],
            "components": {"8kbf7d35c070": "major_outage"},
            "deliver_notifications": True,
        }
    }
    assert (amend.method, amend.path) == (
        "PATCH",
        "/v1/pages/kctbh9vrtdwd/incidents/p31zjtct2jer",
    )
    assert amend.json == {
        "incident": {
            "status": "monitoring",
            "body": "Rolled back; monitoring.",
            "component_ids": ["8kbf7d35c070"],
            "components": {"8kbf7d35c070": "operational"},
        }
    }
    assert amend.headers["Idempotency-Key"] != create.headers["Idempotency-Key"]


def test_webhook_document_version_1(make, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/{SECRET}")
    monkeypatch.setenv("HOOK_TOKEN", SECRET + "-token")
    s = make(
        {
            "notify": {
                "hook": {"type": "webhook", "url": "${env:HOOK_URL}", "token": "${env:HOOK_TOKEN}"}
            }
        }
    )
    view = _declare(s)
    posted = s.notify.post(view.id, "Update one.", "hook")
    (req,) = receiver.seen
    assert req.headers["Authorization"] == f"Bearer {SECRET}-token"
    assert req.headers["Idempotency-Key"] == posted.delivery.idempotency_key
    assert req.json == {
        "version": 1,
        "type": "status_update",
        "idempotency_key": posted.delivery.idempotency_key,
        "incident": {
            "id": "INC-0001",
            "title": "Fraud model p99 over 2s",
            "severity": "SEV1",
            "status": "triage",
            "service": "fraud-api",
        },
        "update": {"seq": posted.event.seq, "at": "2026-11-28T03:00:00Z", "by": s.actor,
                   "text": "Update one."},
    }  # fmt: skip


@pytest.mark.parametrize("starttls", [False, True])
def test_smtp_email(make, monkeypatch, tmp_path, starttls):
    from aiosmtpd.controller import Controller

    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append(envelope)
            return "250 OK"

    kw = {}
    if starttls:
        import ssl

        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_ctx)
        ca.cert_pem.write_to_path(tmp_path / "ca.pem")
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        kw = {"tls_context": server_ctx, "require_starttls": True}
    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    try:
        s = make(
            {
                "notify": {
                    "mail": {
                        "type": "smtp",
                        "host": "127.0.0.1",
                        "port": port,
                        "starttls": starttls,
                        "sender": "oncall@example.com",
                        "to": ["stakeholders@example.com", "exec@example.com"],
                    }
                }
            }
        )
        view = _declare(s)
        posted = s.notify.post(view.id, "Fraud scores are slow.\nNext update 03:30.", "mail")
        assert posted.ok, posted.delivery.error
    finally:
        ctl.stop()
    (env,) = got
    assert env.mail_from == "oncall@example.com"
    assert env.rcpt_tos == ["stakeholders@example.com", "exec@example.com"]
    import email

    msg = email.message_from_bytes(env.original_content)
    assert msg["Subject"] == "[SEV1] INC-0001 triage: Fraud model p99 over 2s"
    assert msg["Message-ID"] == f"<{posted.delivery.idempotency_key}@mlops-oncall>"
    assert msg.get_payload(decode=True).decode() == (
        "Fraud scores are slow.\r\nNext update 03:30.\r\n"  # CRLF on the wire (RFC 5322)
    )
