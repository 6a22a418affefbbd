"""Help: what each screen does and every key, with the binding ids used to remap keys."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.markdown_view import MarkdownView

INTRO = """\
# mlops-oncall

Watch the checks, declare an incident from a failing one, work the suggested runbook step by
step, and let the timeline record everything. Every action is also a CLI command
(`mlops-oncall incident …`), so a second terminal or a script can join in.

**Anywhere:** `ctrl+p` opens the command palette with every action; `?` is this help;
`escape` goes back; `q` quits. The footer shows the screen's most important keys, as many as
fit the terminal's width; every key is listed below. Below 100 columns the dashboard shows the
checks across the whole width: `i` (or `tab`) brings in the open incidents and what changed,
`c` the checks back. `a` opens the alerts inbox: Alertmanager's alert groups, to declare from,
attach to an open incident, dismiss or silence in Alertmanager.

**Remap a key** in `oncall.yaml`:

```yaml
keymap:
  dashboard.declare: ctrl+d
  incident.note: N
```
"""


def _classes_with_keys():
    """Every screen, dialog and widget class of the TUI that declares bindings of its own, so a
    new screen's keys are listed here without anyone remembering to add them."""
    import mlops_oncall.ui as ui

    for info in pkgutil.walk_packages(ui.__path__, "mlops_oncall.ui."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                own = obj.__dict__.get("BINDINGS") or ()  # not the ones it inherits
                if any(isinstance(b, Binding) and b.id for b in own):
                    yield obj


def _title(cls) -> str:
    """DeclareModal -> "Declare (dialog)", RiskScreen -> "Risk"."""
    name = cls.__name__
    dialog = name.endswith("Modal")
    for suffix in ("Modal", "Screen"):
        name = name.removesuffix(suffix)
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower().capitalize() or cls.__name__
    return f"{words} (dialog)" if dialog else words


def keys_markdown(app) -> str:
    """Every key of every screen: the footer shows the most important ones that fit, this all."""
    from mlops_oncall.ui.modals import Dialog
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
        ("Every dialog", Dialog.BINDINGS),
    ]
    named = {id(b) for _, bindings in sections for b in bindings}
    for cls in _classes_with_keys():
        own = [b for b in cls.__dict__["BINDINGS"] if isinstance(b, Binding) and id(b) not in named]
        if own:
            sections.append((_title(cls), own))
            named.update(id(b) for b in own)
    out = [INTRO]
    listed: set[str] = set()
    for title, bindings in sections:
        rows = []
        for b in bindings:
            if isinstance(b, Binding) and b.id and b.id not in listed:
                listed.add(b.id)
                keys = ", ".join(f"`{k}`" for k in b.key.split(","))
                rows.append(f"| {keys} | {b.description or b.action} | `{b.id}` |")
        if rows:
            out.append(f"## {title}\n\n| key | action | binding id |\n| --- | --- | --- |")
            out.extend(rows)
            out.append("")
    return "\n".join(out)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield MarkdownView(keys_markdown(self.app), id="help-body")
        yield LeanFooter()

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
