"""Reading the request (contracts/fund-security.md "Request", "Optional fields", "Invalid
requests"): every invalid request of the contract is refused naming the field; optional fields
default as the contract says."""

import copy
from decimal import Decimal

import pytest

from medins.fund_security import InvalidRequest, parse_request

from .builders import drug, line, person, request, stay, visit

VALID = request([stay("S1", "2021-03-01", "2021-03-10", invoice={"issuer": "H1", "number": "0001"},
                      lines=[line("2021-03-01", kind="bed", quantity=1, amount="40.00")]),
                 visit("S2", "2021-03-20", lines=[drug("2021-03-20", 7)])],
                persons=[person("P1", died=None, grey_list=[["2021-06-01", "2021-08-31"]],
                                certifications=[{"benefit": "chronic", "disease": "diabetes", "institution": "H2",
                                                 "from": "2021-01-01", "to": None}])])


def refused(mutate) -> InvalidRequest:
    data = copy.deepcopy(VALID)
    mutate(data)
    with pytest.raises(InvalidRequest) as exc:
        parse_request(data)
    return exc.value


def test_the_valid_request_reads_with_the_contracts_defaults():
    """Contract "Optional fields": third_party_paid absent is 0, via absent is direct, transfer
    absent is false, died absent is null, grey_list and certifications absent are none."""
    facts = parse_request(VALID)
    s1, s2 = facts.settlements
    assert (s2.via, s2.third_party_paid, s2.invoice, s1.transfer) == ("direct", Decimal("0.00"), None, False)
    assert s1.invoice == ("H1", "0001") and s1.day.isoformat() == "2021-03-01" and s1.stay_day_count == 9
    assert s2.lines[0].days_supply == 7 and s2.lines[0].drug == "D1"
    bare = parse_request(request([visit("S1", "2021-03-01")], persons=[{"id": "P1", "covered": []}]))
    assert bare.persons["P1"].died is None and bare.persons["P1"].grey_list == () == bare.persons["P1"].certifications


@pytest.mark.parametrize("mutate, field", [
    # a settlement naming an unknown person
    (lambda d: d["settlements"][1].update(person="P9"), "settlements[1].person"),
    # a date that is not a real day
    (lambda d: d.update(as_of="2021-02-29"), "as_of"),
    (lambda d: d["settlements"][0].update(admitted="2021-02-30"), "settlements[0].admitted"),
    (lambda d: d["settlements"][1].update(service_date="2021-13-01"), "settlements[1].service_date"),
    (lambda d: d["settlements"][0]["lines"][0].update(date="2021-04-31"), "settlements[0].lines[0].date"),
    (lambda d: d["persons"][0]["covered"][0].__setitem__(1, "2021-06-31"), "persons[0].covered[0][1]"),
    (lambda d: d["persons"][0]["grey_list"][0].__setitem__(0, "2021-00-01"), "persons[0].grey_list[0][0]"),
    (lambda d: d["persons"][0]["certifications"][0].update({"from": "2021-02-30"}),
     "persons[0].certifications[0].from"),
    (lambda d: d["persons"][0].update(died="2021-02-29"), "persons[0].died"),
    # a negative amount
    (lambda d: d["settlements"][0].update(total="-1.00"), "settlements[0].total"),
    (lambda d: d["settlements"][0].update(fund="-0.01"), "settlements[0].fund"),
    (lambda d: d["settlements"][0].update(third_party_paid="-5"), "settlements[0].third_party_paid"),
    (lambda d: d["settlements"][0]["lines"][0].update(amount="-40.00"), "settlements[0].lines[0].amount"),
    # an unknown benefit, line kind or via
    (lambda d: d["settlements"][1].update(benefit="dental"), "settlements[1].benefit"),
    (lambda d: d["settlements"][0]["lines"][0].update(kind="spa"), "settlements[0].lines[0].kind"),
    (lambda d: d["settlements"][1].update(via="fax"), "settlements[1].via"),
    # two settlements or persons with one id
    (lambda d: d["settlements"][1].update(id="S1"), "settlements[1].id"),
    (lambda d: d["persons"].append({"id": "P1", "covered": []}), "persons[1].id"),
    # discharged before admitted
    (lambda d: d["settlements"][0].update(discharged="2021-02-28"), "settlements[0].discharged"),
])
def test_every_invalid_request_of_the_contract_names_its_field(mutate, field):
    """Contract "Invalid requests": unknown person, a date that is not a real day, a negative
    amount, an unknown benefit, line kind or via, two settlements or persons with one id,
    discharged before admitted — invalid_request naming the field."""
    exc = refused(mutate)
    assert exc.field == field
    assert exc.as_dict()["code"] == "invalid_request" and exc.as_dict()["field"] == field


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("region"), "region"),
    (lambda d: d.pop("as_of"), "as_of"),
    (lambda d: d.pop("persons"), "persons"),
    (lambda d: d.pop("settlements"), "settlements"),
    (lambda d: d["persons"][0].pop("covered"), "persons[0].covered"),
    (lambda d: d["settlements"][0].pop("discharged"), "settlements[0].discharged"),
    (lambda d: d["settlements"][1].pop("service_date"), "settlements[1].service_date"),
    (lambda d: d["settlements"][1].pop("institution"), "settlements[1].institution"),
    (lambda d: d["settlements"][1].pop("fund"), "settlements[1].fund"),
    (lambda d: d["settlements"][1].pop("lines"), "settlements[1].lines"),
    (lambda d: d["settlements"][0]["lines"][0].pop("quantity"), "settlements[0].lines[0].quantity"),
    (lambda d: d["settlements"][0]["invoice"].pop("number"), "settlements[0].invoice.number"),
    (lambda d: d["persons"][0]["certifications"][0].pop("disease"), "persons[0].certifications[0].disease"),
])
def test_a_required_field_missing_is_named(mutate, field):
    """Contract "Optional fields": everything not listed there is required."""
    assert refused(mutate).field == field


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(region=220100), "region"),
    (lambda d: d["settlements"][0]["lines"][0].update(quantity=-1), "settlements[0].lines[0].quantity"),
    (lambda d: d["settlements"][1]["lines"][0].update(days_supply="seven"), "settlements[1].lines[0].days_supply"),
    (lambda d: d["settlements"][0].update(transfer="yes"), "settlements[0].transfer"),
    (lambda d: d["settlements"][0].update(total=12.5), "settlements[0].total"),
    (lambda d: d["persons"][0]["covered"][0].__setitem__(1, "2020-12-31"), "persons[0].covered[0][1]"),
])
def test_malformed_values_are_refused(mutate, field):
    """Decisions in medins/fund_security/request.py: types are checked, floats are not money."""
    assert refused(mutate).field == field


def test_body_must_be_an_object():
    with pytest.raises(InvalidRequest) as exc:
        parse_request([VALID])
    assert exc.value.field == "body"


def test_requests_read_in_threads_at_once_do_not_mix():
    """medins/fund_security/request.py: the per-request memo of dates and amounts is per thread."""
    from concurrent.futures import ThreadPoolExecutor

    def one(n: int):
        req = request([visit(f"S{n}-{i}", f"2021-03-{1 + (i + n) % 28:02d}",
                             lines=[line(f"2021-03-{1 + (i + n) % 28:02d}", amount=f"{n}.{i % 100:02d}")])
                       for i in range(300)])
        facts = parse_request(req)
        return all(s.day == s.lines[0].date and s.lines[0].amount == Decimal(f"{n}.{i % 100:02d}")
                   and s.day.day == 1 + (i + n) % 28 for i, s in enumerate(facts.settlements))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(one, range(1, 17)))
