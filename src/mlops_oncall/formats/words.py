"""Wording shared by every output: counted nouns ("1 risk", "2 risks") and names joined to a
suffix without a doubled word ("Fraud model server" + "server ready")."""

from __future__ import annotations


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` and the noun, singular only for exactly one: "0 files", "1 file", "2 files"."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def join_words(left: str, right: str) -> str:
    """``left`` then ``right``, dropping the first word of ``right`` when ``left`` ends with it
    (case-insensitively): "Fraud model server" + "server live" is "Fraud model server live"."""
    tail = left.split()[-1:] if left else []
    head, _, rest = right.partition(" ")
    if tail and rest and tail[0].casefold() == head.casefold():
        right = rest
    return f"{left} {right}" if left else right
