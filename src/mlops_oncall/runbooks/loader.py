"""Load one runbook file: located YAML, schema validation, then flow checks on the raw data.

The flow checks read the raw mapping rather than the validated model, so a file with a type
error still gets its unknown-step and duplicate-id problems reported in the same pass.
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mlops_oncall.formats.problems import Problem, format_path
from mlops_oncall.formats.validate import did_you_mean, validate
from mlops_oncall.formats.yamlsrc import Document, load_text, read_text
from mlops_oncall.runbooks import placeholders as ph
from mlops_oncall.runbooks.commandtext import (
    destructive_word,
    interactive_reason,
    line_count,
    refusal,
)
from mlops_oncall.runbooks.schema import Runbook

Pos = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Summary:
    """What listing, matching and the library's cross-file rules need, without the steps."""

    id: str
    title: str
    category: str
    severity: str
    owner: str
    last_validated: date
    applies_to: tuple[str, ...]
    checks: tuple[str, ...]
    alerts: tuple[str, ...]
    error_classes: tuple[str, ...]
    related: tuple[str, ...]
    steps: int

    @classmethod
    def of(cls, rb: Runbook) -> Summary:
        t = rb.triggers
        return cls(
            rb.id,
            rb.title,
            rb.category,
            rb.severity,
            rb.owner,
            rb.last_validated,
            tuple(rb.applies_to),
            tuple(t.checks),
            tuple(t.alerts),
            tuple(t.error_classes),
            tuple(rb.related),
            len(rb.steps),
        )


@dataclass
class LoadedFile:
    """A runbook file after loading: its summary and problems, the model, key positions.

    From the parsed cache the full model is unpickled only when first used, so listing and
    matching a large library never pays for every step of every runbook.
    """

    file: str
    problems: list[Problem]
    summary: Summary | None = None
    id_pos: Pos = (1, 1)
    validated_pos: Pos = (1, 1)
    related_pos: dict[int, Pos] = field(default_factory=dict)
    # every {{ name }} in a command: (name, line, col, field path), checked by the library
    # against the names its workspace can fill
    placeholders: list[tuple[str, int, int, str]] = field(default_factory=list)
    _runbook: Runbook | None = None
    _blob: bytes | None = None

    @property
    def runbook(self) -> Runbook | None:
        if self._runbook is None and self._blob is not None:
            self._runbook = pickle.loads(zlib.decompress(self._blob))
        return self._runbook

    @property
    def ok(self) -> bool:
        return self.summary is not None and not any(p.is_error for p in self.problems)

    def compact(self) -> None:
        """Keep the model only as a compressed pickle, rebuilt the first time it is used.

        A freshly parsed library of 1,000 runbooks otherwise holds 34,000 pydantic objects
        (about 30 MiB) that listing and matching never touch. Compressed, every blob of it is
        under 1 MB, and inflating one costs microseconds."""
        if self._blob is None and self._runbook is not None:
            blob = pickle.dumps(self._runbook, protocol=pickle.HIGHEST_PROTOCOL)
            self._blob = zlib.compress(blob, 1)
            self._runbook = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if state["_blob"] is None and state["_runbook"] is not None:
            blob = pickle.dumps(state["_runbook"], protocol=pickle.HIGHEST_PROTOCOL)
            state["_blob"] = zlib.compress(blob, 1)
        state["_runbook"] = None
        return state


def load_runbook(path: Path | str, display: str | None = None) -> LoadedFile:
    name = display or str(path)
    text, problems = read_text(path, name)
    doc = Document(file=name, problems=problems) if text is None else load_text(text, name)
    runbook = validate(Runbook, doc) if doc.data is not None else None
    uses: list[tuple[str, int, int, str]] = []
    if isinstance(doc.data, dict):
        doc.problems.extend(flow_problems(doc))
        doc.problems.extend(command_problems(doc))
        uses = placeholder_uses(doc, text or "")
    loaded = LoadedFile(file=doc.file, problems=_sorted(doc.problems), placeholders=uses)
    if doc.root is not None:
        loaded.id_pos = doc.position(("id",))
        loaded.validated_pos = doc.position(("last_validated",))
        if runbook is not None:
            loaded.related_pos = {
                i: doc.position(("related", i)) for i in range(len(runbook.related))
            }
    if runbook is not None and not any(p.is_error for p in loaded.problems):
        loaded._runbook = runbook  # a runbook with a broken flow is never handed out
        loaded.summary = Summary.of(runbook)
    return loaded


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col, p.message))


