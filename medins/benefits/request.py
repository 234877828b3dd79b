"""Validation of a quote request (contracts/quote.md) into a typed, immutable value.

Hand-written checks rather than a schema library: `quote --many` must sustain thousands of
requests a second. Every refusal names the offending field with a dotted path
(`bill.class_b`, `flags[1]`, ...). Unknown keys are refused too, so a misspelt
`year_to_date` field can never silently count as zero.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..parsing import parse_money
from .errors import InvalidRequest

BENEFITS = (
    "inpatient",
    "day_surgery",
    "special_disease",
    "chronic",
    "outpatient_pool",
    "special_drug",
    "two_diseases",
    "accident",
    "maternity",
    "long_term_care",
)
IMPLEMENTED_BENEFITS = frozenset({"inpatient", "day_surgery", "accident", "maternity", "outpatient_pool", "chronic",
                                  "special_disease", "special_drug", "two_diseases"})
CATEGORIES = frozenset({"adult", "minor", "student", "college_student", "newborn"})
FLAGS = frozenset(
    {
        "long_term_out_of_area",
        "out_of_area_emergency",
        "out_of_area_non_emergency",
        "direct_settlement_skipped",
        "referral",
    }
)
# Each of these says why the person was treated away from home; they cannot be combined.
# direct_settlement_skipped is a separate fact and combines with any of them.
_WHERE_TREATED_FLAGS = frozenset(
    {"long_term_out_of_area", "out_of_area_emergency", "out_of_area_non_emergency", "referral"}
)

_TOP_KEYS = frozenset(
    {"region", "benefit", "service_date", "person", "institution", "bill", "year_to_date", "flags", "programme", "delivery",
     "certified_diseases", "disease", "drug", "insulin_user"}
)
_PERSON_KEYS = frozenset({"category", "poverty_registered"})
_INSTITUTION_KEYS = frozenset({"level", "township"})
# The certified outpatient benefits' own fields (contracts/quote.md "Certified outpatient
# benefits"): which benefit takes which; any other benefit refuses them.
_BENEFIT_FIELDS = {
    "certified_diseases": frozenset({"chronic"}),
    "disease": frozenset({"chronic", "special_disease", "two_diseases"}),
    "drug": frozenset({"special_drug"}),
    "insulin_user": frozenset({"two_diseases"}),
}
_REQUIRED_FIELDS = {"special_disease": ("disease",), "special_drug": ("drug",), "two_diseases": ("disease",),
                    "chronic": ("certified_diseases",)}
_ITEM_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_BILL_KEYS = ("class_a", "class_b", "class_c")
_YTD_AMOUNT_KEYS = ("fund_paid", "covered_personal", "catastrophic_paid", "fixed_copay_paid", "eligible_counted",
                    "deductible_paid_amount", "shared_fund_paid", "disease_fund_paid")
_YTD_KEYS = frozenset({*_YTD_AMOUNT_KEYS, "deductible_paid"})

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")



@dataclass(frozen=True, slots=True)
class Bill:
    class_a: Decimal
    class_b: Decimal
    class_c: Decimal

    @property
    def total(self) -> Decimal:
        return self.class_a + self.class_b + self.class_c


@dataclass(frozen=True, slots=True)
class YearToDate:
    """What the person already used this year (read from the yearly ledger by the caller)."""

    fund_paid: Decimal = Decimal("0.00")
    covered_personal: Decimal = Decimal("0.00")  # catastrophic accumulator, before catastrophic payments
    catastrophic_paid: Decimal = Decimal("0.00")
    deductible_paid: bool = False
    fixed_copay_paid: Decimal = Decimal("0.00")  # paid this year on a per-year fixed-copay programme
    eligible_counted: Decimal = Decimal("0.00")  # compliant cost already counted this year (accident)
    deductible_paid_amount: Decimal = Decimal("0.00")  # paid towards a once-a-year deductible (outpatient pool)
    shared_fund_paid: Decimal = Decimal("0.00")  # fund of every benefit in the region's shared outpatient total
    disease_fund_paid: Decimal = Decimal("0.00")  # special disease: fund paid this year for this disease (own caps)


EMPTY_YEAR_TO_DATE = YearToDate()


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    region: str
    benefit: str
    service_date: dt.date
    category: str  # person.category
    level: str  # institution.level
    bill: Bill
    year_to_date: YearToDate = EMPTY_YEAR_TO_DATE
    flags: tuple[str, ...] = ()
    programme: str | None = None
    delivery: str | None = None  # maternity: the kind of delivery (lump-sum key)
    certified_diseases: tuple[str, ...] = ()  # chronic: every disease certified on the service date
    disease: str | None = None  # chronic (Jinan), special disease, 两病: the disease this visit treats
    drug: str | None = None  # special drug: the catalogue code
    insulin_user: bool = False  # 两病: a diabetic on insulin on the service date
    poverty_registered: bool = False  # person.poverty_registered (建档立卡 on the service date)
    township: bool = False  # institution.township: a primary-level township health centre (乡镇卫生院)


def parse_amount(value: Any, field: str) -> Decimal:
    """A money amount of the request (a decimal string or an int), always with two places; errors name the field.

    The one money parser (medins.parsing.parse_money): its ParseError is an InvalidRequest."""
    return parse_money(value, field)


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if type(value) is not dict:
        if value is None:
            raise InvalidRequest(key, "is required")
        raise InvalidRequest(key, "must be an object")
    return value


def _no_unknown_keys(obj: dict, allowed: frozenset, prefix: str) -> None:
    extra = obj.keys() - allowed
    if extra:
        name = sorted(map(str, extra))[0]
        raise InvalidRequest(f"{prefix}{name}", "is not a known field")


def _choice(obj: dict, key: str, field: str, allowed: frozenset) -> str:
    value = obj.get(key)
    if type(value) is str and value in allowed:
        return value
    if value is None:
        raise InvalidRequest(field, "is required")
    raise InvalidRequest(field, f"must be one of {', '.join(sorted(allowed))}")


def _region(data: dict) -> str:
    value = data.get("region")
    if type(value) is str and len(value) == 6 and value.isascii() and value.isdigit():
        return value
    if value is None:
        raise InvalidRequest("region", "is required")
    raise InvalidRequest("region", 'must be a 6-digit region code string (e.g. "220100")')


def _benefit(data: dict) -> str:
    value = data.get("benefit")
    if type(value) is str and value in IMPLEMENTED_BENEFITS:
        return value
    if value is None:
        raise InvalidRequest("benefit", "is required")
    if type(value) is str and value in BENEFITS:
        raise InvalidRequest("benefit", f"'{value}' is not available yet")
    raise InvalidRequest("benefit", f"must be one of {', '.join(BENEFITS)}")


def _service_date(data: dict) -> dt.date:
    value = data.get("service_date")
    if type(value) is str and _DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        raise InvalidRequest("service_date", "is not a real calendar date")
    if value is None:
        raise InvalidRequest("service_date", "is required")
    raise InvalidRequest("service_date", "must be a date string YYYY-MM-DD")


def _boolean(obj: dict, key: str, field: str) -> bool:
    value = obj.get(key, False)
    if type(value) is not bool:
        raise InvalidRequest(field, "must be true or false")
    return value


def _level(data: dict) -> str:
    institution = _object(data, "institution")
    _no_unknown_keys(institution, _INSTITUTION_KEYS, "institution.")
    value = institution.get("level")
    # Levels are region-specific (the policy defines them), so only the shape is checked here;
    # a level the policy has no parameters for is a missing parameter, not a guess.
    if type(value) is str and _CODE_RE.fullmatch(value):
        if _boolean(institution, "township", "institution.township") and value != "primary":
            raise InvalidRequest("institution.township", "only a primary-level institution is a township health centre")
        return value
    if value is None:
        raise InvalidRequest("institution.level", "is required")
    raise InvalidRequest("institution.level", "must be a level code such as 'municipal_tertiary'")


def _bill(data: dict) -> Bill:
    bill = _object(data, "bill")
    _no_unknown_keys(bill, frozenset(_BILL_KEYS), "bill.")
    amounts = []
    for key in _BILL_KEYS:
        value = bill.get(key)
        if value is None:
            raise InvalidRequest(f"bill.{key}", 'is required (use "0.00" for none)')
        amounts.append(parse_amount(value, f"bill.{key}"))
    return Bill(*amounts)


def _year_to_date(data: dict) -> YearToDate:
    ytd = data.get("year_to_date")
    if ytd is None:
        return EMPTY_YEAR_TO_DATE
    if type(ytd) is not dict:
        raise InvalidRequest("year_to_date", "must be an object")
    if not ytd:
        return EMPTY_YEAR_TO_DATE
    _no_unknown_keys(ytd, _YTD_KEYS, "year_to_date.")
    amounts = {}
    for key in _YTD_AMOUNT_KEYS:
        value = ytd.get(key)
        if value is not None:
            amounts[key] = parse_amount(value, f"year_to_date.{key}")
    paid = ytd.get("deductible_paid", False)
    if type(paid) is not bool:
        raise InvalidRequest("year_to_date.deductible_paid", "must be true or false")
    return YearToDate(deductible_paid=paid, **amounts)


def _flags(data: dict) -> tuple[str, ...]:
    flags = data.get("flags")
    if flags is None:
        return ()
    if type(flags) is not list:
        raise InvalidRequest("flags", "must be a list")
    if not flags:
        return ()
    seen: set[str] = set()
    where = None
    for i, flag in enumerate(flags):
        if type(flag) is not str or flag not in FLAGS:
            raise InvalidRequest(f"flags[{i}]", f"must be one of {', '.join(sorted(FLAGS))}")
        if flag in seen:
            raise InvalidRequest(f"flags[{i}]", f"'{flag}' is given twice")
        if flag in _WHERE_TREATED_FLAGS:
            if where is not None:
                raise InvalidRequest(f"flags[{i}]", f"'{flag}' cannot be combined with '{where}'")
            where = flag
        seen.add(flag)
    return tuple(flags)


def _programme(data: dict) -> str | None:
    value = data.get("programme")
    if value is None:
        return None
    if type(value) is str and _CODE_RE.fullmatch(value):
        return value
    raise InvalidRequest("programme", "must be a programme code such as 'cataract_both_eyes'")


def parse_quote_request(data: Any) -> QuoteRequest:
    """Validate a contract request (already JSON-decoded) or raise InvalidRequest naming the field."""
    if type(data) is not dict:
        raise InvalidRequest("body", "must be a JSON object")
    _no_unknown_keys(data, _TOP_KEYS, "")
    region = _region(data)
    benefit = _benefit(data)
    service_date = _service_date(data)
    person = _object(data, "person")
    _no_unknown_keys(person, _PERSON_KEYS, "person.")
    category = _choice(person, "category", "person.category", CATEGORIES)
    level = _level(data)
    if benefit == "long_term_care" or "care" in data or "birth_date" in person:
        return _long_term_care_request(data, person, region, benefit, service_date, category, level)
    bill = _bill(data)
    year_to_date = _year_to_date(data)
    flags = _flags(data)
    programme = _programme(data)
    if programme is not None:
        # Fixed-copay programmes are inpatient treatment at designated local hospitals.
        if benefit != "inpatient":
            raise InvalidRequest("programme", "fixed-copay programmes apply to the inpatient benefit only")
        if flags:
            raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to a fixed-copay programme")
    delivery = _delivery(data, benefit)
    poverty = _boolean(person, "poverty_registered", "person.poverty_registered")
    township = _boolean(data["institution"], "township", "institution.township")
    if benefit in _REQUIRED_FIELDS or not data.keys().isdisjoint(_BENEFIT_FIELDS):
        certified, disease, drug, insulin = _certified_fields(data, benefit)
    else:
        certified, disease, drug, insulin = (), None, None, False
    return QuoteRequest(region, benefit, service_date, category, level, bill, year_to_date, flags, programme, delivery,
                        certified, disease, drug, insulin, poverty, township)


def _item_code(value: Any, field: str) -> str:
    if type(value) is str and _ITEM_CODE_RE.fullmatch(value):
        return value
    raise InvalidRequest(field, "must be a catalogue code such as 'diabetes' or 'SPD-027'")


def _certified_fields(data: dict, benefit: str) -> tuple[tuple[str, ...], str | None, str | None, bool]:
    """certified_diseases, disease, drug and insulin_user: only for the benefits that take them."""
    for key, benefits in _BENEFIT_FIELDS.items():
        if key in data and benefit not in benefits:
            raise InvalidRequest(key, f"applies to the {' and '.join(sorted(benefits))} benefit only")
    for key in _REQUIRED_FIELDS.get(benefit, ()):
        if data.get(key) is None:
            raise InvalidRequest(key, f"is required for the {benefit} benefit")
    certified: tuple[str, ...] = ()
    if benefit == "chronic":
        value = data["certified_diseases"]
        if type(value) is not list or not value:
            raise InvalidRequest("certified_diseases", "must be a non-empty list of chronic disease codes")
        codes = []
        for i, code in enumerate(value):
            code = _item_code(code, f"certified_diseases[{i}]")
            if code in codes:
                raise InvalidRequest(f"certified_diseases[{i}]", f"'{code}' is given twice")
            codes.append(code)
        certified = tuple(codes)
    disease = data.get("disease")
    if disease is not None:
        disease = _item_code(disease, "disease")
        if certified and disease not in certified:
            raise InvalidRequest("disease", "must be one of certified_diseases")
    drug = data.get("drug")
    if drug is not None:
        drug = _item_code(drug, "drug")
    insulin = _boolean(data, "insulin_user", "insulin_user")
    return certified, disease, drug, insulin


def _delivery(data: dict, benefit: str) -> str | None:
    """Maternity only: the kind of delivery, a lump-sum key of the region's policy (e.g. 'caesarean')."""
    value = data.get("delivery")
    if benefit != "maternity":
        if value is not None:
            raise InvalidRequest("delivery", "applies to the maternity benefit only")
        return None
    if value is None:
        raise InvalidRequest("delivery", "is required for the maternity benefit")
    if type(value) is str and _CODE_RE.fullmatch(value):
        return value
    raise InvalidRequest("delivery", "must be a delivery code such as 'vaginal' or 'caesarean'")


