"""`slo import`: Sloth's and Pyrra's SLO files as slos.yaml entries on a Prometheus pair.

The fixtures are shaped exactly like the projects' documented examples (each file names the
one it follows): Sloth's spec is pkg/prometheus/api/v1/v1.go in github.com/slok/sloth
(``version: prometheus/v1``, ``service``, ``slos[].objective``, ``sli.events.error_query`` /
``total_query`` over ``{{.window}}``, ``sli.raw``, ``sli.plugin``, ``alerting.page_alert`` /
``ticket_alert`` with ``disable``), its CRD the same in camelCase; Pyrra's CRD is
kubernetes/api/v1alpha1/servicelevelobjective_types.go in github.com/pyrra-dev/pyrra
(``spec.target``, ``spec.window``, ``spec.indicator.ratio.errors/total.metric``,
``latency.success/total``, ``latencyNative``, ``bool_gauge.metric``, ``grouping``,
``spec.alerting.disabled/burnrates``).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_oncall.slo.config import load_slos
from mlops_oncall.slo.imports import import_slos

FIXTURES = Path(__file__).parent / "fixtures"
URL = "http://prometheus:9090"
NGINX = 'namespace="lastfm",ingress="lastfm",service="lastfm"'


def _warnings(imported) -> list[str]:
    return [str(p).split(": ", 1)[1] for p in imported.problems]


def test_sloth_events_map_and_raw_and_plugins_are_reported():
    got = import_slos(str(FIXTURES / "sloth-getting-started.yml"), URL, "sloth.yml")
    assert got.ok and got.formats == ["sloth"]
    assert got.entries == [
        {
            "id": "myservice-requests-availability",
            "description": "Common SLO based on availability for HTTP request responses.",
            "objective": 99.9,
            "window": "30d",
            "prometheus": {
                "url": URL,
                "bad": 'sum(rate(http_request_duration_seconds_count{job="myservice",'
                'code=~"(5..|429)"}[{{.window}}]))',
                "total": 'sum(rate(http_request_duration_seconds_count{job="myservice"}'
                "[{{.window}}]))",
            },
        }
    ]
    assert [str(p) for p in got.problems] == [
        "sloth.yml:37:7: warning: slos[1].sli: not imported (wifi-client-satisfaction): "
        "sli.raw (error_ratio_query) is an error ratio, not event counts: budgets and "
        "min_bad_events need the bad and total events",
        "sloth.yml:55:7: warning: slos[2].sli: not imported (plugin-availability): "
        "sli.plugin: Sloth SLI plugins generate their queries in Go; write the events' "
        "queries instead",
    ]


def test_sloth_counted_events_and_a_disabled_ticket_alert():
    got = import_slos(str(FIXTURES / "sloth-home-wifi.yml"), URL)
    (entry,) = got.entries
    assert entry["id"] == "home-wifi-good-wifi-client-satisfaction"
    assert entry["prometheus"]["unit"] == "events"  # sum_over_time counts, no rate()
    assert entry["policy"] == [
        {"long": "1h", "short": "5m", "burn_rate": 14.4, "severity": "page"},
        {"long": "6h", "short": "30m", "burn_rate": 6, "severity": "page"},
    ]
    assert any("ticket alerts disabled" in w for w in _warnings(got))


def test_sloths_kubernetes_form_reads_as_its_plain_one():
    plain = import_slos(str(FIXTURES / "sloth-getting-started.yml"), URL).entries
    crd = import_slos(str(FIXTURES / "sloth-k8s.yml"), URL)
    assert crd.entries == plain and crd.problems == []


def test_pyrra_ratio_latency_and_bool_gauge_map_and_the_rest_is_reported():
    got = import_slos(str(FIXTURES / "pyrra-nginx.yaml"), URL, "pyrra.yaml")
    assert got.ok and set(got.formats) == {"pyrra"}
    errors, latency, gauge = got.entries
    assert errors == {
        "id": "nginx-api-errors",
        "objective": 99.9,
        "window": "28d",  # 4w
        "prometheus": {
            "url": URL,
            "bad": f'nginx_ingress_controller_requests{{{NGINX},status=~"5.."}}',
            "total": f"nginx_ingress_controller_requests{{{NGINX}}}",
        },
    }
    assert latency["prometheus"] == {
        "url": URL,
        "good": f'nginx_ingress_controller_request_duration_seconds_bucket{{{NGINX},le="1"}}',
        "total": f"nginx_ingress_controller_request_duration_seconds_count{{{NGINX}}}",
    }
    assert latency["objective"] == 90.0
    assert gauge["prometheus"] == {
        "url": URL,
        "good": 'sum(sum_over_time(up{job="prometheus-k8s"}[{{.window}}]))',
        "total": 'sum(count_over_time(up{job="prometheus-k8s"}[{{.window}}]))',
        "unit": "events",
    }
    assert gauge["description"] == "Prometheus availability monitoring with dynamic burn rate"
    warnings = [str(p) for p in got.problems]
    assert (
        "pyrra.yaml:34:5: warning: spec.indicator: nginx-api-latency: grouping by handler is "
        "not carried: the SLO is over all its series summed, not one per group" in warnings
    )
    assert (
        "pyrra.yaml:67:11: warning: spec.window: not imported (pyrra-connect-latency): window "
        "'2w': an SLO's window is 28d or 30d (4w is 28d)" in warnings
    )
    assert (
        "pyrra.yaml:84:5: warning: spec.indicator: not imported (parca-native): latencyNative "
        "reads a native histogram (histogram_fraction): no pair of counters" in warnings
    )
    assert sum("burn-rate windows are not carried" in w for w in warnings) == 3


def test_a_latency_without_a_histogram_bucket_is_reported(tmp_path):
    """Pyrra's validate() wants an le matcher on latency's success metric."""
    path = tmp_path / "slo.yaml"
    path.write_text(
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\n"
        "metadata: {name: slow}\n"
        "spec:\n  target: '90'\n  window: 28d\n  indicator:\n    latency:\n"
        "      success: {metric: 'x_bucket{job=\"a\"}'}\n      total: {metric: x_count}\n"
    )
    got = import_slos(str(path), URL, "slo.yaml")
    assert got.entries == []
    assert [str(p) for p in got.problems] == [
        "slo.yaml:8:5: warning: spec.indicator: not imported (slow): latency's success.metric "
        "has no le matcher: not a histogram bucket"
    ]


def test_cli_prints_the_entries_and_they_load(ws_cli, tmp_path):
    cli = ws_cli
    r = cli("slo", "import", FIXTURES / "pyrra-nginx.yaml", "--url", URL)
    assert r.code == 0
    (tmp_path / "out.yaml").write_text(r.out)
    slos, problems = load_slos(tmp_path / "out.yaml")
    assert problems == [] and slos is not None
    assert [s.id for s in slos] == [
        "nginx-api-errors",
        "nginx-api-latency",
        "prometheus-availability-dynamic",
    ]
    assert "not imported (parca-native)" in r.err
    assert r.err.rstrip().endswith("imported 3 SLOs with 6 warning(s)")


def test_cli_json(ws_cli):
    r = ws_cli("slo", "import", FIXTURES / "sloth-getting-started.yml", "--json")
    assert r.code == 0
    got = json.loads(r.out)
    assert set(got) == {"file", "formats", "slos", "warnings", "written"}
    assert got["formats"] == ["sloth"] and got["written"] is None
    assert got["slos"][0]["prometheus"]["url"] == "http://localhost:9090"
    assert [(w["line"], w["path"], w["severity"]) for w in got["warnings"]] == [
        (37, "slos[1].sli", "warning"),
        (55, "slos[2].sli", "warning"),
    ]


def test_cli_write_creates_then_appends_keeping_comments(ws_cli, tmp_path):
    target = tmp_path / "slos.yaml"
    target.write_text(
        "# our SLOs\nslos:\n  - id: fraud  # the main one\n    checks: [fraud.ready]\n"
        "    objective: 99.9\n"
    )
    r = ws_cli("slo", "import", FIXTURES / "sloth-getting-started.yml", "--write", target)
    assert r.code == 0, r.err
    assert r.out == ""
    assert "imported 1 SLO into" in r.err
    text = target.read_text()
    assert text.startswith("# our SLOs\nslos:\n  - id: fraud  # the main one\n")
    slos, problems = load_slos(target)
    assert problems == [] and [s.id for s in slos] == ["fraud", "myservice-requests-availability"]
    again = ws_cli("slo", "import", FIXTURES / "sloth-k8s.yml", "--write", target)
    assert again.code == 1
    assert "already has SLOs with the ids myservice-requests-availability" in again.err
    assert target.read_text() == text  # untouched
    fresh = tmp_path / "new.yaml"
    r = ws_cli("slo", "import", FIXTURES / "pyrra-nginx.yaml", "--write", fresh)
    assert r.code == 0
    assert len(load_slos(fresh)[0]) == 3


def test_cli_write_refuses_a_file_it_cannot_append_to_safely(ws_cli, tmp_path):
    target = tmp_path / "slos.yaml"
    target.write_text("slos: [{id: a, checks: [x], objective: 99}]\n")
    r = ws_cli("slo", "import", FIXTURES / "sloth-k8s.yml", "--write", target)
    assert r.code == 1
    assert "cannot append to" in r.err and "Traceback" not in r.err
    assert target.read_text() == "slos: [{id: a, checks: [x], objective: 99}]\n"


def test_cli_bad_files(ws_cli, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("groups: []\n")
    r = ws_cli("slo", "import", other)
    assert r.code == 2
    assert f"{other}:1:1: not a Sloth file" in r.err
    r = ws_cli("slo", "import", tmp_path / "missing.yaml")
    assert r.code == 2 and "file not found" in r.err
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: prometheus/v1\nslos: [\n")
    r = ws_cli("slo", "import", broken)
    assert r.code == 2 and r.err.startswith(f"{broken}:")
    raw_only = tmp_path / "raw.yaml"
    raw_only.write_text(
        "version: prometheus/v1\nservice: s\nslos:\n  - name: r\n    objective: 99\n"
        "    sli: {raw: {error_ratio_query: x}}\n"
    )
    r = ws_cli("slo", "import", raw_only)
    assert r.code == 1
    assert "not imported (r)" in r.err and "no SLO in it maps" in r.err
