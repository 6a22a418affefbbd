"""checks.yaml: models, every problem located to file:line:col, presets, env secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_oncall.checks.spec import ChecksFile, Maintenance, Slo
from mlops_oncall.formats.jsonschema import schema_for
from tests.checks.helpers import load_errors, load_ok

DESIGN_EXAMPLE = """
defaults: {interval: 30s, timeout: 5s, thresholds: {degraded_after: 2, down_after: 3, recover_after: 2}}
checks:
  - id: fraud-model-ready
    group: serving
    service: fraud-scoring      # ties checks, incidents and deploys together
    slo: {availability: 99.9%, latency: 300ms}
    url: http://127.0.0.1:8000/v2/models/fraud/ready
    headers: {Authorization: "Bearer ${env:MODEL_TOKEN}"}   # secrets from the environment
    conditions: ["[STATUS] == 200", "[BODY].ready == true", "[RESPONSE_TIME] < 500"]
    warn: ["[RESPONSE_TIME] < 200"]
    runbook: model-latency-spike
"""


def test_the_design_example_loads(tmp_path):
    cs = load_ok(tmp_path, DESIGN_EXAMPLE, env={"MODEL_TOKEN": "tok-4f9a"})
    spec = cs.specs["fraud-model-ready"]
    assert spec.interval == timedelta(seconds=30)
    assert (spec.connect_timeout, spec.total_timeout) == (5.0, 5.0)
    assert spec.thresholds.model_dump() == {
        "degraded_after": 2,
        "down_after": 3,
        "recover_after": 2,
    }
    assert [(c.condition.text, c.level) for c in spec.conditions] == [
        ("[STATUS] == 200", "fail"),
        ("[BODY].ready == true", "fail"),
        ("[RESPONSE_TIME] < 500", "fail"),
        ("[RESPONSE_TIME] < 200", "warn"),
    ]
    assert spec.slo.availability == 0.999
    assert spec.slo.latency == timedelta(milliseconds=300)
    # the runtime request carries the secret; what is shown keeps the reference
    assert spec.request.headers == {"Authorization": "Bearer tok-4f9a"}
    assert spec.headers == {"Authorization": "Bearer ${env:MODEL_TOKEN}"}
    assert "tok-4f9a" not in repr(spec) and "tok-4f9a" not in repr(spec.request)
    assert cs.redactor.text("sent Bearer tok-4f9a") == "sent Bearer ***"


def test_defaults_apply_and_thresholds_merge(tmp_path):
    cs = load_ok(
        tmp_path,
        """
        defaults: {interval: 10s, timeout: {connect: 1s, total: 3s}, thresholds: {down_after: 4}}
        checks:
          - {id: a, url: "http://127.0.0.1:1/"}
          - {id: b, url: "http://127.0.0.1:1/", interval: 1m, timeout: 2s, thresholds: {recover_after: 5}}
        """,
    )
    a, b = cs.specs["a"], cs.specs["b"]
    assert (a.interval, a.connect_timeout, a.total_timeout) == (timedelta(seconds=10), 1.0, 3.0)
    assert a.thresholds.model_dump() == {"degraded_after": 2, "down_after": 4, "recover_after": 2}
    assert (b.interval, b.connect_timeout, b.total_timeout) == (timedelta(minutes=1), 2.0, 2.0)
    assert b.thresholds.model_dump() == {"degraded_after": 2, "down_after": 4, "recover_after": 5}
    # no conditions: any status below 400 is up
    assert [c.condition.text for c in a.conditions] == ["[STATUS] < 400"]


def test_every_problem_is_reported_at_once_with_its_location(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - id: bad
            url: http://x
            timeout: {connect: 2s, total: 1s}
            conditions: ["[STAUTS] == 200", "[BODY].x ==1"]
            depends_on: [nope, bad]
            slo: {availability: 120%}
            maintenance: [{every: [sundy], start: "25:00", duration: 1h, tz: Mars/Base}]
          - id: bad
            url: ftp://x/${env:NOPE}
            timeout: 5
          - {id: a, url: "http://a", depends_on: [b]}
          - {id: b, url: "http://a", depends_on: [a]}
          - {id: t, kind: tcp, url: "127.0.0.1", conditions: ["[STATUS] == 200"]}
          - {id: ts, preset: torchserve, base_url: "http://x", model: m}
          - {id: nourl, methd: GET}
        """,
    )
    assert errors == [
        "checks.yaml:4:14: checks[0].timeout: timeout.connect must not be longer than timeout.total",
        "checks.yaml:5:19: checks[0].conditions[0]: invalid condition: unknown placeholder "
        "[STAUTS] (did you mean '[STATUS]'?); expected one of [STATUS], [RESPONSE_TIME], [BODY], "
        "[HEADER], [CONNECTED], [CERTIFICATE_EXPIRATION], [VALUE], [DNS_RCODE] (at character 1)",
        "checks.yaml:5:47: checks[0].conditions[1]: invalid condition: put a space on each side "
        "of '==' (e.g. '[STATUS] == 200') (at character 10)",
        "checks.yaml:6:18: checks[0].depends_on[0]: unknown check 'nope'",
        "checks.yaml:6:24: checks[0].depends_on[1]: check 'bad' cannot depend on itself",
        "checks.yaml:7:25: checks[0].slo.availability: expected a percentage such as '99.9%', "
        "got '120%'",
        "checks.yaml:8:27: checks[0].maintenance[0].every: unknown weekday 'sundy' (did you mean "
        "'sunday'?); expected monday … sunday",
        "checks.yaml:8:43: checks[0].maintenance[0].start: expected a time HH:MM between 00:00 "
        "and 23:59, got '25:00'",
        "checks.yaml:8:70: checks[0].maintenance[0].tz: unknown time zone 'Mars/Base' (expected "
        "e.g. UTC, Europe/Berlin)",
        "checks.yaml:9:9: checks[1].id: duplicate check id 'bad' (first defined by checks[0])",
        "checks.yaml:10:10: checks[1].url: environment variable NOPE is not set",
        "checks.yaml:10:10: checks[1].url: expected an http:// or https:// URL, got "
        "'ftp://x/${env:NOPE}'",
        "checks.yaml:11:14: checks[1].timeout: expected a duration with a unit such as '5s', or "
        "{connect, total}; got 5",
        "checks.yaml:12:42: checks[2].depends_on: depends_on forms a cycle: a → b → a",
        "checks.yaml:14:29: checks[4].url: expected tcp://host:port for a tcp check, got "
        "'127.0.0.1'",
        "checks.yaml:14:55: checks[4].conditions[0]: a tcp check has no HTTP response; use "
        "[CONNECTED] or [RESPONSE_TIME]",
        "checks.yaml:15:5: checks[5]: preset torchserve with model needs management_url",
        "checks.yaml:16:5: checks[6]: url is required (or a preset with base_url)",
        "checks.yaml:16:17: checks[6].methd: unknown field 'methd' (did you mean 'method'?)",
    ]


