"""DOMAIN §1 contribution rules through the pure preview (no database): windows, waiting
periods, amounts, newborns. Policy: the shipped 220100-2021 / 370100-2021 parameters."""

import datetime as dt
from dataclasses import replace

import pytest

from enrollment.preview import CategoryAges, PreviewRequest, category_on, parse_preview_request, preview
from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible
from medins.benefits.policy import PolicySnapshot

ADULT = dt.date(1990, 1, 31)
AGES = CategoryAges(newborn_months=12, adult_age=18)  # the shipped category.newborn_months / category.adult_age


def req(paid, birth=ADULT, region="220100", **kw):
    return PreviewRequest(region=region, birth_date=birth, payment_date=paid, **kw)


def with_params(policy: PolicySnapshot, **params) -> PolicySnapshot:
    return PolicySnapshot(policy.region, policy.version, None, {**policy.params, **params})


def periods(result):
    return [(p.benefit_year, p.covered_from, p.covered_to, p.waiting) for p in result.periods]


def test_contract_example():
    """contracts/enrollment-preview.md: paid 2021-03-15 in Changchun -> 320, covered from 2021-06-15."""
    data = {"region": "220100", "person": {"id_number": "220102199001011239", "category": "adult"},
            "payment_date": "2021-03-15", "newborn_registration": False}
    from tests.enrollment.conftest import shipped_params

    policy = PolicySnapshot("220100", "220100-2021", None, shipped_params("220100-2021"))

    body = preview(parse_preview_request(data), policy).as_dict()

    assert body == {"region": "220100", "policy_version": "220100-2021", "amount_due": "320.00",
                    "periods": [{"benefit_year": 2021, "covered_from": "2021-06-15", "covered_to": "2021-12-31",
                                 "waiting": True}]}


@pytest.mark.parametrize("number, why", [
    ("22010219900101123", "18 characters"),   # 17 characters
    ("22010219900101123Y", "17 digits"),      # not a digit or X
    ("220102199013011234", "not a real date"),
    ("220102199001011234", "check digit is 4, expected 9"),  # the contract's old, typo'd example
    ("22010219900101123x", "check digit is X, expected 9"),
])
def test_preview_verifies_the_id_number_like_everything_else(number, why):
    """DOMAIN §1 (GB 11643 check character), issue #14: a typo'd ID number is invalid_request on
    person.id_number in the preview too, as in every other place that reads one."""
    data = {"region": "220100", "person": {"id_number": number}, "payment_date": "2021-03-15"}

    with pytest.raises(InvalidRequest) as exc:
        parse_preview_request(data)

    assert exc.value.field == "person.id_number" and why in str(exc.value)
    assert exc.value.as_dict()["code"] == "invalid_request"


def test_preview_reads_the_birth_date_of_a_valid_id_number():
    """DOMAIN §1: the birth date is digits 7–14; the contract's corrected example is valid."""
    from enrollment.idnumber import check_char

    example = "220102199001011239"
    assert check_char(example[:17]) == example[17]

    parsed = parse_preview_request({"region": "220100", "person": {"id_number": example}, "payment_date": "2021-03-15"})

    assert parsed.birth_date == dt.date(1990, 1, 1)


@pytest.mark.parametrize("paid", [dt.date(2021, 10, 1), dt.date(2021, 11, 15), dt.date(2021, 12, 31)])
def test_changchun_window_buys_next_year_without_waiting(changchun_policy, paid):
    """DOMAIN §1: Changchun window 1 Oct – 31 Dec buys 1 Jan – 31 Dec of the next year, no waiting."""
    result = preview(req(paid), changchun_policy)

    assert periods(result) == [(2022, dt.date(2022, 1, 1), dt.date(2022, 12, 31), False)]
    assert result.amount_due == 320


def test_changchun_day_before_window_is_late(changchun_policy):
    """DOMAIN §1: 30 Sep is after the window of the year before, within the benefit year: late."""
    result = preview(req(dt.date(2021, 9, 30)), changchun_policy)

    assert periods(result) == [(2021, dt.date(2021, 12, 30), dt.date(2021, 12, 31), True)]


