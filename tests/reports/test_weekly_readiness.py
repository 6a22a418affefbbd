"""The weekly report's "Production readiness" section, from reviews kept by `readiness run`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall import clock as clock_module
from mlops_oncall.clock import FixedClock

from .seed import NOW

# ask items only: the scores follow from the answers alone (nothing is probed)
CHECKLIST = """\
kind: readiness
id: weekly-test
title: A checklist for the weekly report
owner: tests
last_validated: 2026-06-01
items:
  - {id: alerts, title: Alerts route to on-call, category: monitoring, weight: 4, evidence: {ask: Alerts?}}
  - {id: dashboards, title: Dashboards, category: monitoring, weight: 2, evidence: {ask: Dashboards?}}
  - {id: pii, title: PII handled, category: security, weight: 6, evidence: {ask: PII?}}
  - {id: rollback, title: Rollback tested, category: rollback, weight: 3, evidence: {ask: Rollback?}}
"""


@pytest.fixture
def review(week, cli, monkeypatch):
    """Keep a review of ``service`` made ``ago`` before NOW, through `readiness run`."""
    (week.root / "checklist.yaml").write_text(CHECKLIST, encoding="utf-8")

    def run(service: str, ago: timedelta, **answers: str) -> dict:
        answers_file = week.root / "answers.yaml"
        answers_file.write_text("".join(f"{k}: {v}\n" for k, v in answers.items()))
        monkeypatch.setattr(clock_module.SYSTEM, "now", FixedClock(NOW - ago).now)
        try:
            r = cli(
                "readiness", "run", service, "--checklist", week.root / "checklist.yaml",
                "--answers", answers_file, "--json",
            )  # fmt: skip
        finally:
            monkeypatch.setattr(clock_module.SYSTEM, "now", week.clock.now)
        assert r.code == 0, r.err
        return r.json()

    return run


@pytest.fixture
def reviewed(review):
    # fraud-scoring: 7 of 15 points, then 13.5 of 15; feature-store: one review 120 days ago
    a = review("fraud-scoring", timedelta(days=100), alerts="yes", dashboards="no", pii="partial", rollback="no")  # fmt: skip
    b = review("fraud-scoring", timedelta(days=3), alerts="yes", dashboards="yes", pii="yes", rollback="partial")  # fmt: skip
    c = review("feature-store", timedelta(days=120), alerts="yes", dashboards="yes", pii="no", rollback="yes")  # fmt: skip
    assert [x["score"]["percent"] for x in (a, b, c)] == [46.7, 90.0, 60.0]
    return a, b, c


# Session.readiness_summaries' shape: a service reviewed twice and one reviewed once
READINESS = {
    "fraud-scoring": [
        {"at": "2026-08-22T00:00:00Z", "actor": "tester", "checklist": "ml-service", "percent": 46.7,
         "categories": {"monitoring": 66.7, "security": 50.0}, "gaps": 3},
        {"at": "2026-11-27T00:00:00Z", "actor": "tester", "checklist": "ml-service", "percent": 90.0,
         "categories": {"monitoring": 100.0, "security": 75.0}, "gaps": 1},
    ],
    "ranker": [
        {"at": "2026-11-28T00:00:00Z", "actor": "ann", "checklist": "ml-service", "percent": 50.0,
         "categories": {"monitoring": 50.0}, "gaps": 2},
    ],
}  # fmt: skip


SECTION = """\
## Production readiness

| service | score | since the previous review | weakest category | gaps | reviewed | by |
| --- | --- | --- | --- | --- | --- | --- |
| feature-store | 60% | first review | security 0% | 1 | 2026-08-02 **review due** | tester |
| fraud-scoring | 90% | ▲ 43.3 points | rollback 50% | 1 | 2026-11-27 | tester |

Each service's latest readiness review up to the end of this period; the change is in points \
of the overall score since the review before it. A service not reviewed in the last 90 days is \
**review due** (`mlops-oncall readiness run SERVICE`; the trend: `mlops-oncall readiness \
history SERVICE`).

