"""Pydantic validation whose every error points at a file, line, column and field path."""

from __future__ import annotations

import difflib
import re
import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.yamlsrc import Document

M = TypeVar("M", bound=BaseModel)


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"'{short}'"
    return repr(value)


def validate(model: type[M], doc: Document) -> M | None:
    """Validate ``doc.data`` as ``model``; append located problems to ``doc.problems``."""
    if doc.data is None:
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        doc.problems.extend(problems_from(exc, model, doc))
        return None


def problems_from(exc: ValidationError, model: type[BaseModel], doc: Document) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        key = (loc, kind)
        if key in seen:
            continue
        seen.add(key)
        if kind == "extra_forbidden":
            allowed = fields_at(model, loc[:-1]) or []
            msg = f"unknown field '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed)}"
            out.append(doc.error(loc, msg, key=True))
        else:
            out.append(doc.error(loc, message_for(err)))
    return out


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date as YYYY-MM-DD",
    "date_parsing": "a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "datetime_type": "a timestamp such as 2026-11-28T03:00:00Z",
    "datetime_parsing": "a timestamp such as 2026-11-28T03:00:00Z",
    "datetime_from_date_parsing": "a timestamp such as 2026-11-28T03:00:00Z",
    "url_parsing": "a URL",
    "url_type": "a URL",
    "url_scheme": "a URL",
}


def message_for(err: dict) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        listed = ", ".join(options)
        return f"expected one of {listed}; got {describe(value)}{did_you_mean(str(value), options)}"
    if kind == "enum":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        listed = ", ".join(options)
        return f"expected one of {listed}; got {describe(value)}{did_you_mean(str(value), options)}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        what = "item" if n == 1 else "items"
        return f"needs at least {n} {what}"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} items"
    if kind in ("string_too_short",):
        return "must not be empty"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        op = {
            "greater_than_equal": ">=",
            "less_than_equal": "<=",
            "greater_than": ">",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f"expected a value {op} {bound}, got {describe(value)}"
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is None:
            return tp
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
            continue
        if str(origin).endswith("Annotated"):
            tp = get_args(tp)[0]
            continue
        return tp


def fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """The field names accepted at ``loc`` inside ``model``, for did-you-mean hints."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                field = next(
                    (f for f in tp.model_fields.values() if f.alias == str(part)),
                    None,
                )
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple, set) and isinstance(part, int):
            tp = get_args(tp)[0]
        elif origin is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return None


__all__ = ["describe", "did_you_mean", "fields_at", "message_for", "validate"]


def zone_name(value: str) -> str:
    """A time zone that zoneinfo knows (for the validators of ``timezone:`` and ``tz:``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{value}' (expected e.g. UTC, Europe/Berlin)") from exc
    return value


def new_list() -> list:
    """For ``Field(default_factory=...)``: pydantic inspects a factory's signature, and for
    a builtin such as ``list`` that means tokenizing its text signature, whose first use
    compiles tokenize's big regex (20 ms of every start that builds these models)."""
    return []


def new_dict() -> dict:
    """See ``new_list``."""
    return {}


class FileModel(BaseModel):
    """Base of every model read from a user-written file: unknown fields are errors."""

    model_config = {"extra": "forbid", "coerce_numbers_to_str": True}
