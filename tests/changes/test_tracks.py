"""tracks.py: the state read back from the deploys' notes, and what a poll would record."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_oncall.changes.marker import describe
from mlops_oncall.changes.registry import ModelState, Version
from mlops_oncall.changes.tracks import Change, Move, changes, recorded

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def state(name: str, versions: dict[int, str], aliases: dict[str, int] | None = None):
    return ModelState(
        name, {n: Version(n, T, T, stage) for n, stage in versions.items()}, aliases or {}
    )


def test_markers_read_back_for_names_with_spaces_brackets_and_at_signs():
    name = "fraud [v2] @eu"
    notes = [
        Change(name, 3, (Move("version", None, T), Move("alias:champion", None, None))).notes(),
        Change("fraud", 9, (Move("version", None, T),)).notes(),  # another model: not read
        "a person's note mentioning [mlflow:fraud [v2] @eu@ nothing]",
        Change(name, 4, (Move("alias:champion", 3, None),)).notes(),
    ]
    assert recorded(name, notes) == {"version": 3, "alias:champion": 4}
    assert recorded("fraud", notes) == {"version": 9}


def test_nothing_moved_nothing_recorded():
    s = state("m", {1: "None", 2: "Production"}, {"champion": 2})
    last = {"version": 2, "stage:Production": 2, "alias:champion": 2}
    assert changes(s, last, None) == []


def test_an_emptied_track_records_nothing():
    s = state("m", {1: "Archived"})  # Production emptied, the alias deleted
    assert changes(s, {"version": 1, "stage:Production": 1, "alias:champion": 1}, None) == []


def test_a_stage_move_names_the_version_it_replaced():
    s = state("m", {1: "Archived", 2: "Production"})
    (c,) = changes(s, {"version": 2, "stage:Production": 1}, None)
    assert c.version == 2 and c.notes() == (
        "MLflow m version 2: stage Production 1 → 2 [mlflow:m@2 stage:Production<1]"
    )
    assert c.at(datetime(2027, 1, 1, tzinfo=UTC)) == T  # the registry's time


def test_an_alias_move_is_at_the_poll_time_and_never_in_the_future():
    polled = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    (c,) = changes(state("m", {1: "None"}, {"champion": 1}), {"version": 1}, None)
    assert c.at(polled) == polled  # MLflow keeps no time for an alias move
    ahead = Change("m", 1, (Move("version", None, datetime(2026, 3, 1, 12, 6, tzinfo=UTC)),))
    assert ahead.at(polled) == polled  # a registry clock ahead of ours is clamped


def test_describe_is_the_move_in_a_few_characters():
    def notes(*moves):
        return Change("fraud @eu", 4, tuple(Move(t, p, None) for t, p in moves)).notes()

    assert describe(notes(("version", 3), ("alias:champion", 2))) == "@champion 2→4"
    assert describe(notes(("stage:Production", 3))) == "Production 3→4"
    assert describe(notes(("version", 3))) == "new after 3"
    assert describe(notes(("version", None))) is None  # a first poll: nothing before it
    assert describe("canary skipped") is None and describe(None) is None
