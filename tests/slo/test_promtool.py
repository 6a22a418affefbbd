"""A differential test against Prometheus: the same poll history as counters for `promtool test
rules` (Debian's prometheus 2.42) with the SRE Workbook's burn-rate recording and alerting
rules, and fire/no-fire compared with `slo eval` at every minute of a six-hour scenario.

Two checks are polled once a minute, at :20 and :40, never on a window boundary. Prometheus
sees two counters per check (polls, bad polls) sampled at every whole minute, so a sample at
time t holds the polls before t. Prometheus 2 includes a range's left boundary: rate(x[1h])
at t reads the samples at t - 1h and t, its increase is the polls in [t - 1h, t), and it
needs no extrapolation (the samples span the whole range) -- the minutes `slo eval` sums. The
history starts with three clean days, so every row's long window is full from the start (a
shorter history is the one known difference: Prometheus extrapolates a rate from what there
is, `slo eval` says "insufficient history"; docs/slo.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.slo.config import DEFAULT_POLICY, Slo
from mlops_oncall.slo.evaluate import evaluate
from mlops_oncall.slo.history import read_history

INSTALL = "install Debian's prometheus package (apt-get install prometheus) for promtool"
T0 = datetime(2026, 11, 1, tzinfo=UTC)  # Prometheus's time 0 in the test
PREFIX = 3 * 1440  # clean minutes before the scenario (the longest window, 3d)
SCENARIO = 6 * 60  # minutes compared
OBJECTIVE = "99.5"  # budget 0.5%: the rows' thresholds are 7.2%, 3%, 1.5% and 0.5% bad
CHECKS = {"a": 20, "b": 40}  # check -> the second of the minute it is polled at


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"promtool is missing on CI: {INSTALL}")
        pytest.skip(INSTALL)
    return found


def state(check: str, minute: int) -> str | None:
    """The scenario (minute 0 is the first after the clean prefix); None: not polled."""
    m = minute - PREFIX
    if m < 0:
        return "up"
    if 20 <= m < 30 and check == "a":
        return "down"  # a ten-minute outage of one check: the fast page
    if 70 <= m < 77:
        # no polls for seven minutes: the 5m window has no data and neither side fires. (Ten
        # would make exact ties, 21 bad of 700 against 6 x 0.5%, which float division in
        # the two orders can put either side of the threshold.)
        return None
    if 120 <= m < 270 and check == "b" and m % 4 == 0:
        return "down"  # a slow burn: every fourth poll of b for 2.5 hours
    if 300 <= m < 303:
        return "down"  # a short blip of both
    return "up"


def polls():
    for minute in range(PREFIX + SCENARIO):
        for check, second in CHECKS.items():
            s = state(check, minute)
            if s is not None:
                yield check, T0 + timedelta(minutes=minute, seconds=second), s


def _series(values: list[int]) -> str:
    """promtool's expanding notation, one 'a+dxn' run per stretch of equal steps."""
    out, i = [], 0
    while i < len(values):
        if i + 1 == len(values):
            out.append(str(values[i]))
            break
        j, step = i + 1, values[i + 1] - values[i]
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        out.append(f"{values[i]}+{step}x{j - i}")
        i = j + 1
    return " ".join(out)


