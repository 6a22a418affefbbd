"""The SLO panel's lines and the alarm's text, over SLOs evaluated by the SLO engine from
fixed poll histories (slo.history.MemorySource): the order, the indicator of each state, the
summary line past the panel's height, and a Prometheus SLO whose query failed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mlops_oncall.slo.config import Slo
from mlops_oncall.slo.evaluate import evaluate
from mlops_oncall.slo.history import MemorySource
from mlops_oncall.ui.widgets.slo_panel import alarm_text, panel_text

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _slo(sid: str, check: str) -> Slo:
    return Slo(sid, (check,), Decimal("99.9"), timedelta(days=30), "30d")


def _polls(check: str, bad_back: set[int], days: int = 30):
    """One poll a minute at :30 for ``days`` before AT; ``bad_back``: minutes back (1 = the
    last) that are down."""
    n = days * 1440
    return [
        (check, AT - timedelta(minutes=back) + timedelta(seconds=30), "down")
        if back in bad_back
        else (check, AT - timedelta(minutes=back) + timedelta(seconds=30), "up")
        for back in range(n, 0, -1)
    ]


def _statuses():
    slos = [
        _slo("quiet", "a"),  # nothing bad: ok, 100%
        _slo("paging", "b"),  # down for the last 5 minutes: every page row fires
        _slo("slow-burn", "c"),  # 2 bad in the last hour: burning (33x), under min_bad_events
        _slo("unwatched", "d"),  # no polls at all: no data
        _slo("ticket", "e"),  # 1 bad 200 minutes ago, 30 more over 2 days before: 3d/6h
    ]
    polls = (
        _polls("a", set())
        + _polls("b", set(range(1, 6)))
        + _polls("c", {10, 40})
        + _polls("e", {200} | {400 + 90 * i for i in range(30)})
    )
    return evaluate(slos, MemorySource.from_polls(polls), AT)


def test_most_urgent_first_each_with_its_indicator():
    by = {s.slo.id: s for s in _statuses()}
    assert by["paging"].paging and not by["slow-burn"].firing
    lines = panel_text(list(by.values()), 10).plain.splitlines()
    ids = set(by)
    assert [next(w for w in line.split() if w in ids) for line in lines] == [
        "paging",
        "ticket",
        "slow-burn",
        "quiet",
        "unwatched",
    ]
    assert lines[0].startswith("🔥 page   paging ")
    # rows of both severities: each named (of one severity, the indicator says it)
    assert lines[0].endswith("burn  83.3x  1h/5m page, 6h/30m page, 1d/2h ticket, 3d/6h ticket")
    assert lines[1].startswith("▲ ticket  ticket ") and lines[1].endswith("  3d/6h")
    assert lines[2].startswith("● burning slow-burn ") and "burn  33.3x" in lines[2]
    assert lines[3].startswith("✓ ok      quiet ") and "100.0% left" in lines[3]
    assert lines[4].startswith("· no data unwatched ") and "no data" in lines[4]


def test_past_the_panel_height_one_line_sums_up_the_rest():
    text = panel_text(_statuses(), 2).plain.splitlines()
    assert len(text) == 3
    assert text[2] == "+ 3 more, none firing (mlops-oncall slo status)"


def test_a_failed_prometheus_slo_says_so_after_the_firing_ones():
    statuses = _statuses()
    failed = dataclasses.replace(
        statuses[0], remaining=None, error="prometheus: connection refused"
    )
    lines = panel_text([failed, *statuses[1:]], 10).plain.splitlines()
    assert lines[2].startswith("✗ error   quiet ")
    assert lines[2].endswith("error  burn  0.00x  prometheus: connection refused")


def test_alarm_text_names_the_rows_budget_runbook_and_what_to_do():
    paging = next(s for s in _statuses() if s.slo.id == "paging")
    assert alarm_text(paging, "fraud-latency", None) == (
        "SLO paging is burning its error budget: 1h/5m page, 6h/30m page, 1d/2h ticket, "
        "3d/6h ticket at 83.3x, 88.4% left. Suggested runbook: fraud-latency. "
        "Declare from one of its checks (b) with d."
    )
    assert alarm_text(paging, None, "INC-0007").endswith("88.4% left. INC-0007 open.")
