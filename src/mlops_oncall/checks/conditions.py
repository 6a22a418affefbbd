"""Gatus's condition language, parsed once at load time into a small AST and evaluated per poll.

Syntax (as Gatus): ``<operand> <op> <operand>`` with ``op`` one of ``== != < <= > >=`` written
with a space on each side. Operands are placeholders (``[STATUS]``, ``[RESPONSE_TIME]`` in ms,
``[BODY]`` with a JSON path such as ``[BODY].data[0].score`` or ``[BODY].items[*].ok``,
``[HEADER].Name``, ``[CONNECTED]``, ``[CERTIFICATE_EXPIRATION]``), the functions ``len()``,
``has()`` and ``age()`` around a placeholder, ``pat(glob)`` and ``any(a, b)`` as the other side of
``==``/``!=``, or literal text, numbers, booleans and durations (``48h``, ``1h30m``).

Where we differ from Gatus, on purpose:
- numbers compare as decimals (Gatus truncates 0.42 to 0);
- a JSON path that is missing fails with "path not found" (Gatus reads it as 0 and a ``<`` passes);
- a value that is not a number fails an ordering comparison instead of reading as 0;
- ``010`` is ten, not Go's octal eight (``0x…``, ``0o…`` and ``0b…`` are read as Gatus reads them);
- ``age()`` reads ISO-8601 timestamps (and epoch seconds or milliseconds) against the engine's
  clock, so ``age([BODY].last_success) < 26h`` is testable.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from mlops_oncall.formats.durations import format_duration
from mlops_oncall.formats.validate import did_you_mean

Level = Literal["fail", "warn"]
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
PLACEHOLDERS = (
    "STATUS",
    "RESPONSE_TIME",
    "BODY",
    "HEADER",
    "CONNECTED",
    "CERTIFICATE_EXPIRATION",
    "VALUE",  # a prometheus check's series value (checks/promql.py)
    "DNS_RCODE",  # a dns check's response code: NOERROR, NXDOMAIN, SERVFAIL, ...
)
# Gatus placeholders for probe kinds we do not have: say so rather than "unknown"
UNSUPPORTED = {
    "IP": "[IP] is not supported: mlops-oncall probes http and tcp only",
    "DOMAIN_EXPIRATION": "[DOMAIN_EXPIRATION] is not supported (it needs a WHOIS lookup)",
    "CONTEXT": "[CONTEXT] is not supported (it belongs to Gatus suites)",
}
MAX_CONDITION_LENGTH = 4096
MAX_OBSERVED_TEXT = 1000

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Go's strconv.ParseInt(s, 0, 64) prefixes, which Gatus reads numbers with (not Go's leading-0
# octal: "010" stays ten here)
_PREFIXED = re.compile(
    r"^[+-]?0(?:[xX]_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
    r"|[oO]_?[0-7]+(?:_[0-7]+)*|[bB]_?[01]+(?:_[01]+)*)$"
)
_INT64 = 2**63
_DURATION_PART = r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h|d|w)"
_DURATION = re.compile(rf"^(?:{_DURATION_PART})+$")
_DURATION_PARTS = re.compile(_DURATION_PART)
_UNIT_MS = {
    "ns": Decimal("0.000001"),
    "us": Decimal("0.001"),
    "µs": Decimal("0.001"),
    "ms": Decimal(1),
    "s": Decimal(1000),
    "m": Decimal(60_000),
    "h": Decimal(3_600_000),
    "d": Decimal(86_400_000),
    "w": Decimal(604_800_000),
}
_PLACEHOLDER = re.compile(r"\[([A-Za-z_]+)\]")
_KEY = re.compile(r"[^.\[\]\s]+")


class ConditionError(ValueError):
    """A condition that does not parse; ``pos`` is the 0-based character where it went wrong."""

    def __init__(self, message: str, pos: int = 0):
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return f"{self.message} (at character {self.pos + 1})"


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str  # upper case, e.g. "BODY"
    path: tuple[str | int, ...] = ()  # keys, indexes, and "*" for every element
    header: str | None = None  # for [HEADER].Name
    text: str = ""

    @property
    def wildcard(self) -> bool:
        return "*" in self.path


@dataclass(frozen=True, slots=True)
class Func:
    name: Literal["len", "has", "age"]
    arg: Placeholder
    text: str = ""


@dataclass(frozen=True, slots=True)
class Literal_:
    text: str
    number: Decimal | None = None
    duration_ms: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Pattern:
    glob: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class AnyOf:
    options: tuple[Literal_, ...]
    text: str = ""


Operand = Placeholder | Func | Literal_ | Pattern | AnyOf


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    left: Operand
    op: str
    right: Operand
    # the common shape "<placeholder> <op> <literal>", evaluated without the general path
    simple: bool = False

    @property
    def needs_body(self) -> bool:
        return any(_uses(o, "BODY") for o in (self.left, self.right))

    @property
    def needs_certificate(self) -> bool:
        return any(_uses(o, "CERTIFICATE_EXPIRATION") for o in (self.left, self.right))


def _uses(operand: Operand, name: str) -> bool:
    if isinstance(operand, Placeholder):
        return operand.name == name
    if isinstance(operand, Func):
        return operand.arg.name == name
    return False


# --------------------------------------------------------------------------- parser


def parse_condition(text: str) -> Condition:
    """Parse one condition; raise ConditionError (never anything else) when it does not parse."""
    if not isinstance(text, str):
        raise ConditionError("a condition must be text such as '[STATUS] == 200'", 0)
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionError(f"a condition is limited to {MAX_CONDITION_LENGTH} characters", 0)
    if not text.strip():
        raise ConditionError("empty condition; expected e.g. '[STATUS] == 200'", 0)
    op_at, op = _find_operator(text)
    left_text, right_text = text[:op_at], text[op_at + len(op) :]
    left_start = len(left_text) - len(left_text.lstrip())
    right_start = op_at + len(op) + len(right_text) - len(right_text.lstrip())
    left = _operand(left_text.strip(), left_start, side="left")
    right = _operand(right_text.strip(), right_start, side="right")
    for operand, at in ((left, left_start), (right, right_start)):
        if isinstance(operand, (Pattern, AnyOf)) and op not in ("==", "!="):
            name = "pat()" if isinstance(operand, Pattern) else "any()"
            raise ConditionError(f"{name} works only with == and !=, not {op}", at)
    if isinstance(left, (Pattern, AnyOf)) and isinstance(right, (Pattern, AnyOf)):
        raise ConditionError("pat() and any() need a placeholder on the other side", left_start)
    if not any(isinstance(o, (Placeholder, Func)) for o in (left, right)):
        raise ConditionError(
            "neither side reads the response; use a placeholder such as [STATUS], "
            "[BODY].field or [RESPONSE_TIME]",
            left_start,
        )
    simple = isinstance(left, Placeholder) and not left.wildcard and isinstance(right, Literal_)
    return Condition(text=text.strip(), left=left, op=op, right=right, simple=simple)


def _find_operator(text: str) -> tuple[int, str]:
    """The first comparison operator outside brackets and parentheses, spaced as Gatus needs."""
    opened: list[int] = []  # positions of unclosed '[' and '('
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "[(":
            opened.append(i)
        elif ch in "])":
            if opened:
                opened.pop()
        elif not opened and ch in "=!<>":
            for op in OPERATORS:
                if text.startswith(op, i):
                    before_ok = i > 0 and text[i - 1].isspace()
                    after = i + len(op)
                    after_ok = after < n and text[after].isspace()
                    if before_ok and after_ok:
                        return i, op
                    if op in ("==", "!=", "<=", ">=") or (before_ok or after_ok):
                        raise ConditionError(
                            f"put a space on each side of '{op}' (e.g. '[STATUS] {op} 200')", i
                        )
                    break
        i += 1
    if opened:
        ch = text[opened[0]]
        closer = "]" if ch == "[" else ")"
        raise ConditionError(f"'{ch}' is not closed with '{closer}'", opened[0])
    raise ConditionError(
        "no comparison operator; expected one of == != < <= > >= between two operands",
        len(text.rstrip()),
    )


def _operand(text: str, at: int, *, side: str) -> Operand:
    if not text:
        raise ConditionError(f"missing the {side} side of the comparison", at)
    low = text.lower()
    for fname in ("len", "has", "age", "pat", "any"):
        if low.startswith(fname + "("):
            if not text.endswith(")"):
                raise ConditionError(f"{fname}( is not closed with ')'", at + len(text))
            inner = text[len(fname) + 1 : -1]
            inner_at = at + len(fname) + 1
            if fname == "pat":
                return Pattern(glob=inner.strip(), text=text)
            if fname == "any":
                options = []
                pos = inner_at
                for part in inner.split(","):
                    if not part.strip():
                        raise ConditionError("any() has an empty option", pos)
                    options.append(_literal(part.strip()))
                    pos += len(part) + 1
                return AnyOf(options=tuple(options), text=text)
            if fname == "age" and "," in inner:
                raise ConditionError(
                    "age() takes one placeholder; custom time layouts are not supported "
                    "(ISO-8601, HTTP dates and epoch numbers are read)",
                    inner_at + inner.index(","),
                )
            stripped = inner.strip()
            inner_at += len(inner) - len(inner.lstrip())
            if not stripped.startswith("["):
                raise ConditionError(
                    f"{fname}() takes a placeholder such as [BODY].items", inner_at
                )
            arg = _placeholder(stripped, inner_at)
            if arg.wildcard:
                raise ConditionError(f"{fname}() cannot take a [*] path", inner_at)
            if fname == "age" and arg.name not in ("BODY", "HEADER"):
                raise ConditionError("age() reads a timestamp from [BODY] or [HEADER]", inner_at)
            return Func(name=fname, arg=arg, text=text)  # type: ignore[arg-type]
    if text.startswith("["):
        return _placeholder(text, at)
    if "(" in text and text.endswith(")"):
        name = text.split("(", 1)[0]
        if re.fullmatch(r"[A-Za-z_]+", name):
            raise ConditionError(
                f"unknown function {name}(){did_you_mean(name + '()', _FUNCS)}; "
                "expected len(), has(), age(), pat() or any()",
                at,
            )
    m = _PLACEHOLDER.search(text)
    if m and m.group(1).upper() in PLACEHOLDERS:
        raise ConditionError(f"unexpected text before {m.group(0)}", at)
    return _literal(text)


_FUNCS = ["len()", "has()", "age()", "pat()", "any()"]


def _literal(text: str) -> Literal_:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        # Gatus would compare the quotes too, which never matches; read them as quoting
        return Literal_(text=text[1:-1])
    number = None
    duration = None
    if _NUMBER.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
            number = None
    elif _PREFIXED.match(text):
        number = _prefixed(text)
    elif _DURATION.match(text):
        duration = sum(
            (Decimal(v) * _UNIT_MS[u] for v, u in _DURATION_PARTS.findall(text)), Decimal(0)
        )
    return Literal_(text=text, number=number, duration_ms=duration)


def _placeholder(text: str, at: int) -> Placeholder:
    m = _PLACEHOLDER.match(text)
    if not m:
        raise ConditionError(
            "expected a placeholder such as [STATUS], [BODY] or [RESPONSE_TIME]", at
        )
    name = m.group(1).upper()
    if name in UNSUPPORTED:
        raise ConditionError(UNSUPPORTED[name], at)
    if name not in PLACEHOLDERS:
        known = [f"[{p}]" for p in PLACEHOLDERS]
        raise ConditionError(
            f"unknown placeholder {m.group(0)}{did_you_mean(f'[{name}]', known)}; "
            f"expected one of {', '.join(known)}",
            at,
        )
    rest = text[m.end() :]
    rest_at = at + m.end()
    if name == "HEADER":
        if not rest.startswith(".") or not rest[1:] or any(c.isspace() for c in rest):
            raise ConditionError("[HEADER] needs a header name, e.g. [HEADER].Content-Type", at)
        return Placeholder(name=name, header=rest[1:], text=text)
    if name != "BODY":
        if rest:
            raise ConditionError(f"[{name}] takes no path; unexpected '{rest}'", rest_at)
        return Placeholder(name=name, text=text)
    path = _path(rest, rest_at)
    if path.count("*") > 1:
        raise ConditionError("only one [*] is allowed in a path", rest_at)
    return Placeholder(name=name, path=path, text=text)


def _path(rest: str, at: int) -> tuple[str | int, ...]:
    out: list[str | int] = []
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == ".":
            m = _KEY.match(rest, i + 1)
            if not m:
                raise ConditionError("expected a field name after '.'", at + i + 1)
            out.append(m.group(0))
            i = m.end()
        elif ch == "[":
            close = rest.find("]", i)
            if close < 0:
                raise ConditionError("'[' is not closed with ']'", at + i)
            inner = rest[i + 1 : close].strip()
            if inner == "*":
                out.append("*")
            elif inner.isdigit() and inner.isascii():
                out.append(int(inner))
            else:
                raise ConditionError(
                    f"expected an index such as [0] or [*], got [{rest[i + 1 : close]}]", at + i
                )
            i = close + 1
        elif ch.isspace():
            raise ConditionError("unexpected space in the path", at + i)
        else:
            raise ConditionError(
                f"unexpected '{ch}' in the path; write [BODY].field or [BODY][0]", at + i
            )
    return tuple(out)


# --------------------------------------------------------------------------- evaluation


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal)  # numbers as decimals


@dataclass
class Observation:
    """What one probe saw; conditions read from it. ``now`` drives age()."""

    now: datetime
    status: int | None = None
    response_time_ms: int | None = None
    body: bytes | None = None
    headers: dict[str, str] | None = None  # lower-cased names
    connected: bool | None = None
    certificate_expires_at: datetime | None = None
    value: Decimal | None = None  # a prometheus check sets each series' value in turn
    grpc_status: str | None = None  # a grpc check's status code name, read as [STATUS]
    dns_rcode: str | None = None  # a dns check's response code name, read as [DNS_RCODE]
    _json: Any = field(default=None, repr=False)
    _json_error: str | None = field(default=None, repr=False)
    _json_done: bool = field(default=False, repr=False)

    def body_text(self) -> str:
        return (self.body or b"").decode("utf-8", errors="replace")

    def body_json(self) -> tuple[Any, str | None]:
        """The body as JSON with decimals for numbers, or the reason it is not JSON."""
        if not self._json_done:
            self._json_done = True
            text = self.body_text()
            if not text.strip():
                self._json_error = "the body is empty"
            else:
                try:
                    self._json = _DECODER.decode(text)
                except (ValueError, RecursionError) as exc:
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    self._json_error = msg[:200]
        return self._json, self._json_error


@dataclass(frozen=True, slots=True)
class ConditionResult:
    condition: str
    level: Level
    success: bool
    observed: Any  # a JSON value, or None when nothing was seen
    message: str
    # why it failed when that is more specific than "condition": http_status, body_parse
    error_class: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "level": self.level,
            "success": self.success,
            "observed": self.observed,
            "message": self.message,
        }


class _Missing:
    """A value that could not be read; carries why."""

    __slots__ = ("error_class", "reason")

    def __init__(self, reason: str, error_class: str | None = None):
        self.reason = reason
        self.error_class = error_class


@dataclass(frozen=True, slots=True)
class _Val:
    """A resolved operand: the value and its kind (how it compares and renders)."""

    value: Any
    kind: str  # "json" | "ms" (a time in milliseconds) | "duration_ms" | "count" | "bool"
    where: str  # the concrete text of what was read, e.g. [BODY].data[1].score


def evaluate(cond: Condition, obs: Observation, level: Level = "fail") -> ConditionResult:
    """Evaluate a parsed condition against an observation; never raises for bad input."""
    if cond.simple:  # most conditions: a placeholder against a literal, once per poll each
        subject = _read_placeholder(cond.left, obs)  # type: ignore[arg-type]
        if subject.__class__ is _Val:
            ok, why = _compare(subject, cond.op, cond.right)
            error_class = _FAILED_AS.get(cond.left.name) if not ok else None  # type: ignore[union-attr]
            return ConditionResult(
                cond.text,
                level,
                ok,
                json_value(subject.value),  # type: ignore[union-attr]
                _message(cond, subject, why, success=ok, subject_left=True),  # type: ignore[arg-type]
                error_class,
            )
    left = _resolve(cond.left, obs)
    right = _resolve(cond.right, obs)
    for side in (left, right):
        if isinstance(side, _Missing):
            error_class = side.error_class if side.error_class == "body_parse" else None
            return ConditionResult(cond.text, level, False, None, side.reason, error_class)
    subject_left = isinstance(cond.left, (Placeholder, Func))
    subject = left if subject_left else right
    if isinstance(subject, list):  # a [*] path: every element must pass, and there must be one
        where = (cond.left if subject_left else cond.right).text
        observed = [json_value(v.value) for v in subject]
        if not subject:
            return ConditionResult(cond.text, level, False, [], f"{where}: no elements")
        for item in subject:
            ok, why = (
                _compare(item, cond.op, right) if subject_left else _compare(left, cond.op, item)
            )
            if not ok:
                msg = _message(cond, item, why, success=False, subject_left=subject_left)
                return ConditionResult(cond.text, level, False, observed, msg)
        n = len(subject)
        return ConditionResult(
            cond.text, level, True, observed, f"{where}: all {n} element{'s' * (n != 1)} match"
        )
    if isinstance(left, list) or isinstance(right, list):
        return ConditionResult(
            cond.text, level, False, None, "[*] is allowed on the left side only"
        )
    ok, why = _compare(left, cond.op, right)
    error_class = None
    if not ok and (_uses(cond.left, "STATUS") or _uses(cond.right, "STATUS")):
        error_class = "http_status"
    return ConditionResult(
        cond.text,
        level,
        ok,
        json_value(subject.value),
        _message(cond, subject, why, success=ok, subject_left=subject_left),
        error_class,
    )


_FAILED_AS = {"STATUS": "http_status", "DNS_RCODE": "dns"}  # a failed comparison's error class


def _message(
    cond: Condition, subject: _Val, why: str | None, *, success: bool, subject_left: bool
) -> str:
    shown = f"{subject.where} = {_render(subject)}"
    if success:
        return shown
    other = cond.right if subject_left else cond.left
    op = cond.op if subject_left else _MIRROR[cond.op]
    expected = f"expected {op} {other.text}"
    return f"{shown}, {expected} ({why})" if why else f"{shown}, {expected}"


_MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _resolve(operand: Operand, obs: Observation) -> _Val | list[_Val] | _Missing | Operand:
    if isinstance(operand, (Literal_, Pattern, AnyOf)):
        return operand
    if isinstance(operand, Func):
        base = _resolve(operand.arg, obs)
        if operand.name == "has":
            if isinstance(base, _Missing) and base.error_class == "body_parse":
                return base
            if operand.arg.name == "BODY" and not operand.arg.path:
                present = bool(obs.body_text().strip())
            else:
                present = not isinstance(base, _Missing)
            return _Val(present, "bool", operand.text)
        if isinstance(base, _Missing):
            return base
        assert isinstance(base, _Val)
        if operand.name == "len":
            if base.kind == "body":  # Gatus: a JSON array's items, else the body's bytes
                data, error = obs.body_json()
                n = len(data) if error is None and isinstance(data, list) else len(obs.body or b"")
                return _Val(n, "count", operand.text)
            return _Val(_length(base.value), "count", operand.text)
        when = _timestamp(base.value)
        if when is None:
            return _Missing(
                f"{base.where} = {_render(base)} is not a timestamp "
                "(expected ISO-8601, an HTTP date or epoch seconds)"
            )
        age_ms = Decimal(str((obs.now - when).total_seconds())) * 1000
        return _Val(age_ms, "duration_ms", operand.text)
    return _read_placeholder(operand, obs)


def _read_placeholder(ph: Placeholder, obs: Observation) -> _Val | list[_Val] | _Missing:
    name = ph.name
    if name == "STATUS":
        if obs.grpc_status is not None:
            return _Val(obs.grpc_status, "json", "[STATUS]")
        if obs.status is None:
            return _Missing("[STATUS]: no HTTP response")
        return _Val(Decimal(obs.status), "json", "[STATUS]")
    if name == "RESPONSE_TIME":
        if obs.response_time_ms is None:
            return _Missing("[RESPONSE_TIME]: no response")
        return _Val(Decimal(obs.response_time_ms), "ms", "[RESPONSE_TIME]")
    if name == "VALUE":
        if obs.value is None:
            return _Missing("[VALUE]: no query value (only prometheus checks have one)")
        return _Val(obs.value, "json", "[VALUE]")
    if name == "CONNECTED":
        return _Val(bool(obs.connected), "bool", "[CONNECTED]")
    if name == "DNS_RCODE":
        if obs.dns_rcode is None:
            return _Missing("[DNS_RCODE]: no DNS answer (only dns checks have one)")
        return _Val(obs.dns_rcode, "json", "[DNS_RCODE]")
    if name == "CERTIFICATE_EXPIRATION":
        if obs.certificate_expires_at is None:
            return _Missing("[CERTIFICATE_EXPIRATION]: no TLS certificate (not a TLS check)")
        left = (obs.certificate_expires_at - obs.now).total_seconds()
        return _Val(Decimal(str(left)) * 1000, "duration_ms", "[CERTIFICATE_EXPIRATION]")
    if name == "HEADER":
        headers = obs.headers or {}
        assert ph.header is not None
        value = headers.get(ph.header.lower())
        if value is None:
            return _Missing(f"{ph.text}: header not found", "absent")
        return _Val(value, "json", ph.text)
    # BODY
    if not ph.path:
        text = obs.body_text()
        return _Val(text, "body", "[BODY]")
    data, error = obs.body_json()
    if error is not None:
        return _Missing(f"[BODY] is not valid JSON ({error})", "body_parse")
    return _walk(data, ph.path, "[BODY]")


def _walk(data: Any, path: tuple[str | int, ...], where: str) -> _Val | list[_Val] | _Missing:
    for i, part in enumerate(path):
        if part == "*":
            if not isinstance(data, list):
                return _Missing(
                    f"{where}[*]: path not found ({where} is {_kind(data)}, not a list)", "absent"
                )
            out: list[_Val] = []
            for j, item in enumerate(data):
                sub = _walk(item, path[i + 1 :], f"{where}[{j}]")
                if isinstance(sub, _Missing):
                    return sub
                assert isinstance(sub, _Val)
                out.append(sub)
            return out
        if isinstance(part, int):
            if not isinstance(data, list):
                return _Missing(
                    f"{_full(where, path[i:])}: path not found ({where} is {_kind(data)}, "
                    "not a list)",
                    "absent",
                )
            if part >= len(data):
                return _Missing(
                    f"{_full(where, path[i:])}: path not found ({where} has {len(data)} "
                    f"item{'s' * (len(data) != 1)})",
                    "absent",
                )
            data = data[part]
            where = f"{where}[{part}]"
        else:
            if not isinstance(data, dict):
                return _Missing(
                    f"{_full(where, path[i:])}: path not found ({where} is {_kind(data)}, "
                    "not an object)",
                    "absent",
                )
            if part not in data:
                return _Missing(f"{_full(where, path[i:])}: path not found", "absent")
            data = data[part]
            where = f"{where}.{part}"
    return _Val(data, "json", where)


def _full(where: str, rest: tuple[str | int, ...]) -> str:
    out = where
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) or part == "*" else f".{part}"
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (Decimal, int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _length(value: Any) -> int:
    if isinstance(value, dict):  # Gatus: the bytes of its compact JSON, as Go marshals it
        return len(_go_json(value))
    if isinstance(value, (str, list)):
        return len(value)
    if value is None:
        return 0
    return len(_plain(value))


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (Decimal, int, float)):
        try:
            epoch = float(value)
        except (OverflowError, ValueError):
            return None
        if not epoch > 0 or epoch == float("inf"):
            return None
        seconds = epoch / 1000 if epoch >= 1e12 else epoch  # Gatus's rule: ms from 1e12 up
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.match(text):
        return _timestamp(Decimal(text))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _compare(left: Any, op: str, right: Any) -> tuple[bool, str | None]:
    """(success, why-not); ``left``/``right`` are _Val or literal operands."""
    if right.__class__ is Literal_ or left.__class__ is Literal_:
        pass  # neither side is pat() or any()
    elif isinstance(right, Pattern) or isinstance(left, Pattern):
        pat, val = (right, left) if isinstance(right, Pattern) else (left, right)
        hit = fnmatch.fnmatchcase(_plain(val.value), pat.glob)
        return (hit if op == "==" else not hit), None
    elif isinstance(right, AnyOf) or isinstance(left, AnyOf):
        opts, val = (right, left) if isinstance(right, AnyOf) else (left, right)
        hit = any(_equal(val, o) for o in opts.options)
        return (hit if op == "==" else not hit), None
    if op in ("==", "!="):
        eq = _equal(left, right)
        return (eq if op == "==" else not eq), None
    a, why_a = _number(left, right)
    b, why_b = _number(right, left)
    if a is None or b is None:
        return False, why_a or why_b
    if a.is_nan() or b.is_nan():
        return False, "not a number"
    if op == "<":
        return a < b, None
    if op == "<=":
        return a <= b, None
    if op == ">":
        return a > b, None
    return a >= b, None


def _number(side: Any, other: Any) -> tuple[Decimal | None, str | None]:
    """A side as a Decimal for ordering; times compare in milliseconds."""
    timed = _is_timed(other)
    if isinstance(side, Literal_):
        if side.duration_ms is not None:
            return side.duration_ms, None
        if side.number is not None:
            return side.number, None
        return None, f"'{side.text}' is not a number"
    value = side.value
    if value.__class__ is Decimal:
        return value, None
    if side.kind in ("ms", "duration_ms", "count"):
        return Decimal(value), None
    if isinstance(value, bool) or value is None:
        return None, f"{_render(side)} is not a number"
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return Decimal(value.strip()), None
    if isinstance(value, str) and _PREFIXED.match(value.strip()):
        number = _prefixed(value.strip())
        if number is not None:
            return number, None
    if isinstance(value, str) and timed and _DURATION.match(value.strip()):
        return _literal(value.strip()).duration_ms, None
    return None, f"{_render(side)} is not a number"


def _prefixed(text: str) -> Decimal | None:
    """0x…, 0o…, 0b… as a number, within Go's int64 as Gatus reads them."""
    n = int(text, 0)
    return Decimal(n) if -_INT64 <= n < _INT64 else None


