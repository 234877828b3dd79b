"""The `fund_security.*` policy parameters the rules read (contracts/fund-security.md "Rules").

Read from the policy snapshot in force for the request's region on `as_of`, like every other
parameter of the engine: a key the region does not define is `missing_parameter` naming it, a
value of the wrong shape `invalid_parameter`. Only the parameters of the rules that run are
read, so the block rules (which need none) run wherever the policy version exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..benefits.errors import InvalidParameter
from ..benefits.params import whole_number
from ..benefits.policy import PolicySnapshot
from .facts import LINE_KINDS

SPLIT_ADMISSION_DAYS = "fund_security.split_admission_days"
PLANNED_CYCLE_DIAGNOSES = "fund_security.planned_cycle_diagnoses"
IDLE_DAY_KINDS = "fund_security.idle_day_kinds"
IDLE_DAYS = "fund_security.idle_days"
MAX_DAYS_SUPPLY = "fund_security.max_days_supply"
SUPPLY_WINDOW_DAYS = "fund_security.supply_window_days"
SUPPLY_TOLERANCE = "fund_security.supply_tolerance"

ALL_KEYS = (SPLIT_ADMISSION_DAYS, PLANNED_CYCLE_DIAGNOSES, IDLE_DAY_KINDS, IDLE_DAYS, MAX_DAYS_SUPPLY,
            SUPPLY_WINDOW_DAYS, SUPPLY_TOLERANCE)


@dataclass(frozen=True, slots=True)
class Params:
    """Thresholds as plain values. A rule reads only its own; the others may stay None."""

    split_admission_days: int | None = None
    planned_cycle_diagnoses: frozenset[str] | None = None  # ICD-10 categories (3 characters)
    idle_day_kinds: frozenset[str] | None = None
    idle_days: int | None = None
    max_days_supply_acute: int | None = None
    max_days_supply_chronic: int | None = None
    supply_window_days: int | None = None
    supply_tolerance: Decimal | None = None


def _bad(policy: PolicySnapshot, key: str, problem: str) -> InvalidParameter:
    return InvalidParameter(key, policy.region, policy.date, problem)


def _codes(policy: PolicySnapshot, key: str, *, allowed: frozenset | None = None) -> frozenset[str]:
    value = policy.raw(key)
    if type(value) is not list or not all(type(v) is str and v.strip() for v in value):
        raise _bad(policy, key, f"expected a list of codes, got {value!r}")
    if allowed is not None and not set(value) <= allowed:
        raise _bad(policy, key, f"unknown line kind(s) {', '.join(sorted(set(value) - allowed))}")
    return frozenset(v.strip().upper() if allowed is None else v for v in value)


def _positive_days(policy: PolicySnapshot, key: str, *path: str) -> int:
    if path:
        value = policy.lookup(key, *path)
        name = ".".join((key, *path))
        if type(value) is Decimal and value.is_finite() and value > 0 and value == value.to_integral_value():
            return int(value)
        raise _bad(policy, name, f"expected a whole number of days as a string, got {value!r}")
    days = whole_number(policy, key)
    if days < 1:
        raise _bad(policy, key, "expected at least 1 day")
    return days


def _tolerance(policy: PolicySnapshot, key: str) -> Decimal:
    value = policy.get(key)
    if type(value) is Decimal and value.is_finite() and value > 0:
        return value
    raise _bad(policy, key, f"expected a positive ratio as a string (e.g. \"1.2\"), got {value!r}")


def params_from_policy(policy: PolicySnapshot, keys: Iterable[str] = ALL_KEYS) -> Params:
    """The parameters named by `keys` from the snapshot (MissingParameter naming the first absent one)."""
    wanted = set(keys)
    values: dict = {}
    for key in ALL_KEYS:  # a fixed order, so the same request always names the same missing key
        if key not in wanted:
            continue
        if key == SPLIT_ADMISSION_DAYS:
            values["split_admission_days"] = whole_number(policy, key)
        elif key == PLANNED_CYCLE_DIAGNOSES:
            values["planned_cycle_diagnoses"] = _codes(policy, key)
        elif key == IDLE_DAY_KINDS:
            values["idle_day_kinds"] = _codes(policy, key, allowed=LINE_KINDS)
        elif key == IDLE_DAYS:
            values["idle_days"] = _positive_days(policy, key)
        elif key == MAX_DAYS_SUPPLY:
            values["max_days_supply_acute"] = _positive_days(policy, key, "acute")
            values["max_days_supply_chronic"] = _positive_days(policy, key, "chronic")
        elif key == SUPPLY_WINDOW_DAYS:
            values["supply_window_days"] = _positive_days(policy, key)
        elif key == SUPPLY_TOLERANCE:
            values["supply_tolerance"] = _tolerance(policy, key)
    return Params(**values)