@pytest.mark.parametrize("paid, start", [
    (dt.date(2021, 3, 15), dt.date(2021, 6, 15)),
    (dt.date(2021, 3, 31), dt.date(2021, 6, 30)),  # June has no 31st: clamped to month end
    (dt.date(2021, 1, 31), dt.date(2021, 4, 30)),
    (dt.date(2021, 2, 28), dt.date(2021, 5, 28)),
])
def test_changchun_late_payment_waits_three_calendar_months(changchun_policy, paid, start):
    """DOMAIN §1 Decision: start = payment date + 3 calendar months (same day, clamped to month end)."""
    result = preview(req(paid), changchun_policy)

    assert periods(result) == [(2021, start, dt.date(2021, 12, 31), True)]


def test_jinan_window_is_september_to_december(jinan_policy):
    """DOMAIN §1: Jinan window Sep – Dec."""
    policy = with_params(jinan_policy, **{"contribution.amounts": {"adult": "100"}})

    assert periods(preview(req(dt.date(2021, 9, 1), region="370100"), policy)) == [
        (2022, dt.date(2022, 1, 1), dt.date(2022, 12, 31), False)]


@pytest.mark.parametrize("paid, start", [
    (dt.date(2021, 3, 15), dt.date(2021, 7, 1)),
    (dt.date(2021, 3, 1), dt.date(2021, 7, 1)),
    (dt.date(2021, 1, 31), dt.date(2021, 5, 1)),
    (dt.date(2021, 8, 31), dt.date(2021, 12, 1)),
])
def test_jinan_waiting_counts_from_the_month_after_payment(jinan_policy, paid, start):
    """DOMAIN §1: Jinan paid 15 Mar -> waits Apr, May, Jun -> covered from 1 Jul."""
    policy = with_params(jinan_policy, **{"contribution.amounts": {"adult": "100"},
                                          "contribution.subsidy_amounts": {"adult": "600"}})

    result = preview(req(paid, region="370100"), policy)

    assert periods(result) == [(2021, start, dt.date(2021, 12, 31), True)]


def test_jinan_amounts_are_missing_and_named(jinan_policy):
    """Issue #3: the seeds give no Jinan amounts: missing_parameter naming the key."""
    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2021, 3, 15), region="370100"), jinan_policy)

    assert exc.value.parameter == "contribution.amounts"


def test_jinan_late_payer_pays_individual_share_plus_subsidy(jinan_policy):
    """DOMAIN §1: late payers in Jinan pay the individual share plus the government subsidy."""
    policy = with_params(jinan_policy, **{"contribution.amounts": {"adult": "100"},
                                          "contribution.subsidy_amounts": {"adult": "600"}})

    assert preview(req(dt.date(2021, 3, 15), region="370100"), policy).amount_due == 700
    assert preview(req(dt.date(2021, 10, 15), region="370100"), policy).amount_due == 100


def test_jinan_subsidy_missing_is_named(jinan_policy):
    """Issue #3: the subsidy amount is not in the seed: missing_parameter names it."""
    policy = with_params(jinan_policy, **{"contribution.amounts": {"adult": "100"}})

    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2021, 3, 15), region="370100"), policy)

    assert exc.value.parameter == "contribution.subsidy_amounts"


@pytest.mark.parametrize("birth, school, category, amount", [
    (dt.date(1990, 1, 31), None, "adult", 320),
    (dt.date(2008, 6, 3), None, "minor", 200),
    (dt.date(2012, 6, 3), "primary_secondary", "student", 200),
    (dt.date(2020, 6, 3), None, "newborn", 200),
])
def test_changchun_amounts_by_category(changchun_policy, birth, school, category, amount):
    """DOMAIN §1: Changchun 2021 adult 320, minor/student 200, newborn 200."""
    result = preview(req(dt.date(2021, 3, 15), birth=birth, school_kind=school), changchun_policy)

    assert (result.category, result.amount_due) == (category, amount)


def test_changchun_college_student_amount_is_missing(changchun_policy):
    """Issue #3: the seed gives no college-student amount: missing_parameter naming the entry."""
    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2021, 3, 15), birth=dt.date(2002, 5, 18), school_kind="college"), changchun_policy)

    assert exc.value.parameter == "contribution.amounts.college_student"


def test_newborn_falls_back_to_minor_rate_when_no_newborn_amount(changchun_policy):
    """DOMAIN §1: newborn is treated as minor for rates."""
    amounts = {"adult": "320", "minor": "180"}
    policy = with_params(changchun_policy, **{"contribution.amounts": amounts})

    assert preview(req(dt.date(2021, 3, 15), birth=dt.date(2021, 1, 5)), policy).amount_due == 180


