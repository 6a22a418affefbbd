"""The runbook library: every runbook from the workspace folders and the shipped set.

It indexes runbooks by id, applies the cross-file rules (unique ids per folder, the workspace
shadowing the shipped set, stale and dangling ``related`` warnings), and answers search and
match queries. Loading goes through a parsed cache keyed on path, mtime and size.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.validate import did_you_mean
from mlops_oncall.resources import shipped
from mlops_oncall.runbooks.cache import ParsedCache
from mlops_oncall.runbooks.loader import LoadedFile, Summary, load_runbook
from mlops_oncall.runbooks.placeholders import is_known, known_names
from mlops_oncall.runbooks.schema import Runbook

Source = Literal["shipped", "workspace"]
SUFFIXES = (".yaml", ".yml")
STALE_AFTER = timedelta(days=180)
VAGUE_ERROR_CLASSES = ("condition",)
NO_FOLDER = "no such runbooks folder"
_SEVERITY_RANK = {"SEV1": 0, "SEV2": 1, "SEV3": 2, "SEV4": 3}


@dataclass
class Entry:
    loaded: LoadedFile
    source: Source
    stale: bool = False

    @property
    def summary(self) -> Summary:
        return self.loaded.summary

    @property
    def id(self) -> str:
        return self.loaded.summary.id

    @property
    def file(self) -> str:
        return self.loaded.file

    @property
    def runbook(self) -> Runbook:
        return self.loaded.runbook


@dataclass(frozen=True)
class Refusal:
    """A runbook file left out of the library: its first error and how many more it has."""

    problem: Problem
    more: int = 0

    @property
    def file(self) -> str:
        return self.problem.file

    def __str__(self) -> str:
        if self.problem.message == NO_FOLDER:
            return f"{self.problem} (no runbooks loaded from it)"
        more = f"; {self.more} more problem{'s' * (self.more != 1)}" if self.more else ""
        return f"{self.problem} (runbook refused{more})"


@dataclass
class SearchHit:
    entry: Entry
    score: float
    fields: list[str]


@dataclass
class Match:
    entry: Entry
    score: int
    reasons: list[str]


def runbook_files(path: Path) -> list[Path]:
    """YAML files under ``path``, sorted; os.scandir keeps this cheap for big libraries."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    out: list[str] = []
    todo = [str(path)]
    while todo:
        with os.scandir(todo.pop()) as it:
            for de in it:
                if de.is_dir(follow_symlinks=True):
                    if not de.name.startswith("."):
                        todo.append(de.path)
                elif de.name.endswith(SUFFIXES) and de.is_file(follow_symlinks=True):
                    out.append(de.path)
    return [Path(p) for p in sorted(out)]


def shipped_dir() -> Path:
    return shipped("runbooks")


