"""The last differences from Gatus, closed: integers written 0x…, 0o…, 0b… and len() of a JSON
object. Cases from Gatus's own config/endpoint/condition_test.go (TwiN/gatus)."""

from __future__ import annotations

import pytest

from tests.checks.test_conditions import check, obs


@pytest.mark.parametrize(
    ("condition", "data"),
    [  # each holds in Gatus's tests
        ("[BODY].data > 0", "0x1"),
        ("[BODY].data == 1", "0x1"),
        ("[BODY].data == 0x1", "0x1"),
        ("[BODY].data == 2", "0x2"),
        ("[BODY].data == 15", "0xF"),
        ("[BODY].data == 12648243", "0xC0ff33"),
        ("len([BODY].data) == 3", "0x1"),
        ("[BODY].data >= 1", "0x01"),
        ("len([BODY].data) == 4", "0x01"),
        ("[BODY].data > 0", "0o1"),
        ("[BODY].data == 2", "0o2"),
        ("[BODY].data == 0o2", "0o2"),
        ("[BODY].data > 0", "0b1"),
        ("[BODY].data == 2", "0b0010"),
        ("[BODY].data == 0b10", "0b0010"),
    ],
)
def test_prefixed_integers_compare_as_numbers(condition, data):
    r = check(condition, obs({"data": data}))
    assert r.success, r.message


@pytest.mark.parametrize(
    ("condition", "body"),
    [
        ("[BODY].n == 0x10", {"n": 16}),  # a JSON number against a hex literal
        ("[BODY].n < 0x10", {"n": 15}),
        ("[BODY].n >= -0b1", {"n": "-0b1"}),
        ("[BODY].n == 0xff_ff", {"n": "0XFFFF"}),  # Go allows _ after a prefix
    ],
)
def test_either_side_may_be_prefixed(condition, body):
    assert check(condition, obs(body)).success


@pytest.mark.parametrize(
    ("condition", "body"),
    [
        ("[BODY].data == 0x2", {"data": "0x1"}),
        ("[BODY].data > 1", {"data": "0x1"}),
        ("[BODY].data == 8", {"data": "010"}),  # Go's leading-0 octal is not read: ten, as text
        ("[BODY].data == 0x1", {"data": "0xg"}),  # not a number: text against text
        ("[BODY].data > 0", {"data": "0x"}),
    ],
)
def test_what_does_not_parse_or_differs_fails(condition, body):
    assert not check(condition, obs(body)).success


def test_a_prefixed_text_that_is_no_number_says_so():
    r = check("[BODY].data > 0", obs({"data": "0xZZ"}))
    assert r.message == '[BODY].data = "0xZZ", expected > 0 ("0xZZ" is not a number)'


def test_beyond_int64_is_not_a_number_as_in_gatus():
    assert not check("[BODY].data > 0", obs({"data": "0x8000000000000000"})).success
    assert check("[BODY].data > 0", obs({"data": "0x7fffffffffffffff"})).success


def test_len_of_an_object_is_its_compact_json_as_go_marshals_it():
    body = {"data": {"name": "john", "id": 1}}
    # Go: {"id":1,"name":"john"}: keys sorted, no spaces: 22 bytes
    r = check("len([BODY].data) == 22", obs(body))
    assert (r.success, r.observed) == (True, 22)
    # <, > and & are escaped as \u003c...: 6 bytes each; é is 2 bytes of UTF-8
    assert check("len([BODY].d) == 16", obs({"d": {"a": "<é"}})).success  # {"a":"\\u003cé"}
    assert check("len([BODY].d) == 2", obs({"d": {}})).success


def test_len_of_the_body_is_its_bytes_unless_a_json_array():
    # Gatus's jsonpath.Eval with no path: the raw body's length, except for an array
    raw = b'{ "a": 1 }'
    assert check("len([BODY]) == 10", obs(raw)).success
    assert check("len([BODY]) == 3", obs([1, 2, 3])).success
    assert check("len([BODY]) == 5", obs(b"hello")).success
