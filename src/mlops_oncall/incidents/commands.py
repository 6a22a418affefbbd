"""Running a step's command or check from triage, and recording what happened.

A command runs in a shell with a time limit; its exit code and its output (truncated, with
secrets masked) go into the timeline. A check run records the state and what each condition
saw. The UI asks for confirmation first; this module only does and records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass

OUTPUT_LIMIT = 4000  # characters kept in the timeline; postmortems show only the exit code


@dataclass
class CommandResult:
    command: str
    exit_code: int | None  # None: killed at the time limit
    output: str
    seconds: float
    truncated: bool


def run_command(command: str, *, timeout: float, cwd: str | None = None) -> CommandResult:
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        start_new_session=True,  # so a timeout kills the whole pipeline, not just the shell
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    text = out.decode("utf-8", "replace")
    truncated = len(text) > OUTPUT_LIMIT
    if truncated:
        text = text[: OUTPUT_LIMIT // 2] + "\n… (truncated) …\n" + text[-OUTPUT_LIMIT // 2 :]
    return CommandResult(command, code, text, time.monotonic() - started, truncated)


def run_and_record(
    incidents, incident_id: str, step_id: str | None, command: str, *, timeout: float
) -> CommandResult:
    result = run_command(command, timeout=timeout)
    redact = incidents.redactor
    result.output = redact.text(result.output)
    outcome = (
        f"exit {result.exit_code}"
        if result.exit_code is not None
        else f"timed out after {timeout:g}s"
    )
    incidents.record(
        incident_id,
        "command_run",
        f"ran `{redact.text(command)}`: {outcome}",
        {
            "step": step_id,
            "command": command,
            "exit_code": result.exit_code,
            "timed_out": result.exit_code is None,
            "seconds": round(result.seconds, 3),
            "output": result.output,
            "truncated": result.truncated,
        },
    )
    return result


def record_check_run(incidents, incident_id: str, step_id: str | None, result) -> None:
    """Record what a check saw when run from a step (state, message, each condition)."""
    incidents.record(
        incident_id,
        "check_run",
        f"check {result.check_id}: {result.state}"
        + (f" ({result.message})" if result.message else ""),
        {
            "step": step_id,
            "check": result.check_id,
            "state": result.state,
            "error_class": result.error_class,
            "latency_ms": result.latency_ms,
            "conditions": [
                {
                    "condition": c.condition,
                    "success": c.success,
                    "observed": c.observed,
                    "message": c.message,
                }
                for c in result.conditions
            ],
        },
    )
