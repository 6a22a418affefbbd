"""``kind: prometheus`` checks: one instant query, its conditions on ``[VALUE]`` for every series.

The wire format is Prometheus's HTTP API (docs/prometheus/latest/querying/api.md, and
``web/api/v1/api.go`` ``respondError`` for the status codes): ``GET|POST /api/v1/query`` with a
form-encoded ``query`` answers ``{"status": "success", "data": {"resultType": "vector" |
"scalar" | "matrix" | "string", "result": ...}, "warnings": [...]}``; a vector is a list of
``{"metric": {labels}, "value": [<unix time>, "<value as a string>"]}``, a scalar is one
``[<unix time>, "<value>"]``; values are strings (``"NaN"``, ``"+Inf"``). An error is
``{"status": "error", "errorType": ..., "error": ...}`` with 400 (``bad_data``), 422
(``execution``) or 503 (``timeout``, ``canceled``, ``unavailable``). A missing series is an
empty vector with 200.

The probe sends the request and reads the body with the cap every probe has (``checks.probe``);
this module builds that request and turns the body into a verdict. It knows nothing of httpx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from mlops_oncall.checks.conditions import (
    Condition,
    ConditionResult,
    Func,
    Observation,
    Placeholder,
    evaluate,
)

OnNoValue = Literal["unknown", "up", "down"]
ON_NO_VALUE: tuple[str, ...] = OnNoValue.__args__  # type: ignore[attr-defined]
API_PATH = "/api/v1/query"
# what a prometheus check's conditions may read: the series' value and the query's latency
PLACEHOLDERS = ("VALUE", "RESPONSE_TIME")
MAX_SHOWN = 5  # failing series named in a message; the rest are counted
MAX_OBSERVED = 10  # failing series kept in a condition's observed values
MAX_SERIES_TEXT = 160
MAX_MESSAGE = 1000
# Prometheus's errorType -> our error class (web/api/v1/api.go)
ERROR_TYPES = {
    "bad_data": "promql_bad_data",
    "execution": "promql_execution",
    "timeout": "promql_unavailable",
    "canceled": "promql_unavailable",
    "unavailable": "promql_unavailable",
}
STATUS_CLASSES = {400: "promql_bad_data", 422: "promql_execution", 503: "promql_unavailable"}
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class PromQuery:
    """A prometheus check's query and what an empty result or a NaN/±Inf value means."""

    query: str
    on_empty: OnNoValue = "unknown"
    on_nan: OnNoValue = "unknown"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A query's outcome, before the probe wraps it in a Result (and redacts it)."""

    state: str  # up | degraded | down | unknown
    error_class: str | None
    message: str
    conditions: list[ConditionResult]


# --------------------------------------------------------------------------- the request


def query_request(
    base_url: str, query: str, method: str, at: float | None = None
) -> tuple[str, dict[str, str], bytes | None]:
    """(url, extra headers, body) of the instant query at the server's now, or at ``at``
    (unix seconds: the API's ``time`` parameter).

    GET carries the query in the URL; POST form-encodes it in the body (Prometheus reads both,
    and POST has no URL length limit). ``base_url`` may already end in /api/v1/query.
    """
    url = (
        base_url
        if urlsplit(base_url).path.rstrip("/").endswith(API_PATH)
        else (base_url.rstrip("/") + API_PATH)
    )
    params = {"query": query} if at is None else {"query": query, "time": f"{at:.3f}"}
    form = urlencode(params)
    if method == "POST":
        return url, {"Content-Type": _FORM}, form.encode()
    return f"{url}{'&' if '?' in url else '?'}{form}", {}, None


# --------------------------------------------------------------------------- validation


