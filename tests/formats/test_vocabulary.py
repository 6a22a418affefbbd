"""One vocabulary of check states and error classes, read by the probe, the state machine and
the runbook format alike."""

from __future__ import annotations

from mlops_oncall.formats import vocabulary as v
from mlops_oncall.formats.jsonschema import schema_for


def test_error_classes_are_appended_only():
    # a check's ring stores the index of its error class: an insertion would relabel history
    assert v.ERROR_CLASSES[:10] == (
        "dns",
        "connect",
        "tls",
        "timeout",
        "http_status",
        "body_too_large",
        "redirects",
        "body_parse",
        "condition",
        "protocol",
    )
    assert set(v.FAILING) < set(v.STATES)


def test_the_runbook_format_accepts_exactly_the_error_classes():
    def enums(node):
        if isinstance(node, dict):
            if "enum" in node:
                yield tuple(node["enum"])
            for value in node.values():
                yield from enums(value)
        elif isinstance(node, list):
            for value in node:
                yield from enums(value)

    assert v.ERROR_CLASSES in set(enums(schema_for("runbook")))


def test_the_ring_keeps_every_state_and_error_class():
    from datetime import UTC, datetime

    from mlops_oncall.checks.state import Ring

    ring = Ring(len(v.ERROR_CLASSES) * len(v.STATES))
    at = datetime(2026, 11, 26, tzinfo=UTC)
    pairs = [(s, c) for s in v.STATES for c in v.ERROR_CLASSES]
    for state, cls in pairs:
        ring.append(at, state, 1.0, cls)
    assert [(e.state, e.error_class) for e in ring.entries()] == pairs
