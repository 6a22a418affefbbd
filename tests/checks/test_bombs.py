"""Compression bombs and broken encodings from a real server on 127.0.0.1, through each
transport: the body cap holds on the decoded stream, as it is decoded.

The bombs are probed in a subprocess whose address space is capped, so a regression fails
the test (MemoryError, or a peak RSS far over the baseline) instead of taking the machine.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from functools import cache

import pytest

from mlops_oncall.checks.decode import SUPPORTED
from tests.checks.servers import HTTPTestServer, Reply
from tests.checks.test_probe import run

LIMIT = "body is larger than the 1 MiB limit once decoded"
MIB = 1 << 20


def _deflate_zeros(mib: int) -> bytes:
    """Raw deflate of ``mib`` MiB of zeros, built from one repeated segment: a sync flush
    leaves each segment byte-aligned and referring only to zeros before it."""
    seg = 8
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(seg * MIB)
    head = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)
    body = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)
    return head + body * (mib // seg - 1) + c.flush()


def _crc_of_zeros(mib: int) -> int:
    crc, zeros = 0, bytes(MIB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return crc


def gzip_zeros(mib: int) -> bytes:
    """A valid gzip member of ``mib`` MiB of zeros, at close to deflate's best ratio."""
    trailer = struct.pack("<II", _crc_of_zeros(mib), (mib * MIB) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + _deflate_zeros(mib) + trailer


def zlib_zeros(mib: int) -> bytes:
    adler = ((mib * MIB) % 65521) << 16 | 1  # Adler-32 of zeros: a stays 1, b counts them
    return b"\x78\xda" + _deflate_zeros(mib) + struct.pack(">I", adler)


@cache
def bombs() -> dict[str, tuple[str, bytes]]:
    """Route -> (Content-Encoding, body on the wire); every body is under the 1 MiB raw cap."""
    made = {
        "/gzip": ("gzip", gzip_zeros(1000)),  # ~1 MB -> 1000 MiB
        "/gzip-gzip": ("gzip, gzip", gzip.compress(gzip_zeros(3072), 9)),  # ~5 KB -> 3 GiB
        "/deflate": ("deflate", zlib_zeros(1000)),
        "/stacked": ("deflate, x-gzip", gzip.compress(zlib_zeros(3072), 9)),
    }
    if "br" in SUPPORTED:
        import brotli

        made["/br"] = ("br", brotli.compress(bytes(256 * MIB), quality=5))
    if "zstd" in SUPPORTED:
        made["/zstd"] = ("zstd", _zstd().compress(bytes(256 * MIB)))
    for route, (_, body) in made.items():
        assert len(body) < MIB, route  # the raw cap must not be what stops it
    return made


def _zstd():
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        from backports import zstd  # type: ignore[import-not-found,no-redef]
    return zstd


def chunked_bomb(handler) -> None:
    """The 3 GiB gzip-of-gzip again, without a Content-Length."""
    body = bombs()["/gzip-gzip"][1]
    handler.send_response(200)
    handler.send_header("Content-Encoding", "gzip, gzip")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    try:
        for at in range(0, len(body), 1000):
            piece = body[at : at + 1000]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


@pytest.fixture(scope="module")
def bomb_server():
    routes = {
        route: Reply(200, body, {"Content-Encoding": enc}) for route, (enc, body) in bombs().items()
    }
    routes["/chunked"] = chunked_bomb
    routes["/small"] = Reply(200, {"ok": True})
    routes["/small-gzip"] = Reply(200, gzip.compress(b'{"ok": true}'), {"Content-Encoding": "gzip"})
    srv = HTTPTestServer(routes).start()
    yield srv
    srv.stop()


# Probes each route in order and prints one JSON line per probe with the peak RSS after it.
# The address space is capped after the warm-up: today's bombs would need gigabytes.
PROBE_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.checks.probe import Prober

    path = sys.argv[1]
    checkset, problems = load_checks(path, display="checks.yaml", env={})
    assert checkset is not None, [str(p) for p in problems]

    def peak_kib():  # VmHWM: ru_maxrss would start from the parent's RSS at the fork
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))

    async def main():
        async with Prober() as prober:
            specs = list(checkset)
            for spec in specs[:2]:  # warm-up: imports, pools, resolver threads
                await prober.probe(spec)
            with open("/proc/self/statm") as f:
                size = int(f.read().split()[0]) * resource.getpagesize()
            cap = size + 1024 * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            for spec in specs:
                r = await prober.probe(spec)
                print(json.dumps({"id": spec.id, "state": r.state,
                                  "error_class": r.error_class, "message": r.message,
                                  "peak_kib": peak_kib()}), flush=True)

    asyncio.run(main())
    """
)


def probe_in_subprocess(tmp_path, url: str, routes: list[str]) -> dict[str, dict]:
    lines = ["defaults: {timeout: 20s}", "checks:"]
    lines += [f"  - {{id: '{r.strip('/')}', url: '{url}{r}'}}" for r in routes]
    path = tmp_path / "checks.yaml"
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {row["id"]: row for row in map(json.loads, done.stdout.splitlines())}


def test_bombs_go_down_as_body_too_large_in_bounded_memory(tmp_path, bomb_server):
    routes = ["/small", "/small-gzip", *bombs(), "/chunked"]
    rows = probe_in_subprocess(tmp_path, bomb_server.url, routes)
    assert (rows["small"]["state"], rows["small-gzip"]["state"]) == ("up", "up")
    baseline = rows["small-gzip"]["peak_kib"]
    for route in [*bombs(), "/chunked"]:
        row = rows[route.strip("/")]
        encoding = bombs().get(route, ("gzip, gzip",))[0].replace("x-gzip", "gzip")
        assert (row["state"], row["error_class"], row["message"]) == (
            "down",
            "body_too_large",
            f"{LIMIT} ({encoding})",
        ), route
        # the peak only grows: each row bounds every bomb probed up to it
        assert row["peak_kib"] - baseline < 64 * 1024, (route, row["peak_kib"], baseline)


# ---- small bodies, probed in-process


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


BODY = json.dumps({"ok": True, "pad": "x" * 2000}).encode()
ENCODED = {
    "gzip": ("gzip", gzip.compress(BODY)),
    "x-gzip": ("x-gzip", gzip.compress(BODY)),
    "deflate": ("deflate", zlib.compress(BODY)),
    "raw-deflate": ("deflate", _raw_deflate(BODY)),
    "gzip-gzip": ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
    "identity-gzip": ("identity, gzip", gzip.compress(BODY)),
    "members": ("gzip", gzip.compress(BODY[:100]) + gzip.compress(BODY[100:])),
}


async def test_compressed_bodies_are_decoded(tmp_path, serve):
    routes = {
        f"/{k}": Reply(200, body, {"Content-Encoding": enc}) for k, (enc, body) in ENCODED.items()
    }
    srv = serve(routes)
    checks = "".join(
        f"  - {{id: {k}, url: '{srv.url}/{k}', conditions: ['[BODY].ok == true']}}\n"
        for k in ENCODED
    )
    results = await run(tmp_path, checks)
    assert {k: (r.state, r.message) for k, r in results.items()} == {
        k: ("up", "ok") for k in ENCODED
    }


async def test_a_body_just_over_the_limit_once_decoded(tmp_path, serve):
    srv = serve(
        {
            "/at": Reply(200, gzip.compress(b"a" * MIB), {"Content-Encoding": "gzip"}),
            "/over": Reply(200, gzip.compress(b"a" * (MIB + 1)), {"Content-Encoding": "gzip"}),
        }
    )
    results = await run(
        tmp_path,
        f"  - {{id: at, url: '{srv.url}/at'}}\n  - {{id: over, url: '{srv.url}/over'}}\n",
    )
    assert results["at"].state == "up"
    assert (results["over"].error_class, results["over"].message) == (
        "body_too_large",
        f"{LIMIT} (gzip)",
    )


BROKEN = {
    "corrupt": ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"\xff" * 40),
    "truncated": ("gzip", gzip.compress(BODY)[:-12]),
    "trailing": ("gzip", gzip.compress(BODY) + b"<html>"),
    "not-gzip": ("gzip", BODY),
    "unknown": ("compress", BODY),
    "too-many": (", ".join(["gzip"] * 5), BODY),
}


async def test_broken_encodings_are_body_parse(tmp_path, serve):
    srv = serve(
        {f"/{k}": Reply(200, body, {"Content-Encoding": enc}) for k, (enc, body) in BROKEN.items()}
    )
    checks = "".join(f"  - {{id: {k}, url: '{srv.url}/{k}'}}\n" for k in BROKEN)
    results = await run(tmp_path, checks)
    got = {k: (r.state, r.error_class, r.message) for k, r in results.items()}
    supported = ", ".join(SUPPORTED)
    assert got["corrupt"][:2] == ("down", "body_parse")
    assert got["corrupt"][2].startswith("cannot decode the body: cannot decode the gzip body: ")
    assert got["truncated"] == (
        "down",
        "body_parse",
        "cannot decode the body: the gzip stream is cut off",
    )
    assert got["trailing"] == (
        "down",
        "body_parse",
        "cannot decode the body: data after the end of the gzip stream",
    )
    assert got["not-gzip"][:2] == ("down", "body_parse")
    assert got["unknown"] == (
        "down",
        "body_parse",
        f"cannot decode the body: unsupported Content-Encoding 'compress' (supported: {supported})",
    )
    assert got["too-many"] == (
        "down",
        "body_parse",
        "cannot decode the body: 5 stacked Content-Encodings (at most 4 are decoded)",
    )


async def test_only_bounded_decoders_are_advertised(tmp_path, serve):
    srv = serve({"/h": Reply(200, b"ok")})
    await run(tmp_path, f"  - {{id: a, url: '{srv.url}/h'}}\n")
    sent = {k.lower(): v for k, v in srv.requests[-1][2].items()}
    assert sent["accept-encoding"] == ", ".join(SUPPORTED)


@pytest.mark.skipif("br" not in SUPPORTED, reason="brotli >= 1.2 is not installed")
async def test_brotli_bodies_are_decoded(tmp_path, serve):
    import brotli

    srv = serve({"/br": Reply(200, brotli.compress(BODY), {"Content-Encoding": "br"})})
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, url: '{srv.url}/br', conditions: ['[BODY].ok == true']}}\n",
        )
    )["a"]
    assert (r.state, r.message) == ("up", "ok")


@pytest.mark.skipif("zstd" not in SUPPORTED, reason="no zstd decoder")
async def test_zstd_bodies_are_decoded(tmp_path, serve):
    srv = serve({"/z": Reply(200, _zstd().compress(BODY), {"Content-Encoding": "zstd"})})
    r = (
        await run(
            tmp_path,
            f"  - {{id: a, url: '{srv.url}/z', conditions: ['[BODY].ok == true']}}\n",
        )
    )["a"]
    assert (r.state, r.message) == ("up", "ok")


async def test_a_bomb_in_a_redirect_body_is_bounded_too(tmp_path, serve):
    # httpx reads (and would decode) the body of each redirect it follows
    bomb = gzip.compress(gzip_zeros(64), 9)
    srv = serve(
        {
            "/old": Reply(302, bomb, {"Location": "/new", "Content-Encoding": "gzip, gzip"}),
            "/new": Reply(200, b"ok"),
        }
    )
    r = (await run(tmp_path, f"  - {{id: a, url: '{srv.url}/old'}}\n"))["a"]
    assert (r.state, r.error_class, r.message) == (
        "down",
        "body_too_large",
        f"{LIMIT} (gzip, gzip)",
    )