def test_missing_env_var_is_a_config_error_naming_it(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - id: a
            url: http://127.0.0.1:1/
            headers: {Authorization: "Bearer ${env:MODEL_TOKEN}"}
        """,
    )
    assert errors == [
        "checks.yaml:4:30: checks[0].headers.Authorization: environment variable MODEL_TOKEN "
        "is not set"
    ]


def test_env_outside_secret_fields_is_refused(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, url: "http://127.0.0.1:1/", name: "${env:X}", conditions: ["[BODY].t == ${env:X}"]}
        """,
        env={"X": "value"},
    )
    assert errors == [
        "checks.yaml:2:47: checks[0].name: ${env:…} is resolved only in url, headers, body, "
        "base_url, management_url, management_token and inference_token",
        "checks.yaml:2:72: checks[0].conditions[0]: ${env:…} is not resolved in conditions; only "
        "in url, headers, body, base_url, management_url, management_token and inference_token",
    ]


def test_url_credentials_are_masked_everywhere(tmp_path):
    cs = load_ok(
        tmp_path,
        """
        checks:
          - {id: a, url: "http://admin:hunter22@127.0.0.1:1/health"}
          - {id: b, url: "http://${env:U}:${env:P}@127.0.0.1:1/"}
        """,
        env={"U": "svc", "P": "pa55word"},
    )
    assert cs.specs["a"].url == "http://***@127.0.0.1:1/health"
    assert cs.specs["a"].request.url == "http://admin:hunter22@127.0.0.1:1/health"
    assert cs.redactor.text("hunter22 and pa55word") == "*** and ***"
    assert "hunter22" not in repr(cs.specs["a"])
    # a problem message quoting a URL with credentials is masked too
    errors = load_errors(tmp_path, 'checks: [{id: a, url: "ftp://me:pw@host/x"}]\n')
    assert errors == [
        "checks.yaml:1:23: checks[0].url: expected an http:// or https:// URL, got 'ftp://***@host/x'"
    ]


