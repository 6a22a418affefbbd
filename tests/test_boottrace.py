"""The boot trace: phase marks in a file when asked, nothing otherwise."""

from __future__ import annotations

import os
import subprocess
import sys


def test_boot_trace_writes_marks_only_when_asked(tmp_path):
    trace = tmp_path / "boot.log"
    code = "from mlops_oncall import boottrace as b; b.mark('one'); b.mark('two')"
    env = dict(os.environ, MLOPS_ONCALL_BOOT_TRACE=str(trace))
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    lines = trace.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["one", "two"]
    first, second = (float(line.split()[0]) for line in lines)
    assert 0 <= first <= second
    env.pop("MLOPS_ONCALL_BOOT_TRACE")
    trace.unlink()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert not trace.exists()