def test_category_on_a_date():
    """DOMAIN §1: newborn = first year of life; minor = under 18 on the date; college/student by school."""
    birth = dt.date(2003, 5, 18)

    assert category_on(birth_date=birth, day=dt.date(2004, 5, 17), ages=AGES) == "newborn"
    assert category_on(birth_date=birth, day=dt.date(2004, 5, 18), ages=AGES) == "minor"
    assert category_on(birth_date=birth, day=dt.date(2021, 5, 17), ages=AGES) == "minor"
    assert category_on(birth_date=birth, day=dt.date(2021, 5, 18), ages=AGES) == "adult"
    assert category_on(birth_date=birth, day=dt.date(2021, 5, 18), school_kind="college", ages=AGES) == "college_student"
    assert category_on(birth_date=birth, day=dt.date(2015, 5, 18), school_kind="primary_secondary", ages=AGES) == "student"


def test_category_boundaries_are_policy_parameters(changchun_policy):
    """DOMAIN §1 + preamble (every number is policy data), issue #10 item 5: the adult age and the
    newborn's first year come from category.adult_age / category.newborn_months, not from code."""
    birth = dt.date(2003, 5, 18)
    policy = with_params(changchun_policy, **{"category.adult_age": "16", "category.newborn_months": "6"})

    assert preview(req(dt.date(2019, 5, 20), birth=birth), policy).category == "adult"  # 16, under 18
    assert preview(req(dt.date(2003, 11, 17), birth=birth), policy).category == "newborn"
    assert preview(req(dt.date(2003, 11, 18), birth=birth), policy).category == "minor"  # 6 months old
    assert preview(req(dt.date(2019, 5, 20), birth=birth), changchun_policy).category == "minor"


@pytest.mark.parametrize("key", ["category.adult_age", "category.newborn_months"])
def test_a_missing_category_boundary_is_named(changchun_policy, key):
    """DESIGN policy as data: a missing parameter is an error naming it — never a default of 18 or 12."""
    policy = PolicySnapshot("220100", "220100-2021", None, {k: v for k, v in changchun_policy.params.items() if k != key})

    with pytest.raises(MissingParameter) as caught:
        preview(req(dt.date(2021, 3, 15)), policy)

    assert caught.value.parameter == key


def test_newborn_registered_within_90_days_is_covered_from_birth(changchun_policy):
    """DOMAIN §1: newborn registered within 90 days: covered from birth to 31 Dec of the birth year."""
    birth = dt.date(2021, 2, 1)

    result = preview(req(birth + dt.timedelta(days=90), birth=birth, newborn_registration=True), changchun_policy)

    assert periods(result) == [(2021, birth, dt.date(2021, 12, 31), False)]
    assert result.amount_due == 200


def test_newborn_registered_in_the_window_pays_next_year_only_and_is_covered_from_birth(changchun_policy):
    """DOMAIN §1 Decision (handbook Q33): in the prepayment window a newborn pays only next year's
    amount and is still covered from birth."""
    birth = dt.date(2021, 10, 20)

    result = preview(req(dt.date(2021, 11, 30), birth=birth, newborn_registration=True), changchun_policy)

    assert periods(result) == [
        (2021, birth, dt.date(2021, 12, 31), False),
        (2022, dt.date(2022, 1, 1), dt.date(2022, 12, 31), False),
    ]
    assert result.amount_due == 200


def test_newborn_in_window_birth_year_variant(changchun_policy):
    """The guide table's variant (pay the current year only) is a parameter value, not code."""
    policy = with_params(changchun_policy, **{"contribution.newborn_in_window": "birth_year"})
    birth = dt.date(2021, 10, 20)

    result = preview(req(dt.date(2021, 11, 30), birth=birth, newborn_registration=True), policy)

    assert periods(result) == [(2021, birth, dt.date(2021, 12, 31), False)]


def test_newborn_registered_after_90_days_waits_like_any_late_payer(changchun_policy):
    """DOMAIN §1: registered after 90 days: ordinary late enrollment with waiting period."""
    birth = dt.date(2021, 1, 20)

    result = preview(req(birth + dt.timedelta(days=91), birth=birth, newborn_registration=True), changchun_policy)

    assert periods(result) == [(2021, dt.date(2021, 7, 21), dt.date(2021, 12, 31), True)]
    assert result.category == "newborn"


