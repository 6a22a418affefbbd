"""A runbook as Markdown: used by `runbook show` and the TUI's preview (one rendering)."""

from __future__ import annotations

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.runbooks.schema import Runbook, Step

_KIND_LABEL = {
    "diagnose": "Diagnose",
    "decide": "Decide",
    "mitigate": "Mitigate",
    "verify": "Verify",
    "communicate": "Communicate",
    "escalate": "Escalate",
}


_RISK_LABEL = {"read": "reads", "change": "changes a running system", "destructive": "DESTRUCTIVE"}


def step_markdown(
    rb: Runbook, step: Step, number: int | None = None, *, command: str | None = None
) -> str:
    """``command`` replaces the step's own text (triage shows it with placeholders filled)."""
    lines: list[str] = []
    head = f"{number}. " if number is not None else ""
    lines.append(f"### {head}{step.title}")
    lines.append(f"*{_KIND_LABEL[step.kind]}* · `{step.id}`")
    lines.append("")
    if step.instructions.strip():
        lines.append(step.instructions.strip())
        lines.append("")
    if step.question:
        lines.append(f"**{step.question}**")
        lines.append("")
    if step.command:
        lines.append(f"Command ({_RISK_LABEL[step.risk_level]}):")
        lines.append("")
        lines.append("```sh")
        lines.append((command or step.command).rstrip())
        lines.append("```")
        lines.append("")
    if step.check:
        lines.append(f"Check: `{step.check}`")
        lines.append("")
    if step.expect:
        if step.expect.healthy:
            lines.append(f"- **Healthy:** {step.expect.healthy.strip()}")
        if step.expect.unhealthy:
            lines.append(f"- **Unhealthy:** {step.expect.unhealthy.strip()}")
        lines.append("")
    if step.link:
        lines.append(f"Link: <{step.link}>")
        lines.append("")
    if step.kind == "decide":
        for c in step.choices or []:
            lines.append(f"- {c.label} → `{c.next}`")
        lines.append("")
    elif step.next:
        lines.append(f"Then → `{step.next}`")
        lines.append("")
    return "\n".join(lines)


def runbook_markdown(rb: Runbook, *, stale: bool = False) -> str:
    lines = [f"# {rb.title}", ""]
    badge = " · **STALE**" if stale else ""
    lines.append(
        f"`{rb.id}` · {rb.category} · default {rb.severity} · owner {rb.owner} · "
        f"validated {rb.last_validated.isoformat()}{badge}"
    )
    lines.append("")
    lines += ["## Meaning", "", rb.meaning.strip(), "", "## Impact", "", rb.impact.strip(), ""]
    if rb.symptoms:
        lines += ["## Symptoms", ""] + [f"- {s}" for s in rb.symptoms] + [""]
    t = rb.triggers
    trig = []
    if t.checks:
        trig.append("checks " + ", ".join(f"`{c}`" for c in t.checks))
    if t.alerts:
        trig.append("alerts " + ", ".join(f"`{a}`" for a in t.alerts))
    if t.error_classes:
        trig.append("error classes " + ", ".join(f"`{e}`" for e in t.error_classes))
    if trig:
        lines += ["## Triggers", "", "; ".join(trig), ""]
    lines += ["## Steps", ""]
    for i, step in enumerate(rb.steps, 1):
        lines.append(step_markdown(rb, step, i))
    if rb.escalation:
        lines += [
            "## Escalation",
            "",
            f"After {format_duration(rb.escalation.after)}, escalate to **{rb.escalation.to}**.",
            "",
        ]
    if rb.related:
        lines += ["## Related", "", ", ".join(f"`{r}`" for r in rb.related), ""]
    if rb.references:
        lines += ["## References", ""] + [f"- {r}" for r in rb.references] + [""]
    return "\n".join(lines)
