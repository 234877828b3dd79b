"""Care-home stay services (DOMAIN.md §7 "Stays"): admission, temporary absence, transfer,
discharge, death. Keyword-only, ``acting_user``, one transaction each, the person's row locked
first (so one person's stays change one at a time), then the stay.

Day counting (算入不算出): a stay covers ``admitted_on <= day < ended_on``. Decisions:

- Transfer: the old stay ends on the transfer day and the new one starts that day, so the
  **new home gets the transfer day** (its admission day counts, the old home's end day does
  not) — the day is never paid twice nor lost.
- Death: ``ended_on`` is the date of death with end reason ``death``; like any end day it is
  not a care day, and no later day is payable (the selector also marks every day from the death
  date on as ``dead``, whether it comes from the stay or from a stop of cover for death).
- An absence still open when the stay ends (death in hospital, say) is closed on the end day.
- A care-home operator (``settlement.InstitutionOperator``) admits to, and ends stays of, its own
  home only; a transfer is made by the agency or by the operator of the home being left.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from enrollment.models import Person, StopReason

from ..errors import InvalidStay, NotPermitted
from ..models import AbsenceReason, CareStay, StayAbsence, StayEndReason
from ..selectors import acts_for_home, is_care_home

ADD = "carecare.add_carestay"
CHANGE = "carecare.change_carestay"


def _need(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise NotPermitted(_("You may not record care-home stays."))


def _own_home(user, home_id: int) -> None:
    if not acts_for_home(user, home_id):
        raise NotPermitted(_("A care home may record stays of its own residents only."))


def _lock_person(person_id: int) -> None:
    list(Person.objects.select_for_update().filter(pk=person_id).values_list("pk", flat=True))


def _lock_stay(stay_id: int) -> CareStay:
    return CareStay.objects.select_for_update().get(pk=stay_id)


def death_date(person_id: int) -> dt.date | None:
    """The date of death the system knows of (a stay ended by death or a stop of cover for death)."""
    dates = [d for d in (
        CareStay.objects.filter(person_id=person_id, end_reason=StayEndReason.DEATH).values_list("ended_on", flat=True).first(),
        Person.objects.get(pk=person_id).stops.filter(reason=StopReason.DEATH).values_list("stop_date", flat=True).first(),
    ) if d is not None]
    return min(dates) if dates else None


def _open(person_id: int, home, admitted_on: dt.date, *, acting_user, note: str = "") -> CareStay:
    if not is_care_home(home):
        raise InvalidStay(_("%(home)s is not a designated care home.") % {"home": home}, field="care_home")
    died = death_date(person_id)
    if died is not None and admitted_on >= died:
        raise InvalidStay(_("The person died on %(date)s.") % {"date": died}, field="admitted_on")
    if CareStay.objects.filter(person_id=person_id, ended_on__isnull=True).exists():
        raise InvalidStay(_("The person is already staying in a care home; discharge or transfer first."), field="person")
    if CareStay.objects.filter(person_id=person_id, ended_on__gt=admitted_on).exists():
        raise InvalidStay(_("The admission date falls inside an earlier stay of the person."), field="admitted_on")
    return CareStay.objects.create(person_id=person_id, care_home=home, admitted_on=admitted_on, note=note,
                                   created_by=acting_user)


def _close(stay: CareStay, on: dt.date, reason: str, *, next_stay: CareStay | None = None, note: str = "") -> CareStay:
    if stay.ended_on is not None:
        raise InvalidStay(_("The stay has already ended on %(date)s.") % {"date": stay.ended_on}, field="stay")
    if on < stay.admitted_on:
        raise InvalidStay(_("A stay cannot end before its admission day."), field="ended_on")
    absences = list(StayAbsence.objects.select_for_update().filter(stay=stay).order_by("pk"))
    for absence in absences:
        if absence.from_date >= on:
            raise InvalidStay(_("An absence from %(date)s is recorded: the stay cannot end before it.")
                              % {"date": absence.from_date}, field="ended_on")
        if absence.to_date is not None and absence.to_date > on:
            raise InvalidStay(_("An absence until %(date)s is recorded: the stay cannot end before it.")
                              % {"date": absence.to_date}, field="ended_on")
    for absence in absences:
        if absence.to_date is None:
            absence.to_date = on
            absence.save(update_fields=["to_date"])
    stay.ended_on, stay.end_reason, stay.next_stay = on, reason, next_stay
    if note:
        stay.note = "\n".join(filter(None, [stay.note, note]))
    stay.save(update_fields=["ended_on", "end_reason", "next_stay", "note"])
    return stay


@transaction.atomic
def stay_admit(*, acting_user, person: Person, care_home, admitted_on: dt.date, note: str = "") -> CareStay:
    """Admission to a designated care home: the admission day is a care day. One open stay per
    person; not inside an earlier stay; not on or after the date of death."""
    _need(acting_user, ADD)
    _own_home(acting_user, care_home.pk)
    _lock_person(person.pk)
    return _open(person.pk, care_home, admitted_on, acting_user=acting_user, note=note)


@transaction.atomic
def stay_discharge(*, acting_user, stay: CareStay, on: dt.date, note: str = "") -> CareStay:
    """Discharge on `on`: the discharge day is not a care day."""
    _need(acting_user, CHANGE)
    _own_home(acting_user, stay.care_home_id)
    _lock_person(stay.person_id)
    return _close(_lock_stay(stay.pk), on, StayEndReason.DISCHARGE, note=note)


@transaction.atomic
def stay_death(*, acting_user, stay: CareStay, on: dt.date, note: str = "") -> CareStay:
    """The resident died on `on`: the stay ends that day (not a care day) and nothing after it is
    payable."""
    _need(acting_user, CHANGE)
    _own_home(acting_user, stay.care_home_id)
    _lock_person(stay.person_id)
    return _close(_lock_stay(stay.pk), on, StayEndReason.DEATH, note=note)


@transaction.atomic
def stay_transfer(*, acting_user, stay: CareStay, to_home, on: dt.date, note: str = "") -> CareStay:
    """Transfer to another designated home on `on`: the stay ends that day and the next one opens
    the same day, so the transfer day is the new home's (admission day in, end day out). Returns
    the new stay."""
    _need(acting_user, CHANGE)
    _need(acting_user, ADD)
    _own_home(acting_user, stay.care_home_id)
    _lock_person(stay.person_id)
    old = _lock_stay(stay.pk)
    if to_home.pk == old.care_home_id:
        raise InvalidStay(_("A transfer goes to another care home."), field="care_home")
    if not is_care_home(to_home):
        raise InvalidStay(_("%(home)s is not a designated care home.") % {"home": to_home}, field="care_home")
    _close(old, on, StayEndReason.TRANSFER, note=note)
    new = _open(old.person_id, to_home, on, acting_user=acting_user, note=note)
    CareStay.objects.filter(pk=old.pk).update(next_stay=new)
    old.next_stay = new
    return new


@transaction.atomic
def stay_absence_record(*, acting_user, stay: CareStay, from_date: dt.date, to_date: dt.date | None = None,
                        reason: str = AbsenceReason.HOSPITAL, note: str = "") -> StayAbsence:
    """A temporary absence (hospital): days from_date ≤ day < to_date are not care days (the
    leaving day is absent, the return day is a day in the home). Inside the stay; not
    overlapping another absence."""
    _need(acting_user, CHANGE)
    _own_home(acting_user, stay.care_home_id)
    _lock_person(stay.person_id)
    stay = _lock_stay(stay.pk)
    if reason not in AbsenceReason.values:
        raise InvalidStay(_("Unknown absence reason %(reason)s.") % {"reason": reason}, field="reason")
    if to_date is not None and to_date <= from_date:
        raise InvalidStay(_("The return day must be after the day of leaving."), field="to_date")
    if not stay.covers(from_date):
        raise InvalidStay(_("The absence starts outside the stay."), field="from_date")
    if stay.ended_on is not None and (to_date is None or to_date > stay.ended_on):
        raise InvalidStay(_("The absence ends after the stay."), field="to_date")
    overlapping = StayAbsence.objects.filter(stay=stay).filter(Q(to_date__isnull=True) | Q(to_date__gt=from_date))
    if to_date is not None:
        overlapping = overlapping.filter(from_date__lt=to_date)
    if overlapping.exists():
        raise InvalidStay(_("Another absence is recorded for these days."), field="from_date")
    return StayAbsence.objects.create(stay=stay, from_date=from_date, to_date=to_date, reason=reason, note=note,
                                      created_by=acting_user)


@transaction.atomic
def stay_absence_end(*, acting_user, absence: StayAbsence, to_date: dt.date) -> StayAbsence:
    """The resident is back on `to_date` (a day in the home)."""
    _need(acting_user, CHANGE)
    stay = absence.stay
    _own_home(acting_user, stay.care_home_id)
    _lock_person(stay.person_id)
    absence = StayAbsence.objects.select_for_update().select_related("stay").get(pk=absence.pk)
    if absence.to_date is not None:
        raise InvalidStay(_("The return is already recorded (%(date)s).") % {"date": absence.to_date}, field="to_date")
    if to_date <= absence.from_date:
        raise InvalidStay(_("The return day must be after the day of leaving."), field="to_date")
    if absence.stay.ended_on is not None and to_date > absence.stay.ended_on:
        raise InvalidStay(_("The absence ends after the stay."), field="to_date")
    if StayAbsence.objects.filter(stay_id=absence.stay_id, from_date__gt=absence.from_date, from_date__lt=to_date).exists():
        raise InvalidStay(_("Another absence is recorded for these days."), field="to_date")
    absence.to_date = to_date
    absence.save(update_fields=["to_date"])
    return absence
