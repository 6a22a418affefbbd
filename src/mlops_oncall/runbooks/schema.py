"""The runbook file format (docs/runbooks.md): pydantic models and their JSON Schema."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from mlops_oncall.formats.durations import Duration
from mlops_oncall.formats.validate import FileModel, new_list
from mlops_oncall.formats.vocabulary import ErrorClass

Category = Literal["serving", "data", "pipeline", "quality", "release", "cost"]
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
StepKind = Literal["diagnose", "decide", "mitigate", "verify", "communicate", "escalate"]
Risk = Literal["read", "change", "destructive"]
RISKS: tuple[str, ...] = Risk.__args__  # type: ignore[attr-defined]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
STEP_KINDS: tuple[str, ...] = StepKind.__args__  # type: ignore[attr-defined]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SLUG_PATTERN = _SLUG.pattern


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"expected an id of lowercase letters, digits, '-', '_' or '.', got '{value}'"
        )
    return value


Slug = Annotated[
    str, AfterValidator(_slug), WithJsonSchema({"type": "string", "pattern": SLUG_PATTERN})
]
Text = Annotated[str, Field(min_length=1)]


def _expect_shorthand(value):
    if isinstance(value, str):
        return {"healthy": value}
    return value


class Expect(FileModel):
    """What a healthy and an unhealthy answer to a step's command or check look like."""

    healthy: str | None = None
    unhealthy: str | None = None


class Triggers(FileModel):
    checks: list[str] = Field(
        default_factory=new_list, description="Check ids that open this runbook."
    )
    alerts: list[str] = Field(
        default_factory=new_list, description="Alert names (e.g. Prometheus)."
    )
    error_classes: list[ErrorClass] = Field(
        default_factory=new_list, description="Probe error classes this runbook fits."
    )


class Choice(FileModel):
    label: Text
    next: Slug = Field(description="The step this choice leads to.")


class Escalation(FileModel):
    after: Duration = Field(description="Escalate when the incident is older than this.")
    to: Text = Field(description="Who to escalate to (a team, a rotation or a person).")


class Step(FileModel):
    id: Slug
    title: Text
    kind: StepKind = "diagnose"
    instructions: str = Field(default="", description="Markdown shown to the responder.")
    command: str | None = Field(
        default=None,
        description="A command to copy or run; {{ name }} placeholders are filled from the "
        "incident, its check, its service's deploys, oncall.yaml vars, or asked for.",
    )
    risk: Risk | None = Field(
        default=None,
        description="What the command does: read (looks), change (alters a running system) or "
        "destructive (deletes or overwrites data). Default: change for mitigate steps, else read.",
    )
    check: str | None = Field(default=None, description="A check id to run from this step.")
    link: str | None = Field(default=None, description="A dashboard or document URL.")
    expect: Annotated[
        Expect | None,
        BeforeValidator(_expect_shorthand),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": {
                            "healthy": {"type": "string"},
                            "unhealthy": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(
        default=None,
        description="What healthy and unhealthy answers look like; a string means healthy.",
    )
    next: Slug | None = Field(
        default=None, description="The step that follows; by default the next one in the list."
    )
    question: str | None = Field(default=None, description="Decide steps: the question asked.")
    choices: list[Choice] | None = Field(
        default=None, description="Decide steps: the answers and where each leads."
    )

    @model_validator(mode="after")
    def _decide_shape(self) -> Step:
        if self.kind == "decide":
            if not self.question:
                raise ValueError("a decide step needs a 'question'")
            if not self.choices or len(self.choices) < 2:
                raise ValueError("a decide step needs at least two 'choices'")
            if self.next is not None:
                raise ValueError("a decide step flows only through its choices; remove 'next'")
            labels = [c.label for c in self.choices]
            dupes = sorted({lbl for lbl in labels if labels.count(lbl) > 1})
            if dupes:
                raise ValueError(f"choice labels must differ; '{dupes[0]}' appears twice")
        elif self.choices is not None or self.question is not None:
            raise ValueError(
                f"only decide steps have a question and choices (this is '{self.kind}')"
            )
        if self.risk is not None and not self.command:
            raise ValueError("'risk' says what a command does; this step has no 'command'")
        return self

    @property
    def risk_level(self) -> str:
        """The declared risk, else the default of the step's kind."""
        if self.risk is not None:
            return self.risk
        return "change" if self.kind == "mitigate" else "read"


class Runbook(FileModel):
    """One runbook: a failure mode, what it means, and the steps that work it."""

    id: Slug
    title: Text
    category: Category
    severity: Severity
    owner: Text
    last_validated: date = Field(description="When someone last walked through this runbook.")
    applies_to: list[str] = Field(
        default_factory=new_list, description="Services or models this runbook is written for."
    )
    triggers: Triggers = Field(default_factory=Triggers)
    meaning: Text
    impact: Text
    symptoms: list[str] = Field(default_factory=new_list)
    steps: list[Step] = Field(min_length=1)
    escalation: Escalation | None = None
    related: list[str] = Field(default_factory=new_list, description="Ids of related runbooks.")
    tags: list[str] = Field(default_factory=new_list)
    references: list[Text] = Field(
        default_factory=new_list,
        description="Where the runbook's claims were checked: a repository path or a doc page.",
    )

    def step(self, step_id: str) -> Step | None:
        for s in self.steps:
            if s.id == step_id:
                return s
        return None

    def index_of(self, step_id: str) -> int:
        for i, s in enumerate(self.steps):
            if s.id == step_id:
                return i
        raise KeyError(step_id)

    def successors(self, step_id: str) -> list[str]:
        """Where a step may flow: its choices, its ``next``, or the following step."""
        i = self.index_of(step_id)
        s = self.steps[i]
        if s.kind == "decide":
            return [c.next for c in s.choices or []]
        if s.next:
            return [s.next]
        return [self.steps[i + 1].id] if i + 1 < len(self.steps) else []