def flow_problems(doc: Document) -> list[Problem]:
    """Duplicate step ids, dangling next/choices, and unreachable steps."""
    steps = doc.data.get("steps")
    if not isinstance(steps, list):
        return []
    out: list[Problem] = []
    ids: list[str | None] = []
    first_at: dict[str, int] = {}
    for i, step in enumerate(steps):
        sid = step.get("id") if isinstance(step, dict) else None
        sid = sid if isinstance(sid, str) else None
        ids.append(sid)
        if sid is None:
            continue
        if sid in first_at:
            out.append(
                doc.error(
                    ("steps", i, "id"),
                    f"duplicate step id '{sid}' (first used by steps[{first_at[sid]}])",
                )
            )
        else:
            first_at[sid] = i
    known = [s for s in ids if s]

    def ref(loc: tuple, target) -> None:
        if isinstance(target, str) and target not in first_at:
            out.append(doc.error(loc, f"unknown step '{target}'{did_you_mean(target, known)}"))

    edges: dict[int, list[int]] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        targets: list = []
        choices = step.get("choices")
        if step.get("kind") == "decide" and isinstance(choices, list):
            for j, choice in enumerate(choices):
                if isinstance(choice, dict):
                    ref(("steps", i, "choices", j, "next"), choice.get("next"))
                    targets.append(choice.get("next"))
        elif "next" in step and step.get("next") is not None:
            ref(("steps", i, "next"), step.get("next"))
            targets.append(step.get("next"))
        elif i + 1 < len(steps):
            targets.append(ids[i + 1])
        edges[i] = [first_at[t] for t in targets if isinstance(t, str) and t in first_at]
        if step.get("kind") != "decide" and isinstance(choices, list):
            for j, choice in enumerate(choices):
                if isinstance(choice, dict):
                    ref(("steps", i, "choices", j, "next"), choice.get("next"))

    if steps and not any(p.is_error for p in out):
        seen = {0}
        todo = [0]
        while todo:
            for nxt in edges.get(todo.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        for i, sid in enumerate(ids):
            if i not in seen and isinstance(steps[i], dict):
                name = f"'{sid}'" if sid else f"steps[{i}]"
                out.append(
                    doc.warning(
                        ("steps", i),
                        f"step {name} is unreachable: no step or choice leads to it",
                    )
                )
    return out


def command_problems(doc: Document) -> list[Problem]:
    """Commands the confirmation dialog would refuse (errors) or show as a script (warnings).

    An escape sequence or control character could redraw what the responder reads before
    confirming; several lines make one confirmation run several commands."""
    steps = doc.data.get("steps")
    if not isinstance(steps, list):
        return []
    out: list[Problem] = []
    for i, step in enumerate(steps):
        command = step.get("command") if isinstance(step, dict) else None
        if not isinstance(command, str):
            continue
        loc = ("steps", i, "command")
        why = refusal(command)
        if why:
            out.append(doc.error(loc, f"the command cannot be run: {why}"))
            continue
        bad = ph.malformed(command)
        if bad is not None:
            out.append(
                doc.error(
                    loc,
                    f"malformed placeholder at character {bad + 1}: expected '{{{{ name }}}}' "
                    "with a name of lowercase letters, digits and '_'",
                )
            )
        word = destructive_word(command)
        risk = step.get("risk")
        if word and risk != "destructive":
            declared = f"'risk: {risk}'" if isinstance(risk, str) else "no risk (a default)"
            out.append(
                doc.error(
                    ("steps", i, "risk") if "risk" in step else loc,
                    f"the command deletes or overwrites ('{word}') but declares {declared}; "
                    "declare 'risk: destructive' so the responder types the target to confirm",
                )
            )
        if (tty := interactive_reason(command)) is not None:
            out.append(doc.warning(loc, f"the command can only be copied, not run: {tty}"))
        if (n := line_count(command)) > 1:
            out.append(
                doc.warning(
                    ("steps", i, "command"),
                    f"the command has {n} lines, run by one confirmation; prefer one command "
                    "per step, or a script the step names",
                )
            )
    return out


def placeholder_uses(doc: Document, text: str) -> list[tuple[str, int, int, str]]:
    """Each placeholder of each command with its own line and column in the file.

    The placeholder's text is found in the command's source span; where YAML folding or
    escapes make the two differ, the command's own position stands in."""
    steps = doc.data.get("steps")
    if not isinstance(steps, list):
        return []
    out: list[tuple[str, int, int, str]] = []
    for i, step in enumerate(steps):
        command = step.get("command") if isinstance(step, dict) else None
        if not isinstance(command, str):
            continue
        loc = ("steps", i, "command")
        found = ph.uses(command)
        if not found:
            continue
        node = _node(doc, loc)
        spots: list[Pos] = []
        if node is not None and text:
            start, end = node.start_mark.index, node.end_mark.index
            for m in ph.PLACEHOLDER.finditer(text, start, end):
                before = text.count("\n", 0, m.start())
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
                spots.append((before + 1, col + 1))
        fallback = doc.position(loc)
        exact = len(spots) == len(found)
        for k, use in enumerate(found):
            line, col = spots[k] if exact else fallback
            out.append((use.name, line, col, format_path(loc)))
    return out


def _node(doc: Document, loc: tuple):
    from mlops_oncall.formats.yamlsrc import _child

    node = doc.root
    for part in loc:
        node = _child(node, part, want_key=False) if node is not None else None
    return node
