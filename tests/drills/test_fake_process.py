"""The demo's fake system as a child process: ready with its ports, gone with its parent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from mlops_oncall.drills.fake.client import FakeControl
from mlops_oncall.drills.fake.process import FakeSystemError, FakeSystemProcess

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def test_child_reports_its_ports_serves_and_stops(tmp_path):
    fake = FakeSystemProcess(log=tmp_path / "fake.log").start()
    try:
        state = fake.wait_ready()
        assert set(state["services"]) >= {"fraud-scoring", "model-registry"}
        url = fake.url("fraud-scoring")
        assert url == state["services"]["fraud-scoring"]["url"]
        with _OPENER.open(url + "/v2/health/ready", timeout=5) as resp:
            assert resp.status == 200
        assert fake.control_url.endswith(f":{state['control_port']}")
        FakeControl(fake.control_url).inject("fraud-scoring", "not_ready")
        with pytest.raises(urllib.error.HTTPError) as err:
            _OPENER.open(url + "/v2/health/ready", timeout=5)
        assert err.value.code >= 400  # the fault injected over the control endpoint took hold
        proc = fake.proc
    finally:
        fake.stop()
    assert proc.returncode == 0  # closing its stdin ends it cleanly
    assert "fake ML system stopped" in (tmp_path / "fake.log").read_text()


def test_child_exits_when_its_parent_dies(tmp_path):
    # the parent is a separate Python that starts the child, prints its pid and is killed
    code = (
        "import json, sys, pathlib\n"
        "from mlops_oncall.drills.fake.process import FakeSystemProcess\n"
        f"f = FakeSystemProcess(log=pathlib.Path({str(tmp_path / 'f.log')!r})).start()\n"
        "f.wait_ready()\n"
        "print(json.dumps({'pid': f.proc.pid}), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child_pid = json.loads(parent.stdout.readline())["pid"]
    parent.kill()
    parent.wait(10)
    # the child sees its stdin close and exits; waitpid is not ours to call, so poll /proc
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child_pid}/stat") as fh:
                if fh.read().split(")")[-1].split()[0] == "Z":
                    break  # exited, waiting for init to reap it
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the fake system outlived its parent")


def test_a_child_that_cannot_listen_says_why(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        fake = FakeSystemProcess(log=tmp_path / "fake.log", port_base=port).start()
        try:
            with pytest.raises(FakeSystemError) as err:
                fake.wait_ready()
        finally:
            fake.stop()
    assert str(err.value).startswith("the fake ML system did not start: error: cannot listen on")
