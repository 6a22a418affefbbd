"""Redaction: secrets never reach the database, logs, screens or reports.

One redactor for the whole app, applied at every boundary where free text is stored or printed
(the incident service, deploys, risks, check results and their history, CLI output). It masks
two kinds of secret:

- the workspace's known values: every ``${env:NAME}`` a checks file resolves, the user, password
  and ``user:password`` of URL credentials, and the Base64 ``user:password`` an HTTP client sends
  in a Basic ``Authorization`` header built from them (an endpoint may echo it back);
- credential shapes, wherever they came from (a token pasted into a note, a response body).

The shapes follow the plugin list of detect-secrets 1.5.0 (Yelp, Apache-2.0), the detector most
pre-commit setups run: keyword assignments, AWS, Artifactory, Azure storage, Basic auth in URLs,
Discord, GitHub, GitLab, JWT, Mailchimp, npm, OpenAI, PyPI, SendGrid, Slack, Square, Stripe,
Telegram, Twilio and private keys. Its patterns are rewritten here rather than imported:
importing detect-secrets costs 140-200 ms (it pulls in requests, ssl and multiprocessing), too much
for every CLI command and the TUI's poller, and its scanner finds secrets in source lines, while
here each match must be cut out of prose without eating the words around it. Its entropy and IP
plugins are left out: they would mask the hashes and addresses this app prints on purpose.
``tests/test_secrets_matrix.py`` checks that every sample detect-secrets flags is masked here.

Every pattern is one alternative of a single compiled regex, so clean text costs one scan.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

MASK = "***"
# shorter known values would mask ordinary words and digits everywhere; such a "secret" protects
# nothing
MIN_SECRET_LENGTH = 3
# Redactor.text remembers its answers for strings up to this long, this many of them: an alert
# storm's labels (alertname, severity, job, ...) repeat in every alert of every notification
MEMO_MAX_LENGTH = 256
MEMO_SIZE = 4096

# -- credential shapes ----------------------------------------------------------------------
# A shape either masks its whole match or, when it has a group named ``s``, only that group (the
# key name or the scheme before it stays readable). Each regex starts with a literal, or is
# gated by hints that must occur in the text, so clean text costs a few fast scans: polls run
# this on every failing check's message.

# detect-secrets' KeywordDetector denylist, plus token, authorization and credential. Any prefix
# (DB_PASSWORD) and a suffix after _, - or a capital (aws_secret_access_key, clientSecretId)
# belong to the key; "tokenizer" and "secretary" do not.
_KEYWORD = (
    r"(?i:(?:api[_-]?key|auth[_-]?key|service[_-]?key|account[_-]?key|db[_-]?key|database[_-]?key"
    r"|priv[_-]?key|private[_-]?key|client[_-]?key|db[_-]?pass|database[_-]?pass|key[_-]?pass"
    r"|password|passwd|pwd|secret|contraseña|contrasena|token|authorization|credential))"
    r"(?:[sS]|[_-][\w-]*|[A-Z][\w-]*)?"
)
# where a keyword may hide, in lowercased text: every keyword contains one of these
_KEY_HINT = re.compile(r"pass|pwd|secret|token|key|auth|credential|contrase")
_KEY_NAME = re.compile(r"[\w-]*?" + _KEYWORD)
_SCHEME_WORD = r"(?i:bearer|basic|token|bot|digest|apikey)"
_SCHEME = r"(?:" + _SCHEME_WORD + r"\s+)?"
# after the key: a closing quote or bracket ("password": / ['secret'] =), the assignment, then
# a quoted value (to its closing quote) or one bare word, so the prose after it survives. A
# ${env:X} placeholder is not a secret, nor a scheme word whose credential is already masked.
_KEY_VALUE = re.compile(
    r"(?:\\?['\"\]]){0,2}\s*(?::=|=>|={1,3}|:)\s*(?:"
    r"@?\\?\"" + _SCHEME + r"(?P<dq>(?!\*\*\*)[^\"\\\r\n]{3,})"
    r"|@?\\?'" + _SCHEME + r"(?P<sq>(?!\*\*\*)[^'\\\r\n]{3,})"
    r"|`" + _SCHEME + r"(?P<bt>(?!\*\*\*)[^`\r\n]{3,})"
    r"|" + _SCHEME + r"(?P<bare>(?!\$\{|\*\*\*|" + _SCHEME_WORD + r"\s)[^\s'\"`,;&<>(){}\[\]]{4,})"
    r")"
)
# the rest of the key name and the assignment after it
_ASSIGNED = re.compile(r"[\w-]*(?:\\?['\"\]]){0,2}\s*[:=]")
_WORD_CHAR = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _mask_keywords(text: str) -> str:
    # lowercase keeps every index only for ASCII; translate() does for any text
    low = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
    out: list[str] = []
    done = 0  # text[:done] is in out
    pos = 0
    while (hint := _KEY_HINT.search(low, pos)) is not None:
        if _ASSIGNED.match(low, hint.end()) is None:  # cheap: most hints are plain words
            pos = hint.end()
            continue
        start = hint.start()
        while start > done and text[start - 1] in _WORD_CHAR:
            start -= 1
        name = _KEY_NAME.match(text, start)
        if name is None or name.end() < hint.end():
            pos = hint.start() + 1
            continue
        value = _KEY_VALUE.match(text, name.end())
        if value is None:
            pos = hint.start() + 1
            continue
        group = value.lastgroup or "bare"
        out.append(text[done : value.start(group)])
        out.append(MASK)
        done = pos = value.end(group)
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


# a credential after a scheme word; in prose a word after "Basic" is a word, so a credential
# must hold a digit, a symbol or a capital after its first letter
_CREDENTIAL = r"(?=[A-Za-z]*[0-9._~+/=-]|[a-z]+[A-Z])[A-Za-z0-9._~+/=-]{8,}"

# (regex, hints, hints are looked for in the lowercased text[, shortest match])
_SHAPES: tuple[tuple, ...] = (
    # PrivateKeyDetector: the whole PEM block, or to the end when it was cut short
    (
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ("PRIVATE KEY",),
        False,
    ),
    # BasicAuthDetector: scheme://user:password@host (the whole userinfo goes)
    (r"://(?P<s>[^/?#\s@'\"]+)@", ("@",), False),
    # SlackDetector: incoming webhook URLs (the path is the credential)
    (r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/]{10,})", (), False),
    # an Authorization header's credential, or "Bearer x" anywhere
    (r"(?i:bearer|basic)\s+(?P<s>" + _CREDENTIAL + ")", ("bearer", "basic"), True),
    # AWSKeyDetector: access key ids (and ArtifactoryDetector's tokens, which start with A too)
    (
        r"A" + r"(?<![A-Za-z0-9]A)(?:(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[0-9A-Z]{16}(?![A-Za-z0-9])"
        r"|KC[a-zA-Z0-9]{10,}|P[0-9A-F][a-zA-Z0-9]{8,}(?![A-Za-z0-9]))",
        (),
        False,
    ),
    # AWSKeyDetector: a 40-character secret near "aws"
    (
        r"(?i:aws)[^\n]{0,20}?(?i:key|pwd|pw|password|pass|token)[^\n]{0,20}?"
        r"(?<![0-9a-zA-Z/+])(?P<s>[0-9a-zA-Z/+]{40})(?![0-9a-zA-Z/+])",
        ("aws",),
        True,
    ),
    # GitHubTokenDetector, fine-grained personal access tokens, GitLabTokenDetector
    (
        r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9_]{36,}|ithub_pat_[A-Za-z0-9_]{22,}"
        r"|l(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-[A-Za-z0-9_-]{20,})",
        (),
        False,
    ),
    # SlackDetector: bot, user, app and workspace tokens
    (r"xox[aboprs]-[A-Za-z0-9-]{10,}", (), False),
    # StripeDetector (live and test, secret and restricted keys); OpenAIDetector, widened to
    # the current key prefixes
    (
        r"[rs](?<![A-Za-z0-9][rs])k_(?:live|test)_[0-9a-zA-Z]{16,}"
        r"|sk-(?<![A-Za-z0-9_]sk-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        ("k_live_", "k_test_", "sk-"),
        False,
    ),
    # JwtTokenDetector: header.payload.signature
    (r"eyJ[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.?[A-Za-z0-9_.+/=-]*", (), False),
    # DiscordBotTokenDetector
    (
        r"[MNO](?<![A-Za-z0-9_].)[a-zA-Z0-9_-]{23,25}\.[a-zA-Z0-9_-]{6}\.[a-zA-Z0-9_-]{27}",
        (".",),
        False,
        59,
    ),
    # MailchimpDetector, NpmDetector, PypiTokenDetector, SendGridDetector, SquareOAuthDetector
    (r"[0-9a-z](?<![A-Za-z0-9_].)[0-9a-z]{31}-us[0-9]{1,2}(?![0-9])", ("-us",), False),
    (
        r"npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,}|SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}"
        r"|sq0(?:csp|atp)-[0-9A-Za-z_-]{22,}",
        ("npm_", "pypi-", "SG.", "sq0"),
        False,
    ),
    # TelegramBotTokenDetector
    (r"[0-9](?<![A-Za-z0-9_].)[0-9]{7,9}:[0-9A-Za-z_-]{35}", (":",), False, 44),
    # TwilioKeyDetector
    (r"(?:AC|SK)(?<![A-Za-z0-9]..)[a-z0-9]{32}(?![A-Za-z0-9])", ("AC", "SK"), False),
)
_COMPILED = tuple(
    (re.compile(p), hints, lower, shortest[0] if shortest else 8)
    for p, hints, lower, *shortest in _SHAPES
)


def _mask_match(m: re.Match[str]) -> str:
    if m.re.groups == 0:
        return MASK
    whole, base = m.group(), m.start()
    return whole[: m.start("s") - base] + MASK + whole[m.end("s") - base :]


def mask_shapes(text: str) -> str:
    """``text`` with every credential shape masked (no known values needed)."""
    if len(text) < 8:  # no credential is shorter
        return text
    low = None
    for regex, hints, lower, shortest in _COMPILED:
        if len(text) < shortest:
            continue
        if hints:
            if lower:
                if low is None:
                    low = text.lower()
                hay = low
            else:
                hay = text
            for hint in hints:
                if hint in hay:
                    break
            else:
                continue
        masked = regex.sub(_mask_match, text)
        if masked != text:
            text, low = masked, None
    return _mask_keywords(text)


# -- URL credentials --------------------------------------------------------------------------
# scheme://user:pass@host or scheme://token@host; the userinfo is everything up to the last @
# before the host part ends
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@]+)@")


def strip_userinfo(url: str) -> str:
    """The URL with any ``user:pass@`` part replaced by ``***@``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", url)