# --------------------------------------------------------------------------- long-term care
# contracts/quote.md "long_term_care": no bill (the costs are in care.days), the person's birth
# date, and care = {adl_score, days: [{date, <item>: amount, ...}]}. The item names are the
# policy's (checked by medins/benefits/long_term_care.py); here only their shape is.

IMPLEMENTED_BENEFITS |= {"long_term_care"}
_TOP_KEYS |= {"care"}
_PERSON_KEYS |= {"birth_date"}  # age on each day
CARE_MAX_DAYS = 31
_CARE_KEYS = frozenset({"adl_score", "days"})
# The top-level fields a long_term_care request may carry; every other known field (bill, flags,
# programme, another benefit's own fields) is refused by name.
_CARE_TOP_KEYS = frozenset({"region", "benefit", "service_date", "person", "institution", "year_to_date", "care"})


@dataclass(frozen=True, slots=True)
class CareDay:
    date: dt.date
    items: dict[str, Decimal]  # item name -> amount, as sent (bed, nursing, supplies, other)


@dataclass(frozen=True, slots=True)
class CareClaim:
    adl_score: int | None  # the Barthel total of the assessment valid for the period, None for none
    days: tuple[CareDay, ...]  # in date order, one calendar month at most


@dataclass(frozen=True, slots=True)
class CareQuoteRequest(QuoteRequest):
    """A long_term_care request: no bill (zeros), the person's birth date and the care claim."""

    birth_date: dt.date | None = None  # person.birth_date: age in completed years on each day
    care: CareClaim | None = None  # the assessment and the days of one claim period


