"""kind: prometheus checks against a real aiohttp server on 127.0.0.1 that answers as Prometheus.

The answers are Prometheus's documented wire format (prometheus.io/docs/prometheus/latest/
querying/api/, "Format overview", "Instant queries" and "Expression query result formats": the
vector and scalar examples are the page's own) and the error bodies of ``respondError`` in
``web/api/v1/api.go`` (400 bad_data, 422 execution, 503 timeout/canceled/unavailable); the
``bad_data`` and ``execution`` texts are what Prometheus 2.42 answered to ``1 * * 2`` and to
two series with one labelset (tests/checks/test_prometheus_real.py runs the real server).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from mlops_oncall.checks.probe import Prober
from mlops_oncall.checks.promql import range_selector
from mlops_oncall.checks.state import Board
from mlops_oncall.formats.vocabulary import ERROR_CLASSES
from tests.checks.helpers import load_errors, load_ok
from tests.store.conftest import clock, db_url, store, svc  # noqa: F401

T = 1435781451.781

VECTOR = {  # the documentation's example of GET /api/v1/query?query=up
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {
                "metric": {"__name__": "up", "job": "prometheus", "instance": "localhost:9090"},
                "value": [T, "1"],
            },
            {
                "metric": {"__name__": "up", "job": "node", "instance": "localhost:9100"},
                "value": [T, "0"],
            },
        ],
    },
}
SCALAR = {"status": "success", "data": {"resultType": "scalar", "result": [T, "1"]}}
EMPTY = {"status": "success", "data": {"resultType": "vector", "result": []}}
MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [{"metric": {"__name__": "up"}, "values": [[T, "1"], [T + 15, "1"]]}],
    },
}
BAD_DATA = {
    "status": "error",
    "errorType": "bad_data",
    "error": 'invalid parameter "query": 1:5: parse error: unexpected <op:*>',  # "1 * * 2"
}
EXECUTION = {
    "status": "error",
    "errorType": "execution",
    "error": "vector cannot contain metrics with the same labelset",
}
TIMEOUT = {
    "status": "error",
    "errorType": "timeout",
    "error": "query timed out in expression evaluation",
}


def vector(*samples: tuple[dict, str]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [T, v]} for m, v in samples],
        },
    }


class FakePrometheus:
    """/api/v1/query answering the reply set by the test; records each query it was sent."""

    def __init__(self) -> None:
        self.reply: tuple[int, object] = (200, EMPTY)
        self.seen: list[tuple[str, str, dict]] = []  # method, query, headers
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = parse_qs(await request.text()) if request.method == "POST" else {}
        query = (form.get("query") or [request.query.get("query", "")])[0]
        self.seen.append((request.method, query, dict(request.headers)))
        status, body = self.reply
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=status, text=text, content_type="application/json")

    async def start(self) -> FakePrometheus:
        app = web.Application()
        app.router.add_route("*", "/api/v1/query", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self


@pytest.fixture
async def prom():
    fake = await FakePrometheus().start()
    yield fake
    assert fake.runner is not None
    await fake.runner.cleanup()


def check_yaml(url: str, query: str = "up", extra: str = "") -> str:
    return f"""
        checks:
          - id: q
            kind: prometheus
            url: {url}
            query: '{query}'
            conditions: ["[VALUE] == 1"]
        {extra}
        """


async def run(tmp_path, text: str, check: str = "q"):
    checkset = load_ok(tmp_path, text)
    async with Prober(redactor=checkset.redactor) as prober:
        return await prober.probe(checkset.specs[check])


# --------------------------------------------------------------------------- answers


async def test_every_series_must_pass_and_down_names_the_failing_one(prom, tmp_path):
    prom.reply = (200, VECTOR)
    r = await run(tmp_path, check_yaml(prom.url))
    assert r.state == "down"
    assert r.error_class == "condition"
    assert 'up{instance="localhost:9100", job="node"}: [VALUE] = 0, expected == 1' in r.message
    assert "localhost:9090" not in r.message  # the passing series is not blamed
    (cond,) = r.conditions
    assert cond.observed == {'up{instance="localhost:9100", job="node"}': 0}
    assert prom.seen[0][:2] == ("GET", "up")


async def test_all_series_up(prom, tmp_path):
    prom.reply = (200, vector(({"job": "a"}, "1"), ({"job": "b"}, "1")))
    r = await run(tmp_path, check_yaml(prom.url))
    assert (r.state, r.error_class) == ("up", None)
    assert r.message == "2 series ok"
    assert r.conditions[0].success and r.conditions[0].message.endswith("all 2 series match")


async def test_one_series_says_its_value(prom, tmp_path):
    prom.reply = (200, vector(({"__name__": "up", "job": "a"}, "1")))
    r = await run(tmp_path, check_yaml(prom.url))
    assert (r.state, r.message) == ("up", "[VALUE] == 1: 1 series matches")


async def test_scalar(prom, tmp_path):
    prom.reply = (200, SCALAR)
    r = await run(tmp_path, check_yaml(prom.url, "scalar(up)"))
    assert r.state == "up"
    prom.reply = (200, {"status": "success", "data": {"resultType": "scalar", "result": [T, "3"]}})
    r = await run(tmp_path, check_yaml(prom.url, "scalar(up)"))
    assert r.state == "down" and "scalar: [VALUE] = 3, expected == 1" in r.message


async def test_warn_condition_degrades(prom, tmp_path):
    prom.reply = (200, vector(({"job": "a"}, "7.5")))
    text = f"""
        checks:
          - id: q
            kind: prometheus
            url: {prom.url}
            query: queue
            conditions: ["[VALUE] < 10"]
            warn: ["[VALUE] < 5"]
        """
    r = await run(tmp_path, text)
    assert (r.state, r.error_class) == ("degraded", "condition")
    assert '{job="a"}: [VALUE] = 7.5, expected < 5' in r.message


async def test_failing_series_are_bounded(prom, tmp_path):
    prom.reply = (200, vector(*(({"pod": f"p{i:03}"}, "0") for i in range(200))))
    r = await run(tmp_path, check_yaml(prom.url))
    assert r.state == "down"
    assert r.message.count("[VALUE] = 0") == 5
    assert "and 195 more series" in r.message
    assert len(r.message) <= 1000
    assert len(r.conditions[0].observed) == 10


@pytest.mark.parametrize(
    ("on_empty", "state", "error_class"),
    [(None, "unknown", "no_data"), ("up", "up", None), ("down", "down", "no_data")],
)
async def test_empty_vector_follows_on_empty(prom, tmp_path, on_empty, state, error_class):
    prom.reply = (200, EMPTY)
    extra = f"on_empty: {on_empty}" if on_empty else ""
    text = check_yaml(prom.url).replace("conditions:", f"{extra}\n            conditions:")
    r = await run(tmp_path, text)
    assert (r.state, r.error_class) == (state, error_class)
    assert r.message.startswith("the query returned no series")
    assert f"on_empty: {on_empty or 'unknown'}" in r.message


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf"])
@pytest.mark.parametrize(("on_nan", "state"), [(None, "unknown"), ("up", "up"), ("down", "down")])
async def test_nan_and_inf_follow_on_nan(prom, tmp_path, value, on_nan, state):
    prom.reply = (200, vector(({"job": "a"}, value)))
    extra = f"on_nan: {on_nan}" if on_nan else ""
    text = check_yaml(prom.url).replace("conditions:", f"{extra}\n            conditions:")
    r = await run(tmp_path, text)
    assert r.state == state
    assert f'{{job="a"}} = {value}' in r.message
    if state == "unknown":
        assert r.error_class == "no_data"


async def test_nan_left_out_when_other_series_pass(prom, tmp_path):
    prom.reply = (200, vector(({"job": "a"}, "NaN"), ({"job": "b"}, "1")))
    r = await run(tmp_path, check_yaml(prom.url))
    assert r.state == "up"
    assert r.message == '1 series ok; no number for {job="a"} = NaN (on_nan: unknown)'


@pytest.mark.parametrize(
    ("status", "body", "error_class", "text"),
    [
        (400, BAD_DATA, "promql_bad_data", "bad_data: invalid parameter"),
        (422, EXECUTION, "promql_execution", "execution: vector cannot contain"),
        (503, TIMEOUT, "promql_unavailable", "timeout: query timed out"),
        (503, {"status": "error", "errorType": "canceled", "error": "x"}, "promql_unavailable", ""),
        (500, {"status": "error", "errorType": "internal", "error": "boom"}, "http_status", ""),
        (404, "404 page not found", "http_status", "is url a Prometheus server?"),
    ],
)
async def test_prometheus_errors_have_their_classes(
    prom, tmp_path, status, body, error_class, text
):
    prom.reply = (status, body)
    r = await run(tmp_path, check_yaml(prom.url))
    assert (r.state, r.error_class) == ("down", error_class)
    assert r.message.startswith(f"Prometheus answered {status}") or status == 404
    assert text in r.message
    assert r.status == status
    assert all(c.message.startswith("not evaluated") for c in r.conditions)


def test_error_classes_are_appended():
    assert ERROR_CLASSES[-4:] == (
        "promql_bad_data",
        "promql_execution",
        "promql_unavailable",
        "no_data",
    )


async def test_matrix_answer_is_refused_at_run(prom, tmp_path):
    prom.reply = (200, MATRIX)
    r = await run(tmp_path, check_yaml(prom.url, "last_over_time(up[5m]) or up"))
    assert (r.state, r.error_class) == ("down", "body_parse")
    assert "range vector (matrix)" in r.message


@pytest.mark.parametrize("body", ["<html>proxy login</html>", '{"status": "ok"}', "[]"])
async def test_not_an_answer(prom, tmp_path, body):
    prom.reply = (200, body)
    r = await run(tmp_path, check_yaml(prom.url))
    assert (r.state, r.error_class) == ("down", "body_parse")


async def test_warnings_are_shown(prom, tmp_path):
    answer = vector(({"job": "a"}, "1"))
    answer["warnings"] = ["remote read failed for store-2"]
    prom.reply = (200, answer)
    r = await run(tmp_path, check_yaml(prom.url))
    assert r.state == "up"
    assert "(Prometheus warned: remote read failed for store-2)" in r.message


async def test_response_time_condition(prom, tmp_path):
    prom.reply = (200, vector(({"job": "a"}, "1")))
    text = check_yaml(prom.url).replace(
        '["[VALUE] == 1"]', '["[VALUE] == 1", "[RESPONSE_TIME] < 0"]'
    )
    r = await run(tmp_path, text)
    assert r.state == "down" and "[RESPONSE_TIME] =" in r.message
    assert r.latency_ms is not None


async def test_body_is_bounded(prom, tmp_path):
    prom.reply = (200, vector(*(({"pod": "x" * 100 + str(i)}, "1") for i in range(20000))))
    r = await run(tmp_path, check_yaml(prom.url))
    assert (r.state, r.error_class) == ("down", "body_too_large")


async def test_post_form_and_base_path_and_secret_header(prom, tmp_path):
    prom.reply = (200, vector(({"job": "a"}, "1")))
    text = f"""
        checks:
          - id: q
            kind: prometheus
            method: POST
            url: {prom.url}/
            headers: {{Authorization: "Bearer ${{env:PROM_TOKEN}}"}}
            query: 'sum by (job) (rate(x{{a="b c"}}[5m]))'
            conditions: ["[VALUE] == 1"]
        """
    checkset = load_ok(tmp_path, text, env={"PROM_TOKEN": "s3cr3t-token"})
    spec = checkset.specs["q"]
    assert spec.url == f"{prom.url}/" and "s3cr3t" not in repr(spec)
    async with Prober(redactor=checkset.redactor) as prober:
        r = await prober.probe(spec)
    assert r.state == "up"
    method, query, headers = prom.seen[0]
    assert (method, query) == ("POST", 'sum by (job) (rate(x{a="b c"}[5m]))')
    assert headers["Authorization"] == "Bearer s3cr3t-token"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


async def test_unknown_result_leaves_the_state_alone(prom, tmp_path):
    checkset = load_ok(tmp_path, check_yaml(prom.url))
    spec = checkset.specs["q"]
    board = Board([spec])
    async with Prober() as prober:
        prom.reply = (200, vector(({"job": "a"}, "1")))
        board.observe(await prober.probe(spec))
        assert board.view("q").state == "up"
        prom.reply = (200, EMPTY)
        for _ in range(5):
            assert board.observe(await prober.probe(spec)) == []
        assert board.view("q").state == "up"
        assert board.view("q").ring[-1].error_class == "no_data"


# --------------------------------------------------------------------------- validation


def test_range_selector_detection():
    assert range_selector("up[5m]")
    assert range_selector("sum(up)[1h:1m]")
    assert range_selector('http_requests_total{job="a"}[5m] offset 1h')
    assert range_selector("rate(x[5m])") is None
    assert range_selector("sum(rate(x[5m])) / sum(rate(y[5m]))") is None
    assert range_selector('up{job="a[5m]"}') is None
    assert range_selector("up # [5m]") is None
    assert range_selector("max_over_time(sum(x)[1h:1m])") is None


def test_validation_errors_are_located(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - id: a
            kind: prometheus
            url: http://prom:9090
            conditions: ["[VALUE] < 1"]
          - id: b
            kind: prometheus
            url: http://prom:9090
            query: 'up[5m]'
            method: PUT
            body: x
            conditions: ["[STATUS] == 200", "len([VALUE]) > 1", "[BODY].x == 1"]
          - id: c
            url: http://x
            on_nan: down
            conditions: ["[VALUE] > 1"]
          - id: d
            kind: prometheus
            url: tcp://prom:9090
            query: up
            on_empty: maybe
            conditions: ["[RESPONSE_TIME] < 500"]
        """,
    )
    text = "\n".join(errors)
    assert "checks.yaml:2:5: checks[0]: query is required for a prometheus check" in text
    assert "checks.yaml:9:12: checks[1].query: the query ends in a range selector [5m]" in text
    assert (
        "checks.yaml:10:13: checks[1].method: a prometheus query is sent with GET or POST" in text
    )
    assert "checks.yaml:11:11: checks[1].body: a prometheus check sends its query" in text
    assert "checks[1].conditions[0]: [STATUS] does not apply to a prometheus check" in text
    assert "checks[1].conditions[1]: len() does not apply to a prometheus check" in text
    assert "checks[1].conditions[2]: [BODY] does not apply to a prometheus check" in text
    assert "checks.yaml:15:13: checks[2].on_nan: on_nan is a prometheus field" in text
    assert "checks[2].conditions[0]: [VALUE] is a prometheus check's series value" in text
    assert "checks[3].url: expected an http:// or https:// URL" in text
    assert "checks[3].on_empty:" in text and "unknown" in text
    assert "checks.yaml:17:5: checks[3]: a prometheus check needs a condition on [VALUE]" in text