def basic_credentials(user: str, password: str) -> str:
    """The Base64 ``user:password`` of a Basic Authorization header (RFC 7617)."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def url_userinfo_secrets(url: str) -> list[str]:
    """The user and password parts of a URL, as written and percent-decoded, and the Basic
    header value an HTTP client builds from them: all to be masked wherever they appear."""
    out: list[str] = []
    for m in _URL_USERINFO.finditer(url):
        userinfo = m["userinfo"]
        out.append(userinfo)
        for form in {userinfo, unquote(userinfo)}:
            user, _, password = form.partition(":")
            out.extend(p for p in (user, password) if p)
            out.append(basic_credentials(user, password))
    return out


class Redactor:
    """Masks the known secret values of a workspace and every credential shape, in any text or
    JSON-like value. ``len()`` is the number of known values (0 for a shapes-only redactor)."""

    __slots__ = ("_memo", "_pattern", "_values")

    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._memo: dict[str, str] = {}
        self.add(*values)

    def add(self, *values: str) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        if fresh - self._values:
            self._values |= fresh
            # longest first, so a secret that contains another is masked whole
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            # a new memo after the new pattern: text() takes the memo first, so an answer
            # found with the old pattern only ever lands in the old memo
            self._memo = {}

    def add_credentials(self, user: str, password: str) -> None:
        """A user and password known to the workspace, and their Basic header value."""
        self.add(user, password, f"{user}:{password}", basic_credentials(user, password))

    def include(self, other: Redactor) -> None:
        """Also mask everything ``other`` knows (a checks file's resolved secrets)."""
        self.add(*other._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} secrets)"

    def text(self, s: str) -> str:
        if not s:
            return s
        memo = self._memo
        short = len(s) <= MEMO_MAX_LENGTH
        if short and (known := memo.get(s)) is not None:
            return known
        pattern = self._pattern
        out = mask_shapes(pattern.sub(MASK, s) if pattern is not None else s)
        if short:
            if len(memo) >= MEMO_SIZE:  # bounded: start again (cheaper than an LRU's upkeep)
                memo.clear()
            memo[s] = out
        return out

    __call__ = text

    def value(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like value (dicts, lists, tuples); a string under
        a secret-sounding key ({"password": "..."}) is masked whole."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.value(k): self._item(k, v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj

    def _item(self, key: Any, value: Any) -> Any:
        if isinstance(value, str) and value and isinstance(key, str) and _secret_key(key):
            return MASK
        return self.value(value)


@functools.lru_cache(maxsize=1024)
def _secret_key(key: str) -> bool:
    """A key whose string value is masked whole ({"password": ...}); keys repeat endlessly."""
    return _KEY_NAME.fullmatch(key) is not None


# credential shapes only: for text that no workspace is known for (error messages, history)
DEFAULT = Redactor()
NULL = DEFAULT


def redact(s: str) -> str:
    return DEFAULT.text(s)
