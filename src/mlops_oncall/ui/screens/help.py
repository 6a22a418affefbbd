"""Help: what each screen does and every key, with the binding ids used to remap keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from mlops_oncall.ui.widgets.markdown_view import MarkdownView

INTRO = """\
# mlops-oncall

Watch the checks, declare an incident from a failing one, work the suggested runbook step by
step, and let the timeline record everything. Every action is also a CLI command
(`mlops-oncall incident …`), so a second terminal or a script can join in.

**Anywhere:** `ctrl+p` opens the command palette with every action; `?` is this help;
`escape` goes back; `q` quits.

**Remap a key** in `oncall.yaml`:

```yaml
keymap:
  dashboard.declare: ctrl+d
  incident.note: N
```
"""


def keys_markdown(app) -> str:
    from mlops_oncall.ui.screens.dashboard import DashboardScreen
    from mlops_oncall.ui.screens.debrief import DebriefScreen
    from mlops_oncall.ui.screens.incident import IncidentScreen
    from mlops_oncall.ui.screens.postmortem import PostmortemScreen
    from mlops_oncall.ui.screens.risks import RiskScreen
    from mlops_oncall.ui.screens.runbooks import RunbooksScreen
    from mlops_oncall.ui.screens.triage import TriageScreen

    sections = [
        ("Everywhere", type(app).BINDINGS),
        ("Dashboard", DashboardScreen.BINDINGS),
        ("Incident", IncidentScreen.BINDINGS),
        ("Triage stepper", TriageScreen.BINDINGS),
        ("Runbooks", RunbooksScreen.BINDINGS),
        ("Postmortem", PostmortemScreen.BINDINGS),
        ("Risk register", RiskScreen.BINDINGS),
        ("Drill debrief (palette: Drill debrief)", DebriefScreen.BINDINGS),
    ]
    out = [INTRO]
    for title, bindings in sections:
        out.append(f"## {title}\n\n| key | action | binding id |\n| --- | --- | --- |")
        for b in bindings:
            if isinstance(b, Binding) and b.id:
                keys = ", ".join(f"`{k}`" for k in b.key.split(","))
                out.append(f"| {keys} | {b.description or b.action} | `{b.id}` |")
        out.append("")
    return "\n".join(out)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield MarkdownView(keys_markdown(self.app), id="help-body")

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
