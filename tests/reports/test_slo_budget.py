"""Error budgets in the postmortem and the weekly report, with exact figures on fixed 30-day
histories written as the monitor writes them (hourly roll-ups, and the per-minute ones it
still keeps), read through Session.postmortem_inputs / weekly_inputs on both backends.

Each check is polled once a minute at :30 for the 30 days up to T0: 43,200 polls, so a
99.9% objective's budget is 43.2 bad polls and one bad poll spends 1/43.2 = 2.31% of it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall.reports import postmortem, weekly
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.workspace import T0

from .slo_seed import outage, polls, slo_session

MINUTES = 30 * 24 * 60
DAY = 24 * 60

# minutes back from T0 of each check's bad polls
BAD = {
    # 10 one at a time, 8 to 26 days ago, then the last 10 minutes: the incident
    "fraud.ready": {MINUTES - (4 + 2 * i) * DAY for i in range(10)} | set(range(1, 11)),
    # 20 this week, one every 6 hours from 1 day ago: 46.3% spent in the week, none burning now
    "gpu.memory": {DAY + 6 * 60 * i for i in range(20)},
    # 50 between 10 and 20 days ago: more than the 43.2 the month allows
    "training-pipeline.freshness": {10 * DAY + 300 * i for i in range(50)},
}


@pytest.fixture
def session(tmp_path, backend_url):
    s = slo_session(tmp_path, backend_url, polls(BAD, MINUTES))
    yield s
    s.close()


def _incident(s: Session, minutes: int):
    return outage(s, minutes)


def test_postmortem_states_the_budget_consumed_and_the_20_percent_trigger(session):
    inc = _incident(session, 10)
    ctx = postmortem.build_context(inc.id, sources=session.sources(), **session.postmortem_inputs())
    budget = ctx["budget"]
    # only the SLO over the incident's check and service; 10 bad polls of a 43.2 budget
    assert budget["slos"] == [
        {
            "id": "fraud-availability",
            "objective": "99.9%",
            "window": "30d",
            "checks": ["fraud.ready"],
            "bad_polls": 10,
            "window_polls": 43200,
            "consumed": "23.1%",
            "consumed_share": pytest.approx(10 / 43.2),
            "needs_postmortem": True,
        }
    ]
    assert budget["needs_postmortem"] is True and budget["trigger"] == "20%"
    text = postmortem.render_postmortem(
        inc.id, sources=session.sources(), **session.postmortem_inputs()
    )
    assert (
        "| `fraud-availability` | 99.9% | 30d | 23.1% **over 20%** | 10 of 43200 polls in the "
        "window |" in text
    )
    assert "**A postmortem is required:** this incident consumed more than 20%" in text
    assert text.index("### Error budget") < text.index("### ML impact")


def test_postmortem_under_the_trigger_is_not_flagged(session):
    # the last 3 minutes of the outage only: 3 / 43.2
    inc = _incident(session, 3)
    ctx = postmortem.build_context(inc.id, sources=session.sources(), **session.postmortem_inputs())
    (row,) = ctx["budget"]["slos"]
    assert (row["bad_polls"], row["consumed"], row["needs_postmortem"]) == (3, "6.9%", False)
    assert ctx["budget"]["needs_postmortem"] is False


def test_weekly_shows_each_budget_and_burn_and_the_rag_rule_uses_them(session):
    ctx = weekly.build_context(
        sources=session.sources(), since=T0 - timedelta(days=7), until=T0, **session.weekly_inputs()
    )
    by_id = {s["id"]: s for s in ctx["slos"]}
    fraud, gpu, training = (
        by_id["fraud-availability"],
        by_id["gpu-availability"],
        by_id["training-availability"],
    )
    # 20 bad of 43,200: 1 - 20/43.2; the 10 minutes just now burn 10/60 / 0.001 = 166.67x,
    # over every row's rate in both its windows (3d: 10/4320 = 2.31x > 1; 6h: 27.8x)
    assert (fraud["budget_remaining"], fraud["burn_rate"], fraud["firing"]) == (
        "53.7%",
        "166.67x",
        "1h/5m page, 6h/30m page, 1d/2h ticket, 3d/6h ticket",
    )
    assert (fraud["period_consumed"], fraud["pace"], fraud["status"]) == ("23.1%", "23.3%", "ok")
    assert (gpu["budget_remaining"], gpu["burn_rate"], gpu["firing"]) == ("53.7%", "0.00x", "")
    assert (gpu["period_consumed"], gpu["period_bad_polls"], gpu["status"]) == (
        "46.3%",
        20,
        "burning",
    )
    assert (training["budget_remaining"], training["status"]) == ("-15.7%", "spent")
    assert training["period_consumed"] == "0.0%"
    rag = ctx["rag"]
    assert rag["status"] == "RED"
    assert "SLO training-availability has spent its error budget (-15.7% left)" in rag["reasons"]
    assert (
        "SLO gpu-availability spent 46.3% of its error budget in the period, more than the "
        "period's share 23.3%" in rag["reasons"]
    )
    assert not any("fraud-availability" in r for r in rag["reasons"])
    assert "any SLO whose error budget is spent at the end of the period" in rag["rule"][0]
    text = weekly.render_weekly(
        sources=session.sources(), since=T0 - timedelta(days=7), until=T0, **session.weekly_inputs()
    )
    assert "## SLOs and error budgets" in text
    assert (
        "| `gpu-availability` | 99.9% | 30d | 53.7% | 0.00x | – | 46.3% | 23.3% | **burning** |"
        in text
    )


def test_without_slos_yaml_the_documents_say_nothing_of_budgets(session):
    (session.workspace.root / "slos.yaml").unlink()
    assert session.postmortem_inputs()["slos"] is None
    inc = _incident(session, 3)
    ctx = postmortem.build_context(inc.id, sources=session.sources(), **session.postmortem_inputs())
    assert "budget" not in ctx  # the JSON without slos.yaml is as it was
    text = weekly.render_weekly(sources=session.sources(), **session.weekly_inputs())
    assert "SLOs and error budgets" not in text
    assert "any SLO" not in text  # the rule printed is the one applied