def range_selector(query: str) -> str | None:
    """Why ``query`` gives a range vector (a matrix), when it visibly does, or None.

    Visible: the expression ends, outside any parentheses, with a ``[duration]`` range or a
    ``[range:step]`` subquery (optionally followed by ``offset`` or ``@``), as in ``x[5m]`` or
    ``sum(x)[1h:1m]``. ``rate(x[5m])`` is fine: its range is inside the call. Strings and
    comments are skipped. Anything subtler is caught when the answer says ``matrix``.
    """
    depth = 0
    last_top: str | None = None  # the last bracket group seen at depth 0
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in "\"'`":
            end = query.find(ch, i + 1)
            while end > 0 and ch != "`" and query[end - 1] == "\\":
                end = query.find(ch, end + 1)
            i = n if end < 0 else end + 1
            continue
        if ch == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            last_top = None if depth == 0 else last_top
        elif ch == "{" and depth == 0:
            last_top = None
        elif ch == "[" and depth == 0:
            close = query.find("]", i)
            if close < 0:
                return None  # Prometheus will say what is wrong
            last_top = query[i : close + 1]
            i = close + 1
            continue
        elif depth == 0 and not ch.isspace() and last_top is not None:
            rest = query[i:].lstrip()
            if not (rest.startswith("offset") or rest.startswith("@")):
                last_top = None
            else:
                return _range_reason(last_top)
        i += 1
    return _range_reason(last_top) if last_top is not None else None


def _range_reason(group: str) -> str:
    what = "a subquery" if ":" in group else "a range selector"
    return (
        f"the query ends in {what} {group}, which gives a range vector (matrix); a check "
        "needs an instant vector or a scalar: wrap it in a function such as rate(...), "
        "avg_over_time(...) or last_over_time(...)"
    )


def placeholder_problem(cond: Condition) -> str | None:
    """Why a condition cannot be evaluated on a prometheus check, or None."""
    for side in (cond.left, cond.right):
        if isinstance(side, Func) and side.arg.name in PLACEHOLDERS:
            return f"{side.name}() does not apply to a prometheus check; compare [VALUE] itself"
        ph = side.arg if isinstance(side, Func) else side
        if isinstance(ph, Placeholder) and ph.name not in PLACEHOLDERS:
            return (
                f"[{ph.name}] does not apply to a prometheus check; use [VALUE] (each "
                "series' value) or [RESPONSE_TIME]"
            )
    return None


def reads_value(cond: Condition) -> bool:
    return any(
        isinstance(side, Placeholder) and side.name == "VALUE" for side in (cond.left, cond.right)
    )


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True, slots=True)
class Answer:
    """An instant query's answer: its series (labels as text, the value or None when it is
    not a number), or why there are none (``error_class`` and ``message``)."""

    series: list[tuple[str, Decimal | None]]
    warnings: list[str]
    error_class: str | None = None
    message: str = ""


def read_answer(obs: Observation) -> Answer:
    """The answer in ``obs`` (its status and body): a vector's or a scalar's series, or the
    error Prometheus (or whatever answered) gave. Checks judge it; SLOs sum it (slo/)."""
    data, error = obs.body_json()
    failure = _error_answer(obs, data, error)
    if failure is not None:
        return failure
    payload = data.get("data")
    kind = payload.get("resultType") if isinstance(payload, dict) else None
    result = payload.get("result") if isinstance(payload, dict) else None
    if kind == "vector" and isinstance(result, list):
        series = [_series(item) for item in result]
    elif kind == "scalar" and isinstance(result, list):
        series = [("scalar", _sample_value(result))]
    elif kind in ("matrix", "string"):
        what = "a range vector (matrix)" if kind == "matrix" else "a string"
        return Answer(
            [],
            [],
            "body_parse",
            f"the query returned {what}; a check needs an instant vector or a scalar",
        )
    else:
        return Answer(
            [],
            [],
            "body_parse",
            "not a Prometheus query answer (expected data.resultType vector or scalar)",
        )
    warnings = data.get("warnings")
    shown = [str(w) for w in warnings[:3]] if isinstance(warnings, list) else []
    return Answer(series, shown)


