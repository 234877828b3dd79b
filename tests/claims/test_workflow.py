"""Case workflow (DOMAIN.md §6): every transition through its service, recorded who/when/from/to/why."""

import pytest

from claims.errors import FourEyes, InvalidTransition, MaterialsMissing, NotComputable
from claims.models import CaseTransition
from claims.services import (
    case_approve,
    case_calculate,
    case_reject,
    case_request_materials,
    case_resubmit,
    case_return_for_review,
    case_start_review,
    case_withdraw,
)
from claims.workflow import TRANSITIONS, CaseState
from medins.quoting import quote as quote_fn
from tests.claims.factories import invoice

pytestmark = pytest.mark.django_db


def test_received_case_records_its_first_transition(new_case, intake):
    """§6: the agency receives the materials; the case starts as received, recorded with its author."""
    case = new_case()
    assert case.state == CaseState.RECEIVED
    (t,) = CaseTransition.objects.filter(case=case)
    assert (t.from_state, t.to_state, t.actor) == ("", "received", intake)


def test_missing_materials_are_listed_all_at_once_in_one_notice(new_case, reviewer):
    """§6 一次性告知: every missing material in one notice, not one at a time."""
    # given a case with only the invoice handed in
    case = new_case(materials_received=["invoice"])
    # when the clerk asks for the missing materials
    notice = case_request_materials(acting_user=reviewer, case=case)
    # then one notice lists all five other materials and the case waits for them
    case.refresh_from_db()
    assert case.state == CaseState.MATERIALS_INCOMPLETE
    assert [m["code"] for m in notice.missing] == ["cost_list", "inpatient_record_copy", "emergency_record", "statement", "id_bank_copy"]
    assert "情况说明" in case.reason


