"""Redaction of secrets: resolved ``${env:NAME}`` values and credentials in URLs.

Every text that leaves the checks engine (messages, errors, CLI output, JSON, repr) goes
through a Redactor, so a token taken from the environment is never shown or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
# scheme://user:pass@host or scheme://token@host; the userinfo is everything up to the last @
# before the host part ends
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@]+)@")
# shorter values would mask ordinary words and digits everywhere; such a "secret" protects nothing
MIN_SECRET_LENGTH = 3


def strip_userinfo(url: str) -> str:
    """The URL with any ``user:pass@`` part replaced by ``***@``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", url)


def url_userinfo_secrets(url: str) -> list[str]:
    """The user and password parts of a URL, to be masked wherever else they appear."""
    out: list[str] = []
    for m in _URL_USERINFO.finditer(url):
        user, _, password = m["userinfo"].partition(":")
        out.extend(p for p in (m["userinfo"], user, password) if p)
    return out


class Redactor:
    """Knows every secret value of a check set and masks them in any text or JSON value."""

    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        fresh = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        if fresh - self._secrets:
            self._secrets |= fresh
            # longest first, so a secret that contains another is masked whole
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def text(self, value: str) -> str:
        if not value:
            return value
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        if "@" in value:
            value = strip_userinfo(value)
        return value

    def value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dicts, lists, tuples)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


NULL = Redactor()