@dataclass
class Library:
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    _index: _SearchIndex | None = None

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        workspace_dirs: list[Path] | None = None,
        *,
        include_shipped: bool = True,
        paths: list[Path] | None = None,
        today: date | None = None,
        stale_after: timedelta = STALE_AFTER,
        cache: ParsedCache | None = None,
        variables: Iterable[str] = (),
    ) -> Library:
        """Load explicit ``paths``, or the workspace folders followed by the shipped set.

        ``variables`` are the names oncall.yaml's ``vars:`` and the checks' ``labels:`` fill; a
        command placeholder that neither they nor a built-in source can fill refuses its
        runbook."""
        lib = cls()
        known = known_names(variables)
        today = today or date.today()
        sources: list[tuple[Path, Source]] = []
        if paths:
            sources = [(p, "workspace") for p in paths]
        else:
            sources = [(p, "workspace") for p in (workspace_dirs or [])]
            if include_shipped:
                sources.append((shipped_dir(), "shipped"))
        workspace_ids: dict[str, tuple[LoadedFile, str]] = {}
        for folder, source in sources:
            if not folder.exists():
                if paths:
                    lib.problems.append(
                        Problem(str(folder), 1, 1, "", "error", "no such file or folder")
                    )
                elif source == "workspace":  # a folder oncall.yaml names: its runbooks are lost
                    lib.problems.append(Problem(str(folder), 1, 1, "", "error", NO_FOLDER))
                continue
            seen_here: dict[str, str] = {}
            for f in runbook_files(folder):
                loaded = cache.load(f) if cache is not None else load_runbook(f)
                lib.files += 1
                lib.problems.extend(loaded.problems)
                rb = loaded.summary
                if rb is None:
                    continue
                unknown = _unknown_placeholders(loaded, known)
                if unknown:
                    lib.problems.extend(unknown)
                    continue
                if rb.id in seen_here:
                    line, col = loaded.id_pos
                    lib.problems.append(
                        Problem(
                            loaded.file,
                            line,
                            col,
                            "id",
                            "error",
                            f"runbook id '{rb.id}' is already used by {seen_here[rb.id]}",
                        )
                    )
                    continue
                seen_here[rb.id] = loaded.file
                if source == "shipped" and rb.id in workspace_ids:
                    ws_loaded, _ = workspace_ids[rb.id]
                    line, col = ws_loaded.id_pos
                    lib.problems.append(
                        Problem(
                            ws_loaded.file,
                            line,
                            col,
                            "id",
                            "warning",
                            f"shadows the shipped runbook '{rb.id}' (the workspace's is used)",
                        )
                    )
                    continue
                if rb.id in lib.entries:  # same id in two workspace folders: first wins
                    line, col = loaded.id_pos
                    lib.problems.append(
                        Problem(
                            loaded.file,
                            line,
                            col,
                            "id",
                            "warning",
                            f"runbook id '{rb.id}' is also in {lib.entries[rb.id].file}; that one is used",
                        )
                    )
                    continue
                stale = (today - rb.last_validated) > stale_after
                if stale:
                    line, col = loaded.validated_pos
                    days = (today - rb.last_validated).days
                    lib.problems.append(
                        Problem(
                            loaded.file,
                            line,
                            col,
                            "last_validated",
                            "warning",
                            f"runbook is stale: last validated {days} days ago "
                            f"(more than {stale_after.days}); walk through it and update the date",
                        )
                    )
                lib.entries[rb.id] = Entry(loaded, source, stale)
                if source == "workspace":
                    workspace_ids[rb.id] = (loaded, loaded.file)
        if cache is not None:
            cache.save()
        lib._check_related()
        return lib

    def _check_related(self) -> None:
        for entry in self.entries.values():
            for i, rel in enumerate(entry.summary.related):
                if rel not in self.entries:
                    line, col = entry.loaded.related_pos.get(i, (1, 1))
                    self.problems.append(
                        Problem(
                            entry.file,
                            line,
                            col,
                            f"related[{i}]",
                            "warning",
                            f"related runbook '{rel}' is not in the library",
                        )
                    )

    # -- queries ---------------------------------------------------------------------------
    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def refused(self) -> list[Refusal]:
        """Every file (or folder) the library could not use, with its first error.

        Any error leaves a runbook out (a broken file, a duplicate id, a missing folder), so
        whatever lists, shows or matches runbooks says so instead of losing it silently."""
        by_file: dict[str, list[Problem]] = {}
        for p in self.errors:
            by_file.setdefault(p.file, []).append(p)
        return [Refusal(ps[0], len(ps) - 1) for ps in by_file.values()]

    def get(self, runbook_id: str) -> Entry | None:
        return self.entries.get(runbook_id)

    def list(self, category: str | None = None) -> list[Entry]:
        items = [
            e for e in self.entries.values() if category is None or e.summary.category == category
        ]
        return sorted(items, key=lambda e: (e.summary.category, e.id))

    def search(self, query: str, limit: int | None = None) -> list[SearchHit]:
        if self._index is None:
            self._index = _SearchIndex(list(self.entries.values()))
        hits = self._index.search(query)
        return hits[:limit] if limit else hits

    def match(
        self,
        *,
        checks: list[str] | None = None,
        alerts: list[str] | None = None,
        error_classes: list[str] | None = None,
        services: list[str] | None = None,
        named: dict[str, str] | None = None,
    ) -> list[Match]:
        """Runbooks that fit a failure, best first, each with why it matched.

        ``named`` maps a check id to the runbook its config names (``runbook:`` in checks.yaml).
        A service alone never suggests a runbook, nor does the vague error class ``condition``;
        they only strengthen another reason.
        """
        checks = checks or []
        alerts = alerts or []
        error_classes = [e for e in (error_classes or []) if e]
        services = services or []
        named = named or {}
        out: list[Match] = []
        for entry in self.entries.values():
            rb = entry.summary
            score = 0
            reasons: list[str] = []
            for check_id, rb_id in named.items():
                if rb_id == rb.id:
                    score += 100
                    reasons.append(f"check {check_id} names this runbook")
            for c in checks:
                if c in rb.checks:
                    score += 50
                    reasons.append(f"triggered by check {c}")
            for a in alerts:
                if a in rb.alerts:
                    score += 40
                    reasons.append(f"triggered by alert {a}")
            vague: list[str] = []
            for ec in error_classes:
                if ec in rb.error_classes:
                    # "condition" only says some condition failed: it backs up another reason
                    if ec in VAGUE_ERROR_CLASSES:
                        vague.append(ec)
                    else:
                        score += 10
                        reasons.append(f"fits error class {ec}")
            if score:
                for ec in vague:
                    score += 10
                    reasons.append(f"fits error class {ec}")
                for s in services:
                    if s in rb.applies_to:
                        score += 15
                        reasons.append(f"written for service {s}")
            if score:
                out.append(Match(entry, score, reasons))
        out.sort(key=lambda m: (-m.score, _SEVERITY_RANK[m.entry.summary.severity], m.entry.id))
        return out


