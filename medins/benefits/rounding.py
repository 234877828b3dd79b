"""Money arithmetic: Decimal only, rounded half-up to the cent once per output line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal("1.00")
RATE_ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal) -> str:
    """Exactly two decimals; never '-0.00'."""
    text = str(value)
    # Fast path: most values already carry exactly two places (inputs are parsed that way).
    if text[-3:-2] == "." and text[0] != "-":
        return text
    if not value:
        return "0.00"
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def clamp_rate(value: Decimal) -> Decimal:
    """Adjusted ratios stay within 0..1 (a -10 point cut never makes a negative ratio)."""
    if value <= 0:
        return RATE_ZERO
    if value >= ONE:
        return ONE
    return value
