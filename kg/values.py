"""Printed values: a number exactly as the review printed it, or an explicit state (NE, NR, not reported)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# The review's abbreviations; "not estimated" (Table 3's footnote) means the same as not estimable.
STATES = {
    "ne": "NotEstimable",
    "not estimable": "NotEstimable",
    "not estimated": "NotEstimable",
    "nr": "NotReached",
    "not reached": "NotReached",
    "not reported": "NotReported",
}

_NUMBER = re.compile(r"^-?(\d+(\.\d+)?|\.\d+)$")


@dataclass(frozen=True)
class Printed:
    """A number with its printed text, or a state; exactly one of the two."""

    number: Decimal | None = None
    text: str | None = None
    state: str | None = None

    @property
    def is_number(self) -> bool:
        return self.number is not None


def parse_printed(raw: str) -> Printed:
    """'5.90' -> 5.90 kept as printed; 'NE' -> NotEstimable; anything else is refused."""
    value = raw.strip()
    state = STATES.get(value.lower())
    if state:
        return Printed(state=state)
    if _NUMBER.match(value):
        try:
            return Printed(number=Decimal(value), text=value)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            pass
    raise ValueError(f"{raw!r} is neither a number as printed nor one of NE, NR, not reported")


def parse_count(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit():
        raise ValueError(f"{raw!r} is not a whole, non-negative number")
    return int(value)


_P_VALUE = re.compile(r"^(<=|>=|<|>|=)?\s*(\d*\.?\d+)$")


@dataclass(frozen=True)
class PValue:
    relation: str
    number: Decimal
    text: str


def parse_p_value(raw: str) -> PValue:
    """'<0.001' -> (<, 0.001); '0.005' or '=0.005' -> (=, 0.005)."""
    match = _P_VALUE.match(raw.strip())
    if not match:
        raise ValueError(f"{raw!r} is not a p-value such as '<0.001' or '=0.03'")
    number = Decimal(match.group(2))
    if number > 1:
        raise ValueError(f"p-value {raw!r} is greater than 1")
    return PValue(relation=match.group(1) or "=", number=number, text=match.group(2))
