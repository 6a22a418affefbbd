"""A problem found in a user-written file, located to file, line, column and field path."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        label = "" if self.severity == "error" else "warning: "
        if self.path:
            return f"{where}: {label}{self.path}: {self.message}"
        return f"{where}: {label}{self.message}"

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def format_path(loc: tuple | list) -> str:
    """('steps', 2, 'next') -> 'steps[2].next'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class ProblemsError(Exception):
    """Raised when a file cannot be used; carries every problem found in it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
