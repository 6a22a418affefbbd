"""What a check may send: checks.yaml refuses unsafe URLs, header names and values, unknown
runbooks and out-of-range durations, each located; and no transport writes a CR or LF into a
request line or header, whatever reaches it."""

from __future__ import annotations

import socket
import threading

import pytest

from mlops_oncall.checks.probe import Prober
from tests.checks.helpers import load_errors, load_ok, write


def test_unsafe_urls_are_located_errors(tmp_path):
    errors = load_errors(
        tmp_path,
        r"""
        checks:
          - {id: cr, url: "http://x.test/a\r\nX-Injected: 1"}
          - {id: lf, url: "http://x.test/a\nb"}
          - {id: nul, url: "http://x.test/a\u0000"}
          - {id: accent, url: "http://exämple.test/"}
          - {id: number, url: 12345}
          - {id: v6, url: "http://[::1/x"}
          - {id: tcp, kind: tcp, url: "tcp://x.test:1\r\n"}
          - {id: srv, preset: oip_v2, base_url: "http://x.test\r\n/"}
        """,
    )
    assert errors == [
        "checks.yaml:2:19: checks[0].url: the URL has a CR at position 16",
        "checks.yaml:3:19: checks[1].url: the URL has an LF at position 16",
        "checks.yaml:4:20: checks[2].url: the URL has a control character '\\x00' at position 16",
        "checks.yaml:5:23: checks[3].url: the URL has a non-ASCII character 'ä' at position 10 "
        "(percent-encode it; a host name in its xn-- form)",
        "checks.yaml:6:23: checks[4].url: expected a URL as text, got the number 12345",
        "checks.yaml:7:19: checks[5].url: invalid URL 'http://[::1/x': Invalid IPv6 URL",
        "checks.yaml:8:31: checks[6].url: the URL has a CR at position 15",
        "checks.yaml:9:41: checks[7].base_url: the URL has a CR at position 14",
    ]


def test_unsafe_headers_are_located_errors(tmp_path):
    errors = load_errors(
        tmp_path,
        r"""
        checks:
          - id: a
            url: http://x.test/
            headers:
              "Bad Name": v
              "X(y)": v
              X-Split: "v\r\nX-Injected: 1"
              X-Accent: "värde"
              X-Tab: "a\tb"
        """,
    )
    assert errors == [
        "checks.yaml:5:7: checks[0].headers.Bad Name: invalid header name 'Bad Name': "
        "expected letters, digits and !#$%&'*+-.^_`|~ only",
        "checks.yaml:6:7: checks[0].headers.X(y): invalid header name 'X(y)': "
        "expected letters, digits and !#$%&'*+-.^_`|~ only",
        "checks.yaml:7:16: checks[0].headers.X-Split: the value has a CR at position 2",
        "checks.yaml:8:17: checks[0].headers.X-Accent: the value has a non-ASCII character "
        "'ä' at position 2",
    ]


def test_secrets_from_the_environment_are_checked_too_and_not_shown(tmp_path):
    env = {"TOKEN": "s3cr3t\r\nX-Injected: 1", "HOST": "x.test/\n"}
    errors = load_errors(
        tmp_path,
        """
        checks:
          - id: a
            url: "http://${env:HOST}"
            headers: {Authorization: "Bearer ${env:TOKEN}"}
        """,
        env=env,
    )
    assert errors == [
        "checks.yaml:3:10: checks[0].url: the URL has an LF at position 15 (from ${env:…})",
        "checks.yaml:4:30: checks[0].headers.Authorization: the value has a CR at position 14 "
        "(from ${env:…})",
    ]
    assert not any("s3cr3t" in e for e in errors)


def test_huge_durations_are_located_errors_not_an_overflow(tmp_path, cli):
    path = write(
        tmp_path,
        """
        defaults: {timeout: 999999999999999d}
        checks:
          - {id: a, url: "http://x.test/", interval: 999999999999d}
        """,
    )
    r = cli("check", "validate", "--checks", path)
    assert r.code == 1, r.err
    lines = r.out.strip().splitlines()
    # each in the file's own terms: where, which field, the value; the wording is the
    # duration parser's
    assert [line.split(": ")[:2] for line in lines] == [
        [f"{path}:1:21", "defaults.timeout.total"],
        [f"{path}:3:46", "checks[0].interval"],
    ]
    assert "'999999999999999d'" in lines[0] and "'999999999999d'" in lines[1]
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_an_unknown_runbook_is_an_error_in_validate_and_a_warning_in_run(tmp_path, cli, serve):
    from tests.checks.servers import Reply

    srv = serve({"/ok": Reply(200, b"ok")})
    path = write(
        tmp_path,
        f"""
        checks:
          - {{id: a, url: "{srv.url}/ok", runbook: model-latency-spik}}
          - {{id: b, url: "{srv.url}/ok", runbook: model-latency-spike}}
        """,
    )
    message = (
        "checks.yaml:2:56: checks[0].runbook: unknown runbook 'model-latency-spik' "
        "(did you mean 'model-latency-spike'?)"
    )
    r = cli("check", "validate", "--checks", path)
    assert r.code == 1
    assert r.out.splitlines()[0] == message.replace("checks.yaml", str(path))
    r = cli("check", "run", "--checks", path)
    assert r.code == 0, r.err
    warning = message.replace("checks.yaml", str(path)).replace(
        ": checks[0]", ": warning: checks[0]"
    )
    assert warning in r.err.splitlines()


def test_without_a_library_the_runbook_is_not_checked(tmp_path):
    checkset = load_ok(tmp_path, "checks: [{id: a, url: 'http://x.test/', runbook: anything}]\n")
    assert checkset.specs["a"].runbook == "anything"


# ---- at request time


class Recorder:
    """Records every request head; answers 200."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.heads: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(2)
                self.heads.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.stop()


async def test_no_transport_sends_a_cr_or_lf_that_reached_it(tmp_path, recorder):
    url = recorder.url
    checkset = load_ok(
        tmp_path,
        f"checks:\n  - {{id: h, url: '{url}/h', headers: {{X-A: v}}}}\n"
        f"  - {{id: u, url: '{url}/u'}}\n  - {{id: ok, url: '{url}/ok'}}\n",
    )
    # past validation, as a bug or a caller building specs itself could do
    checkset.specs["h"].request.headers["X-A"] = "v\r\nX-Injected: 1"
    checkset.specs["u"].request.url = f"{url}/u\r\nX-Injected: 1"
    async with Prober() as prober:
        results = {spec.id: await prober.probe(spec) for spec in checkset}
    assert (results["h"].error_class, results["h"].message) == (
        "protocol",
        "request not sent: header 'X-A' contains a CR, LF or NUL",
    )
    assert results["u"].error_class == "protocol"
    assert results["u"].message.startswith("request not sent: ")
    assert results["ok"].state == "up"
    assert len(recorder.heads) == 1 and b"X-Injected" not in recorder.heads[0]


def test_a_huge_gatus_interval_is_a_warning_not_an_overflow(tmp_path, cli):
    digits = "9" * 400  # a float of it is inf
    path = write(
        tmp_path,
        f"endpoints:\n  - {{name: a, url: 'http://x.test/', interval: {digits}h}}\n",
        "gatus.yaml",
    )
    r = cli("check", "import-gatus", path)
    assert r.code == 0, r.err
    assert "interval: 60s" in r.out
    assert f"interval '{digits}h' is not a duration; the default applies" in r.err
