"""The drill scenario format: a Master Scenario Events List as YAML, with a JSON Schema.

A scenario breaks the fake ML system on a schedule (``injects``), says what a good responder
should do after each inject (``expected_actions``, a closed vocabulary), when to steer play
back on course (``contingency``), and how the drill is scored (``scoring``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from mlops_oncall.formats.durations import Duration
from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.validate import FileModel, did_you_mean, new_dict, new_list, validate
from mlops_oncall.formats.yamlsrc import Document, load_file
from mlops_oncall.runbooks.schema import Slug

InjectType = Literal["fault", "clear", "alert", "message", "note"]
Difficulty = Literal["easy", "medium", "hard"]
ROLES = ("commander", "operations", "communications", "scribe")
SIMPLE_ACTIONS = ("acknowledge", "declare", "mitigate", "resolve", "note")
ACTION_RE = re.compile(
    r"^(acknowledge|declare|mitigate|resolve|note"
    r"|attach_runbook:[a-z0-9][a-z0-9._-]*"
    r"|step:[a-z0-9][a-z0-9._-]*"
    r"|decide:[a-z0-9][a-z0-9._-]*:.+"
    r"|assign:(commander|operations|communications|scribe))$"
)
ACTION_PATTERN = ACTION_RE.pattern
# A drill is a sitting: anything scheduled later (`at: 9000d`) would hold the runner, the fake
# system and a "running" record for ever, so such a scenario is refused when it loads.
MAX_DRILL = timedelta(hours=24)


def check_action(value: str) -> str:
    if not ACTION_RE.match(value):
        head = value.split(":", 1)[0]
        kinds = [*SIMPLE_ACTIONS, "attach_runbook", "step", "decide", "assign"]
        raise ValueError(
            f"unknown expected action '{value}'{did_you_mean(head, kinds)}; expected one of "
            "acknowledge, declare, attach_runbook:ID, step:ID, decide:STEP:CHOICE, mitigate, "
            "resolve, note, assign:ROLE"
        )
    return value


Action = Annotated[
    str, AfterValidator(check_action), WithJsonSchema({"type": "string", "pattern": ACTION_PATTERN})
]


class Contingency(FileModel):
    after: Duration = Field(description="How long after the inject the expected actions may take.")
    message: str = Field(min_length=1, description="Shown to the responder when they are late.")


class Inject(FileModel):
    at: Duration = Field(description="Offset from the start of the drill, e.g. 2m.")
    type: InjectType
    target: str | None = Field(
        default=None, description="fault/clear: a fake service; alert: the alert name."
    )
    fault: str | None = Field(default=None, description="fault: latency, errors, not_ready, ...")
    params: dict[str, Any] = Field(default_factory=new_dict)
    text: str | None = Field(default=None, description="message/note/alert: what is said.")
    expected_actions: list[Action] = Field(default_factory=new_list)
    contingency: Contingency | None = None

    @model_validator(mode="after")
    def _shape(self) -> Inject:
        from mlops_oncall.drills.fake.catalog import SERVICES, faults_for

        if (
            self.type in ("fault", "clear")
            and self.target is not None
            and self.target not in SERVICES
        ):
            raise ValueError(
                f"unknown fake service '{self.target}'{did_you_mean(self.target, SERVICES)}; "
                f"expected one of {', '.join(SERVICES)}"
            )
        if self.type == "fault":
            if not self.target or not self.fault:
                raise ValueError("a fault inject needs a 'target' service and a 'fault'")
            allowed = faults_for(self.target)
            if self.fault not in allowed:
                raise ValueError(
                    f"'{self.target}' has no fault '{self.fault}'{did_you_mean(self.fault, allowed)}; "
                    f"it accepts {', '.join(allowed)}"
                )
        elif self.fault is not None or (self.params and self.type != "alert"):
            raise ValueError("only fault injects take 'fault' and 'params'")
        if self.type in ("message", "note") and not self.text:
            raise ValueError(f"a {self.type} inject needs 'text'")
        if self.type == "alert" and not self.target:
            raise ValueError("an alert inject needs a 'target' (the alert's name)")
        return self


TargetName = Literal["acknowledge", "declare", "mitigate", "runbook", "steps"]


class Scoring(FileModel):
    acknowledge_within: Duration | None = None
    declare_within: Duration | None = None
    mitigate_within: Duration | None = None
    runbook: Slug | None = Field(default=None, description="The runbook that should be attached.")
    steps: list[Slug] = Field(default_factory=new_list, description="Runbook steps expected done.")
    weights: dict[TargetName, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=new_dict,
        description="How much each target counts towards the score (1 each unless set), "
        "e.g. {mitigate: 3, declare: 1}.",
    )


class Scenario(FileModel):
    """A tabletop drill against the fake ML system."""

    id: Slug
    title: str = Field(min_length=1)
    difficulty: Difficulty = "medium"
    description: str = ""
    runbook: Slug = Field(description="The runbook a good responder should pick.")
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] = "SEV2"
    service: str | None = Field(default=None, description="The service the drill incident is for.")
    objectives: list[str] = Field(default_factory=new_list)
    roles: list[Literal["commander", "operations", "communications", "scribe"]] = Field(
        default_factory=new_list
    )
    duration: Duration | None = Field(
        default=None, description="When the drill ends; default: the last inject + 2m."
    )
    injects: list[Inject] = Field(min_length=1)
    scoring: Scoring = Field(default_factory=Scoring)
    debrief: list[str] = Field(default_factory=new_list, description="Hot-wash prompts.")

    @property
    def first_fault(self) -> timedelta | None:
        faults = [i.at for i in self.injects if i.type == "fault"]
        return min(faults) if faults else None

    @property
    def end(self) -> timedelta:
        if self.duration is not None:
            return self.duration
        return max(i.at for i in self.injects) + timedelta(minutes=2)


TOO_LATE = "a drill must finish within a day, so its times are at most 24h"


def too_late(scenario: Scenario) -> list[tuple[tuple, timedelta]]:
    """(location, value) of each time past MAX_DRILL."""
    out: list[tuple[tuple, timedelta]] = []
    if scenario.duration is not None:
        out.append((("duration",), scenario.duration))
    for n, inj in enumerate(scenario.injects):
        out.append((("injects", n, "at"), inj.at))
        if inj.contingency is not None:
            out.append((("injects", n, "contingency", "after"), inj.contingency.after))
    return [(loc, value) for loc, value in out if value > MAX_DRILL]


def _dump(value: timedelta) -> str:
    from mlops_oncall.formats.durations import format_duration

    return format_duration(value)


def _fault_param_problems(doc: Document, scenario: Scenario) -> list[Problem]:
    """The fake system's own rules for each fault's params (names, types, ranges), checked
    when the file loads rather than when the inject fires mid-drill. Here and not in the
    model: a drill recorded before these checks must still load from the store."""
    from mlops_oncall.drills.fake.faults import PARAMS, FaultError, normalise

    out = []
    for n, inj in enumerate(scenario.injects):
        if inj.type != "fault":
            continue
        known = {p.name for p in PARAMS.get(inj.fault or "", ())}
        for name, value in inj.params.items():
            try:
                normalise(inj.target, inj.fault, {name: value})
            except FaultError as exc:
                loc = ("injects", n, "params", name)
                out.append(doc.error(loc, exc.message, key=name not in known))
    return out


def load_scenario(
    path: Path | str, display: str | None = None
) -> tuple[Scenario | None, list[Problem]]:
    doc = load_file(path, display)
    scenario = validate(Scenario, doc) if doc.data is not None else None
    if scenario is not None:
        doc.problems.extend(_fault_param_problems(doc, scenario))
        for loc, value in too_late(scenario):
            doc.problems.append(doc.error(loc, f"{_dump(value)} is too late: {TOO_LATE}"))
        order = [i.at for i in scenario.injects]
        if order != sorted(order):
            doc.problems.append(
                doc.warning(("injects",), "injects are not in time order; they run by 'at'")
            )
        if scenario.scoring.runbook and scenario.scoring.runbook != scenario.runbook:
            doc.problems.append(
                doc.warning(
                    ("scoring", "runbook"),
                    f"scores '{scenario.scoring.runbook}' but the scenario's runbook is '{scenario.runbook}'",
                )
            )
    if any(p.is_error for p in doc.problems):
        return None, doc.problems
    return scenario, doc.problems
