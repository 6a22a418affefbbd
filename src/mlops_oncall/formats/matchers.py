"""Label matchers in Alertmanager's syntax: ``name="value"``, ``name!="value"``,
``name=~"regex"``, ``name!~"regex"``. Regexes are fully anchored, as Alertmanager anchors them
(``service=~"fraud"`` matches the label ``fraud`` only, not ``fraud-api``); a label that is
absent matches as the empty string, also as Alertmanager does."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.pattern is not None:
            hit = self.pattern.fullmatch(got) is not None
            return hit if self.op == "=~" else not hit
        return (got == self.value) if self.op == "=" else (got != self.value)

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """A matcher from its text; ValueError saying what was expected."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(
            f'\'{text}\' is not a matcher; expected name="value", name!="value", '
            f'name=~"regex" or name!~"regex"'
        )
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"'{text}': the regex does not compile ({exc})") from None
    return Matcher(name, op, value, pattern)
