"""Pinned ranking of `runbook search` and `runbook match` over a fixed fixture library."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_oncall.runbooks.library import Library
from tests.conftest import FIXTURES

RANKING = FIXTURES / "ranking"


@pytest.fixture(scope="module")
def lib() -> Library:
    lib = Library.load(paths=[RANKING])
    assert lib.problems == []
    return lib


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("latency", ["latency", "feature-store", "gpu-oom"]),
        ("memory", ["gpu-oom"]),
        ("gpu lat", ["gpu-oom"]),  # every word must hit; the last one may be a prefix
        ("feature", ["feature-store", "drift", "stale-model"]),
        ("fea", ["feature-store", "drift", "stale-model"]),  # prefix: features, FeatureStoreDown
        ("drift psi", ["drift"]),
        ("lookup lat", ["feature-store"]),
        ("zzz", []),
    ],
)
def test_search_order(lib, query, expected):
    assert [h.entry.id for h in lib.search(query)] == expected


def test_search_scores_and_fields(lib):
    top = lib.search("latency")[0]
    assert top.entry.id == "latency"
    assert "title" in top.fields and "triggers" in top.fields
    assert top.score > lib.search("latency")[1].score


def test_empty_query_lists_everything_by_id(lib):
    assert [h.entry.id for h in lib.search("  ")] == sorted(lib.entries)


def test_match_check_error_class_and_service(lib):
    got = lib.match(
        checks=["fraud.model-ready"], error_classes=["timeout"], services=["fraud-scoring"]
    )
    assert [(m.entry.id, m.score) for m in got] == [("latency", 75), ("feature-store", 10)]
    assert got[0].reasons == [
        "triggered by check fraud.model-ready",
        "fits error class timeout",
        "written for service fraud-scoring",
    ]


def test_match_ties_break_by_severity_then_id(lib):
    got = lib.match(error_classes=["timeout"])
    assert [(m.entry.id, m.score) for m in got] == [
        ("feature-store", 10),
        ("latency", 10),
    ]  # SEV1 first


def test_vague_condition_class_only_backs_up_another_reason(lib):
    assert lib.match(error_classes=["condition"]) == []
    got = lib.match(checks=["data-quality.drift"], error_classes=["condition"])
    assert [(m.entry.id, m.score) for m in got] == [("drift", 60)]
    assert got[0].reasons == ["triggered by check data-quality.drift", "fits error class condition"]


def test_named_runbook_wins(lib):
    got = lib.match(
        alerts=["FeatureStoreDown"], error_classes=["timeout"], named={"x.y": "latency"}
    )
    assert [(m.entry.id, m.score) for m in got] == [("latency", 110), ("feature-store", 50)]
    assert got[0].reasons[0] == "check x.y names this runbook"


def test_service_alone_suggests_nothing(lib):
    assert lib.match(services=["fraud-scoring"]) == []


def test_paths_are_independent_of_cwd(lib, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Path(lib.get("latency").file).exists()
