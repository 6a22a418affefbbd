"""The risk register service: scoring, bands, reviews and their history, links, candidates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import IncidentError, Incidents
from mlops_oncall.redact import Redactor
from mlops_oncall.reports import candidates
from mlops_oncall.reports.risks import (
    CATEGORIES,
    ML_CATEGORIES,
    RiskError,
    RiskInput,
    Risks,
    band,
    parse_risk_ref,
)
from mlops_oncall.store.db import open_store

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def store(backend_url):
    s = open_store(backend_url)
    yield s
    s.close()


@pytest.fixture
def risks(store, clock):
    return Risks(store, clock=clock, actor="lead")


@pytest.mark.parametrize(
    ("score", "name"),
    [(1, "low"), (4, "low"), (5, "medium"), (9, "medium"), (10, "high"), (15, "high"),
     (16, "critical"), (25, "critical")],
)  # fmt: skip
def test_bands(score, name):
    assert band(score) == name


def test_every_product_of_two_levels_has_a_band():
    assert {band(a * b) for a in range(1, 6) for b in range(1, 6)} == {
        "low",
        "medium",
        "high",
        "critical",
    }


def test_ml_categories_and_generic_ones():
    assert set(ML_CATEGORIES) == {
        "data-dependency",
        "model-quality",
        "feedback-loop",
        "vendor-api",
        "cost",
        "compliance",
    }
    assert {"availability", "security", "other"} <= set(CATEGORIES)


def test_add_sets_ids_defaults_and_the_first_history_entry(risks):
    r = risks.add("Feature store has no fallback", 3, 4, "carol", category="Data dependency")
    assert r["id"] == "R-001" and r["score"] == 12 and r["band"] == "high"
    assert r["category"] == "data-dependency" and r["treatment"] == "treat"
    assert r["status"] == "open" and r["identified_on"] == date(2026, 11, 23)
    assert r["next_review"] == date(2026, 12, 7)  # high: 14 days
    assert r["last_reviewed"] is None and r["change"] is None and r["previous_score"] is None
    assert [(h["kind"], h["score"], h["actor"]) for h in r["history"]] == [
        ("identified", 12, "lead")
    ]
    assert risks.add("second", 1, 1, "bob")["id"] == "R-002"


def test_review_updates_the_residual_and_keeps_the_inherent(risks, clock):
    risks.add("GPU spend over budget", 4, 4, "dan", category="cost")  # inherent 16
    clock.advance(timedelta(days=2))
    r = risks.review("R-001", 2, 3, note="budget alerts added")
    # the inherent score is the risk as identified: a review does not move it
    assert (r["likelihood"], r["impact"], r["score"], r["band"]) == (4, 4, 16, "critical")
    assert r["inherent"] == {"likelihood": 4, "impact": 4, "score": 16, "band": "critical"}
    assert r["residual"] == {"likelihood": 2, "impact": 3, "score": 6, "band": "medium"}
    assert r["current"] == r["residual"]
    assert (r["previous_score"], r["change"]) == (16, -10)
    assert r["last_reviewed"] == date(2026, 11, 25)
    assert r["next_review"] == date(2026, 12, 25)  # by the residual band, medium: 30 days
    clock.advance(timedelta(days=1))
    r = risks.review("r1", 2, 3, next_review=date(2027, 1, 1))
    assert r["change"] == 0 and r["previous_score"] == 6 and r["next_review"] == date(2027, 1, 1)
    assert r["score"] == 16
    assert [(h["kind"], h["score_kind"], h["score"], h["note"]) for h in r["history"]] == [
        ("identified", "inherent", 16, None),
        ("review", "residual", 6, "budget alerts added"),
        ("review", "residual", 6, None),
    ]


def test_the_register_ranks_by_the_current_score(risks):
    risks.add("was critical", 5, 4, "a")  # 20, reviewed down to 2
    risks.add("high", 3, 4, "b")  # 12, not reviewed
    risks.review("R-001", 1, 2)
    assert [(r["title"], r["current"]["score"]) for r in risks.list()] == [
        ("high", 12),
        ("was critical", 2),
    ]


def test_tolerate_needs_an_approver_and_an_expiry(risks, clock):
    with pytest.raises(RiskInput) as err:
        risks.add("label delay", 3, 3, "frank", treatment="tolerate")
    assert str(err.value) == (
        "tolerating a risk needs --approver (who accepts it) and --expires (the date the "
        "acceptance ends)"
    )
    with pytest.raises(RiskInput, match="needs --approver"):
        risks.add("label delay", 3, 3, "frank", treatment="tolerate", approver="lead")
    with pytest.raises(RiskInput) as err:  # today is 2026-11-23
        risks.add(
            "label delay", 3, 3, "frank", treatment="tolerate", approver="lead",
            expires=date(2026, 11, 23),
        )  # fmt: skip
    assert str(err.value) == "the acceptance would expire on 2026-11-23, which is not after today"
    r = risks.add(
        "label delay", 3, 3, "frank", treatment="tolerate", approver="lead",
        expires=date(2026, 12, 31),
    )  # fmt: skip
    assert (r["approver"], r["expires"], r["acceptance_expired"]) == (
        "lead",
        date(2026, 12, 31),
        False,
    )
    clock.advance(timedelta(days=38))  # 2026-12-31: the acceptance has run out
    assert risks.get("R-001")["acceptance_expired"] is True
    # a risk that is treated is not accepted by anyone
    risks.add("other", 1, 1, "a")
    with pytest.raises(RiskInput, match="the treatment is treat, not tolerate"):
        risks.update("R-002", approver="lead")
    with pytest.raises(RiskInput, match="needs --approver"):
        risks.update("R-002", treatment="tolerate")
    r = risks.update("R-002", treatment="tolerate", approver="cto", expires=date(2027, 6, 1))
    assert (r["treatment"], r["approver"], r["expires"]) == ("tolerate", "cto", date(2027, 6, 1))
    r = risks.update("R-002", expires=date(2027, 9, 1))  # an extension keeps the approver
    assert (r["approver"], r["expires"]) == ("cto", date(2027, 9, 1))


def test_overdue_review(risks, clock):
    risks.add("stale", 1, 2, "erin", next_review=date(2026, 11, 24))
    assert risks.get("R-001")["overdue"] is False
    clock.advance(timedelta(days=2))
    assert risks.get("R-001")["overdue"] is True
    risks.update("R-001", status="closed")
    assert risks.get("R-001")["overdue"] is False  # a closed risk is never overdue


def test_list_sorts_by_score_and_filters(risks):
    risks.add("low", 1, 2, "a")
    risks.add("critical", 5, 4, "b", category="compliance")
    risks.add("high", 3, 4, "c")
    risks.update("R-003", status="closed")
    assert [r["title"] for r in risks.list()] == ["critical", "high", "low"]
    assert [r["title"] for r in risks.list(include_closed=False)] == ["critical", "low"]
    assert [r["title"] for r in risks.list(status="closed")] == ["high"]
    assert [r["title"] for r in risks.list(category="compliance")] == ["critical"]
    assert "history" not in risks.list()[0]


def test_update_fields_links_and_residual(risks, store, clock):
    inc = Incidents(store, clock=clock).declare("p99", "SEV2").id
    risks.add("canary blind", 3, 5, "bob")
    r = risks.update(
        "R-001",
        owner="carol",
        treatment="Transfer",
        mitigation="alert on canary p99",
        residual=(1, 5),
        incidents=[inc, inc],
        runbooks=["bad-model-rollout"],
    )
    assert r["owner"] == "carol" and r["treatment"] == "transfer"
    assert r["residual"] == {"likelihood": 1, "impact": 5, "score": 5, "band": "medium"}
    assert r["links"] == {"incidents": ["INC-0001"], "runbooks": ["bad-model-rollout"]}
    again = risks.update("R-001", runbooks=["bad-model-rollout"])  # links are not duplicated
    assert again["links"]["runbooks"] == ["bad-model-rollout"]
    assert risks.linked_to("INC-0001")[0]["id"] == "R-001"


def test_text_is_redacted_before_it_is_stored(store, clock):
    risks = Risks(store, clock=clock, redactor=Redactor(["hunter2-secret"]))
    r = risks.add("leaks hunter2-secret", 2, 2, "bob", mitigation="rotate token=abcd1234 now")
    assert r["title"] == "leaks ***" and r["mitigation"] == "rotate token=*** now"


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda r: r.add("t", 0, 3, "o"), RiskInput, "likelihood must be a whole number from 1 to 5, not 0"),
        (lambda r: r.add("t", 3, 6, "o"), RiskInput, "impact must be a whole number from 1 to 5, not 6"),
        (lambda r: r.add("  ", 3, 3, "o"), RiskInput, "a risk needs a title"),
        (lambda r: r.add("t", 3, 3, " "), RiskInput, "a risk needs an owner"),
        (
            lambda r: r.add("t", 3, 3, "o", category="model qualty"),
            RiskInput,
            "unknown category 'model qualty' (did you mean 'model-quality'?); expected one of "
            + ", ".join(CATEGORIES),
        ),
        (
            lambda r: r.add("t", 3, 3, "o", treatment="ignore"),
            RiskInput,
            "unknown treatment 'ignore'; expected one of treat, tolerate, transfer, terminate",
        ),
        (
            lambda r: r.add("t", 3, 3, "o", residual=(0, 1)),
            RiskInput,
            "residual likelihood must be a whole number from 1 to 5, not 0",
        ),
        (lambda r: r.add("t", 3, 3, "o", incidents=["INC-0009"]), IncidentError, "unknown incident 'INC-0009'"),
        (lambda r: r.get("R-007"), RiskError, "unknown risk 'R-007'"),
        (lambda r: r.get("risk one"), RiskError, "unknown risk 'risk one' (ids look like R-001)"),
        (lambda r: r.update("R-001"), RiskInput, "nothing to update"),
        (
            lambda r: r.update("R-001", likelihood=3),
            RiskInput,
            "cannot update likelihood; a score changes by a review",
        ),
        (
            lambda r: r.update("R-001", status="done"),
            RiskInput,
            "unknown status 'done'; expected one of open, monitoring, closed",
        ),
        (lambda r: r.update("R-001", title=""), RiskInput, "a risk's title cannot be empty"),
        (
            lambda r: r.add("t", 3, 3, "o", at=T0 + timedelta(hours=1)),
            RiskError,
            "2026-11-23T10:00:00Z is in the future",
        ),
    ],
)  # fmt: skip
def test_errors_are_one_clear_line(risks, call, exc, message):
    risks.add("existing", 2, 2, "bob")
    with pytest.raises(exc) as err:
        call(risks)
    assert str(err.value) == message
    assert exc.exit_code == (2 if issubclass(exc, RiskInput) else 1)


def test_review_errors(risks, clock):
    risks.add("a", 2, 2, "bob")
    clock.advance(3600)
    risks.review("R-001", 3, 3)
    with pytest.raises(RiskError) as err:
        risks.review("R-001", 3, 3, at=T0 + timedelta(minutes=30))
    assert (
        str(err.value)
        == "R-001 was last scored at 2026-11-23T10:00:00Z; a review cannot be earlier"
    )
    risks.update("R-001", status="closed")
    with pytest.raises(RiskError) as err:
        risks.review("R-001", 3, 3)
    assert (
        str(err.value) == "R-001 is closed; reopen it first with `risk update R-001 --status open`"
    )


def test_ref_forms():
    assert [parse_risk_ref(x) for x in ("R-001", "r1", "7", "R012", 3)] == [1, 1, 7, 12, 3]


# -- candidates from a postmortem -------------------------------------------------------------


def test_candidates_from_lucky_lines_and_open_prevent_items(store, clock, risks):
    svc = Incidents(store, clock=clock, actor="alice")
    inc = svc.declare("Fraud p99 above SLO", "SEV1", service="fraud").id
    svc.set_field(inc, "lucky", "- it was a Sunday\n\n* The canary held")
    svc.set_field(inc, "root_cause", "A model twice as large ran out of GPU memory.")
    svc.action_add(inc, "Alert on canary p99", type="prevent", owner="bob")
    svc.action_add(inc, "Write it down", type="process", owner="carol")
    svc.action_add(inc, "Pin the base image", type="prevent", owner="dan")
    svc.action_done(inc, 3)
    found = candidates.candidates(svc.get(inc), risks.linked_to(inc))
    # risk statements: "If <cause>, then <effect>"
    assert [(c["key"], c["title"], c["owner"], c["impact"]) for c in found] == [
        (
            "lucky-1",
            "If INC-0001's luck does not repeat (it was a Sunday), then Fraud p99 above SLO "
            "recurs at full impact",
            None,
            5,
        ),
        (
            "lucky-2",
            "If INC-0001's luck does not repeat (the canary held), then Fraud p99 above SLO "
            "recurs at full impact",
            None,
            5,
        ),
        (
            "action-1",
            'If "Alert on canary p99" is not done, then Fraud p99 above SLO can recur',
            "bob",
            5,
        ),
    ]
    assert found[0]["description"] == (
        "If a model twice as large ran out of GPU memory happens again without what limited "
        "INC-0001 (it was a Sunday), then Fraud p99 above SLO on fraud is not contained: a SEV1 "
        "impact, as INC-0001 nearly was."
    )
    assert found[2]["description"] == (
        "If a model twice as large ran out of GPU memory happens again before action item 1 of "
        "INC-0001 (alert on canary p99) is done, then Fraud p99 above SLO on fraud recurs: a "
        "SEV1 impact."
    )
    assert set(found[0]) == {
        "key", "source", "incident", "title", "description", "category", "likelihood",
        "impact", "owner", "mitigation", "existing",
    }  # fmt: skip

    r = candidates.accept(risks, svc.get(inc), "action-1", likelihood=4)
    assert (r["id"], r["owner"], r["score"]) == ("R-001", "bob", 20)
    assert r["links"]["incidents"] == ["INC-0001"] and r["mitigation"] == "Alert on canary p99"
    # accepting keeps the statement, the mitigation and the category
    assert (r["title"], r["description"], r["category"]) == (
        found[2]["title"],
        found[2]["description"],
        found[2]["category"],
    )
    after = candidates.candidates(svc.get(inc), risks.linked_to(inc))
    assert after[2]["existing"] == "R-001"

    with pytest.raises(RiskError) as err:
        candidates.accept(risks, svc.get(inc), "action-1")
    assert str(err.value) == "candidate 'action-1' of INC-0001 is already R-001"
    with pytest.raises(RiskInput) as err:
        candidates.accept(risks, svc.get(inc), "lucky-1")
    assert str(err.value) == "candidate 'lucky-1' has no owner; give one"
    with pytest.raises(RiskError) as err:
        candidates.accept(risks, svc.get(inc), "lucky-9")
    assert str(err.value) == (
        "INC-0001 has no candidate risk 'lucky-9' (candidates: lucky-1, lucky-2, action-1)"
    )
    assert candidates.accept(risks, svc.get(inc), "lucky-2", owner="erin")["impact"] == 5
