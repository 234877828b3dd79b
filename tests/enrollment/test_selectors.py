"""Read queries: batch coverage lookups (issue #3) and the category-on-a-date filter (DOMAIN §1)."""

import datetime as dt
from decimal import Decimal

import pytest

from enrollment import selectors
from enrollment.models import Category, CoveragePeriod, Person, SchoolKind, StopReason
from enrollment.preview import CategoryAges, category_on
from enrollment.selectors import (
    category_birth_bounds,
    covered_on_exists,
    covered_person_ids,
    is_covered,
    persons_in_category,
)
from enrollment.services import payment_record, person_stop

D = dt.date
AGES = CategoryAges(newborn_months=12, adult_age=18)  # the shipped category.newborn_months / category.adult_age


def pay(person, paid, amount="320.00"):
    return payment_record(acting_user=None, person=person, receipt_number=f"R{person.pk}-{paid}", paid_on=paid,
                          amount=Decimal(amount))


# --------------------------------------------------------------------------- covered_person_ids


def test_covered_person_ids_agrees_with_is_covered(person_factory, changchun_2022):
    """Issue #3: the batch answer is is_covered per person: both ends inclusive, a waiting period
    not covered yet, a stop ending cover, a person without cover."""
    late = person_factory()            # paid 15 Mar: covered 15 Jun – 31 Dec 2021
    window = person_factory()          # paid in the 2021 window: covered all of 2022
    stopped = person_factory()         # covered from 15 Jun, stopped on 31 Jul
    never = person_factory()
    pay(late, D(2021, 3, 15))
    pay(window, D(2021, 10, 15))
    pay(stopped, D(2021, 3, 15))
    person_stop(acting_user=None, person=stopped, reason=StopReason.OTHER, stop_date=D(2021, 7, 31))
    ids = [late.pk, window.pk, stopped.pk, never.pk]

    for day in [D(2021, 6, 14), D(2021, 6, 15), D(2021, 7, 31), D(2021, 8, 1), D(2021, 12, 31), D(2022, 1, 1),
                D(2022, 12, 31), D(2023, 1, 1)]:
        assert covered_person_ids(ids, day) == {pk for pk in ids if is_covered(pk, day)}, day

    assert covered_person_ids(ids, D(2021, 6, 15)) == {late.pk, stopped.pk}
    assert covered_person_ids(ids, D(2021, 8, 1)) == {late.pk}
    assert covered_person_ids(ids, D(2022, 6, 1)) == {window.pk}
    assert covered_person_ids([], D(2021, 8, 1)) == set()


def test_covered_person_ids_ignores_cancelled_cover(person_factory, changchun_2022):
    """DOMAIN §1 stop: a period that had not started on the stop date is cancelled, not cover."""
    person = person_factory()
    pay(person, D(2021, 10, 15))  # window: buys 2022
    person_stop(acting_user=None, person=person, reason=StopReason.JOINED_EMPLOYEE_INSURANCE, stop_date=D(2021, 12, 1))

    assert CoveragePeriod.objects.get(person=person).status == "cancelled"
    assert covered_person_ids([person.pk], D(2022, 6, 1)) == set()


@pytest.mark.parametrize("persons", [3, 30])
def test_covered_person_ids_is_one_query_whatever_the_number_of_persons(person_factory, django_assert_num_queries,
                                                                        persons, changchun_2022):
    """Issue #3: a batch lookup, not one query per person (same count at 3 and 30 persons)."""
    people = [person_factory() for _ in range(persons)]
    for p in people[::2]:
        pay(p, D(2021, 10, 15))

    with django_assert_num_queries(1):
        covered = covered_person_ids([p.pk for p in people], D(2022, 5, 1))

    assert covered == {p.pk for p in people[::2]}


def test_covered_person_ids_splits_very_long_lists(person_factory, django_assert_num_queries, monkeypatch, changchun_2022):
    monkeypatch.setattr(selectors, "COVERED_BATCH", 2)
    people = [person_factory() for _ in range(5)]
    for p in people:
        pay(p, D(2021, 10, 15))

    with django_assert_num_queries(3):
        covered = covered_person_ids([p.pk for p in people], D(2022, 5, 1))

    assert covered == {p.pk for p in people}


def test_covered_on_exists_filters_in_the_same_query(person_factory, django_assert_num_queries, changchun_2022):
    covered, uncovered = person_factory(), person_factory()
    pay(covered, D(2021, 10, 15))

    with django_assert_num_queries(1):
        found = list(Person.objects.filter(covered_on_exists(D(2022, 5, 1))).values_list("pk", flat=True))

    assert found == [covered.pk] and uncovered.pk not in found


# --------------------------------------------------------------------------- category filter

DAYS = [D(2021, 3, 15), D(2024, 2, 28), D(2024, 2, 29), D(2024, 3, 1), D(2025, 2, 28), D(2025, 3, 1), D(2023, 12, 31),
        D(2022, 1, 31)]