def test_presets_expand_into_one_check_per_endpoint(tmp_path):
    cs = load_ok(
        tmp_path,
        """
        checks:
          - {id: fraud, preset: oip_v2, base_url: "http://127.0.0.1:8000/", model: fraud, service: fraud-scoring}
          - {id: tri, preset: triton, base_url: "http://127.0.0.1:8001"}
          - {id: ts, preset: torchserve, base_url: "http://127.0.0.1:8080", management_url: "http://127.0.0.1:8081", model: resnet}
          - {id: mlf, preset: mlflow, base_url: "http://127.0.0.1:5000"}
          - {id: bento, preset: bentoml, base_url: "http://127.0.0.1:3000"}
          - {id: feature-store, preset: health_json, base_url: "http://127.0.0.1:6566"}
          - {id: api, url: "http://127.0.0.1:9000/", depends_on: [fraud]}
        """,
    )
    assert cs.ids() == [
        "fraud.live",
        "fraud.ready",
        "fraud.model-ready",
        "tri.live",
        "tri.ready",
        "ts.ready",
        "ts.model-ready",
        "mlf.live",
        "mlf.ready",
        "bento.live",
        "bento.ready",
        "feature-store.health",
        "api",
    ]
    urls = {i: s.url for i, s in cs.specs.items()}
    assert urls["fraud.model-ready"] == "http://127.0.0.1:8000/v2/models/fraud/ready"
    assert urls["ts.model-ready"] == "http://127.0.0.1:8081/models/resnet"
    assert urls["feature-store.health"] == "http://127.0.0.1:6566/health"
    assert cs.specs["fraud.model-ready"].depends_on == ("fraud.ready",)
    assert cs.specs["fraud.ready"].service == "fraud-scoring"
    # depending on a preset means depending on each of its checks
    assert cs.specs["api"].depends_on == ("fraud.live", "fraud.ready", "fraud.model-ready")
    picked, unknown = cs.select(["fraud", "api", "nope"])
    assert [s.id for s in picked] == ["fraud.live", "fraud.ready", "fraud.model-ready", "api"]
    assert unknown == ["nope"]


def test_preset_parameter_errors(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, preset: oip_v2}
          - {id: b, preset: mlflow_scoring, base_url: "http://x", model: m}
          - {id: c, preset: tensorflow, base_url: "http://x"}
          - {id: d, url: "http://x", model: m}
          - {id: e, preset: bentoml, base_url: "http://x"}
          - {id: e.live, url: "http://x"}
        """,
    )
    assert errors == [
        "checks.yaml:2:5: checks[0]: preset oip_v2 needs base_url",
        "checks.yaml:3:66: checks[1].model: preset mlflow_scoring checks the whole server; "
        "remove model",
        "checks.yaml:4:21: checks[2].preset: expected one of oip_v2, triton, kserve_v1, torchserve, "
        "mlflow_tracking, mlflow_scoring, mlflow, bentoml, vllm, tgi, ray_serve, feast, "
        "health_json, vllm_queue, triton_queue_time, prometheus_targets, oip_v2_grpc, triton_grpc; "
        "got 'tensorflow'",
        "checks.yaml:5:30: checks[3].model: model is a preset parameter; set preset or remove it",
        "checks.yaml:7:10: checks[5].id: duplicate check id 'e.live' (first defined by checks[4])",
    ]


def test_maintenance_windows_in_their_time_zone():
    m = Maintenance(every=["sunday"], start="02:00", duration="1h", tz="Europe/Berlin")
    # Sunday 2026-03-01 02:30 in Berlin is 01:30 UTC
    inside = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert m.window_at(inside) == (
        datetime(2026, 3, 1, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
    )
    assert m.window_at(datetime(2026, 3, 1, 2, 0, tzinfo=UTC)) is None  # the end is exclusive
    assert m.window_at(datetime(2026, 3, 2, 1, 30, tzinfo=UTC)) is None  # a Monday
    # a window crossing midnight belongs to the day it starts
    late = Maintenance(every=["sat"], start="23:30", duration="2h")
    assert late.window_at(datetime(2026, 3, 1, 0, 45, tzinfo=UTC)) is not None
    assert late.window_at(datetime(2026, 3, 2, 0, 45, tzinfo=UTC)) is None
    daily = Maintenance(start="04:00", duration="30m")
    assert daily.window_at(datetime(2026, 3, 4, 4, 10, tzinfo=UTC)) is not None


def test_slo_round_trips_as_a_percentage():
    slo = Slo(availability="99.95%", latency="300ms")
    assert slo.availability == 0.9995
    assert slo.model_dump(mode="json") == {
        "availability": "99.95%",
        "latency": "0.3s",
        "window": "4w",
        "degraded": "up",
    }


def test_json_schema_is_registered_and_describes_the_keys():
    schema = schema_for("checks")
    props = schema["$defs"]["Check"]["properties"]
    for key in (
        "id", "name", "group", "service", "kind", "url", "method", "headers", "body", "interval",
        "timeout", "conditions", "warn", "thresholds", "slo", "runbook", "depends_on", "insecure",
        "maintenance", "preset", "base_url", "model", "management_url",
    ):  # fmt: skip
        assert key in props, key
    assert schema["title"] == "mlops-oncall health checks (checks.yaml)"
    assert ChecksFile.model_json_schema()["additionalProperties"] is False


def test_yaml_errors_are_located(tmp_path):
    errors = load_errors(tmp_path, "checks:\n  - id: a\n\turl: x\n")
    assert errors == ["checks.yaml:3:1: tab character used for indentation; YAML needs spaces"]
