"""`changes:` in oncall.yaml: located errors, and the token (a bearer header) never shown.

The registry here is a local HTTP server refusing the request. ``basic-auth`` answers as
MLflow's basic-auth app does (mlflow/server/auth/__init__.py, ``make_basic_auth_response``:
401, a text body, ``WWW-Authenticate: Basic realm="mlflow"``); ``echo`` answers 401 in
MLflow's error JSON with the Authorization header copied into the message, the worst a server
or proxy could do, to prove the token is masked wherever it would show.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "tok-3c1d9e7a5b2f4860"


@pytest.fixture(params=["basic-auth", "echo"])
def refusing_registry(request):
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            if request.param == "basic-auth":
                body = b"You are not authenticated. Please see https://www.mlflow.org/docs/"
                kind = "text/html; charset=utf-8"
            else:
                body = json.dumps(
                    {
                        "error_code": "UNAUTHENTICATED",
                        "message": f"bad credentials {self.headers.get('Authorization')}",
                    }
                ).encode()
                kind = "application/json"
            self.send_response(401)
            if request.param == "basic-auth":
                self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen, request.param
    finally:
        server.shutdown()
        server.server_close()


def write(tmp_path, monkeypatch, text: str) -> None:
    (tmp_path / "oncall.yaml").write_text(text)
    monkeypatch.setenv("MLOPS_ONCALL_CONFIG", str(tmp_path / "oncall.yaml"))
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "oncall.db"))


def test_the_token_is_a_bearer_header_and_never_shown(
    cli, tmp_path, monkeypatch, refusing_registry
):
    url, seen, kind = refusing_registry
    monkeypatch.setenv("MLF_TOKEN", TOKEN)
    write(
        tmp_path,
        monkeypatch,
        f"changes:\n  mlflow:\n    url: {url}\n    token: ${{env:MLF_TOKEN}}\n"
        "    models: {fraud: fraud-api}\n",
    )
    r = cli("changes", "poll", "--once")
    assert seen == [f"Bearer {TOKEN}"]
    assert r.code == 1 and r.err.count("\n") == 1
    if kind == "basic-auth":
        assert r.err == (
            "error: fraud: registered-models/get answered 401 (check changes.mlflow.token)\n"
        )
    else:
        assert r.err.startswith("error: fraud: registered-models/get answered 401: UNAUTHENTICATED")
        assert r.err.endswith("(check changes.mlflow.token)\n")
    r = cli("changes", "poll", "--once", "--json")
    r2 = cli("changes", "sources", "--json")
    assert r2.json()[0]["token"] is True
    status = (tmp_path / "oncall.db.changes.json").read_text()
    for text in (r.out, r.err, r2.out, r2.err, status):
        assert TOKEN not in text
    assert cli("deploy", "list", "--json").json() == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    url: mlflow:5000\n    models: {fraud: fraud-api}\n",
            "oncall.yaml:3:10: changes.mlflow.url: expected an http:// or https:// URL",
        ),
        (
            "    url: http://m\n    token: hunter2hunter2\n    models: {fraud: fraud-api}\n",
            "oncall.yaml:4:12: changes.mlflow.token: a token comes from the environment: "
            "write token: ${env:NAME}",
        ),
        (
            "    url: http://m\n    models: {}\n",
            "oncall.yaml:4:13: changes.mlflow.models: needs at least 1 item",
        ),
        (
            "    url: http://m\n    interval: 0.5s\n    models: {fraud: fraud-api}\n",
            "oncall.yaml:4:15: changes.mlflow.interval: expected at least 1s",
        ),
        (
            "    url: http://m\n    model: {fraud: fraud-api}\n",
            "oncall.yaml:4:5: changes.mlflow.model: unknown field 'model'",
        ),
    ],
)
def test_config_errors_are_located(cli, tmp_path, monkeypatch, body, expected):
    write(tmp_path, monkeypatch, "changes:\n  mlflow:\n" + body)
    r = cli("changes", "sources")
    assert r.code == 2
    assert r.err.splitlines()[0].endswith(expected) or expected in r.err
    assert "Traceback" not in r.err


def test_an_unset_token_variable_is_located(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("MLF_NOPE", raising=False)
    write(
        tmp_path,
        monkeypatch,
        "me: alice\nchanges:\n  mlflow:\n    url: http://m\n    token: ${env:MLF_NOPE}\n"
        "    models: {fraud: fraud-api}\n",
    )
    r = cli("changes", "poll", "--once")
    assert r.code == 2
    assert r.err == (
        f"error: {tmp_path / 'oncall.yaml'}:5:12: changes.mlflow.token: ${{env:MLF_NOPE}} "
        "is not set (or empty); export it, or remove token:\n"
    )
    # the rest of the workspace does not need the variable
    assert cli("deploy", "list", "--json").code == 0


def test_no_sources_configured(cli, tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, "me: alice\n")
    r = cli("changes", "poll", "--once")
    assert (r.code, r.err) == (
        1,
        "error: no change sources configured; add changes: to oncall.yaml (docs/changes.md)\n",
    )
    r = cli("changes", "sources", "--json")
    assert (r.code, r.json()) == (0, [])


async def test_run_sources_returns_at_once_without_sources(tmp_path):
    from mlops_oncall.changes.runner import run_sources
    from mlops_oncall.config import Config, Workspace
    from mlops_oncall.session import Session

    session = Session(Workspace(Config(), root=tmp_path), database_url=f"sqlite:///{tmp_path}/x.db")
    await run_sources(session)  # returns: nothing to run (a hang would time the test out)
    session.close()


def test_schema_has_changes(cli):
    schema = cli("schema", "config").json()
    mlflow = schema["$defs"]["MlflowChanges"]
    assert set(mlflow["properties"]) == {"url", "token", "interval", "models", "aliases"}
    assert mlflow["required"] == ["url", "models"]
