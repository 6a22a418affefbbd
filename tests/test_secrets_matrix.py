"""Secrets never reach the database or any output: every credential shape, through every path
where free text comes in, via the real CLI on a real SQLite file (a real local HTTP server for
the check paths). After each path the raw database bytes (the main file, -wal and -shm) and all
of stdout and stderr are searched for every secret.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlops_oncall.redact import MASK, Redactor, url_userinfo_secrets

pytestmark = pytest.mark.timeout(120)

# known to the workspace: checks.yaml resolves ${env:MODEL_TOKEN}, and one check's URL carries
# credentials, so the Basic header an HTTP client builds from them is known too
ENV_TOKEN = "mt-7Qz4Wn2Rk9Lp5Xv8"
URL_USER, URL_PASSWORD = "svc-reader", "Url-Pa55-9Kd3Qw7"
BASIC = base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()
# a Basic header for credentials the workspace does not know: masked by shape only
OTHER_BASIC = base64.b64encode(b"deploy-bot:Ot4er-Cr3ds-x9").decode()

PEM_RSA = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2ZoWSCrBBwDu7Ve1k2WLq0xsBbdP\n"
    "vM5kqOyiUYPwx9QH8y3ZBvfT0QO1a6KdrJ1cQ0ZqE5qT1bq7YpR2hL8sN4mW6xX2\n"
    "-----END RSA PRIVATE KEY-----"
)
PEM_BODY = "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5yL7rvPcmcDUjoAoGCCqGSM49AwEHoUQDQg"


@dataclass(frozen=True)
class Shape:
    name: str
    text: str  # how it appears in what someone types or an endpoint answers
    secret: str  # what must never be stored or printed


SHAPES = [
    Shape("db_password", "DB_PASSWORD=Db-Pr0d-77xQ2 in the env", "Db-Pr0d-77xQ2"),
    Shape("json_password", '{"user": "etl", "password": "Js0n-Pw-84kd"}', "Js0n-Pw-84kd"),
    Shape(
        "aws_secret_access_key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    Shape("client_secret", "oauth client_secret=Cs-5e6f7a8b9c0d1e2f", "Cs-5e6f7a8b9c0d1e2f"),
    Shape(
        "github_pat",
        "github_pat_11AAQZ7YQ0Bv4mYz8TqWpN_k3JdL9sXcVbNmQwErTyUiOpAsDfGhJkLzXcVbNm4",
        "github_pat_11AAQZ7YQ0Bv4mYz8TqWpN_k3JdL9sXcVbNmQwErTyUiOpAsDfGhJkLzXcVbNm4",
    ),
    Shape(
        "slack_webhook",
        "alerts go to https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/x9Yz8Wv7Ut6Sr5Qp4On3Ml2K",
        "x9Yz8Wv7Ut6Sr5Qp4On3Ml2K",
    ),
    Shape(
        "stripe_live", "billing key sk_live_51HxQ2eK4p9LmN3oP7qR8sT0u", "51HxQ2eK4p9LmN3oP7qR8sT0u"
    ),
    Shape("pem_block", "key:\n" + PEM_RSA, "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2ZoWSCrB"),
    Shape(
        "pem_body_cut",
        "-----BEGIN EC PRIVATE KEY-----\n" + PEM_BODY,
        PEM_BODY[:40],
    ),
    Shape("aws_key_id", "access key AKIAZ3MPLQ7V4XK2RT9W used", "AKIAZ3MPLQ7V4XK2RT9W"),
    Shape(
        "ghp",
        "token ghp_R2d2C3poBb8Yoda4Luke5Leia6Han7Solo8x",
        "ghp_R2d2C3poBb8Yoda4Luke5Leia6Han7Solo8x",
    ),
    Shape(
        "xoxb",
        "bot xoxb-2400113377-5511223344556-AbCdEfGhIjKlMnOpQrStUvWx",
        "5511223344556-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    Shape(
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbmNhbGwtYm90In0.Qk9w8Xn2Lm5Rt7Yv1Zs4Pa6Cd3Ef0Gh9Jk",
        "Qk9w8Xn2Lm5Rt7Yv1Zs4Pa6Cd3Ef0Gh9Jk",
    ),
    Shape(
        "bearer_header",
        "curl -H 'Authorization: Bearer Br3r-T0k3n-qW8eR5tY2u' fails",
        "Br3r-T0k3n-qW8eR5tY2u",
    ),
    Shape(
        "url_userinfo",
        "psql postgresql://etl:Pg-Url-S3cr3t-4@db.internal:5432/features",
        "Pg-Url-S3cr3t-4",
    ),
    Shape("basic_echo", f'the server echoed {{"auth": "{BASIC}"}}', BASIC),
    Shape("basic_header", f"Authorization: Basic {OTHER_BASIC}", OTHER_BASIC),
    Shape("api_key", "retry with api_key=Ak-1b2c3d4e5f6a7b8c", "Ak-1b2c3d4e5f6a7b8c"),
    Shape("env_value", f"the model token is {ENV_TOKEN} (from the vault)", ENV_TOKEN),
    Shape(
        "body_access_token",
        '{"access_token": "At-9z8y7x6w5v4u3t2s", "expires_in": 3600}',
        "At-9z8y7x6w5v4u3t2s",
    ),
]
SECRETS = [s.secret for s in SHAPES] + [URL_PASSWORD]
PROSE = (
    "p99 latency rose to 900 ms at 14:02 after fraud-model v42 rolled out to 30% of pods; "
    "the tokenizer and the feature service looked fine (max_tokens=512), the key metric was queue "
    "depth. "
    "Basic checks passed; rolled back at 14:20 (error rate 0.1%, SLO 99.9%), "
    "see https://grafana.internal/d/abc?from=now-1h and INC-0042. Head "
    "3f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a."
)


def workspace_redactor() -> Redactor:
    r = Redactor([ENV_TOKEN])
    r.add(*url_userinfo_secrets(f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9/"))
    return r


# -- the redactor itself ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_every_shape_is_masked(shape):
    out = workspace_redactor().text(shape.text)
    assert shape.secret not in out
    assert MASK in out


def test_ordinary_prose_is_unchanged():
    r = workspace_redactor()
    assert r.text(PROSE) == PROSE
    assert r.value({"title": PROSE, "n": 3, "tags": [PROSE]}) == {
        "title": PROSE,
        "n": 3,
        "tags": [PROSE],
    }


def test_masking_is_idempotent_and_keeps_the_key_names():
    r = workspace_redactor()
    once = r.text("DB_PASSWORD=x9x9x9x9 and Authorization: Bearer abcd1234efgh")
    assert once == "DB_PASSWORD=*** and Authorization: Bearer ***"
    assert r.text(once) == once


def test_a_value_under_a_secret_key_is_masked_whole():
    r = Redactor()
    assert r.value({"password": "plain words", "note": "fine"}) == {
        "password": MASK,
        "note": "fine",
    }


def test_url_credentials_teach_their_basic_header_value():
    r = Redactor()
    r.add(*url_userinfo_secrets("http://svc%2Dreader:p%40ss-9x@host/"))
    decoded = base64.b64encode(b"svc-reader:p@ss-9x").decode()
    assert r.text(f"echo {decoded}") == "echo ***"
    assert r.text("p@ss-9x") == MASK


def test_the_checks_redactor_is_the_one_redactor():
    from mlops_oncall import redact
    from mlops_oncall.checks import redact as checks_redact

    assert checks_redact.Redactor is redact.Redactor
    assert checks_redact.NULL.text(SHAPES[0].text) == "DB_PASSWORD=*** in the env"


def test_everything_detect_secrets_finds_is_masked():
    """The shapes follow detect-secrets' plugins; whatever they flag in the samples is masked."""
    pytest.importorskip("detect_secrets")
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.keyword import CONFIG_DENYLIST_REGEX_TO_GROUP

    plugins = [cls() for cls in get_mapping_from_secret_type_to_class().values()]
    skipped = {"Hex High Entropy String", "Base64 High Entropy String", "Public IP (ipv4)"}
    r = workspace_redactor()
    flagged = 0
    for shape in SHAPES:
        masked = r.text(shape.text)
        for plugin in plugins:
            if plugin.secret_type in skipped:
                continue
            kwargs = {}
            if plugin.secret_type == "Secret Keyword":
                kwargs["denylist_regex_to_group"] = CONFIG_DENYLIST_REGEX_TO_GROUP
            for line in shape.text.splitlines():
                for found in plugin.analyze_string(line, **kwargs):
                    flagged += 1
                    assert found.strip("'\"") not in masked, (shape.name, plugin.secret_type)
    assert flagged >= 12


