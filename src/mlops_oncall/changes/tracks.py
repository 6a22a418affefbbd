"""What moved in a registered model since the last recorded poll, as deploys to record.

A model is followed on *tracks*, each holding one version: ``version`` (the newest READY
version), ``stage:Staging`` and ``stage:Production`` (the newest version in that legacy stage)
and ``alias:NAME`` (the version the alias points at). A track whose version differs from the
one last recorded is a move; the moves to one version in one poll make one deploy.

The last recorded version of each track is read back from the deploys this source recorded:
each carries a marker in its notes (marker.py), so a restarted poller (or another process)
derives the same state and records nothing twice, with no table of its own. A track that empties (an alias deleted, a version archived) records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mlops_oncall.changes.marker import marker, tracks_of
from mlops_oncall.changes.registry import STAGES, ModelState


@dataclass(frozen=True)
class Move:
    track: str
    previous: int | None  # None: the first poll of this track
    at: datetime | None  # the registry's time of the move, when it keeps one


@dataclass(frozen=True)
class Change:
    """One deploy to record: ``version`` of ``model``, reached by ``moves``."""

    model: str
    version: int
    moves: tuple[Move, ...]

    def at(self, polled: datetime) -> datetime:
        """The registry's time of the change; the poll's when a move has none (an alias)."""
        times = [m.at for m in self.moves]
        if any(t is None for t in times):
            return polled
        return min(max(t for t in times if t is not None), polled)

    def notes(self) -> str:
        parts = [_say(m, self.version) for m in self.moves]
        return f"MLflow {self.model} version {self.version}: {'; '.join(parts)} {self.marker()}"

    def marker(self) -> str:
        return marker(self.model, self.version, [(m.track, m.previous) for m in self.moves])


def _say(move: Move, version: int) -> str:
    what = {"version": "new version"}.get(move.track) or move.track.replace(":", " ", 1)
    if move.track.startswith("alias:"):
        what = f"alias @{move.track[6:]}"
    if move.previous is None:
        return f"{what} {version} (first poll)"
    if move.track == "version":
        return f"{what} {version} (previous {move.previous})"
    return f"{what} {move.previous} → {version}"


def recorded(model: str, notes: Iterable[str | None]) -> dict[str, int]:
    """The last recorded version of each track of ``model``, from deploy notes oldest first."""
    last: dict[str, int] = {}
    for text in notes:
        for version, track, _previous in tracks_of(model, text):
            last[track] = version
    return last


def current(state: ModelState, aliases: list[str] | None) -> dict[str, tuple[int, datetime | None]]:
    """Each track's version now, with the registry's time of it (None for an alias)."""
    tracks: dict[str, tuple[int, datetime | None]] = {}
    for stage in STAGES:
        held = [v for v in state.versions.values() if v.stage == stage]
        if held:
            top = max(held, key=lambda v: v.number)
            tracks[f"stage:{stage}"] = (top.number, top.updated)
    for alias, number in state.aliases.items():
        if aliases is None or alias in aliases:
            tracks[f"alias:{alias}"] = (number, None)
    return tracks


def changes(state: ModelState, last: dict[str, int], aliases: list[str] | None) -> list[Change]:
    """The deploys to record, oldest version first. On a model's first poll only its newest
    version and each track's holder are recorded, not its whole history."""
    moves: dict[int, list[Move]] = {}
    numbers = sorted(state.versions)
    if numbers:
        seen = last.get("version")
        new = [numbers[-1]] if seen is None else [n for n in numbers if n > seen]
        previous = seen
        for n in new:
            moves.setdefault(n, []).append(Move("version", previous, state.versions[n].created))
            previous = n
    for track, (number, at) in current(state, aliases).items():
        if last.get(track) != number:
            moves.setdefault(number, []).append(Move(track, last.get(track), at))
    return [Change(state.name, n, tuple(moves[n])) for n in sorted(moves)]
