"""The year-end job (DOMAIN.md §5 "Year end"): special-drug approvals expire and are listed for
renewal per hospital; certifications carry over for persons insured in the new year; yearly
accumulators restart (the ledger is per person and year)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from claims.certifications import services as cs
from claims.certifications.models import Certification, CertificationKind, CertificationRenewal, CertificationYearEnd
from claims.certifications.tasks import expire_due, year_end
from claims.certifications.workflow import CertificationState
from claims.ledger import keys as ledger_keys
from claims.ledger.models import SourceKind
from claims.ledger.selectors import accounts_of, year_to_date
from claims.ledger.services import Posting, ledger_post
from medins.schedules import SCHEDULES
from tests.certifications.conftest import approve_path, institution, item
from tests.claims.factories import PersonFactory, cover

K, S = CertificationKind, CertificationState
pytestmark = pytest.mark.django_db


@pytest.fixture
def year_2021(cc_person, chronic_cc, operator_of, intake, reviewer, approver):
    """A person insured in 2021 and 2022 with a chronic certification and a special drug; another
    insured in 2021 only with a special disease."""
    cover(cc_person, 2022)
    chronic = approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    hospital = operator_of("CC-H-001")
    drug = cs.certification_apply(acting_user=hospital, person=cc_person, kind=K.SPECIAL_DRUG, item=item("220100", "CC-D-003"))
    drug = approve_path(drug, applicant=hospital, reviewer=hospital, approver=hospital, on=dt.date(2021, 5, 1))
    leaver = PersonFactory(birth=dt.date(1955, 1, 1))
    cover(leaver)
    special = cs.certification_apply(acting_user=intake, person=leaver, kind=K.SPECIAL_DISEASE, item=item("220100", "SPD-027"),
                                     applicant_institution=institution("CC-H-019"))
    special = approve_path(special, applicant=intake, reviewer=reviewer, approver=approver)
    return {"chronic": chronic, "drug": drug, "special": special}


def test_year_end_expires_special_drugs_lists_renewals_and_carries_over_the_insured(year_2021):
    counts = year_end(2021)
    assert counts["special_drugs_expired"] == 1 and counts["renewals_listed"] == 1
    drug = Certification.objects.get(pk=year_2021["drug"].pk)
    assert (drug.state, drug.valid_to) == (S.EXPIRED, dt.date(2021, 12, 31))
    renewal = CertificationRenewal.objects.get()
    assert (renewal.year, renewal.institution.code, renewal.person_id) == (2022, "CC-H-001", drug.person_id)
    chronic = Certification.objects.get(pk=year_2021["chronic"].pk)
    assert (chronic.state, chronic.valid_to) == (S.APPROVED, None)  # insured in 2022: carries over
    special = Certification.objects.get(pk=year_2021["special"].pk)
    assert (special.state, special.valid_to) == (S.EXPIRED, dt.date(2021, 12, 31))  # not insured in 2022
    assert "2022" in special.end_reason
    assert counts["not_insured_expired"] == 1 and counts["carried_over"] == 1
    assert CertificationYearEnd.objects.get(year=2021).finished_at is not None


def test_year_end_twice_changes_nothing(year_2021):
    year_end(2021)
    before = list(Certification.objects.order_by("pk").values_list("state", "valid_to"))
    again = year_end(2021)
    assert again["special_drugs_expired"] == again["renewals_listed"] == again["not_insured_expired"] == 0
    assert list(Certification.objects.order_by("pk").values_list("state", "valid_to")) == before
    assert CertificationRenewal.objects.count() == 1 and CertificationYearEnd.objects.count() == 1


def test_the_nightly_expiry_first_still_leaves_the_renewal_list(year_2021):
    expire_due("2022-01-01")
    assert Certification.objects.get(pk=year_2021["drug"].pk).state == S.EXPIRED
    counts = year_end(2021)
    assert counts["special_drugs_expired"] == 0 and counts["renewals_listed"] == 1


def test_both_jobs_are_declared_in_the_one_schedule():
    tasks = {s.task: s.crontab for s in SCHEDULES}
    assert tasks["certifications.year_end"] == {"minute": "30", "hour": "0", "day_of_month": "1", "month_of_year": "1"}
    assert "certifications.expire_due" in tasks


def test_yearly_accumulators_restart_on_1_january(cc_person, superuser):
    """§5 "Year end": yearly accumulators restart on 1 January — the ledger is per person and year."""
    figures = ledger_keys.entry_figures("inpatient", fund=Decimal("1000.00"), eligible=Decimal("2000.00"))
    ledger_post(acting_user=superuser, postings=[Posting(person_id=cc_person.pk, service_date=dt.date(2021, 12, 30),
                                                         benefit="inpatient", source_kind=SourceKind.CASE, source_id=1,
                                                         figures=figures)],
                read=accounts_of(cc_person.pk, 2021, "inpatient").read)
    december = year_to_date(person_id=cc_person.pk, benefit="inpatient", on=dt.date(2021, 12, 31))
    january = year_to_date(person_id=cc_person.pk, benefit="inpatient", on=dt.date(2022, 1, 1))
    assert Decimal(december["fund_paid"]) == Decimal("1000.00")
    assert Decimal(january["fund_paid"]) == 0