def judge(spec_conditions: tuple[Any, ...], promql: PromQuery, obs: Observation) -> Verdict:
    """The verdict of one answer: ``spec_conditions`` are the check's ParsedConditions."""
    answer = read_answer(obs)
    if answer.error_class is not None:
        return _fail(spec_conditions, answer.error_class, answer.message)
    verdict = _evaluate(spec_conditions, promql, obs, answer.series)
    if answer.warnings:
        note = "; ".join(answer.warnings)
        message = _bound(f"{verdict.message} (Prometheus warned: {note})")
        return Verdict(verdict.state, verdict.error_class, message, verdict.conditions)
    return verdict


def _error_answer(obs: Observation, data: Any, error: str | None) -> Answer | None:
    """The error of an error answer (or of a body that is not an answer), or None."""
    status = obs.status or 0
    if (isinstance(data, dict) and data.get("status") == "error") or status >= 300:
        etype = data.get("errorType") if isinstance(data, dict) else None
        text = data.get("error") if isinstance(data, dict) else None
        error_class = ERROR_TYPES.get(etype) if isinstance(etype, str) else None
        error_class = error_class or STATUS_CLASSES.get(status, "http_status")
        if isinstance(text, str) and text:
            reason = f"{etype}: {text}" if isinstance(etype, str) else text
            message = f"Prometheus answered {status}: {reason}"
        else:
            body = obs.body_text().strip().splitlines()
            shown = f" ({body[0][:120]!r})" if body else ""
            message = f"the query URL answered {status}{shown}; is url a Prometheus server?"
        return Answer([], [], error_class, _bound(message))
    if error is not None:
        return Answer([], [], "body_parse", f"the answer is not JSON ({error})")
    if not isinstance(data, dict) or data.get("status") != "success":
        return Answer([], [], "body_parse", "not a Prometheus query answer (no status: success)")
    return None


def _series(item: Any) -> tuple[str, Decimal | None]:
    if not isinstance(item, dict):
        return "?", None
    labels = item.get("metric")
    return _labels(labels if isinstance(labels, dict) else {}), _sample_value(item.get("value"))


def _sample_value(sample: Any) -> Decimal | None:
    """``[<unix time>, "<value>"]`` -> the value; None when it is not that shape."""
    if not (isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str)):
        return None
    try:
        return Decimal(sample[1])
    except InvalidOperation:
        return None


def _labels(labels: dict[str, Any]) -> str:
    """A series as Prometheus writes it: name{a="1", b="2"}, bounded."""
    name = labels.get("__name__")
    pairs = ", ".join(
        f"{k}={json.dumps(str(v), ensure_ascii=False)}"
        for k, v in sorted(labels.items())
        if k != "__name__"
    )
    text = f"{name if isinstance(name, str) else ''}{{{pairs}}}"
    return text if len(text) <= MAX_SERIES_TEXT else text[: MAX_SERIES_TEXT - 1] + "…"


