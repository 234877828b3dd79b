"""Block rules of fund security where cases commit money (issue 15 item 2; contracts/fund-security.md
overlapping_care: block when one side is long-term care): case approval refuses with the rule's reason
in Chinese; a school batch rejects the row (the good rows still go through)."""

import datetime as dt

import pytest

from carecare.models import CareClaim, CareClaimLine
from claims.errors import FundSecurityBlocked
from claims.models import CaseType, SchoolOperator
from claims.services import batch_submit, case_approve, case_calculate, case_start_review
from claims.workflow import CaseState
from medins.models import Institution, Region
from tests.claims.factories import PersonFactory, SchoolFactory, cover, invoice
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date


def care_days_paid(person, first: dt.date, last: dt.date, *, state="approved"):
    """A care home's approved monthly claim paying `person`'s days first..last (written with the ORM)."""
    home = Institution.objects.get(region__code="220100", code="CC-L-001")
    clerk = UserFactory(username=f"care-{person.pk}")
    claim = CareClaim.objects.create(care_home=home, month=first.replace(day=1), state=state, content_digest="x" * 64,
                                     received_by=clerk)
    days = [{"date": (first + dt.timedelta(days=i)).isoformat(), "bed": "40.00", "nursing": "60.00", "supplies": "15.00",
             "other": "0.00"} for i in range((last - first).days + 1)]
    return CareClaimLine.objects.create(claim=claim, person=person, id_number=person.id_number, days=days,
                                        days_billed=len(days), days_paid=len(days), total=115 * len(days),
                                        fund=92 * len(days))


def test_case_approval_is_refused_when_care_home_days_were_paid_during_the_stay(new_case, reviewer, approver, covered_adult):
    """overlapping_care (block): a long-term-care day dated on a stay day. Approval refuses in Chinese."""
    care_days_paid(covered_adult, D(2021, 5, 12), D(2021, 5, 14))
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case = case_calculate(acting_user=reviewer, case=case)
    with pytest.raises(FundSecurityBlocked) as refused:
        case_approve(acting_user=approver, case=case)
    assert refused.value.code == "fund_security"
    assert "基金安全规则拒付" in str(refused.value) and "照护" in str(refused.value)
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED  # nothing paid, no ledger entry


def test_case_approval_goes_through_when_the_care_days_are_outside_the_stay(new_case, reviewer, approver, covered_adult):
    """The stay days run from admission to the day before discharge (2021-05-10 … 05-19): a care day on
    the discharge day is no overlap (contract 'Stays')."""
    care_days_paid(covered_adult, D(2021, 5, 20), D(2021, 5, 25))
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case = case_approve(acting_user=approver, case=case_calculate(acting_user=reviewer, case=case))
    assert case.state == CaseState.APPROVED


def test_school_batch_rejects_the_overlapping_row_and_keeps_the_others(reference_data):
    """Row-level rejection (issue 15 item 4): the row of the student paid by a care home during the stay is
    rejected with the rule's reason in Chinese; the other student's row is received."""
    changchun = Region.objects.get(code="220100")
    school = SchoolFactory(region=changchun, kind="college", name="长春大学")
    operator = UserFactory(username="op-cc", is_staff=False)
    SchoolOperator.objects.create(user=operator, school=school)
    cared, other = (PersonFactory(area="220102", birth=D(2001, 5, 5), school=school) for _ in range(2))
    cover(cared), cover(other)
    care_days_paid(cared, D(2021, 6, 11), D(2021, 6, 12))
    case_type = CaseType.objects.get(region=changchun, code="out_of_province_emergency_admission")
    materials = [m.code for m in case_type.materials.all()]

    def row(student, number, row_id):
        inv = invoice(number=number, issued_on="2021-06-15")
        return {"row_id": row_id, "id_number": student.id_number, "name": student.name, "case_type": case_type.code,
                "service_from": "2021-06-10", "service_to": "2021-06-15", "institution_name": "北京协和医院",
                "institution_level": "municipal_tertiary", "invoices": [inv], "materials": materials}

    batch = batch_submit(acting_user=operator, school=school, client_batch_id="fs-1", rows=[
        row(cared, "FS-1", "1"), row(other, "FS-2", "2")], source="api")[0]
    report = {r["row_id"]: r for r in batch.report}
    assert (batch.accepted_rows, batch.rejected_rows) == (1, 1)
    assert report["1"]["status"] == "rejected" and "基金安全规则拒付" in report["1"]["errors"][0]
    assert report["2"]["status"] != "rejected"