def _unknown_placeholders(loaded: LoadedFile, known: set[str]) -> list[Problem]:
    out = []
    for name, line, col, path in loaded.placeholders:
        if not is_known(name, known):
            out.append(
                Problem(
                    loaded.file,
                    line,
                    col,
                    path,
                    "error",
                    f"unknown placeholder '{{{{ {name} }}}}'{did_you_mean(name, sorted(known))}: "
                    "no source fills it; add it to oncall.yaml's vars:, a check's labels: or use a "
                    "built-in name "
                    "(runbook schema lists them)",
                )
            )
    return out


_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
# Field weights: a hit in the title says more than a hit deep in a step's instructions.
_WEIGHTS = {
    "id": 4.0,
    "title": 5.0,
    "symptoms": 3.0,
    "meaning": 2.0,
    "triggers": 3.0,
    "tags": 2.0,
    "steps": 1.5,
    "text": 1.0,
}


def tokens(text: str) -> list[str]:
    """Lowercase words; CamelCase alert names split (ModelLatencyHigh -> model latency high)."""
    return _WORD.findall(_CAMEL.sub(r"\1 \2", text).lower())


class _SearchIndex:
    """A small weighted inverted index with IDF, prefix matching on the last query word."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.docs: list[dict[str, Counter]] = []
        df: Counter = Counter()
        for e in entries:
            rb = e.runbook
            fields = {
                "id": Counter(tokens(rb.id)),
                "title": Counter(tokens(rb.title)),
                "symptoms": Counter(tokens(" ".join(rb.symptoms))),
                "meaning": Counter(tokens(rb.meaning + " " + rb.impact)),
                "triggers": Counter(
                    tokens(
                        " ".join(
                            rb.triggers.checks
                            + rb.triggers.alerts
                            + list(rb.triggers.error_classes)
                        )
                    )
                ),
                "tags": Counter(tokens(" ".join(rb.tags + rb.applies_to + [rb.category]))),
                "steps": Counter(tokens(" ".join(s.title for s in rb.steps))),
                "text": Counter(
                    tokens(
                        " ".join(
                            f"{s.instructions} {s.command or ''} {s.question or ''}"
                            for s in rb.steps
                        )
                    )
                ),
            }
            self.docs.append(fields)
            vocab = set()
            for c in fields.values():
                vocab.update(c)
            df.update(vocab)
        self.df = df
        self.vocab = sorted(df)
        n = max(len(entries), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def _expand(self, word: str, last: bool) -> list[str]:
        if not last:
            return [word] if word in self.df else []
        # search-as-you-type: the word being typed matches every indexed word it starts
        import bisect

        i = bisect.bisect_left(self.vocab, word)
        out = []
        while i < len(self.vocab) and self.vocab[i].startswith(word):
            out.append(self.vocab[i])
            i += 1
        return out

    def search(self, query: str) -> list[SearchHit]:
        words = tokens(query)
        if not words:
            return [SearchHit(e, 0.0, []) for e in sorted(self.entries, key=lambda e: e.id)]
        groups = [self._expand(w, i == len(words) - 1) for i, w in enumerate(words)]
        hits: list[SearchHit] = []
        for e, fields in zip(self.entries, self.docs, strict=True):
            score = 0.0
            matched: set[str] = set()
            every = True
            for group in groups:
                best = 0.0
                for term in group:
                    for fname, counter in fields.items():
                        tf = counter.get(term)
                        if tf:
                            s = _WEIGHTS[fname] * (1 + math.log(tf)) * self.idf[term]
                            if term != words[-1] and term not in words:
                                s *= 0.8  # a prefix completion counts a little less than the word
                            best = max(best, s)
                            matched.add(fname)
                if best == 0.0:
                    every = False
                    break
                score += best
            if every and score > 0:
                hits.append(SearchHit(e, round(score, 4), sorted(matched)))
        hits.sort(key=lambda h: (-h.score, h.entry.id))
        return hits