def test_schema_has_the_fields():
    from mlops_oncall.formats.jsonschema import schema_for

    schema = json.dumps(schema_for("checks"))
    for word in ('"prometheus"', '"query"', '"on_empty"', '"on_nan"', '"vllm_queue"'):
        assert word in schema


# --------------------------------------------------------------------------- presets


async def test_preset_vllm_queue(prom, tmp_path):
    text = f"""
        checks:
          - id: llm
            preset: vllm_queue
            base_url: {prom.url}
            model: 'meta/llama "3"'
            max_queue: 10
        """
    checkset = load_ok(tmp_path, text)
    assert checkset.groups["llm"] == ["llm.queue"]
    spec = checkset.specs["llm.queue"]
    assert (spec.kind, spec.url, spec.preset) == ("prometheus", prom.url, "vllm_queue")
    prom.reply = (200, vector(({"instance": "a", "model_name": "m"}, "11")))
    async with Prober() as prober:
        r = await prober.probe(spec)
    assert prom.seen[0][1] == (
        'sum by (job, instance, model_name) (vllm:num_requests_waiting{model_name="meta/llama '
        '\\"3\\""})'
    )
    assert r.state == "down"
    assert '{instance="a", model_name="m"}: [VALUE] = 11, expected <= 10' in r.message
    prom.reply = (200, EMPTY)  # Prometheus does not scrape vLLM (or the gauge was renamed)
    async with Prober() as prober:
        r = await prober.probe(spec)
    assert (r.state, r.error_class) == ("down", "no_data")