def counters() -> list[dict]:
    """Per check: polls and bad polls before each whole minute, 0 .. the last eval."""
    series = []
    samples = PREFIX + SCENARIO + 1
    for check in CHECKS:
        total, bad = [0] * samples, [0] * samples
        for c, at, s in polls():
            if c != check:
                continue
            first = int((at - T0).total_seconds() // 60) + 1  # the next sample counts it
            for k in range(first, samples):
                total[k] += 1
                bad[k] += s == "down"
        series.append({"series": f'slo_polls_total{{check="{check}"}}', "values": _series(total)})
        series.append({"series": f'slo_bad_polls_total{{check="{check}"}}', "values": _series(bad)})
    return series


def _w(td: timedelta) -> str:
    return format_duration(td).replace(" ", "")


def rules(budget: str) -> dict:
    """The Workbook's recording rules (error ratio per window) and one alert per row."""
    windows = sorted({w for r in DEFAULT_POLICY for w in (r.long, r.short)})
    recording = [
        {
            "record": f"slo:error_ratio:rate{_w(w)}",
            "expr": f"sum(rate(slo_bad_polls_total[{_w(w)}])) "
            f"/ sum(rate(slo_polls_total[{_w(w)}]))",
        }
        for w in windows
    ]
    alerts = [
        {
            "alert": f"SLOBurn{_w(r.long)}{_w(r.short)}",
            "expr": f"slo:error_ratio:rate{_w(r.long)} > ({r.burn_rate:g} * {budget}) "
            f"and slo:error_ratio:rate{_w(r.short)} > ({r.burn_rate:g} * {budget})",
            "labels": {"severity": r.severity},
        }
        for r in DEFAULT_POLICY
    ]
    return {"groups": [{"name": "slo", "interval": "1m", "rules": recording + alerts}]}


def test_fire_or_not_matches_prometheus_at_every_minute(tmp_path: Path, cli, monkeypatch):
    tool = promtool()
    budget = str((Decimal(100) - Decimal(OBJECTIVE)) / 100)
    slo = Slo("p", tuple(CHECKS), Decimal(OBJECTIVE), timedelta(days=30), "30d", min_bad_events=1)
    history = tmp_path / "polls.jsonl"
    with history.open("w") as fh:
        for check, at, s in polls():
            fh.write(f'{{"check": "{check}", "at": "{at.isoformat()}", "state": "{s}"}}\n')
    source = read_history(history)  # what `slo eval --history` reads
    expected: dict[int, list[str]] = {}
    fired = {r.severity + _w(r.long): set() for r in DEFAULT_POLICY}
    alert_tests = []
    for minute in range(PREFIX, PREFIX + SCENARIO + 1):
        at = T0 + timedelta(minutes=minute)
        (status,) = evaluate([slo], source, at)
        assert status.state == "insufficient history"  # 3 days of a 30-day window
        assert all(r.state != "insufficient history" for r in status.rows)
        expected[minute] = [r.row.severity + _w(r.row.long) for r in status.firing]
        for row in status.rows:
            fired[row.row.severity + _w(row.row.long)].add(row.firing)
            alert_tests.append(
                {
                    "eval_time": f"{minute}m",
                    "alertname": f"SLOBurn{_w(row.row.long)}{_w(row.row.short)}",
                    "exp_alerts": [{"exp_labels": {"severity": row.row.severity}}]
                    if row.firing
                    else [],
                }
            )
    # `slo eval --history` itself, at a few of those minutes
    monkeypatch.chdir(tmp_path)
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    (tmp_path / "slos.yaml").write_text(
        f"slos: [{{id: p, checks: [a, b], objective: {OBJECTIVE}, min_bad_events: 1}}]\n"
    )
    for minute in (PREFIX + 25, PREFIX + 73, PREFIX + 200, PREFIX + 302):
        at = (T0 + timedelta(minutes=minute)).isoformat()
        r = cli("slo", "eval", "--at", at, "--history", str(history), "--json")
        (got,) = json.loads(r.out)["slos"]
        assert [f["severity"] + f["long"] for f in got["firing"]] == expected[minute]
    # the scenario exercises every row both ways
    assert all(seen == {True, False} for seen in fired.values()), fired
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules(budget)))
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": counters(), "alert_rule_test": alert_tests}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, width=1 << 20))
    r = subprocess.run(
        [tool, "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "SUCCESS" in r.stdout


def test_the_expanding_notation():
    assert _series([0, 1, 2, 3, 3, 3, 5]) == "0+1x3 3+0x1 5"
    assert _series([7]) == "7"


def test_the_known_difference_with_less_history_than_a_window(tmp_path: Path):
    """78 minutes of history, the last 18 with one check down: Prometheus rates the 6h, 1d
    and 3d windows from the samples there are and fires every row; `slo eval` fires the
    1h/5m row and says "insufficient history" for the three others."""
    tool = promtool()
    minutes, at_minute = 120, 78
    states = {
        c: ["down" if c == "a" and 60 <= m < 80 else "up" for m in range(minutes)] for c in CHECKS
    }
    history = [
        (c, T0 + timedelta(minutes=m, seconds=CHECKS[c]), states[c][m])
        for m in range(minutes)
        for c in CHECKS
    ]
    slo = Slo("p", tuple(CHECKS), Decimal(OBJECTIVE), timedelta(days=30), "30d", min_bad_events=1)
    from mlops_oncall.slo.history import MemorySource

    (status,) = evaluate([slo], MemorySource.from_polls(history), T0 + timedelta(minutes=at_minute))
    assert [r.state for r in status.rows] == ["firing"] + ["insufficient history"] * 3
    series = []
    for c in CHECKS:
        total = [m for m in range(minutes + 1)]
        bad = [sum(s == "down" for s in states[c][:m]) for m in range(minutes + 1)]
        series.append({"series": f'slo_polls_total{{check="{c}"}}', "values": _series(total)})
        series.append({"series": f'slo_bad_polls_total{{check="{c}"}}', "values": _series(bad)})
    budget = str((Decimal(100) - Decimal(OBJECTIVE)) / 100)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules(budget)))
    fires = {"page": [{"exp_labels": {"severity": "page"}}]}
    ticket = [{"exp_labels": {"severity": "ticket"}}]
    alert_tests = [
        {
            "eval_time": f"{at_minute}m",
            "alertname": f"SLOBurn{_w(r.long)}{_w(r.short)}",
            "exp_alerts": fires.get(r.severity, ticket),  # every row fires in Prometheus
        }
        for r in DEFAULT_POLICY
    ]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alert_tests}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, width=1 << 20))
    r = subprocess.run(
        [tool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