def _iso_date(value: Any, field: str) -> dt.date:
    if type(value) is str and _DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(field, "is not a real calendar date") from None
    if value is None:
        raise InvalidRequest(field, "is required")
    raise InvalidRequest(field, "must be a date string YYYY-MM-DD")


_ITEM_NAMES: set[str] = set()  # item names already seen to be well-formed (a handful: bed, nursing, ...)


def _care_day(value: Any, i: int, previous: dt.date | None, service_date: dt.date,
              amounts: dict[str, Decimal]) -> CareDay:
    """One day; `amounts` memoises the request's amount strings (a month repeats the same few)."""
    where = f"care.days[{i}]"
    if type(value) is not dict:
        raise InvalidRequest(where, "must be an object")
    day = _iso_date(value.get("date"), f"{where}.date")
    if previous is None:
        if day != service_date:
            raise InvalidRequest(f"{where}.date", "must be the service_date (the first day of the period)")
    elif day <= previous:
        raise InvalidRequest(f"{where}.date", "days must be in date order, each day once")
    elif (day.year, day.month) != (service_date.year, service_date.month):
        raise InvalidRequest(f"{where}.date", "must be in the month of service_date (one request per claim month)")
    items = {}
    for key, amount in value.items():
        if key == "date":
            continue
        if key not in _ITEM_NAMES:
            if type(key) is not str or not _CODE_RE.fullmatch(key):
                raise InvalidRequest(f"{where}.{key}", "is not an item name such as 'bed'")
            if len(_ITEM_NAMES) < 64:
                _ITEM_NAMES.add(key)
        parsed = amounts.get(amount) if type(amount) is str else None
        if parsed is None:
            parsed = parse_amount(amount, f"{where}.{key}")
            if type(amount) is str:
                amounts[amount] = parsed
        items[key] = parsed
    return CareDay(day, items)


