"""Running a command item: the runbooks' command runner (bounded output, a deadline, its own
process group), after the caller has had the command confirmed; exit 0 passes."""

from __future__ import annotations

from mlops_oncall.readiness.evidence import Finding, command_text

DEFAULT_TIMEOUT = 30.0


def run_item(finding: Finding, service: str, *, cwd: str | None = None) -> Finding:
    from mlops_oncall.incidents.commands import run_command

    ev = finding.item.evidence
    timeout = ev.timeout.total_seconds() if ev.timeout is not None else DEFAULT_TIMEOUT
    result = run_command(command_text(finding.item, service), timeout=timeout, cwd=cwd)
    finding.status = "pass" if result.exit_code == 0 and not result.timed_out else "fail"
    finding.source = "command"
    finding.detail = result.outcome()
    finding.output = result.output
    return finding
