"""Finding scenarios: by id (the workspace's folder first, then the shipped set) or by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_oncall.drills.scenario import Scenario, load_scenario
from mlops_oncall.formats.problems import Problem, ProblemsError
from mlops_oncall.resources import shipped


@dataclass
class ScenarioEntry:
    scenario: Scenario
    file: str
    source: str  # shipped | workspace


def shipped_dir() -> Path:
    return shipped("scenarios")


def _files(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def list_scenarios(workspace_dir: Path | None) -> tuple[list[ScenarioEntry], list[Problem]]:
    entries: dict[str, ScenarioEntry] = {}
    problems: list[Problem] = []
    for folder, source in ((workspace_dir, "workspace"), (shipped_dir(), "shipped")):
        for f in _files(folder):
            sc, probs = load_scenario(f)
            problems.extend(probs)
            if sc is not None and sc.id not in entries:
                entries[sc.id] = ScenarioEntry(sc, str(f), source)
    return sorted(entries.values(), key=lambda e: e.scenario.id), problems


def find_scenario(name: str, workspace_dir: Path | None) -> ScenarioEntry:
    """A scenario by path, or by id; raises ProblemsError (located) or LookupError."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        sc, probs = load_scenario(path)
        if sc is None:
            raise ProblemsError(probs)
        return ScenarioEntry(sc, str(path), "workspace")
    entries, _ = list_scenarios(workspace_dir)
    for e in entries:
        if e.scenario.id == name:
            return e
    from mlops_oncall.formats.validate import did_you_mean

    raise LookupError(
        f"unknown scenario '{name}'{did_you_mean(name, [e.scenario.id for e in entries])}"
    )
