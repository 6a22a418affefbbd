"""slos.yaml's prometheus: pairs: what loads, the located errors, and the queries asked."""

from __future__ import annotations

from datetime import timedelta

from mlops_oncall.slo.config import load_slos
from mlops_oncall.slo.prometheus import events_query, history_query, prom_duration

URL = "http://prometheus:9090"


def _load(tmp_path, text):
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    slos, problems = load_slos(path, "slos.yaml")
    return slos, [str(p) for p in problems]


def test_a_pair_loads_beside_checks(tmp_path):
    slos, problems = _load(
        tmp_path,
        "slos:\n"
        "  - {id: a, checks: [x], objective: 99.9}\n"
        f"  - id: b\n    objective: 99.5\n    prometheus:\n      url: {URL}\n"
        "      good: 'http_requests_total{code!~\"5..\"}'\n"
        "      total: http_requests_total\n",
    )
    assert problems == []
    b = slos.slos["b"]
    assert b.checks == () and b.prometheus is not None
    assert (b.prometheus.url, b.prometheus.bad, b.prometheus.total) == (
        URL,
        None,
        "http_requests_total",
    )


def test_located_errors(tmp_path):
    slos, problems = _load(
        tmp_path,
        "slos:\n"
        "  - {id: a, objective: 99.9}\n"
        f"  - {{id: b, checks: [x], objective: 99.9, prometheus: {{url: {URL}, bad: x, total: y}}}}\n"
        f"  - {{id: c, objective: 99.9, prometheus: {{url: {URL}, bad: x, good: z, total: y}}}}\n"
        f"  - {{id: d, objective: 99.9, prometheus: {{url: {URL}, bad: 'rate(x[5m])', total: y}}}}\n"
        "  - {id: e, objective: 99.9, prometheus: {url: 'http://u:p@h:9090', bad: x, total: y}}\n"
        "  - {id: f, objective: 99.9, prometheus: {url: h, bad: x}}\n",
    )
    assert slos is None
    assert problems[0] == (
        "slos.yaml:2:5: slos[0]: give its events as checks or as a prometheus query pair (one)"
    )
    assert problems[1] == (
        "slos.yaml:3:5: slos[1]: give its events as checks or as a prometheus query pair (one)"
    )
    assert problems[2:] == [
        "slos.yaml:4:42: slos[2].prometheus: give bad or good events (one of them), and total",
        "slos.yaml:5:77: slos[3].prometheus.bad: expected a counter's series selector, such as "
        'http_requests_total{code=~"5.."} (summed as sum(increase(SELECTOR[window]))), or a '
        "query of the events' per-second rate over {{.window}}, such as "
        'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
        "slos.yaml:6:48: slos[4].prometheus.url: credentials in the URL are not supported; "
        "give the bare URL",
        "slos.yaml:7:42: slos[5].prometheus.total: required field is missing",
        "slos.yaml:7:48: slos[5].prometheus.url: expected an http:// or https:// URL, got 'h'",
    ]


def test_the_queries_asked():
    """A selector is summed as increase() over the window; a template (Sloth's form) has the
    window put in; the history is a sample in the hour before the window's start."""
    assert [prom_duration(timedelta(minutes=m)) for m in (5, 90, 360, 43200)] == [
        "5m",
        "90m",
        "6h",
        "30d",
    ]
    assert events_query('x{a="1"}', timedelta(hours=1)) == 'sum(increase(x{a="1"}[1h]))'
    assert events_query("sum(rate(x[{{ .window }}]))", timedelta(days=30)) == (
        "sum(sum(rate(x[30d])))"
    )
    assert history_query("x", timedelta(days=3)) == "count(present_over_time(x[1h] offset 3d))"
    assert history_query("sum(rate(x[{{.window}}]))", timedelta(hours=6)) == (
        "count(present_over_time((sum(rate(x[5m])))[1h:1m] offset 6h))"
    )
