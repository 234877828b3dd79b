"""DOMAIN §4 maternity: the lump sum is not payable twice for the same birth/pregnancy.

Decision (claims/selectors.py, same_pregnancy; the policy parameter maternity.same_pregnancy_days):
two maternity cases of the same insured person whose service periods overlap or lie less than
42 days (the puerperium) apart are the same birth/pregnancy; rejected and withdrawn cases do not
count.
"""

import datetime as dt

import pytest

from claims.errors import DuplicateMaternity, NotComputable
from claims.models import Case, SchoolOperator
from claims.services import (
    batch_submit,
    case_approve,
    case_calculate,
    case_receive,
    case_reject,
    case_start_review,
)
from claims.services import cases as case_services
from claims.workflow import CaseState
from medins.models import PolicyParameter
from tests.claims.factories import PersonFactory, SchoolFactory, cover, invoice
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def birth_case(reference_data, intake, jinan_type):
    mother = PersonFactory(area="370102", birth=dt.date(1994, 2, 2), name="产妇甲")
    cover(mother)
    case_type = jinan_type("nondesignated_birth")

    def receive(number, service_from="2021-06-01", service_to="2021-06-05", person=mother, **extra):
        return case_receive(acting_user=intake, case_type=case_type, person=person, service_from=service_from,
                            service_to=service_to, institution_name="外地医院", institution_level="secondary",
                            delivery="vaginal", invoices=[invoice(number=number, a="6000.00", b="0", c="0")],
                            materials_received=[m.code for m in case_type.materials.all()], **extra)

    return receive, mother


def test_second_lump_sum_for_the_same_birth_is_refused_naming_the_first_case(birth_case):
    """§4 maternity 'not payable twice': a second case for the same birth (other invoice, a transfer) is refused."""
    receive, _mother = birth_case
    first = receive("B-1")
    with pytest.raises(DuplicateMaternity) as exc:
        receive("B-2", service_from="2021-06-05", service_to="2021-06-09")  # transferred to another hospital
    assert exc.value.earlier_case == first.number
    assert Case.objects.count() == 1


def test_a_case_within_the_42_day_puerperium_counts_as_the_same_birth(birth_case):
    """Decision: less than 42 days between the two service periods is the same pregnancy."""
    receive, _mother = birth_case
    receive("B-1", service_to="2021-06-05")
    with pytest.raises(DuplicateMaternity):
        receive("B-2", service_from="2021-07-16", service_to="2021-07-16")  # 41 days after discharge


def test_a_later_pregnancy_is_paid_again(birth_case):
    """Decision: 42 days or more apart is another pregnancy (e.g. an abortion months after a birth)."""
    receive, _mother = birth_case
    receive("B-1", service_to="2021-06-05")
    later = receive("B-2", service_from="2021-07-17", service_to="2021-07-17")
    assert later.state == CaseState.RECEIVED


def test_a_rejected_maternity_case_does_not_block_a_new_claim(birth_case, reviewer):
    """Only a live case holds the lump sum: a rejected one was never paid."""
    receive, _mother = birth_case
    first = receive("B-1")
    case_reject(acting_user=reviewer, case=first, reason="材料不实")
    assert receive("B-2").state == CaseState.RECEIVED


def test_another_mother_on_the_same_day_is_not_the_same_birth(birth_case):
    receive, _mother = birth_case
    other = PersonFactory(area="370102", birth=dt.date(1995, 3, 3), name="产妇乙")
    cover(other)
    receive("B-1")
    assert receive("B-2", person=other).state == CaseState.RECEIVED


def test_approval_refuses_a_second_live_case_for_the_same_birth(birth_case, reviewer, approver, monkeypatch):
    """§4: if two cases for one birth got in at the same time, the approver cannot pay both."""
    receive, _mother = birth_case
    first = receive("B-1")
    monkeypatch.setattr(case_services, "_check_maternity_once", lambda case, **kw: None)  # as if received concurrently
    receive("B-2", service_from="2021-06-02")
    monkeypatch.undo()
    case_start_review(acting_user=reviewer, case=first)
    case_calculate(acting_user=reviewer, case=first)
    with pytest.raises(DuplicateMaternity):
        case_approve(acting_user=approver, case=first)


def test_school_batch_refuses_the_second_row_for_the_same_birth(reference_data, jinan_type):
    """§4 + Jinan 2021: a college student's induced labour, sent twice in one batch, is paid once."""
    from medins.models import Region

    school = SchoolFactory(region=Region.objects.get(code="370100"), kind="college")
    operator = UserFactory(username="op-mat", is_staff=False)
    SchoolOperator.objects.create(user=operator, school=school)
    student = PersonFactory(area="370102", birth=dt.date(2001, 1, 1), school=school)
    cover(student)

    def row(number, day):
        return {"id_number": student.id_number, "case_type": "nondesignated_birth", "service_from": day,
                "institution_name": "外地医院", "institution_level": "secondary", "delivery": "induced_labour",
                "invoices": [invoice(number=number, a="1500.00", b="0", c="0", issued_on=day)]}

    batch, _ = batch_submit(acting_user=operator, school=school, client_batch_id="m-1", source="api",
                            rows=[row("M-1", "2021-03-01"), row("M-2", "2021-03-03")])
    assert [r["status"] for r in batch.report] == ["accepted", "rejected"]
    assert batch.report[1]["earlier_case"] == batch.report[0]["case"]
    # and in a later batch too
    again, _ = batch_submit(acting_user=operator, school=school, client_batch_id="m-2", source="api",
                            rows=[row("M-3", "2021-03-04")])
    assert again.report[0]["status"] == "rejected" and again.report[0]["earlier_case"] == batch.report[0]["case"]


def set_window(region: str, value):
    PolicyParameter.objects.filter(version__code=f"{region}-2021", key="maternity.same_pregnancy_days").update(value=value)


def test_the_same_pregnancy_window_is_a_policy_parameter(birth_case):
    """Issue #10 item 5, DOMAIN preamble (every number is policy data): the 42 days are
    maternity.same_pregnancy_days of the policy in force on the service date, not a constant."""
    receive, _mother = birth_case
    receive("B-1", service_to="2021-06-05")
    set_window("370100", "60")

    with pytest.raises(DuplicateMaternity):
        receive("B-2", service_from="2021-07-17", service_to="2021-07-17")  # 42 days after: within 60

    set_window("370100", "30")
    assert receive("B-3", service_from="2021-07-06", service_to="2021-07-06").state == CaseState.RECEIVED  # 31 days


def test_a_missing_same_pregnancy_window_refuses_the_case_naming_it(birth_case):
    """DESIGN policy as data: a missing parameter is an error naming it — the check is never skipped."""
    receive, _mother = birth_case
    PolicyParameter.objects.filter(version__code="370100-2021", key="maternity.same_pregnancy_days").delete()

    with pytest.raises(NotComputable) as exc:
        receive("B-1")

    assert exc.value.detail["parameter"] == "maternity.same_pregnancy_days"
    assert Case.objects.count() == 0
