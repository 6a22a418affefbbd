"""The computed figures, checked as numbers against the arithmetic in seed.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_oncall.reports import postmortem, weekly
from mlops_oncall.reports.sources import Sources

from .conftest import weekly_inputs
from .seed import NOW, at

pytestmark = pytest.mark.both_backends  # the week seeded on SQLite and on PostgreSQL


@pytest.fixture
def wk(week):
    return weekly.build_context(sources=week.sources(), **week.wk())


@pytest.fixture
def pm(week):
    return postmortem.build_context(1, sources=week.sources(), **week.pm())


def _check(ctx, check_id):
    return next(c for c in ctx["checks"] if c["id"] == check_id)


def test_uptime_counts_degraded_as_up_and_shows_it_apart(wk):
    fraud = _check(wk, "fraud.model-ready")
    assert (fraud["polls"], fraud["up_polls"], fraud["degraded_polls"], fraud["down_polls"]) == (
        20160,
        19800,
        120,
        240,
    )
    assert fraud["uptime"] == pytest.approx(19920 / 20160)
    assert fraud["uptime_pct"] == "98.81%"
    assert fraud["degraded_pct"] == "0.595%"
    assert fraud["availability_met"] is False  # 98.81% < 99.9%
    features = _check(wk, "features.health")
    # the hour at NOW (all down) is outside [since, until): uptime stays 100%
    assert features["polls"] == 20160 and features["uptime"] == 1.0
    assert features["degraded_pct"] == "1.667%"
    assert features["availability_met"] is True


def test_latency_percentiles_from_the_hourly_histograms(wk):
    fraud = _check(wk, "fraud.model-ready")
    assert (fraud["p50_ms"], fraud["p95_ms"]) == (100.0, 300.0)
    assert fraud["slo_latency_ms"] == 300.0 and fraud["latency_met"] is True  # 300 <= 300
    features = _check(wk, "features.health")
    assert (features["p50_ms"], features["p95_ms"]) == (50.0, 75.0)
    assert features["latency_met"] is False  # 75 > 50
    fresh = _check(wk, "pipeline.freshness")
    assert (fresh["polls"], fresh["p50_ms"], fresh["p95_ms"]) == (576, 750.0, 750.0)
    assert fresh["slo_availability"] is None and fresh["availability_met"] is None
    gpu = _check(wk, "gpu.memory")  # configured, never polled
    assert gpu["polls"] == 0 and gpu["uptime"] is None and gpu["p95"] == "–"


def test_incident_medians_exclude_drills_and_declined(wk):
    inc = wk["incidents"]
    assert inc["count"] == 2
    assert [x["id"] for x in inc["list"]] == ["INC-0001", "INC-0002"]
    sev = {s["severity"]: s for s in inc["by_severity"]}
    assert sev["SEV1"]["count"] == 1 and sev["SEV2"]["count"] == 0 and sev["SEV4"]["count"] == 0
    # INC-0001: impact 22:40, detected 22:43:30, ack 23:01, mitigated 01:30, resolved 04:10
    assert [sev["SEV1"][f"{m}_seconds"] for m in ("ttd", "tta", "ttm", "ttr")] == [
        210.0,
        1050.0,
        9990.0,
        19590.0,
    ]
    # INC-0002: impact 09:50, detected 10:00, ack 10:04, mitigated 10:30, resolved 11:00
    assert [sev["SEV3"][f"{m}_seconds"] for m in ("ttd", "tta", "ttm", "ttr")] == [
        600.0,
        240.0,
        1800.0,
        3600.0,
    ]
    # nearest-rank median of two values is the lower one
    assert [inc["all"][f"{m}_seconds"] for m in ("ttd", "tta", "ttm", "ttr")] == [
        210.0,
        240.0,
        1800.0,
        3600.0,
    ]
    assert sev["SEV2"]["ttd_seconds"] is None and sev["SEV2"]["ttd"] == "–"
    assert inc["list"][0]["postmortem"] == "postmortems/INC-0001.md"


def test_deploys_cfr_and_recovery(wk):
    d = wk["deploys"]
    # v41, v42 (rolled back), v43, cfg-7 in the week; v40 on the 20th is outside it
    assert (d["count"], d["succeeded"], d["failed"], d["rolled_back"]) == (4, 3, 0, 1)
    assert d["change_failure_rate"] == 0.25 and d["change_failure_rate_pct"] == "25%"
    # v42 at 22:35 on the 26th; its incident was mitigated (service restored) at 01:30 on the
    # 27th and resolved at 04:10: recovery runs to the mitigation
    assert d["recovery_median_seconds"] == 2 * 3600 + 55 * 60
    assert d["change_failures"] == 1
    assert (d["recovered"], d["not_recovered"]) == (1, 0)


def test_top_risks_with_score_changes(wk):
    r = wk["risks"]
    assert [(x["id"], x["score"], x["change"]) for x in r["top"]] == [
        ("R-001", 16, 4),
        ("R-005", 10, -5),
        ("R-002", 6, None),
        ("R-003", 2, None),  # ranked by its residual 1×2, set when it was added (inherent 4)
    ]
    assert [x["change_text"] for x in r["top"]] == [
        "+4",
        "−5",
        "not reviewed yet",
        "not reviewed yet",
    ]
    assert (r["open"], r["critical"], r["reviews_overdue"]) == (4, 1, 1)
    assert [x["overdue"] for x in r["top"]] == [False, False, True, False]


def test_overdue_actions_and_drills(wk):
    assert [
        (a["incident"], a["number"], a["days_overdue"], a["drill"]) for a in wk["overdue_actions"]
    ] == [
        ("INC-0001", 1, 3, False),
        ("INC-0003", 1, 1, True),
    ]
    assert [d["id"] for d in wk["drills"]] == ["INC-0003"]
    assert wk["drills"][0]["tta"] == "3m" and wk["drills"][0]["ttm"] == "20m"


def test_rag_and_tldr_follow_the_figures(wk):
    assert wk["rag"]["status"] == "RED"
    assert wk["rag"]["reasons"] == [
        "1 SEV1 incident",
        "fraud.model-ready uptime 98.81% over 28d is below its SLO 99.9%",
        "gpu.memory has no data in its SLO window (28d)",  # configured, never polled
        "features.health p95 75 ms is above its SLO 50 ms",
        "change failure rate 25% is above 20%",  # DORA 2024: high performers at 20%
        "2 action items overdue",
        "1 open critical risk",
    ]
    assert 3 <= len(wk["tldr"]) <= 5
    assert wk["tldr"][1].startswith("2 incidents (1 SEV1, 1 SEV3); median TTR 1h")
    assert "1 drill run, reported separately." in wk["tldr"][1]


def test_a_narrower_window(week):
    """Only the 28th: INC-0002 and its deploy; the SEV1 and v42 fall outside."""
    ctx = weekly.build_context(
        since=at(28, 0), until=at(29, 0), sources=week.sources(), **week.wk()
    )
    assert ctx["incidents"]["count"] == 1 and ctx["incidents"]["list"][0]["id"] == "INC-0002"
    assert ctx["deploys"]["count"] == 1 and ctx["deploys"]["change_failure_rate"] == 0.0
    fraud = _check(ctx, "fraud.model-ready")
    # 24 normal hours: 2880 polls all up; p95 rank 2736 = 1680 (<=100) + 1056 (<=150)
    assert (fraud["polls"], fraud["uptime"], fraud["p95_ms"]) == (2880, 1.0, 150.0)
    # the availability SLO is judged over its 28-day window, which still holds the SEV1's
    # hours: 144 hours (the 23rd to the 28th) of 120 polls, 240 of them down
    assert fraud["slo_window_polls"] == 17280
    assert fraud["slo_window_uptime"] == 17040 / 17280 and fraud["status"] == "missed"
    assert ctx["rag"]["status"] == "RED"
    assert ctx["rag"]["reasons"] == [
        "fraud.model-ready uptime 98.611% over 28d is below its SLO 99.9%",
        "gpu.memory has no data in its SLO window (28d)",
        "features.health p95 75 ms is above its SLO 50 ms",
        "1 action item overdue",  # due the 27th; the drill's is due the 29th, the end
        "1 open critical risk",
    ]
    assert ctx["overdue_actions"][0]["days_overdue"] == 2
    assert ctx["drills"] == []


def test_postmortem_figures(pm):
    assert pm["incident"]["duration_seconds"] == 2 * 3600 + 50 * 60  # 22:40 -> 01:30
    # TTR 19590 s = 10200 - 210 (impact began before detection) + 9600 (01:30 -> 04:10)
    assert pm["incident"]["duration_from"] == "impact start"
    assert pm["incident"]["duration_vs_ttr"] == (
        "TTR (detected to resolved) is 5h 26m: the outage began 3m 30s before detection "
        "and resolution came 2h 40m after mitigation"
    )
    assert [m["seconds"] for m in pm["metrics"]] == [210.0, 1050.0, 9990.0, 19590.0]
    assert pm["detection"] == {
        "kind": "check",
        "by": "check `fraud.model-ready`",
        "source": "check",
        "at": "2026-11-26 22:43:30 UTC",
        "ttd": "3m 30s",
        "ttd_seconds": 210.0,
    }
    fraud = next(c for c in pm["supporting"]["checks"] if c["id"] == "fraud.model-ready")
    # 25 down spells of 3 minutes, all inside the outage
    assert fraud["down_seconds"] == 25 * 180 and fraud["transitions"] == 50
    assert fraud["first_failure"] == "2026-11-26 22:43:30 UTC"
    assert pm["timeline"]["folded"] == 48 and pm["timeline"]["multi_day"] is True
    assert [d["date"] for d in pm["timeline"]["days"]] == ["2026-11-26", "2026-11-27"]
    rb = pm["runbook"]
    assert rb["complete"] is True
    assert rb["counts"] == {"done": 6, "skipped": 3, "failed": 0, "decided": 1, "not_reached": 2}
    cold = next(s for s in rb["steps"] if s["id"] == "cold-starts")
    assert cold["outcome"] == "done (failed 1× before)"
    assert [d["linked"] for d in pm["supporting"]["deploys"]] == [True, False]


def test_an_open_incident_is_measured_up_to_now(week):
    from mlops_oncall.incidents.service import Incidents

    svc = Incidents(week.store, clock=week.clock, actor="alice")
    svc.declare(
        "still burning", "SEV2", service="fraud-scoring", impact_started_at=NOW - timedelta(hours=1)
    )
    ctx = postmortem.build_context(5, sources=Sources(), **week.pm())
    assert ctx["incident"]["duration"] is None and ctx["incident"]["outage_ends"] is None
    assert [m["seconds"] for m in ctx["metrics"]] == [3600.0, None, None, None]


def _hours(check, start, n, polls, up, degraded, down):
    from mlops_oncall.checks.rollup import HourRollup

    out = []
    for k in range(n):
        h = HourRollup(check, start + timedelta(hours=k))
        h.polls, h.successes, h.degraded, h.down = polls, up, degraded, down
        h.latency_counts[5] = polls
        out.append(h)
    return out


def test_uptime_over_the_slo_window_with_degraded_as_the_slo_says(tmp_path):
    from mlops_oncall.clock import FixedClock
    from mlops_oncall.incidents.deploys import Deploys
    from mlops_oncall.reports.sources import CheckInfo
    from mlops_oncall.store import checks_history
    from mlops_oncall.store.db import open_store

    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    since = NOW - timedelta(days=7)
    checks_history.merge_rollups(
        store,
        # strict: 10 hours in the week, all up; 10 hours 10 days ago, 90 up and 10 degraded;
        # 10 hours 20 days ago, all down, outside its 14-day window
        _hours("strict", NOW - timedelta(days=1), 10, 100, 100, 0, 0)
        + _hours("strict", NOW - timedelta(days=10), 10, 100, 90, 10, 0)
        + _hours("strict", NOW - timedelta(days=20), 10, 100, 0, 0, 100)
        # lenient: only 20 days ago (in its 28-day window), 80 up, 15 degraded, 5 down
        + _hours("lenient", NOW - timedelta(days=20), 10, 100, 80, 15, 5),
    )
    sources = Sources(
        checks={
            "strict": CheckInfo("strict", "strict", "s", 0.99, None, timedelta(days=14), "down"),
            "lenient": CheckInfo("lenient", "lenient", "s", 0.9, None),
            "silent": CheckInfo("silent", "silent", "s", 0.5, None),  # never polled
        }
    )
    clock = FixedClock(NOW)
    deploys = Deploys(store, clock=clock)
    for outcome in ("failed", "succeeded", "succeeded", "succeeded"):  # CFR 25%
        deploys.record("s", "v", "code", outcome, at=since + timedelta(hours=1))
    ctx = weekly.build_context(
        since=since, until=NOW, sources=sources, **weekly_inputs(store, clock)
    )
    strict, lenient, silent = (_check(ctx, c) for c in ("strict", "lenient", "silent"))
    # the week alone is 100%; over 14 days, 1900 of 2000 count (degraded counts as down)
    assert (strict["uptime"], strict["slo_window_polls"]) == (1.0, 2000)
    assert strict["slo_window_uptime"] == 0.95 and strict["availability_met"] is False
    assert (strict["status"], strict["degraded_counts_as"]) == ("missed", "down")
    # no poll in the week, but 950 of 1000 in its 28 days (degraded counts as up): met
    assert (lenient["uptime"], lenient["uptime_pct"]) == (None, "no data")
    assert lenient["slo_window_uptime"] == 0.95 and lenient["status"] == "met"
    assert silent["status"] == "no data" and silent["availability_met"] is None
    assert ctx["rag"]["reasons"] == [
        "strict uptime 95% over 14d is below its SLO 99%",
        "silent has no data in its SLO window (28d)",
        "change failure rate 25% is above 20%",
    ]
    # the CFR thresholds come from oncall.yaml (weekly.change_failure_rate)
    sources.cfr_amber_above, sources.cfr_red_above = 0.1, 0.2
    ctx = weekly.build_context(
        since=since, until=NOW, sources=sources, **weekly_inputs(store, clock)
    )
    assert ctx["rag"]["reasons"][1] == "change failure rate 25% is above 20%"
    assert ctx["rag"]["rule"][0].endswith("or a change failure rate above 20%.")
    sources.checks.pop("silent")
    sources.checks.pop("strict")
    sources.cfr_amber_above, sources.cfr_red_above = 0.3, 0.5
    ctx = weekly.build_context(
        since=since, until=NOW, sources=sources, **weekly_inputs(store, clock)
    )
    # with no check lacking data and the CFR within 30%: GREEN
    assert (ctx["rag"]["status"], ctx["rag"]["reasons"]) == ("GREEN", [])
    store.close()
