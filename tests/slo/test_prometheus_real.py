"""SLOs on Prometheus query pairs against a real Prometheus (tests/slo/promserver.py).

A month of backfilled counters gives exact figures: at END, a sample's time, every window's
``increase`` is the events of its 5-minute steps, which the test counts itself; the budget,
each row's rates and which rows fire follow from them. The same SLO written with bad:, with
good: and as Sloth's rate template over {{.window}} reads the same. Counters the test advances
while Prometheus scrapes them read what Prometheus itself answers for the same increase().
A bad query and an unreachable server are each their SLO's one error line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlops_oncall.formats.durations import parse_duration
from tests.real_servers.harness import free_port, wait_for
from tests.slo.promserver import DEADLINE, prometheus  # noqa: F401 - a fixture

API = '{job="api"}'


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "oncall.db"))
    (tmp_path / "oncall.yaml").write_text("name: t\n")
    return tmp_path


def _slos(ws, url: str, entries: dict[str, str]) -> None:
    lines = ["slos:"]
    for slo_id, pair in entries.items():
        lines.append(f"  - id: {slo_id}\n    objective: 99.9\n    min_bad_events: 1")
        lines.append(f"    prometheus: {{url: '{url}', {pair}}}")
    (ws / "slos.yaml").write_text("\n".join(lines) + "\n")


def _eval(cli, at: datetime) -> dict:
    r = cli("slo", "eval", "--at", at.isoformat(), "--json")
    assert r.code == 0, r.err
    return {s["id"]: s for s in json.loads(r.out)["slos"]}


def _remaining(bad: float, total: float) -> float:
    return round((1 - bad / total / 0.001) * 100, 2)


def test_a_month_of_counters_reads_exact_budgets_and_burn_rates(prometheus, ws, cli):  # noqa: F811
    plan = prometheus.plan
    _slos(
        ws,
        prometheus.url,
        {
            "api": f"bad: 'req_errors_total{API}', total: 'req_total{API}'",
            "api-good": f"good: 'req_ok_total{API}', total: 'req_total{API}'",
            "api-sloth": f"bad: 'sum(rate(req_errors_total{API}[{{{{.window}}}}]))', "
            f"total: 'sum(rate(req_total{API}[{{{{.window}}}}]))'",
        },
    )
    got = _eval(cli, plan.end)
    api = got["api"]
    bad, total = plan.events(timedelta(days=30))
    assert (api["bad"], api["total"]) == (bad, total)
    assert total == 30 * 288 * 100 and bad > 60  # the outage and a few blips days ago
    assert api["budget_remaining"] == _remaining(bad, total)
    assert (api["state"], api["error"], api["checks"]) == ("ok", None, [])
    assert api["prometheus"] == {
        "url": prometheus.url,
        "bad": f"req_errors_total{API}",
        "total": f"req_total{API}",
        "unit": "per_second",  # what a query over {{.window}} would give (none here)
    }
    for row in api["burn_rates"]:
        long_bad, long_total = plan.events(parse_duration(row["long"]))
        short_bad, short_total = plan.events(parse_duration(row["short"]))
        assert (row["long_bad"], row["long_total"]) == (long_bad, long_total), row
        assert (row["short_bad"], row["short_total"]) == (short_bad, short_total), row
        assert row["long_rate"] == round(long_bad / long_total / 0.001, 4)
    # 60 bad of 1,200 in the hour (50x), of 7,200 in 6h (8.3x): both pages; 1d is 2.1x < 3
    assert api["firing"] == [
        {"long": "1h", "short": "5m", "severity": "page"},
        {"long": "6h", "short": "30m", "severity": "page"},
    ]
    assert api["burn_rate"] == 50.0
    assert [r["state"] for r in api["burn_rates"]] == ["firing", "firing", "ok", "ok"]
    for other in ("api-good", "api-sloth"):
        same = {k: v for k, v in got[other].items() if k not in ("id", "prometheus")}
        assert same == {k: v for k, v in api.items() if k not in ("id", "prometheus")}, other


def test_less_history_than_a_window_is_insufficient(prometheus, ws, cli):  # noqa: F811
    """young_total starts two days before END: the 30-day budget and the 3d row cannot say;
    the 1d row can (a sample in the hour before its start). Prometheus extrapolates the
    increase over a range its samples do not cover: the budget reads its answer as it is."""
    plan = prometheus.plan
    _slos(
        ws,
        prometheus.url,
        {"young": f"bad: 'young_errors_total{API}', total: 'young_total{API}'"},
    )
    young = _eval(cli, plan.end)["young"]
    assert young["state"] == "insufficient history"
    states = {r["long"]: r["state"] for r in young["burn_rates"]}
    assert states == {"1h": "firing", "6h": "firing", "1d": "ok", "3d": "insufficient history"}
    (asked,) = prometheus.values(f"sum(increase(young_total{API}[30d]))", plan.end)
    assert young["total"] == pytest.approx(float(asked), abs=1e-4)
    day = next(r for r in young["burn_rates"] if r["long"] == "1d")
    assert (day["long_bad"], day["long_total"]) == plan.events(timedelta(days=1))


def test_a_bad_query_or_no_server_is_that_slos_error_line(prometheus, ws, cli):  # noqa: F811
    plan = prometheus.plan
    nobody = f"http://127.0.0.1:{free_port()}"
    (ws / "slos.yaml").write_text(
        "slos:\n"
        "  - id: broken\n    objective: 99.9\n"
        f"    prometheus: {{url: '{prometheus.url}', bad: 'sum(rate(x[{{{{.window}}}}])',"
        " total: 'req_total'}\n"
        "  - id: nobody\n    objective: 99.9\n"
        f"    prometheus: {{url: '{nobody}', bad: 'x', total: 'y'}}\n"
        "  - id: api\n    objective: 99.9\n"
        f"    prometheus: {{url: '{prometheus.url}', bad: 'req_errors_total', total: 'req_total'}}\n"
    )
    got = _eval(cli, plan.end)
    broken, lost, api = got["broken"], got["nobody"], got["api"]
    assert broken["state"] == "error" and broken["budget_remaining"] is None
    assert broken["error"].startswith(
        f"Prometheus at {prometheus.url}: promql_bad_data: Prometheus answered 400: bad_data: "
    )
    assert {r["state"] for r in broken["burn_rates"]} == {"error"} and broken["firing"] == []
    assert lost["state"] == "error"
    assert lost["error"].startswith(f"Prometheus at {nobody}: cannot reach {nobody}")
    assert api["state"] == "ok" and api["error"] is None  # the others are evaluated
    text = cli("slo", "eval", "--at", plan.end.isoformat())
    assert text.code == 0
    line = next(x for x in text.out.splitlines() if x.startswith("broken "))
    assert line.startswith(f"broken  99.9% over 30d: error: Prometheus at {prometheus.url}: ")
    assert "Traceback" not in text.out + text.err


def test_scraped_counters_that_advance(prometheus, ws, cli):  # noqa: F811
    """live_total and live_errors_total start at 0 and are scraped every second; the SLO reads
    what Prometheus answers for the same increase() at the same time. Both counters come
    from the same scrapes, so Prometheus extrapolates them alike and the ratio is exact."""
    url, target = prometheus.url, prometheus.target
    live = '{job="live"}'
    _slos(ws, url, {"live": f"bad: 'live_errors_total{live}', total: 'live_total{live}'"})
    for total, errors in ((1000, 0), (2000, 50)):
        target.set(total, errors)
        wait_for(
            f"live_total {total}",
            lambda t=total: prometheus.values(f"live_total{live}") == [str(t)],
            DEADLINE,
        )
    at = datetime.now(UTC)
    got = _eval(cli, at)["live"]
    (bad,) = prometheus.values(f"sum(increase(live_errors_total{live}[30d]))", at)
    (total,) = prometheus.values(f"sum(increase(live_total{live}[30d]))", at)
    assert got["bad"] == pytest.approx(float(bad), abs=1e-4)
    assert got["total"] == pytest.approx(float(total), abs=1e-4)
    assert float(bad) / float(total) == pytest.approx(50 / 2000)
    assert got["budget_remaining"] == pytest.approx(round((1 - 0.025 / 0.001) * 100, 2), abs=0.01)
    assert got["state"] == "insufficient history"  # seconds of history
    assert got["burn_rate"] == pytest.approx(25.0, abs=1e-3)


def test_consumed_by_an_incident(prometheus, ws):  # noqa: F811
    """The postmortem's figure: the bad events of the incident's span against the budget of
    the window ending at its end (60 bad of a budget of 0.1% of 864,000 requests: 6.9%)."""
    from mlops_oncall.clock import SYSTEM
    from mlops_oncall.slo.config import load_slos
    from mlops_oncall.slo.service import Slos

    plan = prometheus.plan
    _slos(ws, prometheus.url, {"api": f"bad: 'req_errors_total{API}', total: 'req_total{API}'"})
    slos, problems = load_slos(ws / "slos.yaml")
    assert slos is not None, problems
    service = Slos(lambda: None, SYSTEM, slos)  # type: ignore[arg-type,return-value]
    got = service.consumed("api", plan.end - timedelta(minutes=15), plan.end)
    _, total = plan.events(timedelta(days=30))
    assert (got.bad, got.window_total) == (60, total)
    assert got.share == pytest.approx(60 / (0.001 * total))
    assert not got.needs_postmortem


def test_imported_sloth_and_pyrra_slos_evaluate(prometheus, ws, cli):  # noqa: F811
    """`slo import --write` of a Sloth spec (rates over {{.window}}) and a Pyrra CRD (a ratio
    of counters), shaped as their documented examples (tests/slo/test_import.py), over the
    backfilled series: both evaluate to the figures the test counts itself."""
    plan = prometheus.plan
    (ws / "sloth.yml").write_text(
        'version: "prometheus/v1"\nservice: "api"\nslos:\n'
        '  - name: "requests-availability"\n    objective: 99.9\n'
        "    sli:\n      events:\n"
        f"        error_query: sum(rate(req_errors_total{API}[{{{{.window}}}}]))\n"
        f"        total_query: sum(rate(req_total{API}[{{{{.window}}}}]))\n"
        "    alerting:\n      name: ApiErrors\n"
        "      page_alert:\n        labels: {severity: critical}\n"
        "      ticket_alert:\n        disable: true\n"
    )
    (ws / "pyrra.yaml").write_text(
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\n"
        "metadata:\n  name: api-errors\n  namespace: monitoring\n"
        "spec:\n  target: '99.9'\n  window: 4w\n  indicator:\n    ratio:\n"
        f"      errors:\n        metric: req_errors_total{API}\n"
        f"      total:\n        metric: req_total{API}\n"
    )
    for name in ("sloth.yml", "pyrra.yaml"):
        r = cli("slo", "import", name, "--url", prometheus.url, "--write", "slos.yaml")
        assert r.code == 0, r.err
    got = _eval(cli, plan.end)
    sloth, pyrra = got["api-requests-availability"], got["api-errors"]
    bad30, total30 = plan.events(timedelta(days=30))
    assert (sloth["bad"], sloth["total"], sloth["window"]) == (bad30, total30, "30d")
    assert sloth["budget_remaining"] == _remaining(bad30, total30)
    assert [r["long"] for r in sloth["burn_rates"]] == ["1h", "6h"]  # no ticket rows
    assert [f["long"] for f in sloth["firing"]] == ["1h", "6h"]
    bad28, total28 = plan.events(timedelta(days=28))
    assert (pyrra["bad"], pyrra["total"], pyrra["window"]) == (bad28, total28, "28d")
    assert pyrra["budget_remaining"] == _remaining(bad28, total28)
    assert pyrra["state"] == "ok" and pyrra["error"] is None
    assert [f["long"] for f in pyrra["firing"]] == ["1h", "6h"]


def test_an_imported_pyrra_bool_gauge_counts_samples(prometheus, ws, cli):  # noqa: F811
    """Pyrra's bool_gauge (each sample an event, good when 1) on Prometheus's own `up` of the
    scraped target: every sample is good, and the total is what count_over_time answers."""
    (ws / "gauge.yaml").write_text(
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\n"
        "metadata:\n  name: live-up\nspec:\n  target: '99.9'\n  window: 28d\n"
        '  indicator:\n    bool_gauge:\n      metric: up{job="live"}\n'
    )
    r = cli("slo", "import", "gauge.yaml", "--url", prometheus.url, "--write", "slos.yaml")
    assert r.code == 0, r.err
    at = datetime.now(UTC)
    got = _eval(cli, at)["live-up"]
    (count,) = prometheus.values('sum(count_over_time(up{job="live"}[28d]))', at)
    assert got["prometheus"]["unit"] == "events"
    assert (got["bad"], got["total"]) == (0, int(count)) and int(count) > 0
    assert got["budget_remaining"] == 100.0 and got["error"] is None
