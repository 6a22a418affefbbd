"""The Jinja2 sandbox every document template renders in.

Templates come from the workspace (`templates/`, `--template FILE`), so whoever can write
there must not be able to run code on every responder's machine, nor hang it or fill its
memory. On top of Jinja's ImmutableSandboxedEnvironment (no `_`-attributes, no mutation):

- no globals at all (`lipsum`, `cycler`, `joiner`, `namespace`, `range`, `dict` are gone);
- attributes only of the plain data a template is given: a dict's keys (and `get`, `items`,
  `keys`, `values`), a few side-effect-free `str` methods, `loop.*`, `self.BLOCK`,
  `super()`, an imported template's macros; anything else is a SecurityError;
- only the filters in FILTERS (builtins that cannot amplify, plus the documented ones);
- bounds: every loop iteration and call costs a step (MAX_STEPS, and a wall-clock DEADLINE
  as a backstop), every string or list a template builds is at most MAX_TEXT/MAX_ITEMS and is
  checked before it is allocated, numbers stay below MAX_INT_BITS, output stops at MAX_TEXT.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import BlockReference, LoopContext, TemplateReference
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_STEPS = 1_000_000  # loop iterations + calls in one render; a real postmortem uses < 10,000
DEADLINE_SECONDS = 30.0
MAX_TEXT = 4 << 20  # characters in any one string, and in the whole output
MAX_ITEMS = 100_000  # items in a list a template builds
MAX_INT_BITS = 4096

LOOP_FILTER = "_sandbox_loop"  # wraps every {% for %}'s iterable (added by the parser hook)
TEXT_FILTER = "_sandbox_text"  # checks every `a ~ b`

_SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "forceescape", "groupby", "int", "items", "last", "length", "list", "lower", "map", "max",
    "min", "reject", "rejectattr", "reverse", "round", "safe", "select", "selectattr", "sort",
    "string", "striptags", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode",
    "wordcount", "filesizeformat",
)  # fmt: skip

_STR_METHODS = frozenset({
    "capitalize", "count", "endswith", "find", "isalpha", "isdigit", "lower", "lstrip",
    "rstrip", "split", "splitlines", "startswith", "strip", "title", "upper",
})  # fmt: skip
_METHODS: dict[type, frozenset[str]] = {
    dict: frozenset({"get", "items", "keys", "values"}),
    str: _STR_METHODS,
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
}
_LOOP_ATTRS = frozenset({
    "index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
    "previtem", "nextitem", "changed", "cycle",
})  # fmt: skip


class TemplateLimit(SecurityError):
    """A template went past one of the sandbox's bounds."""


class _Budget:
    __slots__ = ("deadline", "steps")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise TemplateLimit(f"the template does too much work (over {MAX_STEPS:,} steps)")
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template ran for over {DEADLINE_SECONDS:.0f}s")


# per render, and per thread: the TUI renders in workers while the CLI renders in main
_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "template_budget", default=None
)


def _spend() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend()


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise TemplateLimit(f"a string of over {MAX_TEXT:,} characters")
    return value


def _sized(n: int, what: str = "characters") -> None:
    limit = MAX_TEXT if what == "characters" else MAX_ITEMS
    if n > limit:
        raise TemplateLimit(f"a result of {n:,} {what} (the limit is {limit:,})")


def _int_bits(n: Any) -> None:
    if isinstance(n, int) and n.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"a number of over {MAX_INT_BITS} bits")


def _loop(iterable: Iterable) -> Iterator:
    for item in iterable:
        _spend()
        yield item


def _mul(left: Any, right: Any) -> Any:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
            _sized(len(seq) * max(n, 0), "characters" if isinstance(seq, str) else "items")
    both_int = isinstance(left, int) and isinstance(right, int)
    if both_int and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
        raise TemplateLimit(f"a number of over {MAX_INT_BITS} bits")
    return left * right


