"""Capitation arithmetic of one outpatient-pool institution for one year (DOMAIN.md §8,
contracts/capitation.md). Pure: plain values in, plain values out; no ORM, no I/O.

The `capitation_preview` command, the monthly run and the year-end run all call `settle`.

- monthly quota = head count × per-person-per-year rate / 12, rounded half-up to the cent;
- paid each month = actual fund-payable amount, at most the month's quota (Decision, §8);
- annual quota = Σ monthly quotas; annual actual = Σ actuals;
- final = actual + surplus share × (quota − actual) when actual < quota (rounded half-up
  once), otherwise the quota (the excess is not paid);
- year-end balance = final − Σ paid monthly; negative means money recovered.

The rate and the share are read from the policy in force on 1 January of the year
(`capitation.per_person_per_year`, `capitation.surplus_share`); a region without them is
refused as a missing parameter naming the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from medins.benefits import params
from medins.benefits.errors import InvalidRequest
from medins.benefits.policy import PolicySnapshot
from medins.benefits.request import parse_amount
from medins.benefits.rounding import ZERO, money_str, round_money

PER_PERSON = "capitation.per_person_per_year"
SURPLUS_SHARE = "capitation.surplus_share"
MONTHS_A_YEAR = Decimal(12)

_KEYS = frozenset({"region", "year", "months"})
_MONTH_KEYS = frozenset({"month", "headcount", "actual"})


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: int
    headcount: int
    actual: Decimal


@dataclass(frozen=True, slots=True)
class MonthResult:
    month: int
    headcount: int
    quota: Decimal
    actual: Decimal
    paid: Decimal

    def as_dict(self) -> dict:
        return {"month": self.month, "quota": money_str(self.quota), "actual": money_str(self.actual),
                "paid": money_str(self.paid)}


@dataclass(frozen=True, slots=True)
class CapitationResult:
    monthly: tuple[MonthResult, ...]
    annual_quota: Decimal
    annual_actual: Decimal
    final: Decimal
    paid_monthly: Decimal

    @property
    def year_end_balance(self) -> Decimal:
        return self.final - self.paid_monthly


@dataclass(frozen=True, slots=True)
class Rates:
    per_person_per_year: Decimal
    surplus_share: Decimal
    policy_version: str


def rates_of(policy: PolicySnapshot) -> Rates:
    return Rates(params.amount(policy, PER_PERSON), params.rate(policy, SURPLUS_SHARE), policy.version)


def month_quota(headcount: int, per_person_per_year: Decimal) -> Decimal:
    return round_money(headcount * per_person_per_year / MONTHS_A_YEAR)


def settle(months: list[MonthFigures] | tuple[MonthFigures, ...], rates: Rates) -> CapitationResult:
    """The year's arithmetic over the months given (in month order)."""
    monthly = []
    quota_sum = actual_sum = paid_sum = ZERO
    for m in sorted(months, key=lambda m: m.month):
        quota = month_quota(m.headcount, rates.per_person_per_year)
        paid = m.actual if m.actual < quota else quota
        monthly.append(MonthResult(m.month, m.headcount, quota, m.actual, paid))
        quota_sum += quota
        actual_sum += m.actual
        paid_sum += paid
    if actual_sum < quota_sum:
        final = actual_sum + round_money((quota_sum - actual_sum) * rates.surplus_share)
    else:
        final = quota_sum
    return CapitationResult(tuple(monthly), quota_sum, actual_sum, final, paid_sum)


def result_dict(*, region: str, year: int, rates: Rates, result: CapitationResult) -> dict:
    return {
        "region": region,
        "year": year,
        "policy_version": rates.policy_version,
        "monthly": [m.as_dict() for m in result.monthly],
        "annual_quota": money_str(result.annual_quota),
        "annual_actual": money_str(result.annual_actual),
        "final": money_str(result.final),
        "paid_monthly": money_str(result.paid_monthly),
        "year_end_balance": money_str(result.year_end_balance),
    }


# --------------------------------------------------------------------------- request


@dataclass(frozen=True, slots=True)
class PreviewRequest:
    region: str
    year: int
    months: tuple[MonthFigures, ...]


def _unknown(obj: dict, allowed: frozenset, prefix: str) -> None:
    extra = obj.keys() - allowed
    if extra:
        raise InvalidRequest(f"{prefix}{sorted(map(str, extra))[0]}", "is not a known field")


def parse_preview_request(data: Any) -> PreviewRequest:
    if type(data) is not dict:
        raise InvalidRequest("body", "must be a JSON object")
    _unknown(data, _KEYS, "")
    region = data.get("region")
    if not (type(region) is str and len(region) == 6 and region.isascii() and region.isdigit()):
        raise InvalidRequest("region", "is required" if region is None else 'must be a 6-digit region code string')
    year = data.get("year")
    if type(year) is not int or not 2000 <= year <= 2100:
        raise InvalidRequest("year", "is required" if year is None else "must be a year such as 2021")
    months = data.get("months")
    if type(months) is not list:
        raise InvalidRequest("months", "is required" if months is None else "must be a list")
    seen: set[int] = set()
    figures = []
    for i, entry in enumerate(months):
        where = f"months[{i}]"
        if type(entry) is not dict:
            raise InvalidRequest(where, "must be an object")
        _unknown(entry, _MONTH_KEYS, f"{where}.")
        month = entry.get("month")
        if type(month) is not int or not 1 <= month <= 12:
            raise InvalidRequest(f"{where}.month", "must be a month number 1-12")
        if month in seen:
            raise InvalidRequest(f"{where}.month", f"month {month} is given twice")
        seen.add(month)
        headcount = entry.get("headcount")
        if type(headcount) is not int or headcount < 0:
            raise InvalidRequest(f"{where}.headcount", "must be a non-negative whole number")
        if "actual" not in entry:
            raise InvalidRequest(f"{where}.actual", "is required")
        figures.append(MonthFigures(month, headcount, parse_amount(entry["actual"], f"{where}.actual")))
    return PreviewRequest(region, year, tuple(figures))


def preview(req: PreviewRequest, policy: PolicySnapshot) -> dict:
    rates = rates_of(policy)
    return result_dict(region=req.region, year=req.year, rates=rates, result=settle(req.months, rates))


def year_start(year: int) -> dt.date:
    return dt.date(year, 1, 1)
