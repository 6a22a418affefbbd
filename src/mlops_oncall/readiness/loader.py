"""Load a readiness checklist and an answers file, every problem located (file:line:col)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlops_oncall.formats.problems import Problem, ProblemsError
from mlops_oncall.formats.validate import did_you_mean, validate
from mlops_oncall.formats.yamlsrc import load_file
from mlops_oncall.readiness.schema import Checklist
from mlops_oncall.resources import shipped

DEFAULT_CHECKLIST = "ml-service.yaml"
ANSWERS = ("yes", "no", "partial")


def shipped_checklist() -> Path:
    """The checklist shipped with the package (readiness/ml-service.yaml)."""
    return shipped("readiness") / DEFAULT_CHECKLIST


def load_checklist(path: Path | str | None = None, display: str | None = None) -> Checklist:
    """The checklist at ``path`` (default: the shipped one); ProblemsError lists every problem."""
    path = shipped_checklist() if path is None else Path(path)
    doc = load_file(path, display)
    checklist = validate(Checklist, doc) if doc.data is not None else None
    items = doc.data.get("items") if isinstance(doc.data, dict) else None
    if isinstance(items, list):
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            iid = item.get("id") if isinstance(item, dict) else None
            if not isinstance(iid, str):
                continue
            if iid in first:
                doc.problems.append(
                    doc.error(
                        ("items", i, "id"),
                        f"duplicate item id '{iid}' (first used by items[{first[iid]}])",
                    )
                )
            else:
                first[iid] = i
    errors = [p for p in doc.problems if p.is_error]
    if errors or checklist is None:
        raise ProblemsError(sorted(errors, key=lambda p: (p.line, p.col, p.message)))
    return checklist


@dataclass(frozen=True)
class Answer:
    answer: str  # yes | no | partial
    note: str = ""


@dataclass
class Answers:
    by_item: dict[str, Answer] = field(default_factory=dict)


def load_answers(path: Path | str, checklist: Checklist) -> Answers:
    """An answers file: a mapping of item id to yes/no/partial, or to {answer, note}.

    ``` yaml
    rollback-tested: yes
    pii-handling: {answer: partial, note: masked in logs, not yet in the feature store}
    ```
    """
    doc = load_file(path)
    out = Answers()
    if doc.data is not None and not isinstance(doc.data, dict):
        doc.problems.append(doc.error((), "expected a mapping of item id to an answer"))
    ids = [i.id for i in checklist.items]
    for key, value in (doc.data or {}).items() if isinstance(doc.data, dict) else ():
        key = str(key)
        if key not in ids:
            doc.problems.append(
                doc.error((key,), f"unknown item '{key}'{did_you_mean(key, ids)}", key=True)
            )
            continue
        note = ""
        if isinstance(value, dict):
            extra = sorted(set(map(str, value)) - {"answer", "note"})
            if extra:
                doc.problems.append(
                    doc.error((key, extra[0]), f"unknown field '{extra[0]}'", key=True)
                )
                continue
            note = value.get("note") or ""
            if not isinstance(note, str):
                doc.problems.append(doc.error((key, "note"), "expected text"))
                continue
            loc, value = (key, "answer"), value.get("answer")
        else:
            loc = (key,)
        # YAML 1.1 reads yes/no as booleans
        word = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        if word not in ANSWERS:
            doc.problems.append(doc.error(loc, f"expected one of yes, no, partial; got {value!r}"))
            continue
        out.by_item[key] = Answer(word, note)
    errors = [p for p in doc.problems if p.is_error]
    if errors:
        raise ProblemsError(errors)
    return out


__all__ = ["ANSWERS", "Answer", "Answers", "Problem", "load_answers", "load_checklist"]
