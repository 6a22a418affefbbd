"""The MLflow registry source: build it from `changes.mlflow` in oncall.yaml, poll it, record.

Each poll reads every mapped model (registry.py), works out what moved since the deploys this
source last recorded (tracks.py), and records one `model` deploy of the mapped service per
version reached, as the actor ``mlflow``, at the registry's time of the change.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops_oncall.changes import records, tracks
from mlops_oncall.changes.marker import prefix
from mlops_oncall.changes.registry import Registry, RegistryError, Unreachable
from mlops_oncall.formats.errors import BadInput

if TYPE_CHECKING:
    from mlops_oncall.config import MlflowChanges, Workspace
    from mlops_oncall.incidents.deploys import Deploys
    from mlops_oncall.redact import Redactor

ACTOR = "mlflow"  # who recorded a registry change: a machine, not the responder who polled
KIND = "model"
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


class SourceConfigError(BadInput):
    """`changes:` cannot be used as written (an unset variable): located, exit 2."""


@dataclass
class PollResult:
    source: str
    url: str
    at: datetime
    recorded: list[Any] = field(default_factory=list)  # DeploymentRecord
    errors: list[str] = field(default_factory=list)
    failed: bool = False  # the poll as a whole (the registry unreachable): nothing recorded

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class MlflowSource:
    url: str
    token: str | None
    interval: float  # seconds
    models: dict[str, str]  # registered model -> service
    aliases: list[str] | None
    deploys: Deploys = field(repr=False)
    name: str = "mlflow"

    def registry(self) -> Registry:
        return Registry(self.url, self.token)

    async def poll(self, registry: Registry) -> PollResult:
        """One poll of every mapped model. The registry unreachable fails the whole poll
        (``Unreachable``, nothing recorded); a model it cannot read is an error of the result
        while the others are recorded."""
        now = self.deploys.clock.now().astimezone(UTC)
        result = PollResult(self.name, self.url, now)
        states = {}
        for model in self.models:
            try:
                states[model] = await registry.model(model)
            except Unreachable:
                raise
            except RegistryError as exc:
                result.errors.append(self.deploys.redactor.text(f"{model}: {exc}"))
        if states:
            result.recorded = await asyncio.to_thread(self._record, states, now)
        return result

    def _record(self, states: dict, now: datetime) -> list[Any]:
        out = []
        for model, state in states.items():
            service = self.models[model]
            notes = records.source_notes(self.deploys.store, ACTOR, [service], prefix(model))
            last = tracks.recorded(model, notes)
            for change in tracks.changes(state, last, self.aliases):
                out.append(
                    self.deploys.record(
                        service,
                        f"{model}/{change.version}",
                        KIND,
                        "succeeded",
                        at=change.at(now),
                        notes=change.notes(),
                    )
                )
        return out

    def last_recorded(self) -> dict | None:
        return records.last_recorded(self.deploys.store, ACTOR, sorted(set(self.models.values())))

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "url": self.url,
            "interval_seconds": self.interval,
            "models": dict(self.models),
            "aliases": self.aliases,
            "token": self.token is not None,
        }


def build_sources(workspace: Workspace, redactor: Redactor, deploys: Deploys) -> list[MlflowSource]:
    """The configured sources (none without `changes:`); a token is resolved from the
    environment here and learned by ``redactor``, so no message or note ever shows it."""
    spec = workspace.config.changes.mlflow
    if spec is None:
        return []
    token = _token(workspace, spec)
    if token:
        redactor.add(token)
    for model, service in spec.models.items():
        marker = prefix(model)
        if redactor.text(marker) != marker or redactor.text(service) != service:
            raise _located(
                workspace,
                ("changes", "mlflow", "models", model),
                "this name looks like a credential to the redactor, which would mask it in "
                "the deploys recorded; rename the mapping",
            )
    return [
        MlflowSource(
            url=spec.url,
            token=token,
            interval=spec.interval.total_seconds(),
            models=dict(spec.models),
            aliases=list(spec.aliases) if spec.aliases is not None else None,
            deploys=deploys,
        )
    ]


def _token(workspace: Workspace, spec: MlflowChanges) -> str | None:
    if spec.token is None:
        return None
    name = _ENV.fullmatch(spec.token)
    value = os.environ.get(name.group(1)) if name else None
    if not value:
        raise _located(
            workspace,
            ("changes", "mlflow", "token"),
            f"{spec.token} is not set (or empty); export it, or remove token:",
        )
    return value


def _located(workspace: Workspace, loc: tuple, message: str) -> SourceConfigError:
    """``file:line:col: field: message``, the line read back from oncall.yaml."""
    from mlops_oncall.formats.problems import Problem, format_path
    from mlops_oncall.formats.yamlsrc import load_file

    path = workspace.config_file
    if path is None:
        return SourceConfigError(f"{format_path(loc)}: {message}")
    doc = load_file(path)
    problem: Problem = doc.error(loc, message, key=loc[-1] not in ("token",))
    return SourceConfigError(str(problem))
