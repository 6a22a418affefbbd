"""The readiness checklist format (docs/readiness.md): runbook-shaped YAML, ``kind: readiness``.

Each item names one kind of evidence. What the tool can know (a check, a runbook and its
drills, an SLO) is filled in by it; a command's output and a human's answer are asked for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlops_oncall.formats.durations import Duration
from mlops_oncall.formats.validate import FileModel
from mlops_oncall.runbooks.schema import Risk, Slug

Category = Literal[
    "monitoring", "data quality", "rollback", "on-call", "cost", "security", "documentation"
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
EVIDENCE_KINDS = ("check", "runbook", "slo", "command", "ask")
ANY = "*"  # check: * / runbook: *: every check of the service, any runbook for it

Text = Annotated[str, Field(min_length=1)]


class Evidence(FileModel):
    """Exactly one of check, runbook, slo, command or ask."""

    check: Text | None = Field(
        default=None,
        description="A check id that must be up when the review runs; '*': the service has "
        "checks and every one of them is up.",
    )
    runbook: Text | None = Field(
        default=None,
        description="A runbook id that must exist; '*': some runbook applies to the service.",
    )
    drilled_within: Duration | None = Field(
        default=None,
        description="With runbook: a finished drill of it (of any, for '*') within this long.",
    )
    slo: Literal["any", "availability", "latency"] | None = Field(
        default=None, description="An SLO of this kind is defined for the service."
    )
    command: Text | None = Field(
        default=None,
        description="A shell command run after confirmation; exit 0 passes. "
        "{{ service }} is the service's name, shell-quoted.",
    )
    risk: Risk | None = Field(
        default=None, description="With command: what it does (read, change, destructive)."
    )
    timeout: Duration | None = Field(default=None, description="With command: its time limit.")
    ask: Text | None = Field(default=None, description="A yes/no/partial question for a human.")

    @model_validator(mode="after")
    def _one_kind(self) -> Evidence:
        given = [k for k in EVIDENCE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            what = ", ".join(given) if given else "none"
            raise ValueError(f"expected exactly one of {', '.join(EVIDENCE_KINDS)}; got {what}")
        if self.drilled_within is not None and self.runbook is None:
            raise ValueError("'drilled_within' goes with 'runbook'")
        if (self.risk is not None or self.timeout is not None) and self.command is None:
            raise ValueError("'risk' and 'timeout' go with 'command'")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in EVIDENCE_KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> str:
        """What the evidence names: a check or runbook id, an SLO kind, a command, a question."""
        return str(getattr(self, self.kind))


class Item(FileModel):
    id: Slug
    title: Text
    category: Category
    weight: int = Field(ge=1, le=10, description="How much the item counts (1 to 10).")
    why: str = Field(default="", description="Why it matters; shown beside the item.")
    evidence: Evidence


class Checklist(FileModel):
    """A production-readiness checklist."""

    kind: Literal["readiness"] = Field(description="Always 'readiness'.")
    id: Slug
    title: Text
    owner: Text
    last_validated: date = Field(description="When someone last reviewed this checklist.")
    description: str = ""
    items: list[Item] = Field(min_length=1)

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)
