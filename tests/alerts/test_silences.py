"""Silences against a local HTTP server answering as Alertmanager's API v2 documents
(api/v2/openapi.yaml: postSilences 200 {"silenceID"}, 400 with the reason as a JSON string):
the body sent, the bearer token from ${env:}, a refusal and an unreachable Alertmanager as one
line (exit 1), the token never in an output."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.alerts.conftest import alert, make_session, payload
from tests.real_servers.harness import free_port

TOKEN = "am-token-0123456789abcdef"


class _Handler(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, bytes]]] = []
    seen: ClassVar[list[tuple[str, dict, dict]]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, dict(self.headers), body))
        status, text = self.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_am():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.answers, _Handler.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Handler
    server.shutdown()
    server.server_close()


def _workspace(tmp_path, monkeypatch, url):
    monkeypatch.setenv("AM_TOKEN", TOKEN)
    (tmp_path / "oncall.yaml").write_text(
        f"name: t\nalerts:\n  alertmanager:\n    url: {url}\n    token: ${{env:AM_TOKEN}}\n"
    )
    s = make_session(tmp_path / "f", f"sqlite:///{tmp_path / 'oncall.db'}")
    s.alerts.receive(
        payload(alert("aaaa000000000001"), alert("aaaa000000000002", labels={"pod": "b"}))
    )
    s.close()


def test_the_silence_body_and_token(cli, tmp_path, monkeypatch, fake_am):
    url, am = fake_am
    (tmp_path / "f").mkdir()
    _workspace(tmp_path, monkeypatch, url)
    am.answers.append((200, b'{"silenceID":"7d3c1b2a-0000-4000-8000-000000000001"}'))
    r = cli("alert", "silence", "ALG-0001", "--for", "90m", "--comment", "deploy in progress")
    assert r.code == 0, r.err
    assert r.out.startswith("silence 7d3c1b2a-0000-4000-8000-000000000001 on ALG-0001 until ")
    ((path, headers, body),) = am.seen
    assert path == "/api/v2/silences"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body["matchers"] == [  # the labels both alerts share, sorted, by equality
        {"name": n, "value": v, "isRegex": False, "isEqual": True}
        for n, v in [("alertname", "ModelLatencyHigh"), ("service", "fraud-api"),
                     ("severity", "critical")]
    ]  # fmt: skip
    assert (body["createdBy"], body["comment"]) == ("tester", "deploy in progress")
    from datetime import datetime

    starts, ends = (
        datetime.fromisoformat(body[k].replace("Z", "+00:00")) for k in ("startsAt", "endsAt")
    )
    assert (ends - starts).total_seconds() == 90 * 60
    shown = cli("alert", "show", "ALG-0001", "--json").json()
    assert [s["id"] for s in shown["silences"]] == ["7d3c1b2a-0000-4000-8000-000000000001"]


def test_a_refusal_and_an_unreachable_alertmanager_are_one_line(
    cli, tmp_path, monkeypatch, fake_am
):
    url, am = fake_am
    (tmp_path / "f").mkdir()
    _workspace(tmp_path, monkeypatch, url)
    am.answers.append((400, b'"silence invalid: start time must be before end time"'))
    r = cli("alert", "silence", "ALG-0001", "--for", "1h", "--comment", "x")
    assert r.code == 1
    assert r.err == (
        f"error: Alertmanager at {url} refused the silence: HTTP 400: "
        '"silence invalid: start time must be before end time"\n'
    )
    closed = f"http://127.0.0.1:{free_port()}"
    text = (tmp_path / "oncall.yaml").read_text().replace(url, closed)
    (tmp_path / "oncall.yaml").write_text(text)
    r = cli("alert", "silence", "ALG-0001", "--for", "1h", "--comment", "x")
    assert r.code == 1
    assert r.err.startswith(f"error: Alertmanager at {closed} did not answer")
    assert TOKEN not in r.err
    assert cli("alert", "show", "ALG-0001", "--json").json()["silences"] == []
    monkeypatch.delenv("AM_TOKEN")
    r = cli("alert", "silence", "ALG-0001", "--for", "1h", "--comment", "x")
    assert (r.code, r.err) == (
        2,
        "error: alerts.alertmanager.token in oncall.yaml uses ${env:AM_TOKEN}, which is not set\n",
    )