def _evaluate(
    conds: tuple[Any, ...],
    promql: PromQuery,
    obs: Observation,
    series: list[tuple[str, Decimal | None]],
) -> Verdict:
    once = [c for c in conds if not reads_value(c.condition)]  # e.g. [RESPONSE_TIME]
    each = [c for c in conds if reads_value(c.condition)]
    results = [evaluate(c.condition, obs, c.level) for c in once]
    if not series:
        unread = [_unread(c, "no series", promql.on_empty == "up") for c in each]
        return _no_value(promql.on_empty, "the query returned no series", results, unread)
    failing: dict[int, list[tuple[str, ConditionResult]]] = {i: [] for i in range(len(each))}
    passed: dict[int, int] = dict.fromkeys(range(len(each)), 0)
    odd: list[str] = []  # series whose value is NaN, ±Inf or unreadable
    for label, value in series:
        if value is None or not value.is_finite():
            odd.append(f"{label} = {_show(value)}")
            continue
        obs.value = value
        for i, c in enumerate(each):
            r = evaluate(c.condition, obs, c.level)
            if r.success:
                passed[i] += 1
            else:
                failing[i].append((label, r))
    obs.value = None
    counted = len(series) - len(odd)
    for i, c in enumerate(each):
        results.append(_summary(c, failing[i], counted))
    if odd and promql.on_nan == "down":
        results.append(_odd_result(odd, "fail"))
    failed = [r for r in results if not r.success]
    hard = [r for r in failed if r.level == "fail"]
    if failed:
        ranked = hard or failed
        return Verdict(
            "down" if hard else "degraded",
            "condition",
            _bound("; ".join(r.message for r in ranked)),
            results,
        )
    if odd and not counted and promql.on_nan == "unknown":
        return Verdict("unknown", "no_data", _bound(_odd_text(odd)), results)
    n = counted
    message = f"{n} series ok" if n != 1 or len(series) != 1 else _only(results)
    if odd:
        message += f"; {_odd_text(odd)} (on_nan: {promql.on_nan})"
    return Verdict("up", None, _bound(message), results)


def _only(results: list[ConditionResult]) -> str:
    return "; ".join(r.message for r in results) or "1 series ok"


def _summary(c: Any, failing: list[tuple[str, ConditionResult]], counted: int) -> ConditionResult:
    text = c.condition.text
    if not failing:
        what = f"all {counted} series match" if counted != 1 else "1 series matches"
        return ConditionResult(text, c.level, True, None, f"{text}: {what}")
    shown = "; ".join(f"{label}: {r.message}" for label, r in failing[:MAX_SHOWN])
    more = len(failing) - MAX_SHOWN
    if more > 0:
        shown += f"; and {more} more series"
    observed = {label: r.observed for label, r in failing[:MAX_OBSERVED]}
    return ConditionResult(text, c.level, False, observed, shown)


def _odd_result(odd: list[str], level: Literal["fail", "warn"]) -> ConditionResult:
    return ConditionResult("on_nan", level, False, None, _odd_text(odd) + " (on_nan: down)")


def _odd_text(odd: list[str]) -> str:
    shown = ", ".join(odd[:MAX_SHOWN])
    if len(odd) > MAX_SHOWN:
        shown += f" and {len(odd) - MAX_SHOWN} more"
    return f"no number for {shown}"


def _no_value(
    on: str, why: str, once: list[ConditionResult], unread: list[ConditionResult]
) -> Verdict:
    results = once + unread
    hard = [r for r in once if not r.success and r.level == "fail"]
    if hard:  # a [RESPONSE_TIME] condition that failed still says down
        return Verdict("down", "condition", _bound("; ".join(r.message for r in hard)), results)
    if on == "up":
        return Verdict("up", None, f"{why} (on_empty: up)", results)
    if on == "down":
        return Verdict("down", "no_data", f"{why} (on_empty: down)", results)
    return Verdict("unknown", "no_data", f"{why} (on_empty: unknown)", results)


def _unread(c: Any, why: str, success: bool) -> ConditionResult:
    return ConditionResult(c.condition.text, c.level, success, None, f"not evaluated: {why}")


def _fail(conds: tuple[Any, ...], error_class: str, message: str) -> Verdict:
    results = [
        ConditionResult(c.condition.text, c.level, False, None, f"not evaluated: {message}")
        for c in conds
    ]
    return Verdict("down", error_class, message, results)


def _show(value: Decimal | None) -> str:
    if value is None:
        return "no value"
    if value.is_nan():
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _bound(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


__all__ = [
    "ERROR_TYPES",
    "ON_NO_VALUE",
    "Answer",
    "PromQuery",
    "Verdict",
    "judge",
    "placeholder_problem",
    "query_request",
    "range_selector",
    "read_answer",
    "reads_value",
]
