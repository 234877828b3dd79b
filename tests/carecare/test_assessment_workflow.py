"""The assessment workflow (DOMAIN.md §7 "Assessment"): every transition and refusal."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from carecare.errors import FourEyes, GuardFailed, InvalidAssessment, InvalidTransition, NotPermitted
from carecare.models import Assessment, AssessmentState, AssessmentTransition, Grade
from carecare.services.assessments import (
    assessment_approve,
    assessment_assess,
    assessment_reassess,
    assessment_reject,
    assessment_request,
    assessment_review_start,
)
from carecare.workflow import ASSESSMENTS
from medins.workflow import transition

from .conftest import MODERATE_ITEMS, NO_GRADE_ITEMS, SEVERE_ITEMS

S = AssessmentState
JUNE = dt.date(2021, 6, 1)


def _requested(person, user, **kwargs):
    return assessment_request(acting_user=user, person=person, requested_by="person", requested_on=JUNE, **kwargs)


def _through_review(person, *, intake, assessor, assessor2, reviewer, initial=SEVERE_ITEMS, onsite=SEVERE_ITEMS):
    a = _requested(person, intake)
    a = assessment_assess(acting_user=assessor, assessment=a, items=initial, assessed_on=dt.date(2021, 6, 3))
    a = assessment_reassess(acting_user=assessor2, assessment=a, items=onsite, assessed_on=dt.date(2021, 6, 10))
    return assessment_review_start(acting_user=reviewer, assessment=a, on=dt.date(2021, 6, 11))


@pytest.fixture
def clerks(intake, assessor, assessor2, reviewer):
    return {"intake": intake, "assessor": assessor, "assessor2": assessor2, "reviewer": reviewer}


def test_full_flow_records_every_transition_and_validity_of_24_months(resident, clerks, approver):
    """§7: requested → assessed → (on-site) → under review → approved; valid_from = approval
    date, valid_to = +24 months (long_term_care.assessment_valid_months)."""
    a = _through_review(resident, **clerks)
    a = assessment_approve(acting_user=approver, assessment=a, on=dt.date(2021, 6, 15))
    a.refresh_from_db()
    assert a.state == S.APPROVED
    assert (a.valid_from, a.valid_to) == (dt.date(2021, 6, 15), dt.date(2023, 6, 15))
    assert a.is_valid_on(dt.date(2023, 6, 14)) and not a.is_valid_on(dt.date(2023, 6, 15))
    assert a.approver == approver and a.reviewer == clerks["reviewer"]
    assert list(AssessmentTransition.objects.filter(assessment=a).values_list("from_state", "to_state")) == [
        ("", S.REQUESTED), (S.REQUESTED, S.ASSESSED), (S.ASSESSED, S.REASSESSED), (S.REASSESSED, S.UNDER_REVIEW),
        (S.UNDER_REVIEW, S.APPROVED)]


def test_score_is_the_sum_and_grade_from_the_bands(resident, clerks):
    """§7 example LTC-E0: 35 → severe; 50 → moderate; 70 → no grade."""
    a = _requested(resident, clerks["intake"])
    a = assessment_assess(acting_user=clerks["assessor"], assessment=a, items=SEVERE_ITEMS, assessed_on=dt.date(2021, 6, 3))
    assert (a.score, a.grade) == (35, Grade.SEVERE)
    a = assessment_reassess(acting_user=clerks["assessor2"], assessment=a, items=MODERATE_ITEMS,
                            assessed_on=dt.date(2021, 6, 10))
    a.refresh_from_db()
    assert (a.score, a.grade) == (50, Grade.MODERATE)
    assert (a.initial_score, a.initial_grade) == (35, Grade.SEVERE)  # both kept, the on-site one counts


@pytest.mark.parametrize("total_items,grade", [
    ({**SEVERE_ITEMS, "stairs": 5}, Grade.SEVERE),  # 40: severe (band max inclusive, research A4-1)
    ({**SEVERE_ITEMS, "stairs": 5, "bathing": 5}, Grade.MODERATE),  # 45
    ({**MODERATE_ITEMS, "stairs": 10}, Grade.MODERATE),  # 60
    ({**MODERATE_ITEMS, "stairs": 10, "bathing": 5}, Grade.NONE),  # 65
])
def test_band_edges(resident, clerks, total_items, grade):
    """§7 bands: ≤ 40 severe, 41–60 moderate, above: none."""
    a = _requested(resident, clerks["intake"])
    a = assessment_assess(acting_user=clerks["assessor"], assessment=a, items=total_items, assessed_on=dt.date(2021, 6, 3))
    assert a.grade == grade


def test_invalid_item_value_names_the_item(resident, clerks):
    """§7: each item limited to its allowed values; the refusal names the item."""
    a = _requested(resident, clerks["intake"])
    with pytest.raises(InvalidAssessment) as exc:
        assessment_assess(acting_user=clerks["assessor"], assessment=a, items={**SEVERE_ITEMS, "transfer": 7},
                          assessed_on=JUNE)
    assert exc.value.field == "items.transfer"
    assert "transfer" in str(exc.value)
    with pytest.raises(InvalidAssessment) as exc:
        assessment_assess(acting_user=clerks["assessor"], assessment=a,
                          items={k: v for k, v in SEVERE_ITEMS.items() if k != "stairs"}, assessed_on=JUNE)
    assert exc.value.field == "items.stairs"
    a.refresh_from_db()
    assert a.state == S.REQUESTED


def test_score_is_never_typed(resident, clerks):
    """§7: the score is computed; a typed score is not an item and is refused, and the field is
    not editable."""
    a = _requested(resident, clerks["intake"])
    with pytest.raises(InvalidAssessment) as exc:
        assessment_assess(acting_user=clerks["assessor"], assessment=a, items={**SEVERE_ITEMS, "score": 90},
                          assessed_on=JUNE)
    assert exc.value.field == "items.score"
    assert not Assessment._meta.get_field("score").editable


def test_only_an_assessor_assesses(resident, clerks):
    a = _requested(resident, clerks["intake"])
    with pytest.raises(NotPermitted):
        assessment_assess(acting_user=clerks["reviewer"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)


def test_onsite_reassessment_by_another_assessor(resident, clerks):
    a = _requested(resident, clerks["intake"])
    a = assessment_assess(acting_user=clerks["assessor"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)
    with pytest.raises(FourEyes):
        assessment_reassess(acting_user=clerks["assessor"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)


def test_reviewer_is_not_an_assessor(resident, clerks):
    a = _requested(resident, clerks["intake"])
    a = assessment_assess(acting_user=clerks["assessor"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)
    a = assessment_reassess(acting_user=clerks["assessor2"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)
    clerks["assessor2"].groups.add(*clerks["reviewer"].groups.all())  # an assessor who is also a reviewer
    both = get_user_model().objects.get(pk=clerks["assessor2"].pk)
    with pytest.raises(FourEyes):
        assessment_review_start(acting_user=both, assessment=a)


def test_four_eyes_on_approval(resident, clerks, approver):
    """§7: four eyes — the approver is neither the reviewer nor an assessor."""
    a = _through_review(resident, **clerks)
    reviewer = clerks["reviewer"]
    reviewer.groups.add(*approver.groups.all())
    reviewer = get_user_model().objects.get(pk=reviewer.pk)
    with pytest.raises(FourEyes):
        assessment_approve(acting_user=reviewer, assessment=a, on=dt.date(2021, 6, 15))
    assessor = get_user_model().objects.get(pk=clerks["assessor"].pk)
    assessor.groups.add(*approver.groups.all())
    assessor = get_user_model().objects.get(pk=assessor.pk)
    with pytest.raises(FourEyes):
        assessment_approve(acting_user=assessor, assessment=a, on=dt.date(2021, 6, 15))
    a.refresh_from_db()
    assert a.state == S.UNDER_REVIEW


def test_only_an_approver_approves(resident, clerks):
    a = _through_review(resident, **clerks)
    with pytest.raises(NotPermitted):
        assessment_approve(acting_user=clerks["intake"], assessment=a, on=dt.date(2021, 6, 15))


def test_steps_out_of_order_are_refused(resident, clerks, approver):
    a = _requested(resident, clerks["intake"])
    with pytest.raises(InvalidTransition):
        assessment_review_start(acting_user=clerks["reviewer"], assessment=a)
    with pytest.raises(InvalidTransition):
        assessment_approve(acting_user=approver, assessment=a)
    with pytest.raises(InvalidTransition):
        assessment_reassess(acting_user=clerks["assessor2"], assessment=a, items=SEVERE_ITEMS, assessed_on=JUNE)


def test_a_service_takes_only_its_own_edges(resident, clerks):
    """medins.workflow: code outside assessment_approve cannot approve."""
    a = _through_review(resident, **clerks)
    with pytest.raises(InvalidTransition):
        transition(ASSESSMENTS, a, S.APPROVED, acting_user=clerks["reviewer"],
                   fields={"valid_from": JUNE, "valid_to": dt.date(2023, 6, 1)})


def test_reject_needs_a_reason(resident, clerks):
    a = _requested(resident, clerks["intake"])
    with pytest.raises(GuardFailed):
        assessment_reject(acting_user=clerks["reviewer"], assessment=a, reason="  ")
    a = assessment_reject(acting_user=clerks["reviewer"], assessment=a, reason="申请人已入院")
    assert a.state == S.REJECTED and a.rejection_reason == "申请人已入院"
    with pytest.raises(InvalidTransition):
        assessment_reject(acting_user=clerks["reviewer"], assessment=a, reason="again")


def test_rejected_from_under_review(resident, clerks):
    a = _through_review(resident, **clerks)
    a = assessment_reject(acting_user=clerks["reviewer"], assessment=a, reason="材料不实")
    assert AssessmentTransition.objects.filter(assessment=a, from_state=S.UNDER_REVIEW, to_state=S.REJECTED).exists()


def test_one_open_request_per_person(resident, clerks):
    _requested(resident, clerks["intake"])
    with pytest.raises(InvalidAssessment):
        _requested(resident, clerks["intake"])


def test_reassessment_supersedes_the_previous_approved(resident, clerks, approver):
    """§7: a re-assessment supersedes the previous one."""
    first = _through_review(resident, **clerks)
    first = assessment_approve(acting_user=approver, assessment=first, on=dt.date(2021, 6, 15))
    second = _through_review(resident, **clerks, initial=MODERATE_ITEMS, onsite=NO_GRADE_ITEMS)
    second = assessment_approve(acting_user=approver, assessment=second, on=dt.date(2021, 9, 1))
    first.refresh_from_db()
    assert first.state == S.SUPERSEDED and first.superseded_by_id == second.pk
    assert second.state == S.APPROVED and second.grade == Grade.NONE
    assert Assessment.objects.filter(person=resident, state=S.APPROVED).count() == 1


def test_one_approved_assessment_per_person_in_the_database(resident, clerks, approver):
    a = _through_review(resident, **clerks)
    assessment_approve(acting_user=approver, assessment=a, on=dt.date(2021, 6, 15))
    b = Assessment.objects.get(pk=a.pk)
    b.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        b.save()


def test_care_home_request_names_a_designated_home(resident, clerks, home):
    from medins.models import Institution

    hospital = Institution.objects.filter(region__code="220100", kind="hospital").first()
    with pytest.raises(InvalidAssessment):
        assessment_request(acting_user=clerks["intake"], person=resident, requested_by="care_home", care_home=hospital,
                           requested_on=JUNE)
    a = assessment_request(acting_user=clerks["intake"], person=resident, requested_by="care_home", care_home=home,
                           requested_on=JUNE)
    assert a.care_home == home and a.scale_version == "barthel_changchun_2015"


def test_operator_requests_for_its_own_home_only(resident, home, other_home, home_operator):
    with pytest.raises(NotPermitted):
        assessment_request(acting_user=home_operator, person=resident, requested_by="care_home", care_home=other_home,
                           requested_on=JUNE)
    assert assessment_request(acting_user=home_operator, person=resident, requested_by="care_home", care_home=home,
                              requested_on=JUNE)


def test_a_step_is_not_dated_before_the_one_before(resident, clerks, approver):
    a = _through_review(resident, **clerks)
    with pytest.raises(InvalidAssessment) as exc:
        assessment_approve(acting_user=approver, assessment=a, on=dt.date(2021, 6, 5))
    assert exc.value.field == "approved_on"


def test_no_policy_on_the_date_is_refused_naming_it(resident, clerks, approver):
    """DESIGN "Policy is data": no version in force on the approval date → refused, naming it."""
    a = _through_review(resident, **clerks)
    with pytest.raises(GuardFailed) as exc:
        assessment_approve(acting_user=approver, assessment=a, on=dt.date(2022, 3, 1))
    assert "policy_version" in str(exc.value)


def test_assessment_periods_split_at_the_new_approval(resident, clerks, approver, django_assert_num_queries):
    """§7 and the contract: a new assessment approved inside a month splits it; the superseded
    one counts until the day before the new one's valid_from. One query for many persons."""
    from carecare.selectors import assessment_periods

    first = _through_review(resident, **clerks)
    first = assessment_approve(acting_user=approver, assessment=first, on=dt.date(2021, 6, 15))
    second = _through_review(resident, **clerks, initial=MODERATE_ITEMS, onsite=MODERATE_ITEMS)
    second = assessment_approve(acting_user=approver, assessment=second, on=dt.date(2021, 9, 10))
    with django_assert_num_queries(1):
        periods = assessment_periods(person_ids=[resident.pk, resident.pk + 999], first=dt.date(2021, 9, 1),
                                     end=dt.date(2021, 10, 1))
    assert [(p.assessment_id, p.start, p.end, p.grade) for p in periods[resident.pk]] == [
        (first.pk, dt.date(2021, 9, 1), dt.date(2021, 9, 10), "severe"),
        (second.pk, dt.date(2021, 9, 10), dt.date(2021, 10, 1), "moderate")]
    june = assessment_periods(person_ids=[resident.pk], first=dt.date(2021, 6, 1), end=dt.date(2021, 7, 1))[resident.pk]
    assert [(p.start, p.end) for p in june] == [(dt.date(2021, 6, 15), dt.date(2021, 7, 1))]  # from the approval date