def births_around(day):
    """Birth dates on both sides of the newborn and minor boundaries of `day`, and a few others."""
    out = set()
    for years in (1, 18):
        for base in (D(day.year - years, day.month, 1), D(day.year - years, 2, 28), D(day.year - years, 3, 1)):
            out.update(base + dt.timedelta(days=k) for k in range(-3, 32))
    out.update([D(1950, 6, 1), day, D(2004, 2, 29), D(2020, 2, 29)])
    return sorted(b for b in out if b <= day)


@pytest.mark.parametrize("day", DAYS)
def test_category_birth_bounds_match_category_on(day):
    """DOMAIN §1 category on a date (newborn: first year of life, minor: under 18): the birth-date
    bounds of the filter give category_on's answer for every birth date near them."""
    newborn_from, minor_from = category_birth_bounds(day, AGES)

    for birth in births_around(day):
        expected = category_on(birth_date=birth, day=day, ages=AGES)
        by_bounds = "newborn" if birth >= newborn_from else ("minor" if birth >= minor_from else "adult")
        assert by_bounds == expected, (birth, day)


@pytest.mark.parametrize("day", [D(2024, 2, 29), D(2025, 3, 1)])
def test_category_filter_gives_category_on_for_every_person(person_factory, school_factory, day):
    """DOMAIN §1: the category filter (birth-date ranges + school kind) selects exactly the persons
    whose category_on(day) is that category, schools included."""
    college = school_factory(kind=SchoolKind.COLLEGE)
    school = school_factory(kind=SchoolKind.PRIMARY_SECONDARY)
    newborn_from, minor_from = category_birth_bounds(day, AGES)
    births = [newborn_from, newborn_from - dt.timedelta(days=1), minor_from, minor_from - dt.timedelta(days=1),
              D(1980, 5, 5), day]
    persons = []
    for birth in births:
        for s in (None, college, school):
            persons.append(person_factory(birth=birth, school=s))

    for category in Category.values:
        found = set(persons_in_category(Person.objects.all(), category, day).values_list("pk", flat=True))
        expected = {p.pk for p in persons if p.category_on(day, ages=AGES) == category}
        assert found == expected, category
    assert {p.category_on(day, ages=AGES) for p in persons} == set(Category.values)  # every category was exercised


def test_category_filter_uses_birth_date_ranges(reference_data):
    """Issue #3 benchmark: the filter is a range on the indexed birth_date, not a computation per row."""
    sql = str(persons_in_category(Person.objects.all(), Category.MINOR, D(2025, 3, 1)).query)

    assert '"enrollment_person"."birth_date" >= 2007-03-02' in sql and '"enrollment_person"."birth_date" < 2024-03-02' in sql


def test_category_follows_each_regions_policy(person_factory):
    """DOMAIN §1 categories, issue #10 item 5: the adult age is each region's policy parameter
    (category.adult_age): with Jinan's set to 16, a 17-year-old is a minor in Changchun and an
    adult in Jinan — in the filter and in the person's own category_on."""
    from medins.models import PolicyParameter

    PolicyParameter.objects.filter(version__code="370100-2021", key="category.adult_age").update(value="16")
    day = D(2021, 6, 1)
    changchun = person_factory(birth=D(2004, 1, 1), area="220102")
    jinan = person_factory(birth=D(2004, 1, 1), area="370102")

    minors = set(persons_in_category(Person.objects.all(), Category.MINOR, day).values_list("pk", flat=True))
    adults = set(persons_in_category(Person.objects.all(), Category.ADULT, day).values_list("pk", flat=True))

    assert minors == {changchun.pk} and adults == {jinan.pk}
    assert (changchun.category_on(day), jinan.category_on(day)) == ("minor", "adult")


def test_category_on_a_date_without_policy_names_the_missing_parameter(person_factory):
    """DESIGN policy as data: computing a category on a date no policy covers is refused, naming it."""
    from medins.benefits.errors import MissingParameter

    person = person_factory()

    with pytest.raises(MissingParameter, match="policy_version"):
        person.category_on(D(2030, 1, 1))


def test_lists_show_the_latest_begun_policys_category_when_none_is_in_force(person_factory):
    """Decision (selectors.category_ages_on): a list's "category (today)" uses the latest version that
    began before the day when none is in force — display only, no money depends on it."""
    from enrollment.selectors import category_ages_on
    from medins.models import PolicyParameter

    person = person_factory(birth=D(2008, 12, 2))  # 17 on 2026-12-01
    ages = category_ages_on(D(2026, 12, 1))

    assert person.category_on(D(2026, 12, 1), ages=ages[person.region_id]) == "minor"
    PolicyParameter.objects.filter(version__code="220100-2021", key="category.adult_age").update(value="17")
    assert person.category_on(D(2026, 12, 1), ages=category_ages_on(D(2026, 12, 1))[person.region_id]) == "adult"
    assert category_ages_on(D(2020, 12, 1)) == {}
