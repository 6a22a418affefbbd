"""The live state of an incident's checks: those of its service and the one it was declared
from, redrawn from the app's latest check views (the monitor keeps them current)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mlops_oncall.ui import format as fmt
from mlops_oncall.ui.oncall import oncall


class IncidentChecks(Static):
    SCOPED_CSS = False  # the narrow layout is a class on the screen
    DEFAULT_CSS = """
    IncidentChecks { height: auto; max-height: 8; text-wrap: nowrap; text-overflow: ellipsis; }
    Screen.-narrow IncidentChecks { width: 1fr; height: 1fr; max-height: 100%; }
    """

    def __init__(self) -> None:
        super().__init__("", id="incident-checks", classes="panel")
        self.border_title = "Checks"
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.refresh_state()
        self.set_interval(1.0, self.refresh_state)

    def refresh_state(self) -> None:
        text = self.state_text()
        if self._shown is not None and text.plain == self._shown.plain:
            return  # every second, and mostly unchanged: no repaint
        self._shown = text
        self.update(text)

    def state_text(self) -> Text:
        app = oncall(self)
        view = getattr(self.screen, "view", None)
        text = Text(no_wrap=True, overflow="ellipsis")  # one line per check, cut when narrow
        if view is None:
            return text
        service = view.row.service
        origin = view.row.declared_from_check
        specs = getattr(app, "specs", {})
        ids = [cid for cid, spec in specs.items() if service and spec.service == service]
        if origin and origin not in ids:
            ids.insert(0, origin)
        if not ids:
            text.append("no check of this service is watched", style="dim")
            return text
        now = app.session.clock.now()
        views = getattr(app, "views", {})
        for cid in ids:
            v = views.get(cid)
            if cid not in specs:
                text.append("? not in checks.yaml", style="dim")
            elif v is None:
                text.append_text(fmt.state_text("unknown"))
            else:
                text.append_text(fmt.state_text(v.state))
            text.append(f"  {cid}")
            if v is not None and v.since is not None:
                text.append(f"  {fmt.since(v.since, now)}", style="dim")
            if cid == origin:
                text.append("  (declared from)", style="dim")
            text.append("\n")
        text.rstrip()
        return text
