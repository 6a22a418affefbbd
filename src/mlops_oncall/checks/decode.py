"""Bounded decoding of response bodies: the one decoder every probe transport uses.

A health endpoint is not trusted: 5 KB on the wire with ``Content-Encoding: gzip, gzip`` can
expand to gigabytes. So transports hand over the raw body (itself capped) and this module
decodes it stage by stage (the header's codings in reverse order), each stage producing at
most ``CHUNK`` bytes per step and at most ``limit`` bytes in all. Memory stays within a few
chunks plus the limit, and CPU within what the capped raw body can ask for.

Only codings that can be decoded with a bound on their output are offered (``ACCEPT_ENCODING``):
gzip and deflate always, br with brotli >= 1.2 (``output_buffer_limit``), zstd with
``compression.zstd`` (Python 3.14) or its backport.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

CHUNK = 64 * 1024
MAX_CODINGS = 4  # stacked codings; real servers use one


class BodyTooLarge(Exception):
    """A response body over the limit; ``declared`` when Content-Length said so up front,
    ``encoding`` when the limit was crossed while decoding."""

    def __init__(self, declared: int | None, limit: int, encoding: str | None = None):
        super().__init__(f"body larger than {limit} bytes")
        self.declared = declared
        self.limit = limit
        self.encoding = encoding


class BodyDecodeError(Exception):
    """A body that cannot be decoded: an unsupported coding or corrupt compressed data."""


class _Zlib:
    """gzip (with concatenated members) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, name: str):
        self.name = name
        self.gzip = name == "gzip"
        self.d = zlib.decompressobj(zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS)
        self.pending = b""
        self.started = False  # nothing decoded yet: a deflate body may still turn out raw

    def push(self, data: bytes) -> None:
        self.pending += data

    def pull(self, n: int) -> bytes:
        while True:
            if self.d.eof:
                rest = self.d.unused_data + self.pending
                self.pending = b""
                if not rest:
                    return b""
                if not self.gzip or not rest.startswith(b"\x1f\x8b"[: len(rest)]):
                    raise BodyDecodeError(f"data after the end of the {self.name} stream")
                self.d = zlib.decompressobj(zlib.MAX_WBITS | 16)  # the next gzip member
                self.pending = rest
            data = self.pending
            try:
                out = self.d.decompress(data, n)
            except zlib.error:
                if self.gzip or self.started:
                    raise
                self.d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
                out = self.d.decompress(data, n)
            self.started = True
            self.pending = self.d.unconsumed_tail
            if out or not self.d.eof:
                return out
            # an empty member ended: go on with the next one, if any

    def end(self) -> None:
        if self.started and not self.d.eof:
            raise BodyDecodeError(f"the {self.name} stream is cut off")


def _brotli_factory() -> Callable[[], object] | None:
    try:
        import brotli
    except ImportError:
        return None
    try:  # output_buffer_limit came in brotli 1.2; without it the output is unbounded
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return None
    except Exception:  # brotli.error: the keyword is known
        pass
    return brotli.Decompressor


class _Brotli:
    name = "br"

    def __init__(self, make: Callable[[], object]):
        self.d = make()
        self.pending = b""
        self.started = False

    def push(self, data: bytes) -> None:
        self.pending += data

    def pull(self, n: int) -> bytes:
        d = self.d
        if d.is_finished():  # type: ignore[attr-defined]
            if self.pending:
                raise BodyDecodeError("data after the end of the br stream")
            return b""
        data = b""
        if self.pending and d.can_accept_more_data():  # type: ignore[attr-defined]
            data, self.pending = self.pending, b""
            self.started = True
        try:
            return d.process(data, output_buffer_limit=n)  # type: ignore[attr-defined]
        except Exception as exc:  # brotli.error
            raise BodyDecodeError(f"cannot decode the br body: {exc}") from None

    def end(self) -> None:
        if self.started and not self.d.is_finished():  # type: ignore[attr-defined]
            raise BodyDecodeError("the br stream is cut off")


