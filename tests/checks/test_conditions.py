"""The condition language: parsing into an AST, and evaluation with Gatus's faults fixed."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_oncall.checks.conditions import (
    AnyOf,
    ConditionError,
    Func,
    Literal_,
    Observation,
    Pattern,
    Placeholder,
    evaluate,
    parse_condition,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def obs(body=None, status=200, **kw) -> Observation:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return Observation(now=NOW, status=status, body=body, **kw)


def check(text: str, o: Observation, level="fail"):
    return evaluate(parse_condition(text), o, level)


# ---------------------------------------------------------------- parsing


def test_parses_placeholder_with_path_and_indexes():
    c = parse_condition("[BODY].data[0].score < 0.3")
    assert c.left == Placeholder("BODY", ("data", 0, "score"), text="[BODY].data[0].score")
    assert c.op == "<"
    assert isinstance(c.right, Literal_) and str(c.right.number) == "0.3"


def test_parses_functions_and_gatus_forms():
    assert isinstance(parse_condition("len([BODY].items) > 0").left, Func)
    assert parse_condition("has([BODY].x) == true").left.name == "has"
    any_ = parse_condition("[STATUS] == any(200, 201)").right
    assert isinstance(any_, AnyOf) and [o.text for o in any_.options] == ["200", "201"]
    assert parse_condition("[BODY].status == pat(*UP*)").right == Pattern("*UP*", "pat(*UP*)")
    assert parse_condition("[certificate_expiration] > 48h").right.duration_ms == 172_800_000
    assert parse_condition("[BODY][0].workers[*].status == READY").left.path == (
        0,
        "workers",
        "*",
        "status",
    )


def test_lowercase_placeholders_are_accepted_like_gatus():
    assert parse_condition("[status] == 200").left.name == "STATUS"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[STAUTS] == 200",
            "unknown placeholder [STAUTS] (did you mean '[STATUS]'?); expected one of [STATUS], "
            "[RESPONSE_TIME], [BODY], [HEADER], [CONNECTED], [CERTIFICATE_EXPIRATION], [VALUE], "
            "[DNS_RCODE] (at character 1)",
        ),
        (
            "[STATUS]==200",
            "put a space on each side of '==' (e.g. '[STATUS] == 200') (at character 9)",
        ),
        (
            "[STATUS] 200",
            "no comparison operator; expected one of == != < <= > >= between two operands "
            "(at character 13)",
        ),
        ("[BODY].a. == 1", "expected a field name after '.' (at character 10)"),
        ("len([BODY].x > 1", "'(' is not closed with ')' (at character 4)"),
        ("[BODY.x == 1", "'[' is not closed with ']' (at character 1)"),
        (
            "[IP] == 127.0.0.1",
            "[IP] is not supported: mlops-oncall probes http and tcp only (at character 1)",
        ),
        (
            "200 == 200",
            "neither side reads the response; use a placeholder such as [STATUS], [BODY].field "
            "or [RESPONSE_TIME] (at character 1)",
        ),
        ("[STATUS] < pat(2*)", "pat() works only with == and !=, not < (at character 12)"),
        ("[BODY].a[x] == 1", "expected an index such as [0] or [*], got [x] (at character 9)"),
        ("[STATUS] == ", "missing the right side of the comparison (at character 13)"),
        ("", "empty condition; expected e.g. '[STATUS] == 200' (at character 1)"),
        ("[STATUS].x == 1", "[STATUS] takes no path; unexpected '.x' (at character 9)"),
        (
            "lenn([BODY]) > 1",
            "unknown function lenn() (did you mean 'len()'?); expected len(), has(), age(), pat() or any() (at character 1)",
        ),
        ("age([STATUS]) < 1h", "age() reads a timestamp from [BODY] or [HEADER] (at character 5)"),
        ("x[BODY] == 1", "unexpected text before [BODY] (at character 1)"),
        ("[BODY].a[*].b[*] == 1", "only one [*] is allowed in a path (at character 7)"),
    ],
)
def test_parse_errors_say_what_and_where(text, message):
    with pytest.raises(ConditionError) as info:
        parse_condition(text)
    assert str(info.value) == message


CONDITION_CHARS = st.sampled_from(
    [
        *list("[]().,*<>=! _-0123456789abcxyzSTATUBODYLEN\"'"),
        "[STATUS]",
        "[BODY]",
        "[RESPONSE_TIME]",
        " == ",
        " < ",
        "len(",
        "has(",
        "any(",
        "pat(",
        "age(",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(CONDITION_CHARS, max_size=20).map("".join))
def test_parser_never_raises_anything_but_condition_error(text):
    try:
        cond = parse_condition(text)
    except ConditionError as exc:
        assert 0 <= exc.pos <= len(text)
        return
    # whatever parses also evaluates without raising, on any body
    for body in (b"", b"{}", b'{"a": [1, 2]}', b"not json", b"\xff"):
        result = evaluate(cond, obs(body=body))
        assert isinstance(result.success, bool)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parser_survives_arbitrary_text(text):
    with contextlib.suppress(ConditionError):
        parse_condition(text)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_evaluation_never_raises_on_any_json(value):
    body = json.dumps({"a": value, "b": [value]}).encode()
    for text in (
        "[BODY].a < 0.3",
        "[BODY].a == x",
        "len([BODY].a) > 1",
        "has([BODY].a.b) == true",
        "age([BODY].a) < 1h",
        "[BODY].b[*] == 1",
        "[BODY].a == any(1, x)",
        "[BODY].a == pat(*1*)",
    ):
        result = evaluate(parse_condition(text), obs(body=body))
        json.dumps(result.to_json())  # observed is always a JSON value


# ---------------------------------------------------------------- evaluation


def test_decimals_compare_as_decimals_not_integers():
    # Gatus reads 0.42 as 0, so "< 0.3" passes; we see 0.42
    r = check("[BODY].drift_score < 0.3", obs({"drift_score": 0.42}))
    assert (r.success, r.observed, r.message) == (
        False,
        0.42,
        "[BODY].drift_score = 0.42, expected < 0.3",
    )
    assert check("[BODY].drift_score < 0.5", obs({"drift_score": 0.42})).success
    assert check("[BODY].p == 0.1", obs(b'{"p": 0.10}')).success
    # a float would round this to 1.0; a decimal keeps it above 1
    assert check("[BODY].n > 1", obs(b'{"n": 1.0000000000000000001}')).success


def test_missing_path_fails_with_path_not_found():
    r = check("[BODY].drift_score < 0.3", obs({"other": 1}))
    assert (r.success, r.observed, r.message) == (False, None, "[BODY].drift_score: path not found")
    r = check("[BODY].data[3].score < 1", obs({"data": [{"score": 0}]}))
    assert r.message == "[BODY].data[3].score: path not found ([BODY].data has 1 item)"
    r = check("[BODY].a.b == 1", obs({"a": "text"}))
    assert r.message == "[BODY].a.b: path not found ([BODY].a is a string, not an object)"


def test_status_and_strings_and_booleans():
    assert check("[STATUS] == 200", obs(status=200)).success
    r = check("[STATUS] == 200", obs(status=503))
    assert (r.success, r.observed, r.message, r.error_class) == (
        False,
        503,
        "[STATUS] = 503, expected == 200",
        "http_status",
    )
    assert check("[BODY].status == UP", obs({"status": "UP"})).success
    r = check("[BODY].status == UP", obs({"status": "DOWN"}))
    assert r.message == '[BODY].status = "DOWN", expected == UP'
    assert check("[BODY].ready == true", obs({"ready": True})).success
    assert not check("[BODY].ready == true", obs({"ready": "yes"})).success
    assert check('[BODY].status == "UP"', obs({"status": "UP"})).success
    assert check("[BODY].x == null", obs({"x": None})).success


def test_ordering_a_text_value_fails_instead_of_reading_zero():
    r = check("[BODY].latency < 100", obs({"latency": "fast"}))
    assert (r.success, r.message) == (
        False,
        '[BODY].latency = "fast", expected < 100 ("fast" is not a number)',
    )
    assert check("[BODY].latency < 100", obs({"latency": "42.5"})).success


def test_any_pat_len_has():
    assert check("[STATUS] == any(200, 201)", obs(status=201)).success
    assert not check("[STATUS] == any(200, 201)", obs(status=204)).success
    assert check("[STATUS] != any(500, 503)", obs(status=200)).success
    assert check("[BODY] == pat(*Healthy*)", obs('{"status": "Healthy"}')).success
    assert check("[BODY].name == pat(fraud-*)", obs({"name": "fraud-v2"})).success
    assert not check("[BODY].name == pat(fraud-*)", obs({"name": "churn"})).success
    r = check("len([BODY].items) > 0", obs({"items": []}))
    assert (r.success, r.observed, r.message) == (False, 0, "len([BODY].items) = 0, expected > 0")
    assert check("len([BODY]) == 2", obs([1, 2])).success
    assert check("has([BODY].errors) == false", obs({"ok": 1})).success
    assert check("has([BODY].errors) == true", obs({"errors": []})).success
    assert check("has([BODY]) == false", obs("")).success


def test_age_of_an_iso_timestamp_against_the_clock():
    fresh = (NOW - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    stale = (NOW - timedelta(hours=27, minutes=3)).isoformat()
    assert check("age([BODY].last_success) < 26h", obs({"last_success": fresh})).success
    r = check("age([BODY].last_success) < 26h", obs({"last_success": stale}))
    assert (r.success, r.observed, r.message) == (
        False,
        97380000,
        "age([BODY].last_success) = 1d 3h, expected < 26h",
    )
    # naive timestamps are UTC; epoch seconds are read too
    assert check("age([BODY].t) < 1h", obs({"t": "2026-03-01T11:30:00"})).success
    assert check("age([BODY].t) < 1h", obs({"t": NOW.timestamp() - 60})).success
    r = check("age([BODY].t) < 1h", obs({"t": "yesterday"}))
    assert r.message == (
        '[BODY].t = "yesterday" is not a timestamp (expected ISO-8601, an HTTP date or '
        "epoch seconds)"
    )


def test_response_time_in_ms_and_durations():
    o = obs({}, response_time_ms=612)
    r = check("[RESPONSE_TIME] < 500", o)
    assert (r.success, r.observed, r.message) == (
        False,
        612,
        "[RESPONSE_TIME] = 612ms, expected < 500",
    )
    assert check("[RESPONSE_TIME] < 1s", o).success
    assert not check("[RESPONSE_TIME] < 500ms", o).success


def test_certificate_expiration():
    o = obs({}, certificate_expires_at=NOW + timedelta(days=30))
    assert check("[CERTIFICATE_EXPIRATION] > 48h", o).success
    assert not check("[CERTIFICATE_EXPIRATION] > 720h1m", o).success
    r = check("[CERTIFICATE_EXPIRATION] > 48h", obs({}))
    assert r.message == "[CERTIFICATE_EXPIRATION]: no TLS certificate (not a TLS check)"


def test_header_and_connected():
    o = obs({}, headers={"content-type": "application/health+json"}, connected=True)
    assert check("[HEADER].Content-Type == pat(*health+json)", o).success
    assert check("[CONNECTED] == true", o).success
    r = check("[HEADER].X-Missing == 1", o)
    assert r.message == "[HEADER].X-Missing: header not found"


def test_wildcard_requires_every_element_and_at_least_one():
    body = {"workers": [{"status": "READY"}, {"status": "UNLOADING"}]}
    r = check("[BODY].workers[*].status == READY", obs(body))
    assert (r.success, r.observed, r.message) == (
        False,
        ["READY", "UNLOADING"],
        '[BODY].workers[1].status = "UNLOADING", expected == READY',
    )
    ok = check("[BODY].workers[*].status == READY", obs({"workers": [{"status": "READY"}]}))
    assert (ok.success, ok.message) == (True, "[BODY].workers[*].status: all 1 element match")
    none = check("[BODY].workers[*].status == READY", obs({"workers": []}))
    assert (none.success, none.message) == (False, "[BODY].workers[*].status: no elements")


def test_invalid_json_fails_as_body_parse():
    r = check("[BODY].x == 1", obs("<html>oops</html>"))
    assert (r.success, r.observed, r.error_class, r.message) == (
        False,
        None,
        "body_parse",
        "[BODY] is not valid JSON (Expecting value)",
    )
    # the raw body needs no JSON
    assert check("[BODY] == pat(*oops*)", obs("<html>oops</html>")).success


def test_placeholder_on_the_right_reads_naturally():
    r = check("0.3 > [BODY].drift_score", obs({"drift_score": 0.42}))
    assert r.message == "[BODY].drift_score = 0.42, expected < 0.3"


def test_warn_level_is_carried():
    r = check("[RESPONSE_TIME] < 200", obs({}, response_time_ms=250), level="warn")
    assert r.to_json() == {
        "condition": "[RESPONSE_TIME] < 200",
        "level": "warn",
        "success": False,
        "observed": 250,
        "message": "[RESPONSE_TIME] = 250ms, expected < 200",
    }
