"""Scoring a review: per category and overall, weighted; the gaps ranked by weight.

An item scores its weight times its value: pass 1, partial 0.5, fail and unknown 0. A score is
points over the weights summed, as a percentage rounded to one decimal (Python's round).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_oncall.readiness.evidence import Finding
from mlops_oncall.readiness.schema import CATEGORIES


@dataclass(frozen=True)
class Score:
    points: float
    max: int

    @property
    def percent(self) -> float:
        return round(100 * self.points / self.max, 1) if self.max else 0.0

    def to_json(self) -> dict:
        return {"percent": self.percent, "points": self.points, "max": self.max}


def _score(findings: list[Finding]) -> Score:
    return Score(
        sum(f.item.weight * f.value for f in findings), sum(f.item.weight for f in findings)
    )


def overall(findings: list[Finding]) -> Score:
    return _score(findings)


def by_category(findings: list[Finding]) -> dict[str, Score]:
    """In the categories' fixed order; a category with no item is left out."""
    return {
        c: _score([f for f in findings if f.item.category == c])
        for c in CATEGORIES
        if any(f.item.category == c for f in findings)
    }


def gaps(findings: list[Finding]) -> list[Finding]:
    """Every item short of a pass: the heaviest first, then the most points lost, then the
    checklist's order."""
    order = {id(f): i for i, f in enumerate(findings)}
    short = [f for f in findings if f.status != "pass"]
    return sorted(short, key=lambda f: (-f.item.weight, f.value, order[id(f)]))


def lost(f: Finding) -> float:
    return f.item.weight * (1 - f.value)