# -- every input path, through the real CLI -----------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    """/shape/N answers 503 with shape N as its body; /echo answers the request's
    Authorization header back, as a misconfigured debug endpoint does."""

    def do_GET(self):
        if self.path.startswith("/echo"):
            body = json.dumps({"you_sent": self.headers.get("Authorization", "")}).encode()
        else:
            body = SHAPES[int(self.path.rsplit("/", 1)[1])].text.encode()
        self.send_response(503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a probe still in flight when `check watch --for` ends closes its connection while
        # the answer is written; the traceback socketserver prints would land in the CLI's
        # captured stderr, which these tests search for tracebacks
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Echo)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def ws(tmp_path, monkeypatch, server, cli):
    """A workspace whose checks resolve a token from the environment and carry URL
    credentials, with one incident that has the latency runbook attached."""
    monkeypatch.setenv("MODEL_TOKEN", ENV_TOKEN)
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    checks = [
        "defaults: {interval: 200ms, timeout: 2s, thresholds: {degraded_after: 1, down_after: 1}}",
        "checks:",
    ]
    checks.append(
        f'  - {{id: echo, url: "http://{URL_USER}:{URL_PASSWORD}@{server}/echo", '
        'conditions: ["[STATUS] == 200", "[BODY].you_sent == nothing"]}'
    )
    checks.append(
        f'  - {{id: tok, url: "http://{server}/echo", '
        'headers: {X-Model-Token: "${env:MODEL_TOKEN}"}, conditions: ["[STATUS] == 200"]}'
    )
    for i in range(len(SHAPES)):
        checks.append(
            f'  - {{id: s{i}, url: "http://{server}/shape/{i}", conditions: ["[STATUS] == 200"]}}'
        )
    (tmp_path / "checks.yaml").write_text("\n".join(checks) + "\n")
    r = cli(
        "incident", "declare", "--title", "latency", "--severity", "SEV2",
        "--runbook", "model-latency-spike",
    )  # fmt: skip
    assert r.code == 0, r.err
    return tmp_path


def _leaks(tmp_path: Path, outputs: list[str]) -> list[str]:
    """Which secrets appear in the database files or in the outputs."""
    blobs = [p.read_bytes() for p in tmp_path.glob("oncall.db*")]
    assert blobs, "no database was written"
    found = []
    for secret in SECRETS:
        raw = secret.encode()
        escaped = json.dumps(secret)[1:-1].encode()
        if any(raw in b or escaped in b for b in blobs):
            found.append(f"{secret!r} in the database")
        if any(secret in o for o in outputs):
            found.append(f"{secret!r} in the output")
    return found


def _run_all(cli, commands) -> list[str]:
    outputs = []
    for args in commands:
        r = cli(*args)
        assert r.code in (0, 1, 2), (args, r.code, r.err)
        assert "internal error" not in r.err and "Traceback" not in r.err, r.err
        outputs += [r.out, r.err]
    return outputs


INC = "INC-0001"


def _per_shape(fn) -> list[list[str]]:
    return [fn(s.text) for s in SHAPES]


def cmd(words: str, text: str, *options: str) -> list[str]:
    """``words``, then ``text``, then ``text`` again as the value of each option."""
    return [*words.split(), text, *(arg for opt in options for arg in (opt, text))]


PATHS = {
    "declare_title": lambda t: cmd("incident declare --severity SEV3 --title", t),
    "declare_service": lambda t: cmd("incident declare --title x --severity SEV3 --service", t),
    "note": lambda t: cmd(f"incident note {INC} --json", t),
    "status_note": lambda t: cmd(f"incident status {INC} investigating --note", t),
    "set_summary": lambda t: cmd(f"incident set {INC} --json --summary", t, "--lucky"),
    "action_item": lambda t: cmd(f"incident action add {INC} --type prevent --owner", t, "--"),
    "assign_who": lambda t: cmd(f"incident assign {INC} --role scribe --who", t),
    "deploy_record": lambda t: cmd(
        "deploy record --kind model --outcome failed --json --service", t, "--version", "--notes"
    ),
    "risk_add": lambda t: cmd(
        "risk add --likelihood 3 --impact 3 --json --title",
        t,
        *("--owner", "--description", "--mitigation", "--contingency", "--early-warning"),
    ),
    "error_messages": lambda t: cmd("incident show", t),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_secret_is_stored_or_printed(path, ws, cli):
    outputs = _run_all(cli, _per_shape(PATHS[path]))
    outputs += _run_all(cli, [["incident", "timeline", INC], ["incident", "show", INC, "--json"]])
    assert _leaks(ws, outputs) == []


def test_step_and_decide_notes(ws, cli):
    steps = ["what-changed", "p99-by-workload", "queue-vs-compute", "input-size", "cold-starts"]
    commands = []
    for i, s in enumerate(SHAPES):
        # each note on a fresh outcome of the first step is refused once done; record them on
        # the diagnose steps in turn, then on the decision
        step = steps[i % len(steps)]
        commands.append(["incident", "step", INC, step, "done", "--note", s.text, "--json"])
    outputs = _run_all(cli, commands)
    outputs += _run_all(
        cli,
        [
            ["incident", "decide", INC, "cause", "1", "--note", SHAPES[0].text, "--json"],
            ["incident", "show", INC, "--json"],
            ["incident", "timeline", INC],
        ],
    )
    assert _leaks(ws, outputs) == []


def test_risk_update_and_review(ws, cli):
    r = cli("risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o")
    assert r.code == 0, r.err
    commands = []
    for s in SHAPES:
        commands.append(["risk", "update", "RISK-001", "--mitigation", s.text, "--title", s.text])
        commands.append(
            ["risk", "review", "RISK-001", "--likelihood", "2", "--impact", "2", "--note", s.text]
        )
    outputs = _run_all(cli, commands)
    outputs += _run_all(cli, [["risk", "show", "RISK-001", "--json"], ["risk", "list"]])
    assert _leaks(ws, outputs) == []


def test_check_run_output(ws, cli):
    outputs = _run_all(cli, [["check", "run"], ["check", "run", "--json"]])
    joined = "".join(outputs)
    assert "s0 " in joined or '"s0"' in joined
    assert _leaks(ws, outputs) == []


def test_check_transitions_stored_and_printed(ws, cli):
    """`check watch` records each threshold crossing in check_transition; postmortems and the
    drill replays print them."""
    outputs = _run_all(cli, [["check", "watch", "--for", "2s"], ["postmortem", INC]])
    import sqlite3

    con = sqlite3.connect(ws / "oncall.db")
    stored = con.execute("SELECT count(*) FROM check_transition").fetchone()[0]
    con.close()
    assert stored >= len(SHAPES)
    assert _leaks(ws, outputs) == []


def _session(ws: Path):
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    return Session(load_workspace(ws / "oncall.yaml"))


def test_command_output(ws, cli):
    """A step's command runs in a real shell; its output is kept in the command_run event."""
    from mlops_oncall.incidents.commands import run_and_record

    session = _session(ws)
    outputs = []
    try:
        for i, s in enumerate(SHAPES):
            shown = ws / f"shape{i}.txt"
            shown.write_text(s.text)
            result = run_and_record(
                session.incidents, INC, "what-changed", f"cat {shown}; echo {i}", timeout=20
            )
            assert result.exit_code == 0, result.outcome()
            outputs.append(result.output)
    finally:
        session.close()
    outputs += _run_all(cli, [["incident", "timeline", INC], ["incident", "export", INC]])
    assert _leaks(ws, outputs) == []