def test_resubmitted_case_goes_to_review_once_complete(new_case, reviewer):
    """§6: materials handed in later → resubmitted → review."""
    case = new_case(materials_received=["invoice"])
    case_request_materials(acting_user=reviewer, case=case)
    case_resubmit(acting_user=reviewer, case=case, received=["cost_list", "inpatient_record_copy", "emergency_record", "statement", "id_bank_copy"])
    case.refresh_from_db()
    assert case.state == CaseState.RESUBMITTED
    case_start_review(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW
    assert case.reviewed_by == reviewer


def test_review_cannot_start_with_materials_missing(new_case, reviewer):
    """§6: missing materials are asked for with the notice, never reviewed over."""
    case = new_case(materials_received=[])
    with pytest.raises(MaterialsMissing):
        case_start_review(acting_user=reviewer, case=case)


def test_calculation_stores_quote_breakdown_and_policy_version(new_case, reviewer):
    """§3 + quote contract: the breakdown and the policy version in force on the service date are kept on the case."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED
    assert case.policy_version == "220100-2021"
    quote = case.breakdown["quote"]
    assert quote["benefit"] == "inpatient"
    assert case.fund_amount + case.catastrophic_amount == case.payable_amount
    # out-of-area emergency meeting the list: local rates (§3.7), the same as a local admission
    local = quote_fn({**case.breakdown["request"], "flags": []})
    assert quote["fund"] == local["fund"] == "16920.00"
    assert case.breakdown["request"]["flags"] == ["out_of_area_emergency"]


def test_approval_by_a_second_clerk(new_case, reviewer, approver):
    """DESIGN four-eyes: approved by a second user."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    case_approve(acting_user=approver, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert case.approved_by == approver
    assert list(case.transitions.values_list("to_state", flat=True)) == ["received", "under_review", "calculated", "approved"]


@pytest.mark.parametrize("step", ["review", "calculate"])
def test_reviewer_or_calculator_cannot_approve(new_case, reviewer, approver, step):
    """DESIGN four-eyes: the approver of a case is never the clerk who reviewed or calculated it."""
    # given the reviewer did one step and another clerk the other
    case = new_case()
    case_start_review(acting_user=reviewer if step == "review" else approver, case=case)
    case_calculate(acting_user=reviewer if step == "calculate" else approver, case=case)
    # when the reviewer tries to approve, then four-eyes refuses
    with pytest.raises(FourEyes) as exc:
        case_approve(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED
    assert str(exc.value) == "审批人不能是审核或计算该案件的经办人。"  # the clerk reads it in Chinese (issue 14 item 4)


def test_approver_can_return_a_case_for_review(new_case, reviewer, approver):
    """An approver who disagrees sends the case back; the calculation is cleared."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    case_return_for_review(acting_user=approver, case=case, reason="发票金额需核对")
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW and case.breakdown is None


def test_rejection_needs_a_reason_and_frees_the_invoices(new_case, reviewer):
    """§6: rejected with a reason; a rejected case's invoice may be claimed again."""
    case = new_case()
    case_reject(acting_user=reviewer, case=case, reason="非急诊病种")
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED and case.reason == "非急诊病种"
    again = new_case()
    assert again.state == CaseState.RECEIVED


def test_withdrawn_case_is_closed(new_case, intake):
    case = new_case()
    case_withdraw(acting_user=intake, case=case, reason="申请人撤回")
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    with pytest.raises(InvalidTransition):
        case_start_review(acting_user=intake, case=case)


def test_a_transition_not_in_the_table_is_refused(new_case, approver):
    """One table of allowed transitions: received cannot be approved."""
    case = new_case()
    assert (CaseState.RECEIVED, CaseState.APPROVED) not in TRANSITIONS
    with pytest.raises(InvalidTransition):
        case_approve(acting_user=approver, case=case)


def test_case_type_not_computable_yet_stays_under_review_and_says_why(reference_data, intake, reviewer, jinan_type):
    """A type whose benefit is not computable (chronic, Jinan 异地门规) cannot reach calculated."""
    from tests.claims.factories import PersonFactory, cover

    person = PersonFactory(area="370102")
    cover(person)
    from claims.services import case_receive

    t = jinan_type("out_of_area_chronic")
    case = case_receive(acting_user=intake, case_type=t, person=person, service_from="2021-04-01", institution_name="北京某医院",
                        institution_level="secondary", invoices=[invoice(number="C-1")],
                        materials_received=[m.code for m in t.materials.all()])
    case_start_review(acting_user=reviewer, case=case)
    with pytest.raises(NotComputable) as exc:
        case_calculate(acting_user=reviewer, case=case)
    assert "chronic" in str(exc.value)
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW


def test_case_refusals_read_in_the_users_language(new_case):
    """Issue 14 item 4: the messages a clerk sees are Chinese for a zh-hans user, with no English gloss
    (they were "…未参保（not covered on the service date）", "没有发票，无法计算（no invoice）")."""
    import datetime as dt

    from django.utils import translation

    from claims.calculation import quote_request
    from claims.errors import InvalidCase
    from claims.services.cases import not_covered_reason

    case = new_case()
    with translation.override("zh-hans"):
        assert not_covered_reason(dt.date(2021, 4, 2)) == "参保人在服务日期 2021-04-02 未参保。"
        with pytest.raises(NotComputable) as exc:
            quote_request(case, invoices=[], category="", ytd={})
        assert str(exc.value) == "没有发票，无法计算。"
        with pytest.raises(InvalidCase) as exc:
            new_case(service_from="2021-05-05", service_to="2021-05-01")
        assert (str(exc.value), exc.value.field) == ("就诊结束日期: 早于就诊开始日期", "service_to")
        with pytest.raises(InvalidCase) as exc:
            new_case(invoices=[{"issuer": "", "number": ""}])
        assert str(exc.value) == "发票[0]: 开票单位和发票号码必填"
    with translation.override("en"):
        assert not_covered_reason(dt.date(2021, 4, 2)) == "The insured person was not covered on the service date 2021-04-02."


def test_case_editing_refusals_read_in_chinese(new_case, intake):
    """Issue 14 item 4: the refusals of editing a case name the case, state and choices in Chinese (they were
    English, and the invoice kinds were listed by their codes original, stub_copy)."""
    from django.utils import translation

    from claims.errors import InvalidCase
    from claims.services.cases import case_details_update, case_invoice_remove, case_lock, case_materials_send

    case = new_case()
    with translation.override("zh-hans"):
        with pytest.raises(InvalidCase) as exc:
            new_case(invoices=[{"issuer": "X医院", "number": "1", "kind": "copy"}])
        assert str(exc.value) == ("发票[0].kind: 须为以下之一：原始发票、"
                                  "加盖公章的发票存根复印件/费用证明（发票遗失）")
        with pytest.raises(InvalidCase) as exc:
            new_case(invoices=[])
        assert str(exc.value).startswith("发票：至少需要一张发票")
        with pytest.raises(InvalidCase) as exc:
            case_materials_send(acting_user=intake, case=case, attachments=[])
        assert str(exc.value) == "未收到任何文件"
        with pytest.raises(InvalidCase) as exc:
            case_invoice_remove(acting_user=intake, case=case, invoice_id=0)
        assert (str(exc.value), exc.value.field) == (f"发票 0 不属于案件 {case.number}", "invoices")
        with pytest.raises(InvalidCase) as exc:
            case_details_update(acting_user=intake, case=case, person="x")
        assert (str(exc.value), exc.value.field) == ("参保人: 不能更改", "person")  # the field by its label, the key kept
        with pytest.raises(InvalidCase) as exc:
            case_lock(0)
        assert str(exc.value) == "案件 0 不存在"
    with translation.override("en"):
        with pytest.raises(InvalidCase) as exc:
            case_lock(0)
        assert str(exc.value) == "case 0 does not exist"


def test_a_calculation_refused_for_a_missing_parameter_reads_in_chinese():
    """Issue 14 item 4: "无法计算：" followed by the engine's English sentence was half English; the
    parameter, region and date are still named."""
    from django.utils import translation

    from enrollment.messages import error_text

    error = {"code": "missing_parameter", "message": "Policy parameter 'inpatient.deductible' is not defined …",
             "parameter": "inpatient.deductible", "region": "220100", "date": "2021-05-10"}
    with translation.override("zh-hans"):
        text = error_text(error)
    assert "Policy" not in text and all(part in text for part in ("inpatient.deductible", "220100", "2021-05-10"))
