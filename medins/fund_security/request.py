"""The contract's request JSON (already decoded) into `Facts`; refusals name the field.

contracts/fund-security.md "Request", "Optional fields" and "Invalid requests". Money and dates
go through the one parser of outside data (medins.parsing): a negative amount or a date that is
not a real day is an `invalid_request` naming the field with its dotted path
(`settlements[3].lines[0].amount`, `persons[0].covered[1][0]`).

Decisions where the contract is silent:
- Keys the contract does not name are ignored (a caller may send more of its record); the
  optional ones default as the contract says.
- `quantity` is a non-negative number (a JSON number or a decimal string); `days_supply` a
  non-negative whole number (a JSON integer, also written 7.0, or a digit string); codes (ids, institutions, items,
  diagnoses, diseases, drugs) are non-empty strings.
- A period's `to` may be null or absent (open-ended); `to` before `from` is refused.
- A certification names its `disease`, or its `drug` for a special-drug approval.
- `service_date` is required of every settlement that is not a stay; a stay's `service_date`,
  if sent, is not read (the contract dates a stay by `admitted`).
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

from ..benefits.errors import InvalidRequest
from ..parsing import parse_date, parse_money
from .facts import (
    BENEFITS,
    CERTIFIED_BENEFITS,
    LINE_KINDS,
    STAY_BENEFITS,
    VIA,
    ZERO,
    Certification,
    Facts,
    Line,
    Period,
    Person,
    Settlement,
)

_MISSING: Any = object()
_CERT_BENEFITS = CERTIFIED_BENEFITS


def _object(value: Any, field: str) -> dict:
    if type(value) is not dict:
        raise InvalidRequest(field, "is required" if value is None or value is _MISSING else "must be an object")
    return value


def _list(value: Any, field: str, *, required: bool = True) -> list:
    if value is _MISSING or value is None:
        if required:
            raise InvalidRequest(field, "is required")
        return []
    if type(value) is not list:
        raise InvalidRequest(field, "must be a list")
    return value


def _code(value: Any, field: str, *, required: bool = True) -> str | None:
    if type(value) is str and value.strip():
        return value.strip()
    if value is _MISSING or value is None:
        if required:
            raise InvalidRequest(field, "is required")
        return None
    raise InvalidRequest(field, "must be a non-empty string")


# Dates and amounts repeat a lot in one request (a year has 365 days; a hospital's prices are
# few): each distinct string is read once per request, kept in a per-thread memo that
# parse_request empties before and after (a thread's request never sees another's).
_state = threading.local()
_state.memo = {}


def _memo() -> dict:
    try:
        return _state.memo
    except AttributeError:  # a thread other than the importing one
        _state.memo = {}
        return _state.memo


def _date(value: Any, field: str, *, required: bool = True) -> dt.date | None:
    memo = _memo()
    if type(value) is str:
        day = memo.get(value)
        if day is not None:
            return day
    if value is _MISSING or value is None:
        if required:
            raise InvalidRequest(field, "is required")
        return None
    if type(value) is not str:
        raise InvalidRequest(field, "must be a date string YYYY-MM-DD")
    day = memo[value] = parse_date(value, field)
    return day


def _money(value: Any, field: str, **kwargs) -> Decimal:
    if type(value) is str:
        memo = _memo()
        amount = memo.get(("money", value))
        if amount is not None:
            return amount
        amount = memo[("money", value)] = parse_money(value, field, **kwargs)
        return amount
    return parse_money(value, field, **kwargs)


def _choice(value: Any, field: str, allowed: frozenset, *, default: Any = _MISSING) -> str:
    if (value is _MISSING or value is None) and default is not _MISSING:
        return default
    if type(value) is str and value in allowed:
        return value
    if value is _MISSING or value is None:
        raise InvalidRequest(field, "is required")
    raise InvalidRequest(field, f"must be one of {', '.join(sorted(allowed))}")


def _bool(value: Any, field: str) -> bool:
    if value is _MISSING or value is None:
        return False
    if type(value) is not bool:
        raise InvalidRequest(field, "must be true or false")
    return value


def _period(value: Any, field: str) -> Period:
    if type(value) is not list or len(value) != 2:
        raise InvalidRequest(field, "must be a period [from, to] (to may be null)")
    start = _date(value[0], f"{field}[0]")
    end = _date(value[1], f"{field}[1]", required=False)
    if end is not None and end < start:
        raise InvalidRequest(f"{field}[1]", "is before the period's start")
    return Period(start, end)


def _periods(value: Any, field: str, *, required: bool) -> tuple[Period, ...]:
    return tuple(_period(p, f"{field}[{i}]") for i, p in enumerate(_list(value, field, required=required)))


def _certification(value: Any, field: str) -> Certification:
    data = _object(value, field)
    benefit = _choice(data.get("benefit", _MISSING), f"{field}.benefit", _CERT_BENEFITS)
    drug = benefit == "special_drug"
    subject_key = "drug" if drug else "disease"
    subject = _code(data.get(subject_key, _MISSING), f"{field}.{subject_key}")
    start = _date(data.get("from", _MISSING), f"{field}.from")
    end = _date(data.get("to"), f"{field}.to", required=False)
    if end is not None and end < start:
        raise InvalidRequest(f"{field}.to", "is before from")
    dispensing = tuple(_code(d, f"{field}.dispensing[{i}]")
                       for i, d in enumerate(_list(data.get("dispensing", _MISSING), f"{field}.dispensing", required=False)))
    return Certification(benefit=benefit, institution=_code(data.get("institution", _MISSING), f"{field}.institution"),
                         start=start, end=end, disease=None if drug else subject, drug=subject if drug else None,
                         dispensing=dispensing)


def _person(value: Any, field: str) -> Person:
    data = _object(value, field)
    certs = _list(data.get("certifications", _MISSING), f"{field}.certifications", required=False)
    return Person(
        id=_code(data.get("id", _MISSING), f"{field}.id"),
        covered=_periods(data.get("covered", _MISSING), f"{field}.covered", required=True),
        died=_date(data.get("died"), f"{field}.died", required=False),
        grey_list=_periods(data.get("grey_list", _MISSING), f"{field}.grey_list", required=False),
        certifications=tuple(_certification(c, f"{field}.certifications[{i}]") for i, c in enumerate(certs)),
    )


def _quantity(value: Any, field: str) -> Decimal:
    if type(value) is int and value >= 0:
        return Decimal(value)
    if type(value) is str:
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number >= 0 and value == value.strip():
            return number
    if type(value) is float and value >= 0 and value == value and value != float("inf"):
        return Decimal(repr(value))  # a count, not money: 0.5 of a bed day loses nothing as a float
    if value is _MISSING or value is None:
        raise InvalidRequest(field, "is required")
    raise InvalidRequest(field, "must be a non-negative number (an integer or a decimal string)")


def _days_supply(value: Any, field: str) -> int | None:
    if value is _MISSING or value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is float and value >= 0 and value.is_integer():
        return int(value)
    raise InvalidRequest(field, "must be a non-negative whole number of days")


_QUANTITIES = tuple(Decimal(q) for q in range(100))


def _plain(value: Any) -> bool:
    """A code as the slow path would keep it (a non-empty string without surrounding spaces)."""
    return type(value) is str and value != "" and not value[0].isspace() and not value[-1].isspace()


def _line(value: Any, field: str) -> Line:
    # Fast path for the common shape (a line whose date and amount were already read once in
    # this request, plain codes, an integer quantity); anything else takes the checks below.
    if type(value) is dict:
        date, amount, kind, item = value.get("date"), value.get("amount"), value.get("kind"), value.get("item")
        quantity, drug, supply = value.get("quantity"), value.get("drug"), value.get("days_supply")
        memo = _memo()
        day = memo.get(date) if type(date) is str else None
        money = memo.get(("money", amount)) if type(amount) is str else None
        if (day is not None and money is not None and type(kind) is str and kind in LINE_KINDS and _plain(item)
                and type(quantity) is int and 0 <= quantity < 100 and (drug is None or _plain(drug))
                and (supply is None or (type(supply) is int and supply >= 0))):
            return Line(day, item, kind, _QUANTITIES[quantity], money, drug, supply)
    data = _object(value, field)
    return Line(
        date=_date(data.get("date", _MISSING), f"{field}.date"),
        item=_code(data.get("item", _MISSING), f"{field}.item"),
        kind=_choice(data.get("kind", _MISSING), f"{field}.kind", LINE_KINDS),
        quantity=_quantity(data.get("quantity", _MISSING), f"{field}.quantity"),
        amount=_money(data.get("amount"), f"{field}.amount"),
        drug=_code(data.get("drug"), f"{field}.drug", required=False),
        days_supply=_days_supply(data.get("days_supply", _MISSING), f"{field}.days_supply"),
    )


def _invoice(value: Any, field: str) -> tuple[str, str] | None:
    if value is None:
        return None
    data = _object(value, field)
    return (_code(data.get("issuer", _MISSING), f"{field}.issuer"), _code(data.get("number", _MISSING), f"{field}.number"))


def _settlement(value: Any, field: str, persons: dict[str, Person]) -> Settlement:
    data = _object(value, field)
    sid = _code(data.get("id", _MISSING), f"{field}.id")
    person = _code(data.get("person", _MISSING), f"{field}.person")
    if person not in persons:
        raise InvalidRequest(f"{field}.person", f"names unknown person {person!r}")
    benefit = _choice(data.get("benefit", _MISSING), f"{field}.benefit", BENEFITS)
    stay = benefit in STAY_BENEFITS
    admitted = discharged = service_date = None
    if stay:
        admitted = _date(data.get("admitted", _MISSING), f"{field}.admitted")
        discharged = _date(data.get("discharged", _MISSING), f"{field}.discharged")
        if discharged < admitted:
            raise InvalidRequest(f"{field}.discharged", "is before admitted")
    else:
        service_date = _date(data.get("service_date", _MISSING), f"{field}.service_date")
    lines = _list(data.get("lines", _MISSING), f"{field}.lines")
    return Settlement(
        id=sid,
        person=person,
        institution=_code(data.get("institution", _MISSING), f"{field}.institution"),
        benefit=benefit,
        via=_choice(data.get("via", _MISSING), f"{field}.via", VIA, default="direct"),
        total=_money(data.get("total"), f"{field}.total"),
        fund=_money(data.get("fund"), f"{field}.fund"),
        third_party_paid=_money(data.get("third_party_paid"), f"{field}.third_party_paid", default=ZERO),
        invoice=_invoice(data.get("invoice"), f"{field}.invoice"),
        admitted=admitted,
        discharged=discharged,
        diagnosis=_code(data.get("diagnosis"), f"{field}.diagnosis", required=False) if stay else None,
        transfer=_bool(data.get("transfer", _MISSING), f"{field}.transfer"),
        service_date=service_date,
        disease=_code(data.get("disease"), f"{field}.disease", required=False),
        drug=_code(data.get("drug"), f"{field}.drug", required=False),
        birth_date=_date(data.get("birth_date"), f"{field}.birth_date", required=False),
        lines=tuple(_line(x, f"{field}.lines[{i}]") for i, x in enumerate(lines)),
    )


def _region(value: Any) -> str:
    if type(value) is str and len(value) == 6 and value.isascii() and value.isdigit():
        return value
    if value is _MISSING or value is None:
        raise InvalidRequest("region", "is required")
    raise InvalidRequest("region", 'must be a 6-digit region code string (e.g. "220100")')


def parse_request(data: Any) -> Facts:
    """Validate a contract request (already JSON-decoded) into Facts, or raise InvalidRequest naming the field."""
    if type(data) is not dict:
        raise InvalidRequest("body", "must be a JSON object")
    _state.memo = {}
    try:
        return _parse(data)
    finally:
        _state.memo = {}


def _parse(data: dict) -> Facts:
    region = _region(data.get("region", _MISSING))
    as_of = _date(data.get("as_of", _MISSING), "as_of")
    persons: dict[str, Person] = {}
    for i, raw in enumerate(_list(data.get("persons", _MISSING), "persons")):
        person = _person(raw, f"persons[{i}]")
        if person.id in persons:
            raise InvalidRequest(f"persons[{i}].id", f"person {person.id!r} is given twice")
        persons[person.id] = person
    settlements: list[Settlement] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(data.get("settlements", _MISSING), "settlements")):
        settlement = _settlement(raw, f"settlements[{i}]", persons)
        if settlement.id in seen:
            raise InvalidRequest(f"settlements[{i}].id", f"settlement {settlement.id!r} is given twice")
        seen.add(settlement.id)
        settlements.append(settlement)
    return Facts(region=region, as_of=as_of, persons=persons, settlements=tuple(settlements))
