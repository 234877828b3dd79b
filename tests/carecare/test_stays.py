"""Care-home stays (DOMAIN.md §7 "Stays"): admission day in, discharge day out; absences,
transfer, death; the care-days selector the monthly claims read."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from carecare.errors import InvalidStay, NotPermitted
from carecare.models import CareStay, StayEndReason
from carecare.selectors import AbsenceRow, StayRow, care_days, month_days
from carecare.services.stays import (
    stay_absence_end,
    stay_absence_record,
    stay_admit,
    stay_death,
    stay_discharge,
    stay_transfer,
)
from enrollment.models import Stop
from tests.enrollment.factories import PersonFactory

D = dt.date


def _days(person, year=2021, month=6):
    return care_days(person_ids=[person.pk], year=year, month=month)[person.pk]


def _home_days(days, home):
    return [d.date.day for d in days if d.home_id == home.pk and not d.absent and not d.dead]


def test_admission_day_in_discharge_day_out(resident, home, intake):
    """§7: days are counted admission day in, discharge day out."""
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 10))
    stay_discharge(acting_user=intake, stay=stay, on=D(2021, 6, 20))
    assert _home_days(_days(resident), home) == list(range(10, 20))


def test_open_stay_counts_to_the_end_of_the_month(resident, home, intake):
    stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 5, 20))
    assert _home_days(_days(resident), home) == list(range(1, 31))


def test_hospital_absence_days_are_absent_return_day_in(resident, home, intake):
    """§7: days as an inpatient are not payable; left on the 10th, back on the 15th → 10–14 absent."""
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    absence = stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 10))
    stay_absence_end(acting_user=intake, absence=absence, to_date=D(2021, 6, 15))
    days = _days(resident)
    assert [d.date.day for d in days if d.absent] == [10, 11, 12, 13, 14]
    assert {d.absence_reason for d in days if d.absent} == {"hospital"}
    assert len(_home_days(days, home)) == 25  # research §4.3 LTC-E6


def test_transfer_day_belongs_to_the_new_home(resident, home, other_home, intake):
    """Decision (stays service docstring): the transfer day is the new home's admission day."""
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    new = stay_transfer(acting_user=intake, stay=stay, to_home=other_home, on=D(2021, 6, 16))
    stay.refresh_from_db()
    assert (stay.ended_on, stay.end_reason, stay.next_stay_id) == (D(2021, 6, 16), StayEndReason.TRANSFER, new.pk)
    days = _days(resident)
    assert _home_days(days, home) == list(range(1, 16))
    assert _home_days(days, other_home) == list(range(16, 31))


def test_death_no_day_on_or_after_it(resident, home, intake):
    """§7: days after death are not payable; the day of death is the stay's end day (not counted)."""
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 18))  # died in hospital
    stay_death(acting_user=intake, stay=stay, on=D(2021, 6, 20))
    days = _days(resident)
    assert [d.date.day for d in days if d.dead] == list(range(20, 31))
    assert _home_days(days, home) == list(range(1, 18))
    assert stay.absences.get().to_date == D(2021, 6, 20)  # the open absence closed on the end day
    with pytest.raises(InvalidStay):
        stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 25))
    assert all(d.dead for d in _days(resident, month=7))


def test_death_recorded_as_stop_of_cover(resident, home, intake):
    stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    Stop.objects.create(person=resident, reason="death", stop_date=D(2021, 6, 25), created_by=intake)
    assert [d.date.day for d in _days(resident) if d.dead] == list(range(25, 31))


def test_one_open_stay_per_person(resident, home, other_home, intake):
    stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    with pytest.raises(InvalidStay):
        stay_admit(acting_user=intake, person=resident, care_home=other_home, admitted_on=D(2021, 6, 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        CareStay.objects.create(person=resident, care_home=other_home, admitted_on=D(2021, 6, 5), created_by=intake)


def test_no_admission_inside_an_earlier_stay(resident, home, other_home, intake):
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 1))
    stay_discharge(acting_user=intake, stay=stay, on=D(2021, 6, 20))
    with pytest.raises(InvalidStay):
        stay_admit(acting_user=intake, person=resident, care_home=other_home, admitted_on=D(2021, 6, 19))
    stay_admit(acting_user=intake, person=resident, care_home=other_home, admitted_on=D(2021, 6, 20))  # same day: fine
    days = _days(resident)
    assert _home_days(days, home) == list(range(1, 20)) and _home_days(days, other_home) == list(range(20, 31))


