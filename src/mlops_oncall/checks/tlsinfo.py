"""The expiry of a peer's TLS certificate, for ``[CERTIFICATE_EXPIRATION]``.

``SSLObject.getpeercert()`` returns an empty dict when verification is off (``insecure: true``),
so the expiry is read from the DER certificate itself: a few lines of ASN.1 walking instead of a
dependency on a crypto library.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from typing import Any


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``at``."""
    tag = data[at]
    length = data[at + 1]
    at += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[at : at + n], "big")
        at += n
    end = at + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, at, end


def not_after(der: bytes) -> datetime | None:
    """The notAfter time of an X.509 certificate in DER form, or None if it cannot be read."""
    try:
        _, cert, _ = _tlv(der, 0)  # Certificate ::= SEQUENCE
        _, tbs, tbs_end = _tlv(der, cert)  # TBSCertificate ::= SEQUENCE
        at = tbs
        tag, _, end = _tlv(der, at)
        if tag == 0xA0:  # [0] EXPLICIT version
            at = end
        for _ in range(3):  # serialNumber, signature, issuer
            _, _, at = _tlv(der, at)
        _, validity, _ = _tlv(der, at)
        _, _, after_before = _tlv(der, validity)  # notBefore
        tag, start, end = _tlv(der, after_before)  # notAfter
        if end > tbs_end:
            return None
        text = der[start:end].decode("ascii")
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
            year = int(text[:2])
            year += 2000 if year < 50 else 1900
            rest = text[2:]
        elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
            year = int(text[:4])
            rest = text[4:]
        else:
            return None
        return datetime(
            year,
            int(rest[0:2]),
            int(rest[2:4]),
            int(rest[4:6]),
            int(rest[6:8]),
            int(rest[8:10]),
            tzinfo=UTC,
        )
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def ssl_object_expiry(ssl_object: Any) -> datetime | None:
    if ssl_object is None:
        return None
    try:
        der = ssl_object.getpeercert(binary_form=True)
    except (ValueError, AttributeError):
        return None
    return not_after(der) if der else None


async def peer_expiry(
    host: str, port: int, context: ssl.SSLContext, timeout: float
) -> datetime | None:
    """The expiry of the certificate ``host:port`` presents in a TLS handshake of its own, for
    a protocol whose library does not show it (grpcio); None if the handshake fails (the
    check's own call reports why)."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        return ssl_object_expiry(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
