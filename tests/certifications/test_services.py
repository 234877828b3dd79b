"""Certification services (DOMAIN.md §5): every transition, every refusal, four eyes, the moves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from claims.certifications import services as cs
from claims.certifications.errors import (
    AlreadyInForce,
    DocumentsMissing,
    FourEyes,
    InvalidApplication,
    InvalidTransition,
    NotEligible,
    NotPermitted,
)
from claims.certifications.kinds import rule_for
from claims.certifications.models import (
    Certification,
    CertificationKind,
    CertificationSite,
    CertificationTransition,
    SiteRole,
)
from claims.certifications.workflow import TRANSITIONS, CertificationState
from tests.certifications.conftest import DAY, all_documents, approve_path, institution, item
from tests.claims.factories import PersonFactory

K, S = CertificationKind, CertificationState
pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- applying


def test_an_application_gets_a_number_the_kinds_documents_and_its_first_transition(chronic_cc):
    """§5: an application with documents; kinds.py gives the checklist (Chinese names)."""
    cert = chronic_cc()
    assert cert.number == f"MB{cert.pk:08d}"
    assert cert.state == S.APPLIED
    assert cert.applicant_institution.code == "CC-H-003"
    rule = rule_for("220100", K.CHRONIC)
    assert list(cert.documents.values_list("code", "name", "received")) == [(d.code, d.name, False) for d in rule.documents]
    assert list(cert.transitions.values_list("from_state", "to_state")) == [("", S.APPLIED)]
    assert cert.history.first().history_user == chronic_cc.operator


@pytest.mark.parametrize("overrides, error, field", [
    ({"item": ("220100", "SPD-001")}, InvalidApplication, "item"),  # a special disease is not a chronic disease
    ({"item": ("370100", "diabetes")}, InvalidApplication, "item"),  # another region's catalogue
    ({"institution": "CC-H-003"}, NotEligible, "institution"),  # an exam hospital, not a treatment institution
    ({"dispensing_institution": "CC-P-001"}, InvalidApplication, "dispensing_institution"),
    ({"insulin_since": DAY}, InvalidApplication, "insulin_since"),
    ({"assessment": "x"}, InvalidApplication, "assessment"),
])
def test_apply_refuses_a_wrong_item_institution_or_field(chronic_cc, overrides, error, field):
    kwargs = {}
    for key, value in overrides.items():
        if key == "item":
            kwargs[key] = item(*value)
        elif key.endswith("institution"):
            kwargs[key] = institution(value)
        else:
            kwargs[key] = value
    with pytest.raises(error) as exc:
        chronic_cc(**kwargs)
    assert exc.value.field == field


def test_the_applying_hospital_needs_its_designation_and_acts_in_its_own_name(cc_person, operator_of, intake):
    """§4.2: chronic certifications at the 7 exam hospitals; an institution applies only for itself."""
    not_exam = operator_of("CC-H-001")  # 吉大一院: special drugs, special disease, not chronic exam
    with pytest.raises(NotEligible) as exc:
        cs.certification_apply(acting_user=not_exam, person=cc_person, kind=K.CHRONIC, item=item("220100", "diabetes"),
                               institution=institution("CC-H-019"))
    assert exc.value.field == "applicant_institution"
    exam = operator_of("CC-H-004")
    with pytest.raises(NotPermitted):
        cs.certification_apply(acting_user=exam, person=cc_person, kind=K.CHRONIC, item=item("220100", "diabetes"),
                               applicant_institution=institution("CC-H-005"), institution=institution("CC-H-019"))
    with pytest.raises(InvalidApplication) as exc:  # a clerk must name the exam hospital
        cs.certification_apply(acting_user=intake, person=cc_person, kind=K.CHRONIC, item=item("220100", "diabetes"),
                               institution=institution("CC-H-019"))
    assert exc.value.field == "applicant_institution"


def test_special_disease_only_at_secondary_or_higher(cc_person, intake):
    """§4.1: certified at a secondary-or-higher hospital."""
    with pytest.raises(NotEligible):
        cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE, item=item("220100", "SPD-027"),
                               applicant_institution=institution("CC-C-001"))
    cert = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                  item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-019"))
    assert cert.institution.code == "CC-H-019"  # used where certified


def test_two_diseases_only_below_secondary_and_only_in_jinan(jn_student, cc_person, intake):
    """§4.3: 两病 at designated institutions below secondary level; Changchun has no 两病."""
    with pytest.raises(NotEligible):
        cs.certification_apply(acting_user=intake, person=jn_student, kind=K.TWO_DISEASES, item=item("370100", "diabetes"),
                               applicant_institution=institution("JN-H-003"))
    with pytest.raises(InvalidApplication) as exc:
        cs.certification_apply(acting_user=intake, person=cc_person, kind=K.TWO_DISEASES, item=item("220100", "diabetes"),
                               institution=institution("CC-C-001"))
    assert exc.value.field == "kind"
    with pytest.raises(InvalidApplication):  # 两病 is hypertension and diabetes only
        cs.certification_apply(acting_user=intake, person=jn_student, kind=K.TWO_DISEASES,
                               item=item("370100", "haemophilia"), institution=institution("JN-C-001"))


def test_a_person_never_insured_is_refused(intake, reference_data):
    person = PersonFactory(birth=dt.date(1970, 1, 1))
    with pytest.raises(NotEligible) as exc:
        cs.certification_apply(acting_user=intake, person=person, kind=K.SPECIAL_DISEASE, item=item("220100", "SPD-027"),
                               applicant_institution=institution("CC-H-019"))
    assert exc.value.field == "person"


def test_a_school_forwards_only_its_own_students_menggui_files(jn_student, school_operator, reference_data):
    """§5: Jinan 门规 for college students, forwarded by the school."""
    cert = cs.certification_apply(acting_user=school_operator, person=jn_student, kind=K.CHRONIC,
                                  item=item("370100", "diabetes"), institution=institution("JN-C-001"))
    assert cert.school == jn_student.school and cert.applicant_institution is None
    other = PersonFactory(area="370102", birth=dt.date(2001, 5, 5))
    from tests.claims.factories import cover

    cover(other)
    with pytest.raises(NotPermitted):
        cs.certification_apply(acting_user=school_operator, person=other, kind=K.CHRONIC, item=item("370100", "diabetes"),
                               institution=institution("JN-C-001"))


# --------------------------------------------------------------------------- documents


def test_one_notice_lists_every_missing_document(chronic_cc, reviewer):
    """§5: incomplete — one notice listing every missing document."""
    cert = chronic_cc()
    cs.certification_attach(acting_user=chronic_cc.operator, certification=cert, document_code="id_card",
                            filename="id.pdf", content_type="application/pdf", content=b"%PDF")
    cs.certification_attach(acting_user=chronic_cc.operator, certification=cert, document_code="exam_results",
                            filename="exam.png", content_type="image/png", content=b"\x89PNG")
    # the reviewer finds the exam results unreadable: listed as missing along with the two never sent
    notice = cs.certification_request_documents(acting_user=reviewer, certification=cert, missing=["exam_results"],
                                                note="检查结果不清晰")
    cert.refresh_from_db()
    assert cert.state == S.INCOMPLETE
    assert [m["code"] for m in notice.missing] == ["application_form", "medical_records", "exam_results"]
    assert cert.notices.count() == 1
    assert "定点体检机构的体检认定检查结果" in cert.transitions.last().reason


def test_documents_refused_when_unknown_too_large_or_not_a_scan(chronic_cc, settings):
    cert = chronic_cc()
    attach = dict(acting_user=chronic_cc.operator, certification=cert, filename="a.pdf")
    with pytest.raises(InvalidApplication) as exc:
        cs.certification_attach(**attach, document_code="passport", content_type="application/pdf", content=b"x")
    assert exc.value.field == "document_code"
    with pytest.raises(InvalidApplication) as exc:
        cs.certification_attach(**attach, document_code="id_card", content_type="text/html", content=b"<script>")
    assert exc.value.field == "content_type"
    settings.CERTIFICATION_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(InvalidApplication) as exc:
        cs.certification_attach(**attach, document_code="id_card", content_type="application/pdf", content=b"x" * 11)
    assert exc.value.field == "content"
    assert not cert.documents.filter(received=True).exists()


def test_nothing_missing_means_no_notice_and_review_needs_every_document(chronic_cc, reviewer):
    cert = chronic_cc()
    with pytest.raises(DocumentsMissing):
        cs.certification_start_review(acting_user=reviewer, certification=cert)
    all_documents(cert, chronic_cc.operator)
    with pytest.raises(InvalidApplication):
        cs.certification_request_documents(acting_user=reviewer, certification=cert, missing=[])


def test_incomplete_resubmitted_reviewed_approved(chronic_cc, reviewer, approver):
    """§5 lifecycle: applied → incomplete → resubmitted → under review → approved."""
    cert = chronic_cc()
    cs.certification_request_documents(acting_user=reviewer, certification=cert, missing=[])
    all_documents(cert, chronic_cc.operator)
    cs.certification_resubmit(acting_user=chronic_cc.operator, certification=cert, note="已补齐")
    cs.certification_start_review(acting_user=reviewer, certification=cert)
    cs.certification_approve(acting_user=approver, certification=cert, on=DAY)
    cert.refresh_from_db()
    assert (cert.state, cert.valid_from, cert.valid_to, cert.reviewer, cert.approver) == (S.APPROVED, DAY, None, reviewer, approver)
    assert [(s.institution.code, s.role, s.valid_from, s.valid_to) for s in cert.sites.all()] == [
        ("CC-H-019", SiteRole.TREATMENT, DAY, None)]
    assert list(cert.transitions.values_list("to_state", flat=True)) == [
        S.APPLIED, S.INCOMPLETE, S.RESUBMITTED, S.UNDER_REVIEW, S.APPROVED]
    assert cert.history.filter(history_user=approver).exists()


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("state", [s for s in S.values])
def test_approve_only_from_under_review(chronic_cc, approver, state):
    """Every edge not in the table is refused: approve from any state but under review."""
    cert = chronic_cc()
    Certification.objects.filter(pk=cert.pk).update(state=state, reviewer=approver)
    all_documents_received = cert.documents.update(received=True)
    assert all_documents_received
    if (state, S.APPROVED) in TRANSITIONS:
        assert cs.certification_approve(acting_user=approver, certification=cert, on=DAY).state == S.APPROVED
    else:
        with pytest.raises(InvalidTransition):
            cs.certification_approve(acting_user=approver, certification=cert, on=DAY)


def test_each_service_takes_only_its_own_edges(chronic_cc, reviewer, approver):
    cert = chronic_cc()
    with pytest.raises(InvalidTransition):
        cs.certification_resubmit(acting_user=chronic_cc.operator, certification=cert)  # not incomplete
    with pytest.raises(InvalidTransition):
        cs.certification_revoke(acting_user=approver, certification=cert, reason="x")  # not approved
    with pytest.raises(InvalidTransition):
        cs.certification_expire(acting_user=approver, certification=cert)
    cs.certification_reject(acting_user=reviewer, certification=cert, reason="不符合认定标准")
    cert.refresh_from_db()
    assert (cert.state, cert.end_reason) == (S.REJECTED, "不符合认定标准")
    with pytest.raises(InvalidTransition):
        cs.certification_start_review(acting_user=reviewer, certification=cert)


def test_a_rejection_needs_a_reason(chronic_cc, reviewer):
    with pytest.raises(InvalidApplication) as exc:
        cs.certification_reject(acting_user=reviewer, certification=chronic_cc(), reason="  ")
    assert exc.value.field == "reason"


def test_the_database_refuses_two_in_force(chronic_cc, approver):
    """§5: never two active for the same person, kind and disease/drug (the partial unique constraint)."""
    a, b = chronic_cc(), chronic_cc(item=item("220100", "coronary_heart_disease"))
    Certification.objects.filter(pk=a.pk).update(state=S.APPROVED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Certification.objects.filter(pk=b.pk).update(state=S.APPROVED, item=a.item)


# --------------------------------------------------------------------------- who decides


def test_the_hospital_decides_its_own_applications_only(chronic_cc, operator_of):
    """§5: the exam hospital certifies; another hospital never acts on its applications."""
    cert = chronic_cc()
    other = operator_of("CC-H-006")
    all_documents(cert, chronic_cc.operator)
    with pytest.raises(NotPermitted):
        cs.certification_start_review(acting_user=other, certification=cert)
    with pytest.raises(NotPermitted):
        cs.certification_attach(acting_user=other, certification=cert, document_code="id_card", filename="x.pdf",
                                content_type="application/pdf", content=b"%PDF")
    cs.certification_start_review(acting_user=chronic_cc.operator, certification=cert)
    cert = cs.certification_approve(acting_user=chronic_cc.operator, certification=cert, on=DAY)
    assert cert.state == S.APPROVED
    with pytest.raises(NotPermitted):  # the agency revokes, not the hospital
        cs.certification_revoke(acting_user=chronic_cc.operator, certification=cert, reason="x")


def test_jinan_menggui_four_eyes_and_the_agency_alone_decides(jn_student, school_operator, reviewer, approver, operator_of):
    """§5: the school forwards, an agency reviewer checks, a second clerk confirms."""
    cert = cs.certification_apply(acting_user=school_operator, person=jn_student, kind=K.CHRONIC,
                                  item=item("370100", "hypertension"), institution=institution("JN-C-001"))
    all_documents(cert, school_operator)
    with pytest.raises(NotPermitted):  # the school does not review
        cs.certification_start_review(acting_user=school_operator, certification=cert)
    with pytest.raises(NotPermitted):  # nor does a hospital: the agency decides 门规
        cs.certification_start_review(acting_user=operator_of("JN-C-001"), certification=cert)
    cs.certification_start_review(acting_user=approver, certification=cert)
    with pytest.raises(FourEyes):
        cs.certification_approve(acting_user=approver, certification=cert, on=DAY)
    with pytest.raises(NotPermitted):  # a reviewer's role does not approve
        cs.certification_approve(acting_user=reviewer, certification=cert, on=DAY)
    from tests.certifications.conftest import role_user

    second = role_user("c_second", "approver")
    assert cs.certification_approve(acting_user=second, certification=cert, on=DAY).state == S.APPROVED


def test_approval_needs_cover_on_the_approval_date(chronic_cc, reviewer, approver):
    cert = chronic_cc()
    all_documents(cert, chronic_cc.operator)
    cs.certification_start_review(acting_user=reviewer, certification=cert)
    with pytest.raises(NotEligible) as exc:
        cs.certification_approve(acting_user=approver, certification=cert, on=dt.date(2022, 2, 1))
    assert exc.value.field == "person"


# --------------------------------------------------------------------------- validity


def test_episodic_special_disease_valid_90_days_others_open_ended(cc_person, intake, reviewer, approver):
    """§5: episodic special diseases (SPD-011 …) 90 days (parameter), other special diseases open-ended."""
    hospital = institution("CC-H-019")
    polyp = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                   item=item("220100", "SPD-011"), applicant_institution=hospital)
    approve_path(polyp, applicant=intake, reviewer=reviewer, approver=approver)
    assert (polyp.valid_from, polyp.valid_to) == (DAY, DAY + dt.timedelta(days=89))
    anaemia = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                     item=item("220100", "SPD-027"), applicant_institution=hospital)
    approve_path(anaemia, applicant=intake, reviewer=reviewer, approver=approver)
    assert anaemia.valid_to is None
    assert [(s.role, s.valid_to) for s in polyp.sites.all()] == [(SiteRole.CERTIFYING, polyp.valid_to)]


def test_special_drug_valid_to_31_december_at_the_hospital_and_the_chosen_pharmacy(cc_person, operator_of, approver):
    """§4.4, §5: approved at one of the 10 hospitals, dispensed there or at a designated pharmacy; to 31 Dec."""
    hospital = operator_of("CC-H-001")
    cert = cs.certification_apply(acting_user=hospital, person=cc_person, kind=K.SPECIAL_DRUG, item=item("220100", "CC-D-003"),
                                  dispensing_institution=institution("CC-P-001"), assessment={"indication": "HER2+ 乳腺癌"})
    approve_path(cert, applicant=hospital, reviewer=hospital, approver=hospital, on=dt.date(2021, 6, 15))
    assert (cert.valid_from, cert.valid_to) == (dt.date(2021, 6, 15), dt.date(2021, 12, 31))
    assert sorted((s.institution.code, s.role) for s in cert.sites.all()) == [
        ("CC-H-001", SiteRole.APPROVING), ("CC-P-001", SiteRole.DISPENSING)]
    with pytest.raises(NotEligible):  # a pharmacy that is not a special-drug pharmacy
        cs.certification_apply(acting_user=hospital, person=cc_person, kind=K.SPECIAL_DRUG, item=item("220100", "CC-D-003"),
                               dispensing_institution=institution("CC-C-001"))


# --------------------------------------------------------------------------- moves, supersede, 门规 and 两病


def test_a_special_disease_move_supersedes_the_old_one_the_day_before(cc_person, intake, reviewer, approver):
    """§5: a special-disease move is a new approval at the new hospital; the old one ends the day before."""
    old = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                 item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-019"))
    approve_path(old, applicant=intake, reviewer=reviewer, approver=approver, on=DAY)
    new = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                 item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-006"))
    move_day = dt.date(2021, 7, 1)
    approve_path(new, applicant=intake, reviewer=reviewer, approver=approver, on=move_day)
    old.refresh_from_db()
    assert (old.state, old.valid_to, old.superseded_by) == (S.SUPERSEDED, dt.date(2021, 6, 30), new)
    assert list(old.sites.values_list("valid_to", flat=True)) == [dt.date(2021, 6, 30)]
    assert (new.state, new.valid_from) == (S.APPROVED, move_day)
    assert Certification.objects.filter(person=cc_person, kind=K.SPECIAL_DISEASE, state=S.APPROVED).count() == 1
    assert CertificationTransition.objects.filter(certification=old, to_state=S.SUPERSEDED, actor=approver).exists()


def test_a_second_chronic_certification_of_the_same_disease_is_refused(chronic_cc, reviewer, approver):
    """§5: never two in force; a chronic change is a change of institution, not a new certification."""
    approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    with pytest.raises(AlreadyInForce):
        chronic_cc()


def test_a_second_chronic_approval_is_refused_when_both_were_open(chronic_cc, reviewer, approver):
    first, second = chronic_cc(), chronic_cc()
    approve_path(first, applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    all_documents(second, chronic_cc.operator)
    cs.certification_start_review(acting_user=reviewer, certification=second)
    with pytest.raises(AlreadyInForce):
        cs.certification_approve(acting_user=approver, certification=second, on=DAY)


def test_chronic_change_of_treatment_institution_takes_effect_the_next_day(chronic_cc, reviewer, approver, operator_of):
    """§4.2, §5: a new treatment institution takes effect the next day, history kept."""
    cert = approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    new_place = operator_of("CC-C-001")  # the person changes directly at the new treatment institution
    cs.certification_change_institution(acting_user=new_place, certification=cert, institution=institution("CC-C-001"),
                                        on=dt.date(2021, 5, 10))
    cert.refresh_from_db()
    assert cert.institution.code == "CC-C-001"
    assert [(s.institution.code, s.valid_from, s.valid_to) for s in cert.sites.order_by("valid_from")] == [
        ("CC-H-019", DAY, dt.date(2021, 5, 10)), ("CC-C-001", dt.date(2021, 5, 11), None)]
    assert cert.history.filter(history_user=new_place, institution__code="CC-C-001").exists()
    with pytest.raises(NotPermitted):  # a third institution does not move someone else's patient
        cs.certification_change_institution(acting_user=operator_of("CC-C-002"), certification=cert,
                                             institution=institution("CC-H-020"), on=dt.date(2021, 6, 1))
    with pytest.raises(NotEligible):  # not a treatment institution
        cs.certification_change_institution(acting_user=approver, certification=cert, institution=institution("CC-H-001"))


def test_special_disease_does_not_change_institution(cc_person, intake, reviewer, approver):
    cert = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                  item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-019"))
    approve_path(cert, applicant=intake, reviewer=reviewer, approver=approver)
    with pytest.raises(InvalidApplication):
        cs.certification_change_institution(acting_user=approver, certification=cert, institution=institution("CC-H-020"))


def test_menggui_ends_the_same_diseases_two_diseases_registration_the_day_before(jn_student, school_operator, intake,
                                                                                  reviewer, approver, approver2):
    """§5: a 门规 certification for a disease ends that disease's 两病 registration the day before it starts;
    §4.3: no 两病 while a 门规 of that disease is in force."""
    lb = cs.certification_apply(acting_user=intake, person=jn_student, kind=K.TWO_DISEASES, item=item("370100", "diabetes"),
                                institution=institution("JN-C-001"), insulin_since=DAY)
    approve_path(lb, applicant=intake, reviewer=reviewer, approver=approver)
    other = cs.certification_apply(acting_user=intake, person=jn_student, kind=K.TWO_DISEASES,
                                   item=item("370100", "hypertension"), institution=institution("JN-C-001"))
    approve_path(other, applicant=intake, reviewer=reviewer, approver=approver)
    mg = cs.certification_apply(acting_user=school_operator, person=jn_student, kind=K.CHRONIC,
                                item=item("370100", "diabetes"), institution=institution("JN-C-001"))
    start = dt.date(2021, 9, 1)
    approve_path(mg, applicant=school_operator, reviewer=reviewer, approver=approver2, on=start)
    lb.refresh_from_db()
    other.refresh_from_db()
    assert (lb.state, lb.valid_to, lb.superseded_by) == (S.SUPERSEDED, dt.date(2021, 8, 31), mg)
    assert other.state == S.APPROVED  # hypertension's 两病 stays (per disease)
    with pytest.raises(NotEligible):
        cs.certification_apply(acting_user=intake, person=jn_student, kind=K.TWO_DISEASES, item=item("370100", "diabetes"),
                               institution=institution("JN-C-001"))


# --------------------------------------------------------------------------- ending


def test_revoke_ends_it_the_day_before_and_voids_it_from_its_first_day(chronic_cc, reviewer, approver):
    """§5: the agency can revoke any of them (reason)."""
    cert = approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    with pytest.raises(InvalidApplication):
        cs.certification_revoke(acting_user=approver, certification=cert, reason="")
    cs.certification_revoke(acting_user=approver, certification=cert, reason="误诊", on=dt.date(2021, 4, 1))
    cert.refresh_from_db()
    assert (cert.state, cert.valid_to, cert.end_reason) == (S.REVOKED, dt.date(2021, 3, 31), "误诊")
    assert list(cert.sites.values_list("valid_to", flat=True)) == [dt.date(2021, 3, 31)]


def test_expire_only_after_the_validity_ran_out(cc_person, operator_of, approver):
    hospital = operator_of("CC-H-001")
    cert = cs.certification_apply(acting_user=hospital, person=cc_person, kind=K.SPECIAL_DRUG, item=item("220100", "CC-D-003"))
    approve_path(cert, applicant=hospital, reviewer=hospital, approver=hospital)
    with pytest.raises(InvalidApplication):
        cs.certification_expire(acting_user=approver, certification=cert, on=dt.date(2021, 12, 31))
    with pytest.raises(NotPermitted):  # the hospital neither revokes nor expires
        cs.certification_expire(acting_user=hospital, certification=cert, on=dt.date(2022, 1, 1))
    cs.certification_expire(acting_user=approver, certification=cert, on=dt.date(2022, 1, 1))
    cert.refresh_from_db()
    assert (cert.state, cert.valid_to) == (S.EXPIRED, dt.date(2021, 12, 31))


def test_expire_due_job_expires_episodic_approvals_that_ran_out(cc_person, intake, reviewer, approver):
    cert = cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                  item=item("220100", "SPD-029"), applicant_institution=institution("CC-H-019"))
    approve_path(cert, applicant=intake, reviewer=reviewer, approver=approver)
    system = cs.system_user()
    assert cs.certifications_expire_due(acting_user=system, on=cert.valid_to) == 0
    assert cs.certifications_expire_due(acting_user=system, on=cert.valid_to + dt.timedelta(days=1)) == 1
    cert.refresh_from_db()
    assert cert.state == S.EXPIRED
    assert CertificationSite.objects.filter(certification=cert, valid_to=cert.valid_to).exists()
