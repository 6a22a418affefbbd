"""Percentages in files: written '20%' (or '99.9%'), held as a share (0.2), dumped back as text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

PERCENT_PATTERN = r"^\d+(\.\d+)?%$"


def parse_percent(value: Any) -> float:
    """'20%' -> 0.2; anything else (a bare number, 0%, over 100%) is refused."""
    text = str(value).strip() if isinstance(value, str) else ""
    if text.endswith("%"):
        try:
            pct = Decimal(text[:-1].strip())
        except InvalidOperation:
            pct = None
        if pct is not None and pct.is_finite() and 0 <= pct <= 100:
            return float(pct / 100)
    raise ValueError(f"expected a percentage such as '20%', got {value!r}")


def format_percent(share: float) -> str:
    return f"{Decimal(str(share)) * 100:f}".rstrip("0").rstrip(".") + "%"


Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    PlainSerializer(format_percent, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PERCENT_PATTERN,
            "description": "A percentage from 0% to 100%, such as '20%'.",
        }
    ),
]
