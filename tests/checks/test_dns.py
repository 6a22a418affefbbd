"""kind: dns against a name server on 127.0.0.1 started by the test (a UDP and TCP responder built
with dnspython's message API); never a public resolver."""

from __future__ import annotations

import socket
import socketserver
import threading

import dns.message
import dns.rcode
import dns.rrset
import pytest

from mlops_oncall.checks.probe import Prober
from mlops_oncall.clock import FixedClock
from tests.checks.helpers import load_errors, load_ok
from tests.checks.test_probe import T0


class Zone:
    """Answers from a dict of (name, type) -> zone-file texts; a name listed in ``rcodes`` gets
    that response code, one in ``silent`` no answer at all."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.rcodes: dict[str, str] = {}
        self.silent: set[str] = set()
        self.truncate = False
        self.asked: list[tuple[str, str, str]] = []  # (name, type, transport)

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(wire)
        q = query.question[0]
        name, qtype = q.name.to_text(), dns.rdatatype.to_text(q.rdtype)
        self.asked.append((name, qtype, transport))
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        if name in self.rcodes:
            response.set_rcode(dns.rcode.from_text(self.rcodes[name]))
        for rtype in ("CNAME", qtype):
            texts = self.records.get((name, rtype))
            if texts:
                response.answer.append(dns.rrset.from_text_list(name, 60, "IN", rtype, texts))
                if rtype == "CNAME":
                    name = response.answer[-1][0].target.to_text()
        if self.truncate and transport == "udp":
            response.answer.clear()
            response.flags |= dns.flags.TC
        return response.to_wire()


class NameServer:
    def __init__(self) -> None:
        self.zone = Zone()
        zone = self.zone

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                out = zone.answer(data, "udp")
                if out is not None:
                    sock.sendto(out, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                size = int.from_bytes(self.request.recv(2), "big")
                data = b""
                while len(data) < size:
                    data += self.request.recv(size - len(data))
                out = zone.answer(data, "tcp")
                if out is not None:
                    self.request.sendall(len(out).to_bytes(2, "big") + out)

        for _ in range(50):  # one port for both, as a name server has: free for UDP and TCP
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            self.port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Tcp)
                break
            except OSError:
                self.udp.server_close()
        else:
            raise RuntimeError("no port free for both UDP and TCP")
        for srv in (self.udp, self.tcp):
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()


@pytest.fixture
def ns():
    srv = NameServer()
    yield srv
    srv.stop()


async def probe_all(tmp_path, checks_yaml: str):
    cs = load_ok(tmp_path, "defaults: {timeout: 1s}\nchecks:\n" + checks_yaml)
    async with Prober(redactor=cs.redactor, clock=FixedClock(T0)) as prober:
        return {spec.id: await prober.probe(spec) for spec in cs}


def entry(cid: str, server: str, name: str, qtype: str = "A", extra: str = "") -> str:
    return (
        f"  - {{id: {cid}, kind: dns, dns: {{name: '{name}', type: {qtype}, "
        f"server: '{server}'}}{extra}}}\n"
    )


async def test_records_and_the_body_gatus_gives(tmp_path, ns):
    z = ns.zone.records
    z[("model.example.", "A")] = ["10.0.0.6"]
    z[("pool.example.", "A")] = ["10.0.1.1", "10.0.1.2"]
    z[("model.example.", "AAAA")] = ["fd00::5"]
    z[("www.example.", "CNAME")] = ["model.example."]
    z[("example.", "MX")] = ["10 mail.example."]
    z[("example.", "NS")] = ["ns1.example."]
    z[("_grpc._tcp.example.", "SRV")] = ["0 5 8001 triton.example."]
    z[("example.", "TXT")] = ['"v=spf1" " -all"', '"team=ml"']
    z[("5.0.0.10.in-addr.arpa.", "PTR")] = ["model.example."]
    srv = f"127.0.0.1:{ns.port}"
    r = await probe_all(
        tmp_path,
        entry(
            "a",
            srv,
            "model.example",
            extra=", conditions: ['[DNS_RCODE] == NOERROR', "
            "'[BODY] == 10.0.0.6', '[RESPONSE_TIME] < 1000']",
        )
        + entry("aaaa", srv, "model.example", "AAAA")
        + entry("cname", srv, "www.example", "CNAME")
        + entry("mx", srv, "example", "MX")
        + entry("ns", srv, "example", "NS")
        + entry("srv", srv, "_grpc._tcp.example", "SRV")
        + entry("txt", srv, "example", "TXT")
        + entry("ptr", srv, "10.0.0.5", "PTR"),
    )
    assert {k: v.state for k, v in r.items()} == dict.fromkeys(r, "up")
    assert [c.observed for c in r["a"].conditions[:2]] == ["NOERROR", "10.0.0.6"]

    async def body(cid, qtype, name, text):
        got = await probe_all(
            tmp_path, entry(cid, srv, name, qtype, f", conditions: ['[BODY] == {text}']")
        )
        return got[cid].conditions[0].observed

    # the last address of the answer, which the server orders as it likes (dnspython shuffles)
    assert await body("pool", "A", "pool.example", "x") in ("10.0.1.1", "10.0.1.2")
    assert await body("aaaa", "AAAA", "model.example", "x") == "fd00::5"
    assert await body("cname", "CNAME", "www.example", "x") == "model.example."
    assert await body("mx", "MX", "example", "x") == "mail.example."
    assert await body("ns", "NS", "example", "x") == "ns1.example."
    assert await body("srv", "SRV", "_grpc._tcp.example", "x") == "triton.example.:8001"
    txt = await body("txt", "TXT", "example", "x")  # one line per record, in the answer's order
    assert sorted(txt.split("\n")) == ["team=ml", "v=spf1 -all"]
    assert await body("ptr", "PTR", "10.0.0.5", "x") == "model.example."
    assert ("5.0.0.10.in-addr.arpa.", "PTR", "udp") in ns.zone.asked


async def test_rcodes_are_gatus_names_and_fail_as_dns(tmp_path, ns):
    ns.zone.rcodes["gone.example."] = "NXDOMAIN"
    ns.zone.rcodes["broken.example."] = "SERVFAIL"
    srv = f"127.0.0.1:{ns.port}"
    r = await probe_all(
        tmp_path,
        entry("gone", srv, "gone.example")
        + entry("broken", srv, "broken.example")
        + entry("expected", srv, "gone.example", extra=", conditions: ['[DNS_RCODE] == NXDOMAIN']"),
    )
    assert (r["gone"].state, r["gone"].error_class, r["gone"].message) == (
        "down",
        "dns",
        '[DNS_RCODE] = "NXDOMAIN", expected == NOERROR',
    )
    assert r["broken"].conditions[0].observed == "SERVFAIL"
    assert r["expected"].state == "up"


async def test_silent_server_and_a_closed_port_time_out(tmp_path, ns):
    ns.zone.silent.add("slow.example.")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    r = await probe_all(
        tmp_path,
        entry("slow", f"127.0.0.1:{ns.port}", "slow.example", extra=", timeout: 0.3s")
        + entry("closed", f"127.0.0.1:{closed}", "a.example", extra=", timeout: 0.3s"),
    )
    assert (r["slow"].error_class, r["slow"].message) == (
        "timeout",
        f"no answer from 127.0.0.1:{ns.port} within 0.3s",
    )
    # dnspython's unconnected UDP socket never sees the ICMP port unreachable: a timeout
    assert (r["closed"].error_class, r["closed"].message) == (
        "timeout",
        f"no answer from 127.0.0.1:{closed} within 0.3s",
    )


async def test_truncated_udp_answer_is_asked_again_over_tcp(tmp_path, ns):
    ns.zone.records[("big.example.", "TXT")] = ['"x"']
    ns.zone.truncate = True
    r = await probe_all(
        tmp_path,
        entry("big", f"127.0.0.1:{ns.port}", "big.example", "TXT", ", conditions: ['[BODY] == x']"),
    )
    assert r["big"].state == "up"
    assert [t for _, _, t in ns.zone.asked] == ["udp", "tcp"]


def test_dns_config_errors_are_located(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, kind: dns}
          - {id: b, kind: dns, dns: {name: x.example, type: AAA}}
          - {id: c, kind: dns, dns: {name: x.example}, url: 'http://h'}
          - {id: d, kind: dns, dns: {name: x.example, server: 'h:port'}}
          - {id: e, kind: dns, dns: {name: x.example}, conditions: ['[STATUS] == 200']}
          - {id: f, url: 'http://h', dns: {name: x.example}}
        """,
    )
    text = "\n".join(errors)
    assert "checks.yaml:2:5: checks[0]: a dns check needs dns: {name: NAME" in text
    assert "checks[1].dns.type: unknown record type 'AAA' (did you mean 'AAAA'?)" in text
    assert "checks[2].url: a dns check has no url; see dns:" in text
    assert (
        "checks[3].dns.server: expected host or host:port for the name server, got 'h:port'" in text
    )
    assert "checks[4].conditions[0]: a dns check has [DNS_RCODE], [BODY]" in text
    assert "checks[5].dns: dns: is for kind dns" in text


def test_dns_rcode_outside_a_dns_check_says_so(tmp_path):
    from mlops_oncall.checks.conditions import Observation, evaluate, parse_condition

    r = evaluate(parse_condition("[DNS_RCODE] == NOERROR"), Observation(now=T0))
    assert (r.success, r.message) == (
        False,
        "[DNS_RCODE]: no DNS answer (only dns checks have one)",
    )
