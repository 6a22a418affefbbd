"""``kind: dns``: one query per poll through dnspython, turned into ``[DNS_RCODE]`` and ``[BODY]``.

Imported only when a dns check runs. Gatus's semantics (``client.QueryDNS`` in TwiN/gatus):
the query name is made absolute, a PTR query for an IP address asks for its reverse name, the
response code is its name (NOERROR, NXDOMAIN, SERVFAIL, ...), and ``[BODY]`` is the last record of
the answer section: an A or AAAA address, a CNAME, MX, NS or PTR target (absolute, with its dot),
SRV ``target:port``, and for TXT every record's strings joined, one record per line. Other types
(SOA, CAA) read as their zone-file text, where Gatus says "query type is not supported yet".
A truncated UDP answer is asked again over TCP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

MAX_BODY = 64 * 1024  # TXT records can be many; a DNS message is at most 64 KiB anyway


@dataclass(slots=True)
class Answer:
    rcode: str
    body: str


class QueryFailed(Exception):
    def __init__(self, error_class: str, message: str):
        super().__init__(message)
        self.error_class = error_class
        self.message = message


def parse(url: str) -> tuple[str | None, int, str, str]:
    """(server or None, port, name, type) of a check's ``dns://server:port/name?type=A``."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    qtype = parts.query.removeprefix("type=") or "A"
    return parts.hostname, parts.port or 53, name, qtype


async def query(url: str, timeout: float) -> Answer:
    server, port, name, qtype = parse(url)
    rdtype = dns.rdatatype.from_text(qtype)
    if rdtype == dns.rdatatype.PTR and _is_ip(name):
        qname = dns.reversename.from_address(name)
    else:
        qname = dns.name.from_text(name)  # absolute, as Gatus's "name."
    where, shown = await _server(server, port)
    message = dns.message.make_query(qname, rdtype)
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(
            message, where, timeout=timeout, port=port
        )
    except dns.exception.Timeout:
        raise QueryFailed("timeout", f"no answer from {shown} within {timeout:g}s") from None
    except ConnectionRefusedError:
        raise QueryFailed("connect", f"{shown} refused the query (nothing listens)") from None
    except OSError as exc:
        raise QueryFailed("connect", f"cannot query {shown}: {exc.strerror or exc}") from None
    except dns.exception.DNSException as exc:
        raise QueryFailed("protocol", f"{shown} sent a malformed answer: {exc}") from None
    return Answer(dns.rcode.to_text(response.rcode()), _body(response))


def _body(response: dns.message.Message) -> str:
    body = ""
    for rrset in response.answer:
        for rd in rrset:
            t = rd.rdtype
            if t in (dns.rdatatype.A, dns.rdatatype.AAAA):
                body = rd.address
            elif t in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR):
                body = rd.target.to_text()
            elif t == dns.rdatatype.MX:
                body = rd.exchange.to_text()
            elif t == dns.rdatatype.SRV:
                body = f"{rd.target.to_text()}:{rd.port}"
            elif t == dns.rdatatype.TXT:
                text = b"".join(rd.strings).decode("utf-8", errors="replace")
                body = f"{body}\n{text}" if body else text
            else:
                body = rd.to_text()
    return body[:MAX_BODY]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def _server(server: str | None, port: int) -> tuple[str, str]:
    """The server's IP address (dnspython wants one) and how messages name it."""
    if server is None:
        try:
            server = dns.resolver.get_default_resolver().nameservers[0]
        except (dns.resolver.NoResolverConfiguration, IndexError):
            raise QueryFailed("dns", "no name server in /etc/resolv.conf; set dns.server") from None
        return str(server), f"{server}:{port}"
    shown = f"[{server}]:{port}" if ":" in server else f"{server}:{port}"
    if _is_ip(server):
        return server, shown
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(server, port, type=socket.SOCK_DGRAM)
    except socket.gaierror:
        raise QueryFailed("dns", f"cannot resolve the name server {server}") from None
    return infos[0][4][0], shown
