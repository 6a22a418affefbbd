"""How a runbook command's text is shown and which characters a command may not contain.

A responder confirms a command by reading it, so nothing in it may hide or rewrite what is on
screen: control characters and terminal escape sequences are refused, and what is allowed
(newlines, tabs) is drawn visibly. Command output goes through the same rules before it is
stored, so printing it later cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re

# C0 and C1 controls except \t and \n, DEL, and the Unicode bidi and zero-width controls that
# can reorder or hide text on screen ("Trojan Source").
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_ESCAPE = re.compile("[\x1b\x9b]")  # ESC and the one-byte CSI start every escape sequence
_PIECES = re.compile(f"([\t\n]|{_HIDDEN.pattern})")
NEWLINE_MARK = "⏎"
TAB_MARK = "␉"


def _code(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def refusal(command: str) -> str | None:
    """Why a command cannot be offered to run, or None when every character may be shown."""
    m = _ESCAPE.search(command)
    if m:
        return f"it contains a terminal escape sequence ({_code(m.group())} at character {m.start() + 1})"
    m = _HIDDEN.search(command)
    if m:
        return f"it contains a control character ({_code(m.group())} at character {m.start() + 1})"
    return None


def line_count(command: str) -> int:
    return len(command.rstrip("\n").split("\n")) if command.strip() else 1


def visible_parts(command: str) -> list[tuple[str, bool]]:
    """The command as (text, is_mark) pieces: every newline and tab gets a mark before it and
    any other control is replaced by its \\xNN code, so a screen can style the marks apart.

    Lines still break where the command breaks, so a long script scrolls rather than hides."""
    parts: list[tuple[str, bool]] = []
    for ch_text in _PIECES.split(command):
        if not ch_text:
            continue
        if ch_text == "\n":
            parts += [(NEWLINE_MARK, True), ("\n", False)]
        elif ch_text == "\t":
            parts += [(TAB_MARK, True), ("\t", False)]
        elif _HIDDEN.fullmatch(ch_text):
            parts.append((_code(ch_text), True))
        else:
            parts.append((ch_text, False))
    return parts


def visible(command: str) -> str:
    return "".join(text for text, _ in visible_parts(command))


def safe_output(text: str) -> str:
    """Command output as stored: line breaks and tabs kept, every other control written out."""
    return _HIDDEN.sub(lambda m: _code(m.group()), text.replace("\r\n", "\n"))


# What deletes or overwrites data: such a command must be declared `risk: destructive`.
# `--rm` (docker run --rm) and `rm` inside a longer word are not deletions.
_DESTRUCTIVE = re.compile(
    r"(?<![\w-])(?:bq\s+rm|kubectl\s+(?:-n\s+\S+\s+)?delete|rm|delete|drop|truncate)(?![\w-])",
    re.IGNORECASE,
)

# What needs a terminal: an editor, a pager, a full-screen monitor or an interactive session.
# The runner has no TTY (stdin is /dev/null), so these would hang until the deadline.
_INTERACTIVE = [
    (re.compile(r"\bkubectl\b[^|;&]*\s(edit|attach)\b"), "kubectl {0} is interactive"),
    (
        re.compile(r"\b(?:kubectl|docker|podman)\b[^|;&]*\s(-it|-ti|--tty|-i\s+-t|-t\s+-i)\b"),
        "the {0} flag asks for one",
    ),
    (re.compile(r"(?:^|[|;&(]\s*|\s)(vi|vim|nvim|nano|emacs)(?:\s|$)"), "{0} is an editor"),
    (re.compile(r"(?:^|[|;&(]\s*)(less|more|top|htop|nvtop|watch)(?:\s|$)"), "{0} is full-screen"),
]


def destructive_word(command: str) -> str | None:
    """The word that makes a command delete or overwrite data, or None."""
    m = _DESTRUCTIVE.search(command)
    return m.group(0) if m else None


def interactive_reason(command: str) -> str | None:
    """Why a command cannot run without a terminal (offered for copying only), or None."""
    for pattern, why in _INTERACTIVE:
        m = pattern.search(command)
        if m:
            return (
                why.format(m.group(1))
                + "; it needs a terminal (TTY), so copy it and run it in your shell"
            )
    return None