def _same_integer(a: str, b: str) -> bool:
    """Gatus's equality of two integers written in any base, e.g. "0b0010" == 0b10; only when
    one side has a prefix (two plain numbers already compare as numbers or as text)."""
    a, b = a.strip(), b.strip()
    if not (_PREFIXED.match(a) or _PREFIXED.match(b)):
        return False
    x, y = (_prefixed(t) if _PREFIXED.match(t) else _plain_int(t) for t in (a, b))
    return x is not None and x == y


def _plain_int(text: str) -> Decimal | None:
    return Decimal(int(text)) if re.fullmatch(r"[+-]?\d+", text) else None


def _go_json(value: Any) -> bytes:
    """What Go's json.Marshal writes for a decoded JSON value: compact, keys sorted, <, > and &
    escaped (and U+2028, U+2029), in UTF-8."""
    text = json.dumps(json_value(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in _GO_ESCAPES:
        text = text.replace(ch, esc)
    return text.encode()


_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _is_timed(side: Any) -> bool:
    if isinstance(side, Literal_):
        return side.duration_ms is not None
    return isinstance(side, _Val) and side.kind in ("ms", "duration_ms")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, Literal_) and isinstance(right, _Val):
        left, right = right, left
    if isinstance(left, _Val) and isinstance(right, Literal_):
        value = left.value
        if left.kind in ("ms", "duration_ms", "count") or (
            isinstance(value, Decimal) and not isinstance(value, bool)
        ):
            num, _ = _number(right, left)
            if num is not None:
                try:
                    return Decimal(value) == num
                except InvalidOperation:  # pragma: no cover - NaN == x is simply False
                    return False
            return _plain(value) == right.text
        if isinstance(value, bool):
            return right.text.lower() == ("true" if value else "false")
        if value is None:
            return right.text.lower() == "null"
        if isinstance(value, str):
            return value == right.text or _same_integer(value, right.text)
        return _plain(value) == right.text
    if isinstance(left, _Val) and isinstance(right, _Val):
        a, b = left.value, right.value
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return a == b
        return _plain(a) == _plain(b)
    return False  # pragma: no cover - the parser forbids two literals


def _plain(value: Any) -> str:
    """A value as text, as Gatus sees it for pat() and string equality."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return json.dumps(json_value(value), separators=(",", ":"), ensure_ascii=False)


def _decimal_text(d: Decimal) -> str:
    if d.is_nan() or d.is_infinite():
        return str(d)
    if d == d.to_integral_value() and abs(d) < Decimal("1e21"):
        return str(d.quantize(Decimal(1)))
    return str(d.normalize()) if "E" not in str(d) else str(d)


def json_value(value: Any) -> Any:
    """Decimals back to JSON numbers; everything else as is (lists/dicts recursively)."""
    cls = value.__class__
    if cls is bool or value is None or cls is int or cls is float:
        return value
    if cls is str and len(value) <= MAX_OBSERVED_TEXT:
        return value
    if isinstance(value, Decimal):
        if value.is_nan() or value.is_infinite():
            return None
        if value == value.to_integral_value() and abs(value) < Decimal("1e18"):
            return int(value)
        return float(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_OBSERVED_TEXT else value[:MAX_OBSERVED_TEXT] + "…"
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def _render(val: _Val) -> str:
    """How a value reads in a message: 0.42, "UP", true, 612ms, 27h 3m."""
    value = val.value
    if val.kind == "ms":
        return f"{_decimal_text(Decimal(value))}ms"
    if val.kind == "duration_ms":
        return _human_ms(Decimal(value))
    if val.kind == "body":
        text = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(text, ensure_ascii=False)
    text = _plain(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _human_ms(ms: Decimal) -> str:
    seconds = float(ms) / 1000
    if abs(seconds) < 1:
        return f"{int(ms)}ms"
    return format_duration(seconds)