def test_drill_game_master_messages(ws, cli):
    """`drill control ID message TEXT` records what the game master said to the responder."""
    import sqlite3

    import yaml

    from mlops_oncall.drills.scenario import Scenario
    from mlops_oncall.store.types import ts_text

    scenario = Scenario.model_validate(
        yaml.safe_load(
            (Path(__file__).parents[1] / "scenarios/latency-after-rollout.yaml").read_text()
        )
    )
    session = _session(ws)
    now = ts_text(session.clock.now())
    session.close()
    con = sqlite3.connect(ws / "oncall.db")
    with con:
        con.execute(
            "INSERT INTO drill (scenario_id, title, scenario, mode, speed, status, started_at,"
            " control_url, result, actor) VALUES (?, ?, ?, 'live', 1.0, 'running', ?, ?, '{}', 't')",
            (scenario.id, scenario.title, scenario.model_dump_json(), now, "http://127.0.0.1:9"),
        )
    con.close()
    commands = [["drill", "control", "DRILL-0001", "message", "--", s.text] for s in SHAPES]
    outputs = _run_all(cli, commands)
    outputs += _run_all(
        cli, [["drill", "control", "DRILL-0001"], ["drill", "control", "DRILL-0001", "--json"]]
    )
    assert "delivered" in "".join(outputs)
    assert _leaks(ws, outputs) == []
