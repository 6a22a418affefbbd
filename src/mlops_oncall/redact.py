"""Redaction: secrets never reach the database, logs, screens or reports.

Two layers: the exact values the app resolved from the environment (``${env:NAME}``), and
patterns that look like credentials wherever they came from (a token pasted into a note, a
password in a URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

_PATTERNS = [
    # user:password@ in URLs
    (
        re.compile(r"(?P<pre>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)(?P<secret>[^@\s/]+)(?=@)"),
        "pre",
    ),
    # Authorization headers and bearer tokens
    (re.compile(r"(?P<pre>\b(?:Bearer|Basic|Token)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})"), "pre"),
    # key=value / key: value for obviously secret keys
    (
        re.compile(
            r"(?P<pre>\b(?:api[_-]?key|apikey|token|access[_-]?token|secret|password|passwd|pwd)"
            r"\b\s*[=:]\s*[\"']?)(?P<secret>[^\s\"'&,;]{4,})",
            re.IGNORECASE,
        ),
        "pre",
    ),
    # well-known token shapes
    (re.compile(r"(?P<pre>)(?P<secret>\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)"), "pre"),
    (re.compile(r"(?P<pre>)(?P<secret>\bgh[pousr]_[A-Za-z0-9]{30,}\b)"), "pre"),
    (re.compile(r"(?P<pre>)(?P<secret>\bxox[abprs]-[A-Za-z0-9-]{10,}\b)"), "pre"),
    (
        re.compile(
            r"(?P<pre>)(?P<secret>\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
        ),
        "pre",
    ),
]


class Redactor:
    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        self._others: list = []
        self.add(values)

    def include(self, other) -> None:
        """Also apply another redactor (the checks engine's, which knows resolved ${env:} values)."""
        self._others.append(other)

    def add(self, values: Iterable[str]) -> None:
        for v in values:
            if v and len(v) >= 4:  # masking "a" everywhere would destroy text, not protect it
                self._values.add(v)
        self._ordered = sorted(self._values, key=len, reverse=True)

    def text(self, s: str) -> str:
        if not s:
            return s
        for other in self._others:
            s = other.text(s)
        for v in self._ordered:
            if v in s:
                s = s.replace(v, MASK)
        for pattern, _ in _PATTERNS:
            s = pattern.sub(lambda m: m.group("pre") + MASK, s)
        return s

    __call__ = text

    def value(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like value."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {k: self.value(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        return obj


DEFAULT = Redactor()


def redact(s: str) -> str:
    return DEFAULT.text(s)