async def test_preset_triton_queue_time(prom, tmp_path):
    text = f"""
        checks:
          - id: triton
            preset: triton_queue_time
            base_url: {prom.url}
            max_queue_time: 250ms
        """
    spec = load_ok(tmp_path, text).specs["triton.queue-time"]
    assert [c.condition.text for c in spec.conditions] == ["[VALUE] <= 250"]
    async with Prober() as prober:
        prom.reply = (200, vector(({"model": "resnet"}, "312.5")))
        r = await prober.probe(spec)
        assert r.state == "down" and '{model="resnet"}: [VALUE] = 312.5' in r.message
        prom.reply = (200, vector(({"model": "resnet"}, "NaN")))  # no requests: 0/0
        assert (await prober.probe(spec)).state == "up"
    assert prom.seen[0][1] == (
        "sum by (job, instance, model) (rate(nv_inference_queue_duration_us[5m])) / "
        "sum by (job, instance, model) (rate(nv_inference_request_success[5m])) / 1000"
    )


async def test_preset_prometheus_targets(prom, tmp_path):
    text = f"""
        checks:
          - id: scrape
            preset: prometheus_targets
            base_url: {prom.url}
            job: vllm
        """
    spec = load_ok(tmp_path, text).specs["scrape.up"]
    prom.reply = (200, VECTOR)
    async with Prober() as prober:
        r = await prober.probe(spec)
    assert prom.seen[0][1] == 'up{job="vllm"}'
    assert r.state == "down" and 'job="node"' in r.message


