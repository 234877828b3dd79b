"""Request validation (contracts/quote.md): every refusal names the field at fault."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from medins.benefits import parse_quote_request
from medins.benefits.errors import InvalidRequest

from .builders import request


def test_valid_request_is_typed():
    """Contract request: Decimal amounts at cents, a real date, optional year_to_date defaulting to zero."""
    # given a contract request with an int amount and no year_to_date
    data = request(a=20000, b="10000.5", c="0")
    # when parsed
    req = parse_quote_request(data)
    # then amounts are Decimal with two places and year_to_date is empty
    assert req.service_date == dt.date(2021, 5, 10)
    assert (str(req.bill.class_a), str(req.bill.class_b), str(req.bill.class_c)) == ("20000.00", "10000.50", "0.00")
    assert req.year_to_date.fund_paid == Decimal("0")
    assert req.year_to_date.deductible_paid is False
    assert req.flags == ()
    assert req.programme is None


def test_request_is_frozen():
    """Contract request value: immutable, slotted."""
    # given a parsed request
    req = parse_quote_request(request(a="1.00"))
    # when assigned to, then it refuses
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.region = "370100"
    assert not hasattr(req, "__dict__")


def test_full_year_to_date_and_programme():
    """Contract request: year_to_date fields including fixed_copay_paid, and programme."""
    # given every optional field
    ytd = {
        "fund_paid": "1.00",
        "covered_personal": "2.00",
        "catastrophic_paid": "3.00",
        "deductible_paid": True,
        "fixed_copay_paid": "4.00",
    }
    # when parsed
    req = parse_quote_request(request(ytd=ytd, programme="dialysis_district"))
    # then they are carried
    assert req.year_to_date.fixed_copay_paid == Decimal("4.00")
    assert req.year_to_date.deductible_paid is True
    assert req.programme == "dialysis_district"


def _without(path):
    def change(data):
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        del target[last]

    return change


def _set(path, value):
    def change(data):
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_without("region"), "region"),
        (_set("region", 220100), "region"),
        (_set("region", "22010"), "region"),
        (_set("region", "２２０１００"), "region"),
        (_set("benefit", "teleport"), "benefit"),
        (_without("service_date"), "service_date"),
        (_set("service_date", "2021-02-30"), "service_date"),
        (_set("service_date", "20210510"), "service_date"),
        (_without("person"), "person"),
        (_set("person", "adult"), "person"),
        (_set("person.category", "retired"), "person.category"),
        (_set("person.name", "张三"), "person.name"),
        (_set("institution.level", ""), "institution.level"),
        (_set("institution.level", ["primary"]), "institution.level"),
        (_without("bill"), "bill"),
        (_without("bill.class_c"), "bill.class_c"),
        (_set("bill.class_b", "-1.00"), "bill.class_b"),
        (_set("bill.class_b", "1.234"), "bill.class_b"),
        (_set("bill.class_b", "1e3"), "bill.class_b"),
        (_set("bill.class_b", " 12"), "bill.class_b"),
        (_set("bill.class_b", 12.5), "bill.class_b"),
        (_set("bill.class_b", True), "bill.class_b"),
        (_set("bill.class_b", -3), "bill.class_b"),
        (_set("bill.class_d", "1.00"), "bill.class_d"),
        (_set("year_to_date", []), "year_to_date"),
        (_set("year_to_date.fund_paid", "lots"), "year_to_date.fund_paid"),
        (_set("year_to_date.deductible_paid", "no"), "year_to_date.deductible_paid"),
        (_set("year_to_date.fund_payed", "1.00"), "year_to_date.fund_payed"),
        (_set("flags", "referral"), "flags"),
        (_set("flags", ["referral", "vip"]), "flags[1]"),
        (_set("flags", ["referral", "referral"]), "flags[1]"),
        (_set("flags", ["long_term_out_of_area", "out_of_area_emergency"]), "flags[1]"),
        (_set("programme", 7), "programme"),
        (_set("programme", "Cataract"), "programme"),
        (_set("extra", 1), "extra"),
    ],
)
def test_invalid_field_is_named(change, field):
    """Contract errors: invalid_request names the field at fault with a dotted path."""
    # given a valid request with one field broken
    data = request(a="100.00", ytd={})
    change(data)
    # when parsed
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(data)
    # then the field is named in the error object
    assert exc.value.field == field
    assert exc.value.as_dict()["code"] == "invalid_request"
    assert exc.value.as_dict()["field"] == field


@pytest.mark.parametrize("body", [None, [], "{}", 3])
def test_body_must_be_an_object(body):
    """Contract request: the body is a JSON object."""
    # given a body that is not an object, when parsed, then 'body' is named
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(body)
    assert exc.value.field == "body"


def test_every_contract_benefit_is_available():
    """Contract: every benefit the contract lists is computed (issue #12 added the certified ones)."""
    from medins.benefits.request import BENEFITS, IMPLEMENTED_BENEFITS

    assert set(BENEFITS) <= IMPLEMENTED_BENEFITS
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(request(benefit="dental"))
    assert exc.value.field == "benefit"


def test_programme_only_for_inpatient():
    """DOMAIN §3.8 fixed-copay programmes are inpatient treatment (Decision: refused for day surgery)."""
    # given a day-surgery request with a programme, when parsed, then programme is named
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(request(benefit="day_surgery", programme="cataract_both_eyes"))
    assert exc.value.field == "programme"


def test_programme_refuses_out_of_area_flags():
    """DOMAIN §3.8 programmes are local designated treatment (Decision: no out-of-area flags)."""
    # given a programme with a flag, when parsed, then the flag is named
    with pytest.raises(InvalidRequest) as exc:
        parse_quote_request(request(programme="cataract_both_eyes", flags=["referral"]))
    assert exc.value.field == "flags[0]"