## Overdue action items
"""


def test_the_section_shows_each_services_latest_review(reviewed, cli):
    r = cli("report", "weekly")
    assert r.code == 0, r.err
    assert SECTION in r.out
    # it follows the top risks
    assert r.out.index("## Top risks") < r.out.index("## Production readiness")


def test_json_figures(reviewed, cli):
    wk = cli("report", "weekly", "--json").json()
    fraud, store = wk["readiness"][1], wk["readiness"][0]
    assert fraud == {
        "service": "fraud-scoring",
        "percent": 90.0,
        "score": "90%",
        "at": "2026-11-27 00:00 UTC",
        "date": "2026-11-27",
        "actor": "tester",
        "checklist": "weekly-test",
        "gaps": 1,
        "categories": [  # in the checklist schema's category order
            {"category": "monitoring", "percent": 100.0, "previous": 66.7, "change": 33.3, "change_text": "▲ 33.3 points"},
            {"category": "rollback", "percent": 50.0, "previous": 0.0, "change": 50.0, "change_text": "▲ 50 points"},
            {"category": "security", "percent": 100.0, "previous": 50.0, "change": 50.0, "change_text": "▲ 50 points"},
        ],
        "weakest": "rollback 50%",
        "previous": {"at": "2026-08-22 00:00 UTC", "percent": 46.7},
        "change": 43.3,
        "change_text": "▲ 43.3 points",
        "age_days": 3,
        "due": False,
    }  # fmt: skip
    assert store["service"] == "feature-store" and store["previous"] is None
    assert (store["change"], store["change_text"]) == (None, "first review")
    assert (store["age_days"], store["due"]) == (120, True)
    assert [c["change_text"] for c in store["categories"]] == ["first review"] * 3


def test_a_review_after_the_period_is_not_in_it(reviewed, cli):
    wk = cli("report", "weekly", "--until", "2026-11-25", "--json").json()
    fraud = wk["readiness"][1]
    assert (fraud["percent"], fraud["change_text"], fraud["date"]) == (
        46.7,
        "first review",
        "2026-08-22",
    )
    assert (fraud["age_days"], fraud["due"]) == (95, True)
    # before any review: no section, no key
    wk = cli("report", "weekly", "--until", "2026-07-01", "--json").json()
    assert "readiness" not in wk
    assert "Production readiness" not in cli("report", "weekly", "--until", "2026-07-01").out


def test_a_drop_and_no_change(review, cli):
    review("ranker", timedelta(days=10), alerts="yes", dashboards="yes", pii="yes", rollback="yes")  # fmt: skip
    review("ranker", timedelta(days=5), alerts="yes", dashboards="no", pii="yes", rollback="yes")  # fmt: skip
    review("scorer", timedelta(days=9), alerts="no", dashboards="no", pii="no", rollback="no")  # fmt: skip
    review("scorer", timedelta(days=4), alerts="no", dashboards="no", pii="no", rollback="no")  # fmt: skip
    ranker, scorer = cli("report", "weekly", "--json").json()["readiness"]
    assert (ranker["percent"], ranker["change"], ranker["change_text"]) == (86.7, -13.3, "▼ 13.3 points")  # fmt: skip
    assert (scorer["percent"], scorer["change_text"], scorer["weakest"]) == (0.0, "±0", "monitoring 0%")  # fmt: skip


def test_without_reviews_nothing_changes(week, cli):
    wk = cli("report", "weekly", "--json").json()
    assert "readiness" not in wk
    assert "Production readiness" not in cli("report", "weekly").out


def test_an_unreadable_review_is_one_located_line(reviewed, week, cli):
    bad = week.root / "readiness" / "fraud-scoring" / "20261128T000000Z.json"
    bad.write_text("{not json", encoding="utf-8")
    r = cli("report", "weekly")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"error: {bad}: not a readable review") and r.err.count("\n") == 1
