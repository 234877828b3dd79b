"""The assessment services (DOMAIN.md §7 "Assessment"): one per transition of
``carecare.workflow.ASSESSMENTS``, keyword-only, ``acting_user``, one transaction each, the rows
they change locked (``select_for_update`` in pk order).

Decisions where DOMAIN.md is silent (also in the report):

- Two assessor records are kept: the initial assessment (初评) and the on-site re-assessment
  (现场复评, by a different assessor). The on-site result is the one that counts: it replaces
  ``items``/``score``/``grade`` while the initial result stays in ``initial_*``.
- The reviewer is a clerk who is not one of the assessors; the approver (four eyes) is neither
  the reviewer nor an assessor.
- The grade is taken from the bands (``long_term_care.adl_grades``) of the policy in force on
  the assessment date of each record; a score in no band is grade ``none`` (approved as "no
  disability grade": the age-only rules need no grade).
- Approval: ``valid_from`` = the approval date, ``valid_to`` = valid_from +
  ``long_term_care.assessment_valid_months`` (of the policy in force on the approval date),
  exclusive. Any approved assessment of the person is superseded by it, whatever its validity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Person
from enrollment.preview import add_months
from medins.benefits import care_scales
from medins.benefits.errors import QuoteError
from medins.parsing import ParseError
from medins.selectors import policy_in_force
from medins.workflow import transition

from ..errors import CareError, FourEyes, GuardFailed, InvalidAssessment, NotPermitted
from ..models import Assessment, AssessmentState, Grade, RequestedBy
from ..workflow import ASSESSMENTS

S = AssessmentState

ASSESS = "carecare.assess_assessment"
APPROVE = "carecare.approve_assessment"
CHANGE = "carecare.change_assessment"
ADD = "carecare.add_assessment"


def _need(user, perm: str, message: str) -> None:
    if user is None or not user.has_perm(perm):
        raise NotPermitted(message)


def assessment_lock(pk: int) -> Assessment:
    """The assessment row, locked for the rest of the transaction."""
    return Assessment.objects.select_for_update().select_related("person__region").get(pk=pk)


def _today(on: dt.date | None) -> dt.date:
    return on or timezone.localdate()


def _dated(on: dt.date | None, *, after: dt.date | None, field: str) -> dt.date:
    """The date of a step: today unless given (a step recorded afterwards, the demo's 2021 data);
    never in the future, never before the step before it."""
    day = _today(on)
    if day > timezone.localdate():
        raise InvalidAssessment(_("A date in the future is not accepted."), field=field)
    if after is not None and day < after:
        raise InvalidAssessment(_("The date cannot be before %(date)s, the date of the step before.") % {"date": after},
                                field=field)
    return day


def _policy(person: Person, day: dt.date):
    try:
        return policy_in_force(region=person.region.code, date=day)
    except QuoteError as exc:
        raise GuardFailed(str(exc)) from None


def _param(snapshot, key: str):
    try:
        return snapshot.get(key)
    except QuoteError as exc:
        raise GuardFailed(str(exc)) from None


def item_label(scale_version: str, code: str) -> str:
    try:
        return care_scales.scale(scale_version).item(code).label.localized()
    except KeyError:
        return code


def scored(*, person: Person, scale_version: str, items: Mapping[str, object], on: dt.date) -> dict:
    """Validated items, their score (the sum, never typed) and the benefit grade by the policy in
    force on `on` (the assessment date): medins.benefits.care_scales, the one scale module. A bad
    item raises InvalidAssessment naming it (field ``items.<code>``)."""
    try:
        sc = care_scales.scale(scale_version)
    except KeyError as exc:
        raise InvalidAssessment(str(exc.args[0]), field="scale_version") from None
    try:
        values = sc.validate(items)
    except ParseError as exc:
        label = item_label(scale_version, exc.field)
        raise InvalidAssessment(f"{label}（{exc.field}）: {exc.message.localized()}", field=f"items.{exc.field}") from None
    total = sum(values.values())
    snapshot = _policy(person, on)
    try:
        grade = care_scales.benefit_grade(snapshot, scale_version, total)
    except QuoteError as exc:
        raise GuardFailed(str(exc)) from None
    return {"items": values, "score": total, "grade": grade or Grade.NONE, "policy_version": snapshot.version}


# ------------------------------------------------------------------------------------ the guard


def assessment_guard(assessment: Assessment, frm: str, to: str, changes: dict, acting_user) -> None:
    """The condition of each edge, checked by medins.workflow.transition whoever calls:

    - assessed / reassessed: the items, score and assessor are recorded; the on-site assessor is
      not the initial assessor;
    - under review: the reviewer is not an assessor of this assessment;
    - approved: four eyes — the approver is neither the reviewer nor an assessor — and the
      validity is set;
    - superseded: the superseding assessment is named;
    - rejected: a reason is given.
    """
    def value(name):
        return changes.get(name, getattr(assessment, name))

    assessors = {value("initial_assessor_id"), value("onsite_assessor_id")} - {None}
    if to == S.ASSESSED and (value("initial_assessor_id") is None or value("score") is None):
        raise GuardFailed(_("An assessment records its assessor and items."))
    if to == S.REASSESSED:
        if value("onsite_assessor_id") is None or value("score") is None:
            raise GuardFailed(_("An on-site re-assessment records its assessor and items."))
        if value("onsite_assessor_id") == assessment.initial_assessor_id:
            raise FourEyes(_("The on-site re-assessment must be made by another assessor than the initial assessment."))
    if to == S.UNDER_REVIEW and acting_user is not None and acting_user.pk in assessors:
        raise FourEyes(_("An assessor of this assessment cannot review it."))
    if to == S.APPROVED:
        if acting_user is None or acting_user.pk in assessors | {value("reviewer_id")}:
            raise FourEyes(_("The approver must be another clerk than the reviewer and the assessors (four eyes)."))
        if value("valid_from") is None or value("valid_to") is None:
            raise GuardFailed(_("An approval sets the validity."))
    if to == S.SUPERSEDED and value("superseded_by_id") is None:
        raise GuardFailed(_("A superseded assessment names the assessment that supersedes it."))
    if to == S.REJECTED and not (value("rejection_reason") or "").strip():
        raise GuardFailed(_("A rejection gives its reason."))


# ------------------------------------------------------------------------------------ services


@ASSESSMENTS.service
@transaction.atomic
def assessment_request(*, acting_user, person: Person, requested_by: str, care_home=None, requester_name: str = "",
                       requested_on: dt.date | None = None) -> Assessment:
    """A request for an assessment by the person, a guardian or a care home (state requested),
    on the scale the policy in force on the request date names (long_term_care.assessment_scale).

    A care home's request names the home; an institution operator may request only for its own
    home (the API checks it too). A person may have one open request at a time."""
    _need(acting_user, ADD, _("You may not request assessments."))
    if requested_by not in RequestedBy.values:
        raise InvalidAssessment(_("Unknown requester kind %(kind)s.") % {"kind": requested_by}, field="requested_by")
    if requested_by == RequestedBy.CARE_HOME and care_home is None:
        raise InvalidAssessment(_("A care home's request names the care home."), field="care_home")
    if requested_by == RequestedBy.GUARDIAN and not requester_name.strip():
        raise InvalidAssessment(_("A guardian's request names the guardian."), field="requester_name")
    if care_home is not None:
        from ..selectors import acts_for_home, is_care_home

        if not is_care_home(care_home):
            raise InvalidAssessment(_("%(home)s is not a designated care home.") % {"home": care_home}, field="care_home")
        if not acts_for_home(acting_user, care_home.pk):
            raise NotPermitted(_("A care home may request assessments for its own residents only."))
    person = Person.objects.select_for_update().select_related("region").get(pk=person.pk)
    day = _dated(requested_on, after=None, field="requested_on")
    try:  # the scale new assessments use under the policy in force on the request date
        scale_version = care_scales.scale_in_force(_policy(person, day)).version
    except QuoteError as exc:
        raise GuardFailed(str(exc)) from None
    if Assessment.objects.filter(person=person, state__in=(S.REQUESTED, S.ASSESSED, S.REASSESSED, S.UNDER_REVIEW)).exists():
        raise InvalidAssessment(_("This person already has an assessment in progress."), field="person")
    ASSESSMENTS.check("", S.REQUESTED)
    assessment = Assessment.objects.create(
        person=person, requested_by=requested_by, requester_name=requester_name.strip(), care_home=care_home,
        requested_on=day, requested_by_user=acting_user, scale_version=scale_version)
    (row,) = ASSESSMENTS.record_rows([assessment.pk], frm="", to=S.REQUESTED, acting_user=acting_user)
    row.save()
    return assessment


@ASSESSMENTS.service
@transaction.atomic
def assessment_assess(*, acting_user, assessment: Assessment, items: Mapping[str, object],
                      assessed_on: dt.date | None = None) -> Assessment:
    """requested → assessed: the initial assessment (初评) by an assessor. The score is the sum of
    the items (each limited to its allowed values), the grade from the policy's bands on the
    assessment date."""
    _need(acting_user, ASSESS, _("Only an assessor may record an assessment."))
    obj = assessment_lock(assessment.pk)
    ASSESSMENTS.check(obj.state, S.ASSESSED, obj=obj)
    on = _dated(assessed_on, after=obj.requested_on, field="assessed_on")
    result = scored(person=obj.person, scale_version=obj.scale_version, items=items, on=on)
    return transition(ASSESSMENTS, obj, S.ASSESSED, acting_user=acting_user, fields={
        "items": result["items"], "score": result["score"], "grade": result["grade"], "assessed_on": on,
        "initial_items": result["items"], "initial_score": result["score"], "initial_grade": result["grade"],
        "initial_assessor_id": acting_user.pk, "initial_assessed_on": on, "policy_version": result["policy_version"]})


@ASSESSMENTS.service
@transaction.atomic
def assessment_reassess(*, acting_user, assessment: Assessment, items: Mapping[str, object],
                        assessed_on: dt.date | None = None) -> Assessment:
    """assessed → reassessed: the on-site re-assessment (现场复评) by another assessor. Its result
    is the one that counts (items/score/grade); the initial one is kept in initial_*."""
    _need(acting_user, ASSESS, _("Only an assessor may record an assessment."))
    obj = assessment_lock(assessment.pk)
    ASSESSMENTS.check(obj.state, S.REASSESSED, obj=obj)
    on = _dated(assessed_on, after=obj.initial_assessed_on, field="assessed_on")
    result = scored(person=obj.person, scale_version=obj.scale_version, items=items, on=on)
    return transition(ASSESSMENTS, obj, S.REASSESSED, acting_user=acting_user, fields={
        "items": result["items"], "score": result["score"], "grade": result["grade"], "assessed_on": on,
        "onsite_assessor_id": acting_user.pk, "onsite_assessed_on": on, "policy_version": result["policy_version"]})


@ASSESSMENTS.service
@transaction.atomic
def assessment_review_start(*, acting_user, assessment: Assessment, on: dt.date | None = None) -> Assessment:
    """reassessed → under review, by a clerk who is not an assessor of it."""
    _need(acting_user, CHANGE, _("You may not review assessments."))
    obj = assessment_lock(assessment.pk)
    ASSESSMENTS.check(obj.state, S.UNDER_REVIEW, obj=obj)
    day = _dated(on, after=obj.onsite_assessed_on, field="reviewed_on")
    return transition(ASSESSMENTS, obj, S.UNDER_REVIEW, acting_user=acting_user,
                      fields={"reviewer_id": acting_user.pk, "reviewed_on": day})


@ASSESSMENTS.service
@transaction.atomic
def assessment_approve(*, acting_user, assessment: Assessment, on: dt.date | None = None, reason: str = "") -> Assessment:
    """under review → approved, by a second clerk (four eyes: not the reviewer nor an assessor).

    valid_from = the approval date; valid_to = + long_term_care.assessment_valid_months (policy
    in force on that date). The person's previous approved assessment, if any, becomes superseded
    by this one in the same transaction (the person row is locked first, then the assessments in
    pk order, so two approvals for one person serialise)."""
    _need(acting_user, APPROVE, _("Only an approver may approve an assessment."))
    list(Person.objects.select_for_update().filter(pk=assessment.person_id).values_list("pk", flat=True))
    locked = {a.pk: a for a in Assessment.objects.select_for_update().select_related("person__region")
              .filter(person_id=assessment.person_id, state__in=(S.UNDER_REVIEW, S.APPROVED)).order_by("pk")}
    obj = locked.get(assessment.pk) or assessment_lock(assessment.pk)
    ASSESSMENTS.check(obj.state, S.APPROVED, obj=obj)
    if acting_user.pk in {obj.reviewer_id, obj.initial_assessor_id, obj.onsite_assessor_id}:  # the guard again, first
        raise FourEyes(_("The approver must be another clerk than the reviewer and the assessors (four eyes)."))
    day = _dated(on, after=obj.reviewed_on, field="approved_on")
    months = _param(_policy(obj.person, day), "long_term_care.assessment_valid_months")
    valid_to = add_months(day, int(months))
    previous = [a for pk, a in locked.items() if pk != obj.pk and a.state == S.APPROVED]
    for old in previous:
        transition(ASSESSMENTS, old, S.SUPERSEDED, acting_user=acting_user,
                   reason=_("Superseded by assessment %(pk)s.") % {"pk": obj.pk}, fields={"superseded_by_id": obj.pk})
    return transition(ASSESSMENTS, obj, S.APPROVED, acting_user=acting_user, reason=reason, fields={
        "approver_id": acting_user.pk, "approved_on": day, "valid_from": day, "valid_to": valid_to})


@ASSESSMENTS.service
@transaction.atomic
def assessment_reject(*, acting_user, assessment: Assessment, reason: str) -> Assessment:
    """Any open state → rejected, with its reason (shown on the notice)."""
    _need(acting_user, CHANGE, _("You may not reject assessments."))
    obj = assessment_lock(assessment.pk)
    reason = (reason or "").strip()
    return transition(ASSESSMENTS, obj, S.REJECTED, acting_user=acting_user, reason=reason,
                      fields={"rejection_reason": reason})


__all__ = ["CareError", "assessment_approve", "assessment_assess", "assessment_guard", "assessment_lock",
           "assessment_reassess", "assessment_reject", "assessment_request", "assessment_review_start", "scored"]
