"""The enrollment preview (contracts/enrollment-preview.md): pure, plain values in, dict out.

What a contribution paid on a date buys: the benefit year(s), the amount due and the covered
days. No ORM, no I/O: the caller passes a policy lookup (date -> snapshot, raising
MissingParameter) and `preview` asks it for **the policy of the benefit year the payment buys**
(DOMAIN §1): a payment inside the window that precedes benefit year Y is priced and ruled by
Y's policy (its window is part of that policy), whatever is in force on the payment date; a late
payment buys the year it is made in and is priced by that year's policy (`benefit_policy`).
The admin payment form, the tax-file import, the enrollment services, the command line and the
API all call `preview`.

Rule variants are policy parameters, never region tests (DOMAIN §1):
  contribution.window                 {"start": "MM-DD", "end": "MM-DD"}: the window of benefit
                                      year Y (in Y's policy) runs on those days of year Y-1
  contribution.waiting_rule           add_months | next_month_start
  contribution.waiting_months         "3"
  contribution.amounts                {category: "amount"}; newborn falls back to minor
  contribution.late_amount_rule       individual | individual_plus_subsidy
  contribution.subsidy_amounts        {category: "amount"} (individual_plus_subsidy only)
  contribution.newborn_registration_days   "90"
  contribution.newborn_in_window      next_year_from_birth | birth_year
  category.newborn_months             "12": a newborn is in the first that many months of life
  category.adult_age                  "18": under that age (completed years) a person is a minor

**Decision (which policy, issue #14).** `benefit_policy` asks for the policy in force on
1 January of the year after the payment; if it exists and the payment date is inside *its*
window, that policy prices the payment. Otherwise the payment is a late one and the policy in
force on the payment date (a version of the year it buys) prices it. When next year's policy
does not exist yet but the payment date is inside the current policy's window (same MM-DD), the
payment buys next year and is refused as `missing_parameter` `policy_version` on 1 January of
that year — never priced by this year's amounts. A newborn registered in the window under the
`birth_year` rule (read from the window's policy) buys the birth year: its amount comes from
the birth year's policy.

**Decision (ID check digit in a preview request, issue #14; reverses issue #3).** The preview
verifies `person.id_number` like everything else that reads one (`idnumber.check_id_number`):
shape, real birth date and the GB 11643 check character. A typo'd number is `invalid_request`
on `person.id_number`. The contract's example number was corrected to a valid one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_noop

from medins.benefits.errors import InvalidParameter, InvalidRequest, MissingParameter, NotEligible
from medins.benefits.policy import PolicySnapshot

from .idnumber import IdNumberError, check_id_number
from .messages import Msg

CATEGORIES = ("adult", "minor", "student", "college_student", "newborn")
SCHOOL_KINDS = ("primary_secondary", "college")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PreviewRequest:
    region: str
    birth_date: dt.date
    payment_date: dt.date
    category: str | None = None
    school_kind: str | None = None
    newborn_registration: bool = False


@dataclass(frozen=True)
class Period:
    benefit_year: int
    covered_from: dt.date
    covered_to: dt.date
    waiting: bool

    def as_dict(self) -> dict:
        return {
            "benefit_year": self.benefit_year,
            "covered_from": self.covered_from.isoformat(),
            "covered_to": self.covered_to.isoformat(),
            "waiting": self.waiting,
        }


@dataclass(frozen=True)
class Preview:
    region: str
    policy_version: str
    category: str
    amount_due: Decimal
    periods: tuple[Period, ...]
    kind: str  # "window" | "late" | "newborn"

    def as_dict(self) -> dict:
        return {
            "region": self.region,
            "policy_version": self.policy_version,
            "amount_due": str(self.amount_due),
            "periods": [p.as_dict() for p in self.periods],
        }


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` calendar months later, clamped to the month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def first_of_month_after(day: dt.date, months: int) -> dt.date:
    """The waiting months count from the month after `day`; cover starts the month after them."""
    return add_months(day.replace(day=1), months + 1)


@dataclass(frozen=True)
class CategoryAges:
    """The age boundaries of DOMAIN §1's categories, read from the policy (`category_ages`).

    Plain values, so a caller categorising many persons (visit ingestion, lists) reads the policy
    once per batch and passes them to every `category_on` call.
    """

    newborn_months: int  # category.newborn_months: the first year of life
    adult_age: int  # category.adult_age: a minor is under this age in completed years

    def newborn_until(self, birth: dt.date) -> dt.date:
        """The first day on which a person born on `birth` is no longer a newborn."""
        return add_months(birth, self.newborn_months)


def category_ages(policy: PolicySnapshot) -> CategoryAges:
    """The category boundaries of a policy; a missing or malformed one is refused, naming it."""
    return policy.memo(("category_ages",), lambda: CategoryAges(
        newborn_months=_int(policy, "category.newborn_months"), adult_age=_int(policy, "category.adult_age")))


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def category_on(*, birth_date: dt.date, day: dt.date, ages: CategoryAges, school_kind: str | None = None) -> str:
    """DOMAIN §1 category on a date: newborn (the policy's first months of life), college_student
    (linked to a college), student (in a primary/secondary school), minor (under the policy's
    adult age), else adult."""
    # A month has at most 31 days: the date arithmetic only runs for the young.
    if (day - birth_date).days < 31 * ages.newborn_months and day < ages.newborn_until(birth_date):
        return "newborn"
    if school_kind == "college":
        return "college_student"
    if school_kind == "primary_secondary":
        return "student"
    if age_on(birth_date, day) < ages.adult_age:
        return "minor"
    return "adult"


# --------------------------------------------------------------------------- request


def _date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise InvalidRequest(field, "expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(field, f"{value!r} is not a date YYYY-MM-DD") from None


def _birth_from_id(value: Any) -> dt.date:
    """The birth date in an ID number, verified like every other ID number (shape, real birth
    date, check character; see the decision at the top of this module)."""
    if not isinstance(value, str):
        raise InvalidRequest("person.id_number", "expected an 18-character ID number")
    try:
        number = check_id_number(value)
    except IdNumberError as exc:
        raise InvalidRequest("person.id_number", str(exc)) from None
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def parse_preview_request(data: Any) -> PreviewRequest:
    """Validate a contract request; raises InvalidRequest naming the field at fault."""
    if not isinstance(data, dict):
        raise InvalidRequest("body", "expected a JSON object")
    region = data.get("region")
    if not isinstance(region, str) or not (len(region) == 6 and region.isdigit()):
        raise InvalidRequest("region", "expected a 6-digit region code")
    person = data.get("person")
    if not isinstance(person, dict):
        raise InvalidRequest("person", "expected an object with id_number or birth_date")
    if person.get("id_number") is not None:
        birth = _birth_from_id(person["id_number"])
        if person.get("birth_date") is not None and _date(person["birth_date"], "person.birth_date") != birth:
            raise InvalidRequest("person.birth_date", "differs from the birth date in person.id_number")
    elif person.get("birth_date") is not None:
        birth = _date(person["birth_date"], "person.birth_date")
    else:
        raise InvalidRequest("person", "give id_number or birth_date")
    category = person.get("category")
    if category is not None and category not in CATEGORIES:
        raise InvalidRequest("person.category", f"one of {', '.join(CATEGORIES)}")
    school_kind = person.get("school_kind")
    if school_kind is not None and school_kind not in SCHOOL_KINDS:
        raise InvalidRequest("person.school_kind", f"one of {', '.join(SCHOOL_KINDS)}")
    if "payment_date" not in data:
        raise InvalidRequest("payment_date", "required")
    payment_date = _date(data["payment_date"], "payment_date")
    newborn = data.get("newborn_registration", False)
    if not isinstance(newborn, bool):
        raise InvalidRequest("newborn_registration", "expected true or false")
    return PreviewRequest(region, birth, payment_date, category, school_kind, newborn)


# --------------------------------------------------------------------------- policy reading


def _int(policy: PolicySnapshot, key: str) -> int:
    value = policy.get(key)
    if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 0:
        raise InvalidParameter(key, policy.region, policy.date, "expected a whole number as a string")
    return int(value)


def _choice(policy: PolicySnapshot, key: str, allowed: tuple[str, ...]) -> str:
    value = policy.raw(key)
    if value not in allowed:
        raise InvalidParameter(key, policy.region, policy.date, f"expected one of {', '.join(allowed)}")
    return value


def _month_day(policy: PolicySnapshot, key: str, part: str, year: int) -> dt.date:
    raw = policy.raw(key)
    value = raw.get(part) if isinstance(raw, dict) else None
    if value is None:
        raise MissingParameter(f"{key}.{part}", policy.region, policy.date)
    try:
        month, day = (int(x) for x in str(value).split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidParameter(f"{key}.{part}", policy.region, policy.date, "expected MM-DD") from None


def in_window(policy: PolicySnapshot, day: dt.date) -> bool:
    start = _month_day(policy, "contribution.window", "start", day.year)
    end = _month_day(policy, "contribution.window", "end", day.year)
    return start <= day <= end


def waiting_start(policy: PolicySnapshot, paid: dt.date) -> dt.date:
    rule = _choice(policy, "contribution.waiting_rule", ("add_months", "next_month_start"))
    months = _int(policy, "contribution.waiting_months")
    if rule == "add_months":
        return add_months(paid, months)
    return first_of_month_after(paid, months)


def _amount(policy: PolicySnapshot, key: str, category: str) -> Decimal:
    table = policy.get(key)
    if category == "newborn" and isinstance(table, dict) and "newborn" not in table and "minor" in table:
        category = "minor"  # DOMAIN §1: a newborn is treated as a minor for rates
    value = policy.lookup(key, category)
    if not isinstance(value, Decimal):
        raise InvalidParameter(f"{key}.{category}", policy.region, policy.date, "expected a decimal string")
    return value


def _whole_years(start: dt.date, last_year: int, waiting: bool) -> tuple[Period, ...]:
    periods = []
    for year in range(start.year, last_year + 1):
        begin = start if year == start.year else dt.date(year, 1, 1)
        periods.append(Period(year, begin, dt.date(year, 12, 31), waiting))
    return tuple(periods)


# --------------------------------------------------------------------------- the preview


PolicyLookup = Callable[[dt.date], PolicySnapshot]


def _as_lookup(policies: PolicySnapshot | PolicyLookup) -> PolicyLookup:
    """A lookup (date -> snapshot); one snapshot stands for every date (tests, a single version)."""
    if isinstance(policies, PolicySnapshot):
        return lambda day: policies
    return policies


def benefit_policy(req: PreviewRequest, policies: PolicySnapshot | PolicyLookup) -> tuple[PolicySnapshot, bool]:
    """DOMAIN §1: (the policy of the benefit year the payment buys, whether it is a window payment).

    The window before benefit year Y is part of Y's policy: a payment inside it is priced by Y's
    policy, not by the version in force on the payment date. See the decision at the top.
    """
    policy_on = _as_lookup(policies)
    paid = req.payment_date
    next_year = dt.date(paid.year + 1, 1, 1)
    try:
        upcoming = policy_on(next_year)
    except MissingParameter as exc:
        if exc.parameter != "policy_version":
            raise
        upcoming = None
    if upcoming is not None and in_window(upcoming, paid):
        return upcoming, True
    current = policy_on(paid)  # a late payment buys this year: no version at all names the payment date
    if upcoming is None and in_window(current, paid):
        raise MissingParameter("policy_version", req.region, next_year)  # it buys next year, whose policy is missing
    return current, False


def memo_key(req: PreviewRequest, policies: PolicySnapshot | PolicyLookup) -> tuple | None:
    """What `preview` depends on, for memoising it over many rows (tax files): the region, the
    payment date and the category — when the birth date matters only through the category.

    That holds for an ordinary payment made on or after the birth date: a late period starts on
    the waiting-period end, which is after the payment date, so `max(start, birth)` is the start.
    A newborn registration (periods from the birth date) or a payment before the birth date has
    no key (None): compute it. Keep this in step with `preview`; test_preview_rules checks that
    memoised and direct results agree.
    """
    if req.newborn_registration or req.payment_date < req.birth_date:
        return None
    policy, _ = benefit_policy(req, policies)
    category = req.category or category_on(birth_date=req.birth_date, day=req.payment_date, school_kind=req.school_kind,
                                           ages=category_ages(policy))
    return (req.region, req.payment_date, category)


def preview(req: PreviewRequest, policies: PolicySnapshot | PolicyLookup) -> Preview:
    """DOMAIN §1 contribution years, late payment, newborns, priced by the policy of the benefit
    year the payment buys (`benefit_policy`). `policies` is a lookup date -> snapshot (raising
    MissingParameter), or one snapshot for every date. Raises InvalidRequest, MissingParameter
    (naming the key), InvalidParameter or NotEligible."""
    paid, birth = req.payment_date, req.birth_date
    if paid < birth:
        raise NotEligible(Msg(gettext_noop("payment_date is before the person's birth date")))
    policy, window = benefit_policy(req, policies)
    ages = category_ages(policy)
    category = req.category or category_on(birth_date=birth, day=paid, school_kind=req.school_kind, ages=ages)

    periods: tuple[Period, ...] | None = None
    kind = "window" if window else "late"
    if req.newborn_registration:
        if paid >= ages.newborn_until(birth):
            raise NotEligible(Msg(gettext_noop("newborn_registration: the person is more than one year old on the payment date")))
        days = _int(policy, "contribution.newborn_registration_days")
        if (paid - birth).days <= days:
            kind = "newborn"
            last_year = paid.year
            if window:
                rule = _choice(policy, "contribution.newborn_in_window", ("next_year_from_birth", "birth_year"))
                if rule == "next_year_from_birth":
                    last_year = paid.year + 1
                else:  # the payment buys the birth year: that year's policy prices it
                    policy = _as_lookup(policies)(paid)
            periods = _whole_years(birth, last_year, waiting=False)
        # registered after the deadline: ordinary enrollment with the waiting period (below)

    if periods is None:
        if window:
            year = paid.year + 1
            periods = (Period(year, dt.date(year, 1, 1), dt.date(year, 12, 31), False),)
        else:
            start = waiting_start(policy, paid)
            if start.year != paid.year:
                raise NotEligible(Msg(gettext_noop("the waiting period ends on %(start)s, after the benefit year %(year)d"),
                                      start=start, year=paid.year))
            periods = (Period(paid.year, max(start, birth), dt.date(paid.year, 12, 31), True),)

    amount = _amount(policy, "contribution.amounts", category)
    if kind == "late":
        rule = _choice(policy, "contribution.late_amount_rule", ("individual", "individual_plus_subsidy"))
        if rule == "individual_plus_subsidy":
            amount += _amount(policy, "contribution.subsidy_amounts", category)
    return Preview(req.region, policy.version, category, amount.quantize(CENT), periods, kind)