def test_absence_refusals(resident, home, intake):
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 5))
    with pytest.raises(InvalidStay):
        stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 1))  # before admission
    stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 10), to_date=D(2021, 6, 12))
    with pytest.raises(InvalidStay):
        stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 11))  # overlaps
    with pytest.raises(InvalidStay):
        stay_discharge(acting_user=intake, stay=stay, on=D(2021, 6, 11))  # inside the absence


def test_a_stay_ends_once_and_not_before_admission(resident, home, intake):
    stay = stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=D(2021, 6, 5))
    with pytest.raises(InvalidStay):
        stay_discharge(acting_user=intake, stay=stay, on=D(2021, 6, 4))
    stay_discharge(acting_user=intake, stay=stay, on=D(2021, 6, 6))
    with pytest.raises(InvalidStay):
        stay_death(acting_user=intake, stay=stay, on=D(2021, 6, 7))


def test_not_a_care_home_is_refused(resident, intake):
    from medins.models import Institution

    hospital = Institution.objects.filter(region__code="220100", kind="hospital").first()
    with pytest.raises(InvalidStay):
        stay_admit(acting_user=intake, person=resident, care_home=hospital, admitted_on=D(2021, 6, 5))


def test_home_operator_records_its_own_residents_only(resident, home, other_home, home_operator, other_operator):
    """Home isolation: an operator admits to and ends stays of its own home only."""
    with pytest.raises(NotPermitted):
        stay_admit(acting_user=home_operator, person=resident, care_home=other_home, admitted_on=D(2021, 6, 5))
    stay = stay_admit(acting_user=home_operator, person=resident, care_home=home, admitted_on=D(2021, 6, 5))
    with pytest.raises(NotPermitted):
        stay_discharge(acting_user=other_operator, stay=stay, on=D(2021, 6, 9))
    with pytest.raises(NotPermitted):
        stay_absence_record(acting_user=other_operator, stay=stay, from_date=D(2021, 6, 7))


def test_month_days_is_pure():
    days = month_days(year=2021, month=2, stays=[StayRow(1, 7, D(2021, 1, 20), D(2021, 2, 10)),
                                                  StayRow(2, 8, D(2021, 2, 10), None)],
                      absences=[AbsenceRow(2, D(2021, 2, 20), D(2021, 2, 22), "hospital")], died_on=D(2021, 2, 27))
    assert len(days) == 28
    assert [d.home_id for d in days[:10]] == [7] * 9 + [8]
    assert [d.date.day for d in days if d.absent] == [20, 21]
    assert [d.date.day for d in days if d.dead] == [27, 28]


def test_care_days_query_count_does_not_grow_with_residents(home, other_home, intake, django_assert_num_queries):
    """The claims helper asks for a whole home-month at once: 3 queries whatever the residents."""
    persons = [PersonFactory(birth=D(1940, 1, 1) + dt.timedelta(days=i)) for i in range(30)]
    for i, person in enumerate(persons):
        stay = stay_admit(acting_user=intake, person=person, care_home=home, admitted_on=D(2021, 5, 1 + i % 20))
        if i % 3 == 0:
            stay_absence_record(acting_user=intake, stay=stay, from_date=D(2021, 6, 3), to_date=D(2021, 6, 5))
        if i % 5 == 0:
            stay_transfer(acting_user=intake, stay=stay, to_home=other_home, on=D(2021, 6, 10))
    with django_assert_num_queries(3):
        result = care_days(person_ids=[p.pk for p in persons], year=2021, month=6)
    assert len(result) == 30 and all(len(days) == 30 for days in result.values())
    with django_assert_num_queries(3):
        care_days(person_ids=[p.pk for p in persons[:2]], year=2021, month=6)
