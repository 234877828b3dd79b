"""Admin of certifications (DOMAIN.md §5): queues, isolation of institution operators, buttons from
the transitions table, the printable notice, the person's timeline, pinned query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from claims.certifications import services as cs
from claims.certifications.models import Certification
from claims.certifications.workflow import CertificationState
from tests.certifications.conftest import DAY, all_documents, approve_path, institution, item
from tests.confirming import take_step

S = CertificationState
pytestmark = pytest.mark.django_db
CHANGELIST = "admin:certifications_certification_changelist"


def _change(cert):
    return reverse("admin:certifications_certification_change", args=[cert.pk])


@pytest.mark.parametrize("rows", [2, 20])
def test_changelist_query_count_is_pinned(chronic_cc, reviewer, client, django_assert_max_num_queries, rows):
    """DESIGN: list_select_related for every foreign key the list shows; the same bound for 2 and 20 rows."""
    for i in range(rows):
        chronic_cc(item=item("220100", ["diabetes", "coronary_heart_disease", "gout", "copd"][i % 4]))
    client.force_login(reviewer)
    with django_assert_max_num_queries(14):
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.content.decode().count("MB0") >= rows


def test_list_masks_id_numbers_and_finds_by_full_id_number(chronic_cc, reviewer, client):
    cert = chronic_cc()
    client.force_login(reviewer)
    body = client.get(reverse(CHANGELIST)).content.decode()
    assert cert.person.masked_id_number in body and cert.person.id_number not in body
    found = client.get(reverse(CHANGELIST), {"q": cert.person.id_number}).content.decode()
    assert cert.number in found


def test_queues_waiting_for_review_overdue_documents_and_expiring(chronic_cc, cc_person, intake, reviewer, approver,
                                                                   client, settings):
    """The clerks' queues: waiting for review, incomplete for more than N days, expiring within 30 days."""
    waiting = chronic_cc()
    late = chronic_cc(item=item("220100", "gout"))
    cs.certification_request_documents(acting_user=reviewer, certification=late, missing=[])
    Certification.objects.filter(pk=late.pk).update(state_changed_at=late.state_changed_at - dt.timedelta(days=20))
    fresh = chronic_cc(item=item("220100", "copd"))
    cs.certification_request_documents(acting_user=reviewer, certification=fresh, missing=[])
    polyp = approve_path(chronic_cc(item=item("220100", "chronic_gastritis")), applicant=chronic_cc.operator,
                         reviewer=reviewer, approver=approver)
    Certification.objects.filter(pk=polyp.pk).update(valid_to=dt.date.today() + dt.timedelta(days=10))
    later = approve_path(chronic_cc(item=item("220100", "chronic_diarrhoea")), applicant=chronic_cc.operator,
                         reviewer=reviewer, approver=approver)
    Certification.objects.filter(pk=later.pk).update(valid_to=dt.date.today() + dt.timedelta(days=40))
    settings.CERTIFICATION_INCOMPLETE_DAYS = 14
    client.force_login(reviewer)

    def numbers(q):
        body = client.get(reverse(CHANGELIST), {"queue": q}).content.decode()
        return {c.number for c in (waiting, late, fresh, polyp) if c.number in body}

    assert numbers("review") == {waiting.number}
    assert numbers("incomplete_overdue") == {late.number}
    assert numbers("expiring") == {polyp.number}


def test_an_institution_operator_sees_only_its_own_applications(chronic_cc, cc_person, operator_of, client):
    """DESIGN permissions: a hospital never sees another's applications (list, page, notice, attachment, act)."""
    mine = chronic_cc()
    other_hospital = operator_of("CC-H-006")
    theirs = cs.certification_apply(acting_user=other_hospital, person=cc_person, kind="chronic",
                                    item=item("220100", "gout"), institution=institution("CC-H-020"))
    cs.certification_attach(acting_user=other_hospital, certification=theirs, document_code="id_card", filename="id.pdf",
                            content_type="application/pdf", content=b"%PDF")
    notice = cs.certification_request_documents(acting_user=other_hospital, certification=theirs, missing=[])
    client.force_login(chronic_cc.operator)
    body = client.get(reverse(CHANGELIST)).content.decode()
    assert mine.number in body and theirs.number not in body
    assert client.get(_change(mine)).status_code == 200
    assert client.get(_change(theirs)).status_code in (302, 403, 404)
    attachment = theirs.attachments.get()
    assert client.get(reverse("admin:certifications_certification_attachment", args=[theirs.pk, attachment.pk])).status_code == 403
    assert client.get(reverse("admin:certifications_certification_notice", args=[theirs.pk, notice.pk])).status_code == 403
    response = take_step(client, _change(theirs), "start_review")
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.state == S.INCOMPLETE


