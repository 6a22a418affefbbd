"""Running a step's command or check from triage, and recording what happened.

A command runs in a shell, in its own process group, with a deadline. Its output is read as it
flows and only a head and a tail of it are kept (a step running `yes` costs a few KiB, not the
machine), and the wait ends at the deadline even when a background process still holds the
output pipe open. The `command_run` event says exactly what happened (exit code, killed at the
deadline or not, output held open, bytes dropped, seconds) and is recorded even when running
fails. A check run records the state and what each condition saw. The UI asks for confirmation
first; this module only does and records.
"""

from __future__ import annotations

import contextlib
import math
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from mlops_oncall.runbooks.commandtext import safe_output

HEAD_BYTES = 2048  # output kept from the start (the command's first words)...
TAIL_BYTES = 2048  # ...and from the end (where errors usually are); the rest is counted
CHUNK = 64 * 1024
REAP_SECONDS = 5.0  # a SIGKILLed group is normally gone at once; never hang on one that is not


@dataclass
class CommandResult:
    command: str
    exit_code: int | None = None  # None: the shell did not exit by itself (killed, or never ran)
    output: str = ""
    seconds: float = 0.0
    truncated: bool = False
    timed_out: bool = False  # the shell was still running at the deadline and was killed
    held_open: bool = False  # the shell exited, but a background process kept the output open
    dropped_bytes: int = 0
    output_bytes: int = 0
    error: str | None = None  # running failed (could not start, or an error while reading)
    timeout: float = 0.0

    def outcome(self) -> str:
        if self.error is not None and self.exit_code is None and not self.timed_out:
            return self.error
        if self.timed_out:
            text = f"timed out after {self.timeout:g}s (killed)"
        else:
            text = f"exit {self.exit_code}"
        if self.held_open:
            text += f"; a background process held its output open past {self.timeout:g}s"
        if self.error is not None:
            text += f"; then {self.error}"
        return text


class _Capped:
    """The first and last bytes of a stream, and how many in between were dropped."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES):
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.tail_limit:
            del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", "backslashreplace")
        if not self.tail:
            return safe_output(head)
        tail = self.tail.decode("utf-8", "backslashreplace")
        gap = f"\n… {self.dropped} bytes dropped …\n" if self.dropped else ""
        return safe_output(head + gap + tail)


def run_command(
    command: str, *, timeout: float, cwd: str | None = None, into: CommandResult | None = None
) -> CommandResult:
    """Run `command`, filling `into` as it goes so a caller still has a partial result if this
    raises."""
    result = into if into is not None else CommandResult(command)
    result.timeout = timeout
    out = _Capped()
    started = time.monotonic()
    proc: subprocess.Popen | None = None
    try:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"a command's time limit must be positive seconds, not {timeout!r}")
        try:
            proc = subprocess.Popen(
                command,
                shell=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                bufsize=0,
                start_new_session=True,  # its own process group, killed whole at the deadline
            )
        except OSError as exc:
            result.error = f"could not start the shell: {exc.strerror or exc}"
            return result
        eof = _pump(proc, out, started + timeout)
        _finish(proc, result, eof, started + timeout)
    except BaseException as exc:
        result.error = f"stopped by {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
        raise
    finally:
        if proc is not None:
            _cleanup(proc, result)
        result.output = out.text()
        result.output_bytes = out.total
        result.dropped_bytes = out.dropped
        result.truncated = out.dropped > 0
        result.seconds = time.monotonic() - started
    return result


def _pump(proc: subprocess.Popen, out: _Capped, deadline: float) -> bool:
    """Read the output until end of file (True) or the deadline (False), whichever is first."""
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not sel.select(remaining):
                continue
            try:
                chunk = os.read(fd, CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                return True
            out.add(chunk)


def _finish(proc: subprocess.Popen, result: CommandResult, eof: bool, deadline: float) -> None:
    """Decide what happened: the shell's exit code, or killed at the deadline."""
    if eof:
        # The output is closed, but the shell itself may still be running (`exec >&-; sleep`).
        try:
            result.exit_code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            result.timed_out = True
        return
    code = proc.poll()
    if code is None:
        result.timed_out = True
    else:
        result.exit_code = code
        result.held_open = True


def _cleanup(proc: subprocess.Popen, result: CommandResult) -> None:
    """Kill what overran, close our end of the pipe and reap the shell, all without blocking."""
    if result.timed_out or result.held_open or result.exit_code is None:
        # The group: the shell and what it started. A holder that left it (setsid) is out of
        # reach; closing the pipe below gives it SIGPIPE on its next write.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.stdout.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=REAP_SECONDS)


def run_and_record(
    incidents, incident_id: str, step_id: str | None, command: str, *, timeout: float
) -> CommandResult:
    """Run a command and record it. The event is written even when running raises."""
    incidents.verified_triage(incident_id)  # raises if the runbook snapshot was edited
    result = CommandResult(command, timeout=timeout)
    try:
        run_command(command, timeout=timeout, into=result)
    finally:
        _record_run(incidents, incident_id, step_id, result)
    return result


def _record_run(incidents, incident_id: str, step_id: str | None, result: CommandResult) -> None:
    redact = incidents.redactor
    result.output = redact.text(result.output)
    incidents.record(
        incident_id,
        "command_run",
        f"ran `{redact.text(result.command)}`: {result.outcome()}",
        {
            "step": step_id,
            "command": result.command,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "held_open": result.held_open,
            "timeout": result.timeout,
            "seconds": round(result.seconds, 3),
            "output": result.output,
            "output_bytes": result.output_bytes,
            "dropped_bytes": result.dropped_bytes,
            "truncated": result.truncated,
            "error": result.error,
        },
    )


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
            "status": result.status,
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


def command_sources(incidents, deploys, checks, variables, incident_id: str, now):
    """The values a step's command placeholders can take for this incident: the incident, the
    check it was declared from and what it last saw, the labels of that check (else of its
    service's checks), its service's deploys (newest first) and the workspace vars."""
    from mlops_oncall.incidents.deploys import deploy_json
    from mlops_oncall.runbooks.placeholders import gather

    view = incidents.get(incident_id)
    row = view.row.model_dump()  # what the placeholders read, by name
    row["public_id"] = view.id
    check = None
    check_id = row.get("declared_from_check") or ""
    spec = checks.specs.get(check_id) if checks else None
    if spec is not None:
        check = {"id": spec.id, "url": spec.url, "service": spec.service}
    labels: dict[str, str] = {}
    related = [spec] if spec is not None else []
    if checks and row.get("service"):
        related += [s for s in checks.specs.values() if s.service == row["service"]]
    for s in related:  # the declaring check's first, then the service's, in file order
        for name, value in s.labels.items():
            labels.setdefault(name, value)
    observed = _last_seen(incidents, incident_id, check_id) if check_id else None
    history = (
        [deploy_json(d) for d in deploys.list(service=row["service"], limit=50)]
        if row.get("service")
        else []
    )
    return gather(
        incident=row,
        check=check,
        observed=observed,
        labels=labels,
        deploys=history,
        variables=variables,
        now=now,
    )


SEEN_WINDOW = 500  # events looked back through for the check's latest result


def _last_seen(incidents, incident_id: str, check_id: str) -> dict | None:
    """The data of the newest check_transition or check_run event of the check, or None."""
    for e in reversed(incidents.latest(incident_id, SEEN_WINDOW)):
        if (
            e.kind in ("check_transition", "check_run")
            and isinstance(e.data, dict)
            and e.data.get("check") == check_id
        ):
            return e.data
    return None