def test_newborn_registration_needs_the_region_rule(jinan_policy):
    """Issue #3: Jinan's newborn rules are not in the seed: missing_parameter naming the key."""
    birth = dt.date(2021, 2, 1)

    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2021, 3, 1), birth=birth, region="370100", newborn_registration=True), jinan_policy)

    assert exc.value.parameter == "contribution.newborn_registration_days"


def test_newborn_registration_of_a_one_year_old_is_not_eligible(changchun_policy):
    with pytest.raises(NotEligible, match="more than one year old"):
        preview(req(dt.date(2021, 3, 1), birth=dt.date(2020, 3, 1), newborn_registration=True), changchun_policy)


def test_payment_before_birth_is_not_eligible(changchun_policy):
    with pytest.raises(NotEligible):
        preview(req(dt.date(2021, 3, 1), birth=dt.date(2021, 3, 2)), changchun_policy)


def test_waiting_period_past_the_benefit_year_is_not_eligible(changchun_policy):
    """A variant whose waiting period ends after 31 Dec buys nothing: refused, not guessed."""
    policy = with_params(changchun_policy, **{"contribution.window": {"start": "11-01", "end": "12-31"}})

    with pytest.raises(NotEligible, match="after the benefit year"):
        preview(req(dt.date(2021, 10, 15)), policy)


def test_given_category_wins_over_derived(changchun_policy):
    """contracts/enrollment-preview.md: person.category, otherwise derived."""
    result = preview(replace(req(dt.date(2021, 3, 15)), category="minor"), changchun_policy)

    assert result.amount_due == 200


@pytest.mark.parametrize("data, field", [
    ({"person": {"birth_date": "1990-01-01"}, "payment_date": "2021-03-15"}, "region"),
    ({"region": "220100", "payment_date": "2021-03-15"}, "person"),
    ({"region": "220100", "person": {}, "payment_date": "2021-03-15"}, "person"),
    ({"region": "220100", "person": {"id_number": "2201021990"}, "payment_date": "2021-03-15"}, "person.id_number"),
    ({"region": "220100", "person": {"id_number": "220102199002301234"}, "payment_date": "2021-03-15"}, "person.id_number"),
    ({"region": "220100", "person": {"birth_date": "1990-01-01", "category": "elder"}, "payment_date": "2021-03-15"},
     "person.category"),
    ({"region": "220100", "person": {"birth_date": "1990-01-01"}}, "payment_date"),
    ({"region": "220100", "person": {"birth_date": "1990-01-01"}, "payment_date": "15/03/2021"}, "payment_date"),
    ({"region": "220100", "person": {"birth_date": "1990-01-01"}, "payment_date": "2021-03-15",
      "newborn_registration": "yes"}, "newborn_registration"),
])
def test_invalid_requests_name_the_field(data, field):
    """contracts/enrollment-preview.md: invalid_request with the field at fault."""
    with pytest.raises(InvalidRequest) as exc:
        parse_preview_request(data)

    assert exc.value.field == field


# --------------------------------------------------------------------------- the benefit year's policy (issue #14)


def year_lookup(*snapshots: PolicySnapshot):
    """date -> the snapshot whose year (version code suffix) is the date's year, like policy_in_force."""
    by_year = {int(s.version[-4:]): s for s in snapshots}

    def policy_on(day):
        if day.year not in by_year:
            raise MissingParameter("policy_version", snapshots[0].region, day)
        return by_year[day.year]
    return policy_on


def version(policy: PolicySnapshot, code: str, **params) -> PolicySnapshot:
    return PolicySnapshot(policy.region, code, None, {**policy.params, **params})


def test_window_payment_is_priced_by_the_policy_of_the_year_it_buys(changchun_policy):
    """DOMAIN §1: a payment in the October 2020 window buys 2021 and is priced by the 2021 policy,
    although no version is in force on the payment date (issue #14: it was refused as a missing
    policy_version)."""
    result = preview(req(dt.date(2020, 11, 5)), year_lookup(changchun_policy))

    assert (result.policy_version, result.amount_due, result.kind) == ("220100-2021", 320, "window")
    assert periods(result) == [(2021, dt.date(2021, 1, 1), dt.date(2021, 12, 31), False)]