def _zstd_factory() -> Callable[[], object] | None:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None
    return zstd.ZstdDecompressor


class _Zstd:
    """One decompressor per frame, as for gzip members."""

    name = "zstd"

    def __init__(self, make: Callable[[], object]):
        self.make = make
        self.d = make()
        self.pending = b""
        self.started = False

    def push(self, data: bytes) -> None:
        self.pending += data

    def pull(self, n: int) -> bytes:
        while True:
            if self.d.eof:  # type: ignore[attr-defined]
                rest = self.d.unused_data + self.pending  # type: ignore[attr-defined]
                self.pending = b""
                if not rest:
                    return b""
                self.d = self.make()
                self.pending = rest
            data, self.pending = self.pending, b""
            try:
                out = self.d.decompress(data, n)  # type: ignore[attr-defined]
            except Exception as exc:  # zstd.ZstdError
                raise BodyDecodeError(f"cannot decode the zstd body: {exc}") from None
            self.started = True
            if out or not self.d.eof:  # type: ignore[attr-defined]
                return out

    def end(self) -> None:
        if self.started and not self.d.eof:  # type: ignore[attr-defined]
            raise BodyDecodeError("the zstd stream is cut off")


_BROTLI = _brotli_factory()
_ZSTD = _zstd_factory()
SUPPORTED = ("gzip", "deflate") + (("br",) if _BROTLI else ()) + (("zstd",) if _ZSTD else ())
ACCEPT_ENCODING = ", ".join(SUPPORTED)
_ALIASES = {"x-gzip": "gzip"}


def codings(content_encoding: str | None) -> list[str]:
    """The codings of a Content-Encoding value in the order they were applied, identity left
    out; raises BodyDecodeError for one this module cannot decode."""
    names = []
    for token in (content_encoding or "").split(","):
        name = token.strip().lower()
        name = _ALIASES.get(name, name)
        if name in ("", "identity"):
            continue
        if name not in SUPPORTED:
            raise BodyDecodeError(
                f"unsupported Content-Encoding {token.strip()[:40]!r} "
                f"(supported: {', '.join(SUPPORTED)})"
            )
        names.append(name)
    if len(names) > MAX_CODINGS:
        raise BodyDecodeError(
            f"{len(names)} stacked Content-Encodings (at most {MAX_CODINGS} are decoded)"
        )
    return names


def _stage(name: str):
    if name == "br":
        return _Brotli(_BROTLI)  # type: ignore[arg-type]
    if name == "zstd":
        return _Zstd(_ZSTD)  # type: ignore[arg-type]
    return _Zlib(name)


def decode(raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The decoded body; BodyTooLarge as soon as any stage's output passes ``limit``."""
    names = codings(content_encoding)
    if not names or not raw:  # an empty body is empty whatever it claims (HEAD, 204, 304)
        if len(raw) > limit:
            raise BodyTooLarge(None, limit)
        return raw
    stages = [_stage(name) for name in reversed(names)]  # the last applied is undone first
    totals = [0] * len(stages)
    out: list[bytes] = []
    label = ", ".join(names)

    def push(i: int, data: bytes) -> None:
        if i == len(stages):
            out.append(data)
            return
        stage = stages[i]
        stage.push(data)
        while True:
            try:
                piece = stage.pull(CHUNK)
            except zlib.error as exc:
                raise BodyDecodeError(f"cannot decode the {stage.name} body: {exc}") from None
            if not piece:
                return
            totals[i] += len(piece)
            # every stage is bounded, not only the last: an inner stage that expands a lot
            # into something the outer one shrinks again would cost CPU unbounded
            if totals[i] > limit:
                raise BodyTooLarge(None, limit, label)
            push(i + 1, piece)

    for at in range(0, len(raw), CHUNK):
        push(0, raw[at : at + CHUNK])
    for stage in stages:  # every stage was drained above; each must have reached its end
        stage.end()
    return b"".join(out)
