"""No pydantic model takes a builtin as a default factory: pydantic inspects a factory's
signature, which for a builtin compiles tokenize's regex (about 20 ms of every start)."""

from __future__ import annotations

import importlib

from pydantic import BaseModel

MODULES = (
    "mlops_oncall.config",
    "mlops_oncall.checks.spec",
    "mlops_oncall.runbooks.schema",
    "mlops_oncall.drills.scenario",
)


def _models():
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
                yield value


def test_no_builtin_default_factories():
    found = [
        f"{model.__module__}.{model.__name__}.{field}"
        for model in _models()
        for field, info in model.model_fields.items()
        if info.default_factory in (list, dict, set, tuple, frozenset)
    ]
    assert found == []
    assert any(True for _ in _models())  # the modules do define models