def test_the_hospital_acts_on_its_own_where_the_kind_lets_it(chronic_cc, client):
    """kinds.py: the exam hospital decides a Changchun chronic certification (the buttons and the step)."""
    cert = chronic_cc()
    all_documents(cert, chronic_cc.operator)
    client.force_login(chronic_cc.operator)
    body = client.get(_change(cert)).content.decode()
    assert 'data-action="start_review"' in body and 'data-action="revoke"' not in body
    take_step(client, _change(cert), "start_review")
    take_step(client, _change(cert), "approve", on="2021-03-01", confirm=True)
    cert.refresh_from_db()
    assert (cert.state, cert.valid_from) == (S.APPROVED, DAY)


def test_no_decision_buttons_for_a_hospital_on_a_jinan_menggui_file(jn_student, school_operator, operator_of, client):
    cert = cs.certification_apply(acting_user=school_operator, person=jn_student, kind="chronic",
                                  item=item("370100", "diabetes"), institution=institution("JN-C-001"))
    from claims.certifications.admin import steps_for

    clinic = operator_of("JN-C-001")
    assert steps_for(cert, clinic) == []  # the agency decides 门规 (and the clinic sees it as its place of use)
    client.force_login(clinic)
    assert cert.number in client.get(reverse(CHANGELIST)).content.decode()


def test_page_shows_checklist_buttons_history_and_a_printable_notice(chronic_cc, reviewer, client):
    cert = chronic_cc()
    notice = cs.certification_request_documents(acting_user=reviewer, certification=cert, missing=[], note="请补齐")
    client.force_login(reviewer)
    body = client.get(_change(cert)).content.decode()
    assert "定点体检机构的体检认定检查结果" in body  # the checklist (Chinese names)
    assert 'data-action="resubmit"' in body and 'data-action="approve"' not in body
    printable = client.get(reverse("admin:certifications_certification_notice", args=[cert.pk, notice.pk])).content.decode()
    assert "一次性告知书" in printable and "既往病历" in printable and cert.person.id_number not in printable


def test_reject_button_needs_a_reason_and_records_it(chronic_cc, reviewer, client):
    cert = chronic_cc()
    client.force_login(reviewer)
    take_step(client, _change(cert), "reject", reason="", confirm=True)
    cert.refresh_from_db()
    assert cert.state == S.APPLIED
    take_step(client, _change(cert), "reject", reason="不符合", confirm=True)
    cert.refresh_from_db()
    assert (cert.state, cert.end_reason) == (S.REJECTED, "不符合")


def test_person_page_shows_the_certifications_timeline_next_to_coverage(chronic_cc, reviewer, approver, client):
    cert = approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    client.force_login(reviewer)
    body = client.get(reverse("admin:enrollment_person_change", args=[cert.person_id])).content.decode()
    assert "certification-timeline" in body and cert.number in body and "朝阳区医院" in body
    assert body.index("coverage-timeline") < body.index("certification-timeline")


def test_change_of_treatment_institution_from_the_page(chronic_cc, reviewer, approver, client):
    cert = approve_path(chronic_cc(), applicant=chronic_cc.operator, reviewer=reviewer, approver=approver)
    client.force_login(reviewer)
    new = institution("CC-C-001")
    take_step(client, _change(cert), "change_institution", institution=new.pk, on="2021-06-30")
    cert.refresh_from_db()
    assert cert.institution == new
    assert cert.sites.get(institution=new).valid_from == dt.date(2021, 7, 1)


def test_a_clerk_adds_an_application_through_the_service(cc_person, intake, client):
    """The admin's add page calls certification_apply (number, checklist); a refusal is shown, nothing saved."""
    client.force_login(intake)
    url = reverse("admin:certifications_certification_add")
    data = {"person": cc_person.pk, "kind": "special_disease", "item": item("220100", "SPD-027").pk,
            "applicant_institution": institution("CC-C-001").pk}
    response = client.post(url, data, follow=True)
    assert "二级及以上门诊特殊疾病办理机构" in response.content.decode()  # primary level refused
    assert not Certification.objects.exists()
    client.post(url, {**data, "applicant_institution": institution("CC-H-019").pk})
    cert = Certification.objects.get()
    assert cert.number.startswith("TB") and cert.documents.count() == 4 and cert.applied_by == intake
