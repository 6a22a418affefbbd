"""The command runner against real shells: runaway output, escaped deadlines, binary output.

Every run is bounded: the commands have 1-2 s limits, and the runaway-output run happens in a
child interpreter with an address-space limit, so a runner that buffers everything fails the
test with a MemoryError instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mlops_oncall.incidents.commands import HEAD_BYTES, TAIL_BYTES, run_and_record, run_command
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store


def _command_runs(svc, ref):
    return [e for e in svc.events(ref) if e.kind == "command_run"]


@pytest.fixture
def ref(svc):
    return svc.declare("runner", "SEV3").id


# The child: declare an incident in a real SQLite file, cap its own address space at what it
# uses now plus 256 MiB, run `yes` for 1 s through run_and_record, and report its peak RSS.
CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from mlops_oncall.incidents.commands import run_and_record
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.store.db import open_store

    store = open_store(sys.argv[1])
    svc = Incidents(store, actor="t")
    ref = svc.declare("yes", "SEV3").id
    size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + 256 * 2**20, resource.RLIM_INFINITY))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        run_and_record(svc, ref, "spam", "yes", timeout=1.0)
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"ref": ref, "rss_kib": [before, after]}), flush=True)
    """
)


@pytest.mark.timeout(60)
def test_yes_is_capped_stops_at_the_deadline_and_is_recorded(tmp_path, db_url):
    child = subprocess.run(
        [sys.executable, "-c", CHILD, db_url],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    before, after = report["rss_kib"]
    assert after - before < 16 * 1024, f"peak RSS grew by {after - before} KiB"
    store = open_store(db_url)
    try:
        (ev,) = _command_runs(Incidents(store), report["ref"])
    finally:
        store.close()
    d = ev.data
    assert d["timed_out"] is True and d["exit_code"] is None and d["held_open"] is False
    assert d["step"] == "spam" and d["timeout"] == 1.0
    assert d["truncated"] is True and d["dropped_bytes"] > 0
    assert d["output_bytes"] == HEAD_BYTES + d["dropped_bytes"] + TAIL_BYTES
    head, gap, tail = d["output"].partition(f"\n… {d['dropped_bytes']} bytes dropped …\n")
    assert gap and head == "y\n" * (HEAD_BYTES // 2)
    assert set(tail) <= {"y", "\n"} and len(tail) == TAIL_BYTES
    assert ev.text == "ran `yes`: timed out after 1s (killed)"


def test_a_setsid_child_holding_the_pipe_does_not_hold_the_runner(svc, ref):
    # The shell exits at once; the sleeper left the process group, so only the deadline and
    # closing our end of the pipe get the runner back.
    result = run_and_record(svc, ref, None, "setsid sleep 25 & echo started $!", timeout=1.5)
    words = result.output.split()
    assert words[0] == "started"
    sleeper = int(words[1])
    try:
        os.kill(sleeper, 0)  # still sleeping: the runner returned before the sleep ended
    finally:
        os.kill(sleeper, signal.SIGKILL)
    (ev,) = _command_runs(svc, ref)
    d = ev.data
    assert (d["exit_code"], d["timed_out"], d["held_open"]) == (0, False, True)
    assert d["seconds"] < 25
    assert ev.text == (
        "ran `setsid sleep 25 & echo started $!`: exit 0; "
        "a background process held its output open past 1.5s"
    )


def test_a_shell_that_closes_its_output_but_keeps_running_is_killed_at_the_deadline(svc, ref):
    result = run_and_record(svc, ref, None, "echo bye; exec >&- 2>&-; sleep 25", timeout=1)
    assert (result.timed_out, result.exit_code, result.held_open) == (True, None, False)
    assert result.output == "bye\n"


def test_exit_codes_and_short_output_are_kept_whole(svc, ref):
    result = run_and_record(svc, ref, "s1", "echo out; echo err >&2; exit 3", timeout=5)
    (ev,) = _command_runs(svc, ref)
    assert ev.data["exit_code"] == 3 and ev.data["timed_out"] is False
    assert ev.data["output"] == "out\nerr\n" == result.output
    assert (ev.data["dropped_bytes"], ev.data["truncated"]) == (0, False)
    assert ev.text == "ran `echo out; echo err >&2; exit 3`: exit 3"


def test_binary_and_escape_sequences_are_stored_visibly(svc, ref):
    cmd = r"printf 'ok\377\376 \033[31mred\033[0m\000 caf\303\251\r\n'"
    run_and_record(svc, ref, None, cmd, timeout=5)
    (ev,) = _command_runs(svc, ref)
    out = ev.data["output"]
    assert out == "ok\\xff\\xfe \\x1b[31mred\\x1b[0m\\x00 café\n"
    assert ev.data["exit_code"] == 0


def test_output_that_crosses_the_cap_keeps_its_head_and_tail(svc, ref):
    # 100,000 numbered lines through a real pipe: the first and last survive, the count is exact
    cmd = "seq 1 100000"
    result = run_command(cmd, timeout=10)
    full = "".join(f"{i}\n" for i in range(1, 100001))
    assert result.output_bytes == len(full)
    assert result.output.startswith(full[:HEAD_BYTES])
    assert result.output.endswith(full[-TAIL_BYTES:])
    assert result.dropped_bytes == len(full) - HEAD_BYTES - TAIL_BYTES


def test_the_event_is_recorded_even_when_running_fails(svc, ref):
    with pytest.raises(ValueError, match="time limit"):
        run_and_record(svc, ref, "s1", "echo never", timeout=float("nan"))
    (ev,) = _command_runs(svc, ref)
    assert ev.data["exit_code"] is None and ev.data["timed_out"] is False
    assert ev.data["error"].startswith("stopped by ValueError")
    assert "never" not in ev.data["output"]


def test_a_shell_that_cannot_start_is_recorded_not_raised(svc, ref, tmp_path):
    result = run_command("echo hi", timeout=2, cwd=str(tmp_path / "gone"))
    assert result.exit_code is None and result.error.startswith("could not start the shell")
    assert result.outcome() == result.error