def test_window_payment_is_not_charged_last_years_amount(changchun_policy):
    """DOMAIN §1: in the 2021 window the 2022 amount is due, not the 2021 one in force that day;
    a late payment in 2022 is priced by 2022 too."""
    y2022 = version(changchun_policy, "220100-2022", **{"contribution.amounts": {"adult": "350", "minor": "210"}})
    lookup = year_lookup(changchun_policy, y2022)

    window = preview(req(dt.date(2021, 11, 5)), lookup)
    late_2021 = preview(req(dt.date(2021, 3, 15)), lookup)
    late_2022 = preview(req(dt.date(2022, 3, 15)), lookup)

    assert (window.policy_version, window.amount_due, window.periods[0].benefit_year) == ("220100-2022", 350, 2022)
    assert (late_2021.policy_version, late_2021.amount_due) == ("220100-2021", 320)
    assert (late_2022.policy_version, late_2022.amount_due) == ("220100-2022", 350)


def test_the_window_is_the_one_of_the_year_bought(changchun_policy):
    """DOMAIN §1 (its window is part of that policy): a 2022 policy whose window opens on 1 Nov
    makes a 15 October 2021 payment a late payment for 2021 (its waiting period then ends in 2022:
    not eligible), and a 5 November payment a window payment for 2022."""
    y2022 = version(changchun_policy, "220100-2022", **{"contribution.window": {"start": "11-01", "end": "12-31"}})
    lookup = year_lookup(changchun_policy, y2022)

    with pytest.raises(NotEligible, match="after the benefit year 2021"):
        preview(req(dt.date(2021, 10, 15)), lookup)
    assert preview(req(dt.date(2021, 11, 5)), lookup).policy_version == "220100-2022"


def test_window_payment_without_next_years_policy_names_it(changchun_policy):
    """DOMAIN §1 + 'never guesses': in the 2021 window with no 2022 policy the payment is refused
    naming policy_version on 2022-01-01, never priced by the 2021 amounts."""
    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2021, 11, 5)), year_lookup(changchun_policy))

    assert (exc.value.parameter, exc.value.date) == ("policy_version", dt.date(2022, 1, 1))


def test_late_payment_without_a_policy_names_the_payment_date(changchun_policy):
    """DOMAIN §1: a 2020 payment outside the 2021 window buys 2020, which has no policy."""
    with pytest.raises(MissingParameter) as exc:
        preview(req(dt.date(2020, 8, 1)), year_lookup(changchun_policy))

    assert (exc.value.parameter, exc.value.date) == ("policy_version", dt.date(2020, 8, 1))


def test_newborn_in_window_pays_next_years_amount(changchun_policy):
    """DOMAIN §1 newborns (Q33): registered in the 2020 window, pays only the 2021 amount (2021
    policy) and is covered from birth."""
    birth = dt.date(2020, 10, 20)
    result = preview(req(dt.date(2020, 11, 30), birth=birth, newborn_registration=True), year_lookup(changchun_policy))

    assert (result.policy_version, result.amount_due) == ("220100-2021", 200)
    assert periods(result) == [(2020, birth, dt.date(2020, 12, 31), False), (2021, dt.date(2021, 1, 1), dt.date(2021, 12, 31), False)]


def test_newborn_birth_year_rule_is_priced_by_the_birth_years_policy(changchun_policy):
    """DOMAIN §1: under the birth_year variant a newborn registered in the window buys the birth
    year, so the birth year's policy prices it (decision in enrollment/preview.py)."""
    y2021 = version(changchun_policy, "220100-2021", **{"contribution.amounts": {"minor": "180"}})
    y2022 = version(changchun_policy, "220100-2022", **{"contribution.newborn_in_window": "birth_year"})
    birth = dt.date(2021, 10, 20)

    result = preview(req(dt.date(2021, 11, 30), birth=birth, newborn_registration=True), year_lookup(y2021, y2022))

    assert (result.policy_version, result.amount_due) == ("220100-2021", 180)
    assert periods(result) == [(2021, birth, dt.date(2021, 12, 31), False)]


def test_memoised_previews_agree_across_years(changchun_policy):
    """The Previewer's memo key holds with two policies: window and late rows of many dates."""
    from enrollment.preview import memo_key

    y2022 = version(changchun_policy, "220100-2022", **{"contribution.amounts": {"adult": "350", "minor": "210"}})
    lookup = year_lookup(changchun_policy, y2022)
    seen = {}
    for paid in (dt.date(2021, 3, 15), dt.date(2021, 11, 5), dt.date(2022, 3, 15), dt.date(2021, 11, 5)):
        result = preview(req(paid), lookup)
        key = memo_key(req(paid), lookup)
        assert seen.setdefault(key, result) == result
