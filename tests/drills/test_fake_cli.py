"""``python -m mlops_oncall.drills.fake`` serves until interrupted and prints its ports."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_oncall.drills.fake", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_state(proc: subprocess.Popen) -> dict:
    """The pretty-printed state ends with a lone "}" line; readline blocks until it comes."""
    lines = []
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"exited early: {proc.wait()} {proc.stderr.read()}")
        lines.append(line)
        if line == "}\n":
            return json.loads("".join(lines))


def _free_run(length: int) -> int:
    """A base port with ``length`` free ports after it (best effort: nothing holds them)."""
    for _ in range(20):
        with socket.create_server(("127.0.0.1", 0)) as probe:
            base = probe.getsockname()[1]
        if base + length > 65535:
            continue
        try:
            socks = [socket.create_server(("127.0.0.1", base + i)) for i in range(length)]
        except OSError:
            continue
        for s in socks:
            s.close()
        return base
    pytest.skip("no run of free ports found")


def test_serves_until_interrupted_and_prints_its_ports():
    base = _free_run(9)
    proc = _spawn("--port-base", str(base), "--seed", "3")
    try:
        state = _read_state(proc)
        assert state["services"]["fraud-scoring"]["port"] == base
        assert state["control_port"] == base + 8
        with _OPENER.open(state["services"]["recommendations"]["url"] + "/ping", timeout=5) as r:
            assert json.loads(r.read()) == {"status": "Healthy"}
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert err.endswith("fake ML system stopped\n")


def test_a_bad_port_base_is_a_usage_error():
    proc = _spawn("--port-base", "70000")
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out) == (2, "")
    assert err == "error: port base must be from 1 to 65527, got 70000\n"