def test_preset_parameters(tmp_path):
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, preset: vllm_queue, base_url: "http://p:9090"}
          - {id: b, preset: triton_queue_time, base_url: "http://p:9090"}
          - {id: c, preset: prometheus_targets, base_url: "http://p:9090", model: x}
          - {id: d, preset: vllm, base_url: "http://v:8000", job: x}
          - {id: e, preset: triton_queue_time, base_url: "http://p:9090", max_queue_time: 5}
        """,
    )
    text = "\n".join(errors)
    assert "checks[0].max_queue: preset vllm_queue needs max_queue" in text or (
        "checks[0]: preset vllm_queue needs max_queue" in text
    )
    assert "checks[1]: preset triton_queue_time needs max_queue_time" in text
    assert "checks[2].model: preset prometheus_targets checks the whole server" in text
    assert "checks[3].job: job is a prometheus_targets parameter; remove it" in text
    assert "checks[4].max_queue_time:" in text


async def test_unknown_result_is_not_a_poll_in_the_rollups(prom, tmp_path):
    from mlops_oncall.checks.rollup import Rollup

    spec = load_ok(tmp_path, check_yaml(prom.url)).specs["q"]
    rollup = Rollup()
    async with Prober() as prober:
        prom.reply = (200, EMPTY)
        rollup.add(await prober.probe(spec))
        assert rollup.hours == {} and rollup.drain_minutes() == []
        prom.reply = (200, vector(({"job": "a"}, "1")))
        r = await prober.probe(spec)
    rollup.add(r)
    hour = rollup.get("q", r.observed_at)
    assert hour is not None and (hour.polls, hour.successes) == (1, 1)


async def test_a_runbook_step_records_what_the_query_saw(prom, tmp_path, svc):  # noqa: F811
    """A step's embedded check (``check: <id>``) is probed and recorded as check_run."""
    from mlops_oncall.incidents.commands import record_check_run

    spec = load_ok(tmp_path, check_yaml(prom.url)).specs["q"]
    prom.reply = (200, VECTOR)
    async with Prober() as prober:
        result = await prober.probe(spec)
    inc = svc.declare("queue backs up", "SEV2", service="fraud").id
    record_check_run(svc, inc, "look", result)
    (event,) = [e for e in svc.events(inc) if e.kind == "check_run"]
    assert event.data["state"] == "down" and event.data["error_class"] == "condition"
    assert event.data["conditions"][0]["observed"] == {
        'up{instance="localhost:9100", job="node"}': 0
    }
    assert 'job="node"' in event.text
    assert svc.verify(inc).ok