def _long_term_care_request(data: dict, person: dict, region: str, benefit: str, service_date: dt.date,
                            category: str, level: str) -> QuoteRequest:
    if benefit != "long_term_care":
        field = "care" if "care" in data else "person.birth_date"
        raise InvalidRequest(field, "applies to the long_term_care benefit only")
    extra = sorted(data.keys() - _CARE_TOP_KEYS)
    if extra:
        raise InvalidRequest(extra[0], "does not apply to long_term_care (the costs are in care.days)")
    if "birth_date" not in person:
        raise InvalidRequest("person.birth_date", "is required for long_term_care (age on each day)")
    birth_date = _iso_date(person["birth_date"], "person.birth_date")
    if birth_date > service_date:
        raise InvalidRequest("person.birth_date", "is after service_date")
    care = _object(data, "care")
    _no_unknown_keys(care, _CARE_KEYS, "care.")
    if "adl_score" not in care:
        raise InvalidRequest("care.adl_score", "is required (null when the person has no valid assessment)")
    score = care["adl_score"]
    if score is not None and (type(score) is not int or score < 0):
        raise InvalidRequest("care.adl_score", "must be a whole-number score or null")
    days = care.get("days")
    if type(days) is not list or not days:
        raise InvalidRequest("care.days", "must be a non-empty list of days")
    if len(days) > CARE_MAX_DAYS:
        raise InvalidRequest("care.days", f"holds at most {CARE_MAX_DAYS} days (one claim month)")
    parsed: list[CareDay] = []
    previous = None
    amounts: dict[str, Decimal] = {}
    for i, value in enumerate(days):
        day = _care_day(value, i, previous, service_date, amounts)
        parsed.append(day)
        previous = day.date
    zero = Decimal("0.00")
    return CareQuoteRequest(region, benefit, service_date, category, level, Bill(zero, zero, zero),
                            _year_to_date(data), birth_date=birth_date, care=CareClaim(score, tuple(parsed)))