def _pow(left: Any, right: Any) -> Any:
    both_int = isinstance(left, int) and isinstance(right, int)
    if both_int and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS:
        raise TemplateLimit(f"a number of over {MAX_INT_BITS} bits")
    return left**right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        _sized(len(left) + len(right))
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        _sized(len(left) + len(right), "items")
    out = left + right
    _int_bits(out)
    return out


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):  # printf widths allocate before anything can check them
        raise SecurityError("'%' formatting of strings is not available in templates")
    return left % right


def _join(value: Iterable, d: str = "", attribute: Any = None) -> str:
    """Jinja's join, refusing a result over MAX_TEXT before it is built."""
    items = list(value)
    if attribute is not None:
        items = [x.get(attribute) if isinstance(x, dict) else None for x in items]
    parts = [str(x) for x in items]
    _sized(sum(map(len, parts)) + len(d) * max(len(parts) - 1, 0))
    return d.join(parts)


def _replace(s: Any, old: str, new: str, count: int | None = None) -> str:
    s = str(s)
    n = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        n = min(n, count)
    _sized(len(s) + n * (len(new) - len(old)))
    return s.replace(old, new) if count is None else s.replace(old, new, count)


def _sum(iterable: Iterable, attribute: Any = None, start: Any = 0) -> Any:
    total = start
    for x in iterable:
        if attribute is not None:
            x = x.get(attribute) if isinstance(x, dict) else None
        if not isinstance(x, (int, float)) or isinstance(total, (list, str)):
            raise SecurityError("sum adds numbers only in templates")
        total += x
    _int_bits(total)
    return total


class _Bounds(NodeTransformer):
    """Counts every loop iteration, checks every `~` concatenation."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, TEXT_FILTER, [], [], None, None, lineno=node.lineno)


def _bounded_concat(pieces: Iterable[str]) -> str:
    """Jinja joins every output buffer (the document, a macro's, a block's) with this."""
    out: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_TEXT:
            exc = TemplateLimit(f"the output is over {MAX_TEXT:,} characters")
            throw = getattr(pieces, "throw", None)
            if throw is not None:  # raised at the template's yield, so the error has its line
                throw(exc)
            raise exc
        out.append(piece)
    return "".join(out)


class DocumentSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(_bounded_concat)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals.clear()
        self.filters = {name: JINJA_FILTERS[name] for name in _SAFE_FILTERS}
        self.filters.update(
            {
                "join": _join,
                "replace": _replace,
                "sum": _sum,
                LOOP_FILTER: _loop,
                TEXT_FILTER: _text,
            }
        )
        self.binop_table = {
            **self.binop_table,
            "*": _mul,
            "**": _pow,
            "+": _add,
            "%": _mod,
        }

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _Bounds().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, LoopContext):
            return attr in _LOOP_ATTRS
        if isinstance(obj, (TemplateReference, jinja2.environment.TemplateModule)):
            return True  # block names, an imported template's macros (no `_` names)
        if isinstance(obj, BlockReference):
            return attr == "super"
        for kind, allowed in _METHODS.items():
            if isinstance(obj, kind):
                return attr in allowed
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:  # the data's keys win over dict methods
            return obj[attribute]
        if isinstance(obj, jinja2.Undefined):
            return super().getattr(obj, attribute)
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            if isinstance(obj, TemplateReference) and not attribute.startswith("_"):
                return super().getattr(obj, attribute)
            return self.undefined(obj=obj, name=attribute)
        except Exception:
            return self.unsafe_undefined(obj, attribute)
        if self.is_safe_attribute(obj, attribute, value):
            return value
        return self.unsafe_undefined(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, (dict, list, tuple, str, jinja2.Undefined)):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                pass
        if isinstance(argument, str):
            return self.getattr(obj, argument)
        return self.undefined(obj=obj, name=argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        return super().call(__context, __obj, *args, **kwargs)


class budget:
    """`with budget():` around one render: a fresh step count and deadline."""

    def __enter__(self) -> None:
        self._token = _budget.set(_Budget())

    def __exit__(self, *exc: object) -> None:
        _budget.reset(self._token)
