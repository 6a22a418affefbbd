"""The pure parts of the fake ML system: time-driven signals, fault parameters, port layout."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_oncall.drills.fake import FAULTS, SERVICES, FaultError, faults_for, ports_from_base
from mlops_oncall.drills.fake.catalog import SPECIFIC_FAULTS
from mlops_oncall.drills.fake.control import parse_inject
from mlops_oncall.drills.fake.faults import PARAMS, normalise
from mlops_oncall.drills.fake.signals import iso, last_daily, ramp, walk

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_walk_is_a_pure_function_of_seed_stream_and_time():
    a = walk(1, "psi", T0, base=0.07, sigma=0.003)
    assert a == walk(1, "psi", T0 + timedelta(seconds=59), base=0.07, sigma=0.003)
    assert a != walk(1, "psi", T0 + timedelta(minutes=1), base=0.07, sigma=0.003)
    assert a != walk(2, "psi", T0, base=0.07, sigma=0.003)
    assert a != walk(1, "other", T0, base=0.07, sigma=0.003)


def test_walk_steps_are_small_and_stay_near_the_base():
    values = [walk(0, "psi", T0 + timedelta(minutes=m), base=0.07, sigma=0.003) for m in range(600)]
    assert max(abs(b - a) for a, b in itertools.pairwise(values)) < 0.02
    assert all(0.04 < v < 0.1 for v in values)
    assert abs(sum(values) / len(values) - 0.07) < 0.005


def test_ramp_goes_from_zero_to_one_over_its_duration():
    assert ramp(T0, T0, 600) == 0.0
    assert ramp(T0, T0 + timedelta(minutes=5), 600) == 0.5
    assert ramp(T0, T0 + timedelta(hours=1), 600) == 1.0
    assert ramp(T0, T0 - timedelta(minutes=1), 600) == 0.0
    assert ramp(T0, T0, 0) == 1.0


def test_last_daily_is_the_latest_slot_not_after_now():
    assert last_daily(T0, 2, 47, 13) == datetime(2026, 11, 20, 2, 47, 13, tzinfo=UTC)
    assert last_daily(T0, 14, 2) == datetime(2026, 11, 19, 14, 2, tzinfo=UTC)
    assert last_daily(T0, 12, 0) == T0


def test_iso_is_utc_with_z_to_the_second():
    assert iso(T0.replace(microsecond=123456)) == "2026-11-20T12:00:00Z"


@pytest.mark.parametrize(
    ("fault", "params", "expected"),
    [
        ("latency", {}, {"ms": 1000}),
        ("latency", {"ms": 250.5}, {"ms": 250.5}),
        ("stale", {"age": "30h"}, {"age": 108000}),
        ("stale", {"age": "1.5h"}, {"age": 5400}),
        ("stale", {"age": 90}, {"age": 90}),
        ("drift", {"score": 0.5, "over": "2m"}, {"score": 0.5, "over": 120}),
        ("errors", {"rate": 0}, {"rate": 0}),
        ("refuse", None, {}),
    ],
)
def test_params_are_normalised_with_durations_in_seconds(fault, params, expected):
    service = next(s for s in SERVICES if fault in faults_for(s))
    assert normalise(service, fault, params) == expected


def test_a_negative_or_huge_value_is_refused():
    with pytest.raises(FaultError) as info:
        normalise("gpu-inference", "gpu_memory", {"percent": 101})
    assert info.value.message == (
        "parameter 'percent' of fault 'gpu_memory' must be a number from 0 to 100, got 101"
    )
    with pytest.raises(FaultError, match="got -1"):
        normalise("fraud-scoring", "latency", {"ms": -1})


def test_every_fault_applies_to_some_service_and_every_service_has_the_generic_ones():
    assert set(SPECIFIC_FAULTS) == set(SERVICES)
    assert {f for s in SERVICES for f in faults_for(s)} == set(FAULTS)
    for service in SERVICES:
        assert {"latency", "errors", "refuse"} <= set(faults_for(service))


def test_ports_from_base_puts_the_control_port_after_the_services():
    ports = ports_from_base(8000)
    assert ports["fraud-scoring"] == 8000
    assert ports["model-registry"] == 8007
    assert ports["control"] == 8008
    assert ports_from_base(0) == {}
    with pytest.raises(ValueError, match=r"^port base must be from 1 to 65527, got 65530$"):
        ports_from_base(65530)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64) | _json.map(lambda v: json.dumps(v).encode()))
def test_any_control_body_is_accepted_or_a_fault_error(body):
    """Whatever a game master sends, the answer is a fault or a clear FaultError, never a crash."""
    try:
        service, fault, params = parse_inject(body)
        normalise(service, fault, params)
    except FaultError as exc:
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(
    service=st.sampled_from(SERVICES),
    fault=st.sampled_from(FAULTS),
    params=st.dictionaries(st.sampled_from(["ms", "rate", "age", "score", "over", "x"]), _json),
)
def test_normalised_params_are_finite_numbers_within_bounds(service, fault, params):
    try:
        normal = normalise(service, fault, params)
    except FaultError:
        return
    assert set(normal) == {p.name for p in PARAMS[fault]}
    for spec in PARAMS[fault]:
        assert spec.low <= normal[spec.name] <= spec.high