async def test_prometheus_presets_take_on_empty_on_nan_and_value_conditions(prom, tmp_path):
    text = f"""
        checks:
          - id: llm
            preset: vllm_queue
            base_url: {prom.url}
            max_queue: 10
            on_empty: unknown
            warn: ["[VALUE] <= 2"]
        """
    spec = load_ok(tmp_path, text).specs["llm.queue"]
    assert spec.promql is not None and spec.promql.on_empty == "unknown"
    async with Prober() as prober:
        prom.reply = (200, EMPTY)
        assert (await prober.probe(spec)).state == "unknown"
        prom.reply = (200, vector(({"instance": "a"}, "5")))
        r = await prober.probe(spec)
    assert (r.state, r.message) == ("degraded", '{instance="a"}: [VALUE] = 5, expected <= 2')
    errors = load_errors(
        tmp_path,
        """
        checks:
          - {id: a, preset: vllm_queue, base_url: "http://p:9090", max_queue: 1, query: up}
          - {id: b, preset: vllm, base_url: "http://v:8000", on_nan: up}
          - {id: c, preset: vllm_queue, base_url: "http://p:9090", max_queue: 1, warn: ["[STATUS] == 200"]}
        """,
    )
    text = "\n".join(errors)
    assert "checks[0].query: preset vllm_queue sets its own query; remove query" in text
    assert "checks[1].on_nan: on_nan is a prometheus field" in text
    assert "checks[2].warn[0]: [STATUS] does not apply to a prometheus check" in text
