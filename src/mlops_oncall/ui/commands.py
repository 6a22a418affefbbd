"""The command palette: every action of the app, searchable (ctrl+p)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mlops_oncall.ui.oncall import oncall


class OncallCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        app = oncall(self)
        cmds: list[tuple[str, str, object]] = [
            (
                "Declare incident",
                "Declare from the selected failing check, or blank",
                app.action_declare,
            ),
            ("Runbooks", "Search and preview the runbook library", app.action_runbooks),
            (
                "Incident history",
                "Open and past incidents: filter, search, open any",
                app.action_incidents,
            ),
            ("Help", "Keys, screens and binding ids", app.action_help),
            (
                "Alerts inbox",
                "Alertmanager's groups: declare, attach, dismiss, silence",
                app.action_alerts,
            ),
            ("Risk register", "Risks by score; overdue reviews highlighted", app.action_risks),
            (
                "Shift hand-off",
                "The note for the next shift; record the hand-off",
                app.action_handoff,
            ),
            (
                "Drill debrief",
                "The latest drill's score; accept improvement items",
                app.action_debrief,
            ),
        ]
        if app.session is not None and app.session.fake_control_url:
            cmds.append(
                ("Inject fault", "Break a service of the fake ML system", app.action_inject_fault)
            )
            cmds.append(
                (
                    "Clear faults",
                    "Heal every service of the fake ML system",
                    app.action_clear_faults,
                )
            )
        for inc in getattr(app, "open_incidents", []):
            cmds.append((f"Open {inc['id']}", inc["title"], partial(app.open_incident, inc["id"])))
            cmds.append(
                (f"Postmortem {inc['id']}", inc["title"], partial(app.open_postmortem, inc["id"]))
            )
        return cmds

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
