"""How the triage screen copies and runs a step's command: placeholders resolved from the
incident (asked for when a source has no value), then the confirmation the step's risk needs.

Nothing is copied or run while a placeholder is unresolved."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work

from mlops_oncall.runbooks.commandtext import interactive_reason
from mlops_oncall.runbooks.placeholders import NAMES, Sources, resolve
from mlops_oncall.ui.modals import CommandValuesModal, ConfirmCommandModal
from mlops_oncall.ui.oncall import oncall

if TYPE_CHECKING:  # the screen it is mixed into, so its members type-check here
    from textual.screen import Screen as _Host
else:
    _Host = object


class CommandFlow(_Host):
    """Mixed into TriageScreen: it has ``incident_id``, ``render_step`` and ``run_command``."""

    command_sources: Sources | None = None
    if TYPE_CHECKING:
        incident_id: str

        def render_step(self) -> None: ...

        def run_command(self, step_id: str, command: str, timeout: float) -> None: ...

    def shown_command(self, step) -> str | None:
        """The step's command as it would run, with the values known so far."""
        if not step.command:
            return None
        if self.command_sources is None:
            self.load_command_sources()
            return step.command
        return resolve(step.command, self.command_sources).text

    @work(thread=True, exclusive=True, group="triage-sources")
    def load_command_sources(self, then: Callable[[Sources], None] | None = None) -> None:
        from mlops_oncall.incidents.commands import command_sources

        s = oncall(self).session
        sources = command_sources(
            s.incidents,
            s.deploys,
            s.checks,
            s.workspace.config.vars,
            self.incident_id,
            s.clock.now(),
        )
        oncall(self).call_from_thread(self._sources_loaded, sources, then)

    def _sources_loaded(self, sources: Sources, then) -> None:
        changed = self.command_sources is None or sources.values != self.command_sources.values
        self.command_sources = sources
        if then is not None:
            then(sources)
        elif changed:
            self.render_step()

    def with_resolved(self, step, then: Callable[[str], None]) -> None:
        """Resolve the step's command afresh; ask for what is missing; then call ``then``."""

        def resolved(sources: Sources) -> None:
            r = resolve(step.command, sources)
            if r.complete:
                then(r.text)
                return
            about = {n: NAMES[n][1] for n in r.missing if n in NAMES}

            def given(values: dict | None) -> None:
                if values is None:
                    self.notify("Not copied or run: it needs every value")
                    return
                self.command_sources = sources.with_values(values)
                self.render_step()
                then(resolve(step.command, self.command_sources).text)

            oncall(self).push_screen(
                CommandValuesModal(r.text, r.missing, sources.hints, about), given
            )

        answered = {
            k: v
            for k, v in (self.command_sources.values if self.command_sources else {}).items()
            if self.command_sources.origins.get(k) == "responder"
        }

        def fresh(sources: Sources) -> None:
            resolved(sources.with_values(answered) if answered else sources)

        self.load_command_sources(fresh)

    def copy_command(self, step, notice: str) -> None:
        def copy(text: str) -> None:
            oncall(self).copy_to_clipboard(text)
            self.notify(notice)

        self.with_resolved(step, copy)

    def confirm_command(self, step, timeout: float, notice: str) -> None:
        def ask(text: str) -> None:
            sources = self.command_sources
            target = (sources.values.get("service") if sources else None) or self.incident_id

            def answered(choice) -> None:
                if choice == "copy":
                    oncall(self).copy_to_clipboard(text)
                    self.notify(notice)
                elif choice:
                    self.run_command(step.id, text, timeout)

            oncall(self).push_screen(
                ConfirmCommandModal(
                    text,
                    timeout,
                    risk=step.risk_level,
                    target=target,
                    interactive=interactive_reason(text),
                ),
                answered,
            )

        self.with_resolved(step, ask)
