"""Typed reads of policy parameters: a value of the wrong shape is refused, never coerced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import InvalidParameter
from .policy import PolicySnapshot
from .rounding import CENT, ONE


def _bad(policy: PolicySnapshot, key: str, problem: str) -> InvalidParameter:
    return InvalidParameter(key, policy.region, policy.date, problem)


def check_amount(policy: PolicySnapshot, key: str, value: Any) -> Decimal:
    if type(value) is Decimal and value.is_finite() and value >= 0 and value == value.quantize(CENT):
        return value
    raise _bad(policy, key, f"expected a non-negative amount in cents, got {value!r}")


def check_rate(policy: PolicySnapshot, key: str, value: Any) -> Decimal:
    if type(value) is Decimal and value.is_finite() and 0 <= value <= ONE:
        return value
    raise _bad(policy, key, f"expected a ratio between 0 and 1, got {value!r}")


def to_cents(value: Decimal) -> Decimal:
    """Money parameters carry two places like every other amount, so results print as they are."""
    return value.quantize(CENT)


def amount(policy: PolicySnapshot, key: str) -> Decimal:
    return policy.memo(("amount", key), lambda: to_cents(check_amount(policy, key, policy.get(key))))


def rate(policy: PolicySnapshot, key: str) -> Decimal:
    return check_rate(policy, key, policy.get(key))


def whole_number(policy: PolicySnapshot, key: str) -> int:
    """A count (days, months, years) written as a whole-number string, e.g. "42"."""
    value = policy.get(key)
    if type(value) is Decimal and value.is_finite() and value >= 0 and value == value.to_integral_value():
        return int(value)
    raise _bad(policy, key, f"expected a whole number as a string, got {value!r}")


def points(policy: PolicySnapshot, key: str) -> Decimal:
    """A ratio adjustment in points of 1 (e.g. -0.10 for "降低10%")."""
    value = policy.get(key)
    if type(value) is Decimal and value.is_finite() and -ONE <= value <= ONE:
        return value
    raise _bad(policy, key, f"expected a ratio adjustment between -1 and 1, got {value!r}")


def bands(policy: PolicySnapshot, key: str, rows: Any, rate_field: str) -> tuple[tuple[Decimal | None, Decimal], ...]:
    """An ordered band table [{upto, <rate_field>}, ...] as ((upto, rate), ...); the last band is open (upto null)."""
    if type(rows) is not list or not rows:
        raise _bad(policy, key, "expected a non-empty list of bands")
    table = []
    previous = None
    for i, row in enumerate(rows):
        where = f"{key}[{i}]"
        if type(row) is not dict or "upto" not in row:
            raise _bad(policy, where, "expected {upto: amount or null, ...}")
        if rate_field not in row:
            raise _bad(policy, f"{where}.{rate_field}", "missing ratio for this group")
        upto = row["upto"]
        last = i == len(rows) - 1
        if upto is None:
            if not last:
                raise _bad(policy, where, "only the last band may be open-ended (upto: null)")
        else:
            upto = to_cents(check_amount(policy, f"{where}.upto", upto))
            if previous is not None and upto <= previous:
                raise _bad(policy, f"{where}.upto", "band limits must increase")
            if last:
                raise _bad(policy, where, "the last band must be open-ended (upto: null)")
            previous = upto
        table.append((upto, check_rate(policy, f"{where}.{rate_field}", row[rate_field])))
    return tuple(table)
