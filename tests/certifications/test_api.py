"""The hospitals' certification API (/api/v1/certifications/, DOMAIN.md §5 "Who acts"): an institution
operator's token applies, attaches documents, resubmits after the agency's notice and decides where its
kind lets the hospital decide; it never sees another hospital's applications (404, filtered lists);
a retried POST creates nothing twice; bad input names its field."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.certifications.models import Certification, CertificationAttachment
from claims.certifications.services import certification_request_documents
from claims.settlement.models import InstitutionOperator
from medins.models import Institution
from tests.claims.factories import PersonFactory, cover
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/certifications/"
PDF = b"%PDF-1.4\n% scan\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _api(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def hospitals(reference_data):
    """Two Changchun exam hospitals (门诊慢性病体检认定机构), each with its operator's API client."""
    out = {}
    for key, code in (("A", "CC-H-003"), ("B", "CC-H-004")):
        institution = Institution.objects.get(region__code="220100", code=code)
        user = UserFactory(username=f"hospital{key}")
        user.groups.add(Group.objects.get(name="institution_operator"))
        InstitutionOperator.objects.create(user=user, institution=institution)
        out[key] = {"institution": institution, "user": user, "api": _api(user)}
    return out


@pytest.fixture
def patient(reference_data):
    person = PersonFactory(birth=dt.date(1960, 5, 1), name="王慢病")
    cover(person, year=2021)
    cover(person, year=timezone.localdate().year)
    return person


@pytest.fixture
def clerk(reference_data):
    user = UserFactory(username="cert_clerk")
    user.groups.add(Group.objects.get(name="reviewer"))
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="certifications"))
    return user


def application(person, **extra):
    return {"id_number": person.id_number, "kind": "chronic", "item": "coronary_heart_disease",
            "institution": "CC-H-019", **extra}


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


DOCUMENTS = ("id_card", "application_form", "medical_records", "exam_results")  # kinds.py, Changchun chronic


def complete(hospital, certification):
    """Upload every document of the checklist (the review and the approval need them all)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    for code in DOCUMENTS:
        response = hospital["api"].post(f"{URL}{certification.pk}/attachments/", {
            "file": SimpleUploadedFile(f"{code}.pdf", PDF), "document_code": code}, format="multipart")
        assert response.status_code == 201, response.json()


def apply(hospital, person, key="APP-1", **extra):
    response = hospital["api"].post(URL, application(person, **extra), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    return Certification.objects.get(pk=response.json()["id"])


# --------------------------------------------------------------------------- create, idempotency


def test_a_hospital_applies_for_a_chronic_certification_with_documents(hospitals, patient):
    """DOMAIN.md §5 (Who acts: the exam hospital examines and certifies; the person chooses a treatment
    institution at filing): the application is the hospital's, for the chosen treatment institution."""
    a = hospitals["A"]
    body = application(patient, application_id="HIS-0001", attachments=[
        {"document_code": "exam_results", "filename": "体检结果.pdf", "content_base64": b64(PDF)}])
    response = a["api"].post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["kind"], data["item"], data["state"], data["institution"], data["application_id"]) == (
        "chronic", "coronary_heart_disease", "applied", "CC-H-019", "HIS-0001")
    assert data["id_number"] != patient.id_number and data["id_number"].endswith(patient.id_number[-4:])  # masked
    certification = Certification.objects.get(pk=data["id"])
    assert certification.applicant_institution == a["institution"] and certification.school is None
    assert certification.region.code == "220100"
    attachment = CertificationAttachment.objects.get(certification=certification)
    assert (attachment.filename, attachment.content_type, bytes(attachment.content)) == ("体检结果.pdf", "application/pdf", PDF)
    assert [d["filename"] for d in data["attachments"]] == ["体检结果.pdf"]


def test_a_retried_post_creates_nothing_twice(hospitals, patient):
    """DESIGN "Idempotency": the same Idempotency-Key (or application_id) returns the first application."""
    a = hospitals["A"]
    body = application(patient, attachments=[{"document_code": "exam_results", "filename": "a.pdf",
                                              "content_base64": b64(PDF)}])
    first = a["api"].post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="K-1")
    again = a["api"].post(URL, {**body, "item": "diabetes"}, format="json", HTTP_IDEMPOTENCY_KEY="K-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["item"] == "coronary_heart_disease"
    by_body = a["api"].post(URL, {**body, "application_id": "K-1"}, format="json")
    assert by_body.status_code == 200 and by_body.json()["id"] == first.json()["id"]
    assert Certification.objects.count() == 1 and CertificationAttachment.objects.count() == 1


def test_the_same_application_id_at_another_hospital_is_another_application(hospitals, patient):
    """The id is the applicant's own: unique per hospital, not across hospitals."""
    apply(hospitals["A"], patient, key="SAME", item="coronary_heart_disease")
    other = PersonFactory(birth=dt.date(1961, 1, 1))
    cover(other, year=timezone.localdate().year)
    apply(hospitals["B"], other, key="SAME", item="coronary_heart_disease")
    assert Certification.objects.filter(client_id="SAME").count() == 2


def test_an_application_id_is_required(hospitals, patient):
    response = hospitals["A"]["api"].post(URL, application(patient), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "application_id"


@pytest.mark.parametrize(("change", "field"), [
    ({"id_number": "110101199003070000"}, "id_number"),
    ({"kind": "massage"}, "kind"),
    ({"item": "no_such_disease"}, "item"),
    ({"institution": "NOWHERE"}, "institution"),
    ({"insulin_since": "2021-02-30"}, "insulin_since"),
    ({"assessment": ["not", "an", "object"]}, "assessment"),
    ({"attachments": [{"document_code": "id_card", "filename": "a.pdf", "content_base64": "***"}]}, "attachments[0]"),
    ({"attachments": [{"document_code": "id_card", "filename": "a.exe", "content_base64": b64(b"MZ\x90\x00")}]},
     "attachments[0]"),
    ({"attachments": [{"filename": "a.pdf", "content_base64": b64(PDF)}]}, "attachments[0].document_code"),
    ({"attachments": [{"document_code": "horoscope", "filename": "a.pdf", "content_base64": b64(PDF)}]},
     "attachments[0].document_code"),
])
def test_bad_input_is_refused_naming_the_field_in_chinese(hospitals, patient, change, field):
    """DESIGN "One way in for outside data": a bad value is an error naming the field, in the API's language."""
    response = hospitals["A"]["api"].post(URL, {**application(patient), **change}, format="json",
                                          HTTP_IDEMPOTENCY_KEY="BAD")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["field"] == field
    if not (change.get("attachments") and change["attachments"][0].get("document_code") == "horoscope"):
        # read by the API's own reader; the checklist refusal is the lifecycle service's (its own catalogue)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error["message"]
    assert not Certification.objects.exists()


def test_a_person_of_another_region_is_not_found(hospitals):
    """A Changchun hospital applies for Changchun's insured only (the same answer as an unknown person)."""
    jinan_person = PersonFactory(area="370102", birth=dt.date(1970, 1, 1))
    cover(jinan_person, year=timezone.localdate().year)
    response = hospitals["A"]["api"].post(URL, application(jinan_person), format="json", HTTP_IDEMPOTENCY_KEY="X")
    assert response.status_code == 400 and response.json()["error"]["field"] == "id_number"


# --------------------------------------------------------------------------- attachments, notice, resubmit


def test_documents_are_uploaded_as_multipart_with_size_and_type_limits(hospitals, patient, settings):
    a = hospitals["A"]
    certification = apply(a, patient)
    url = f"{URL}{certification.pk}/attachments/"
    from django.core.files.uploadedfile import SimpleUploadedFile

    ok = a["api"].post(url, {"file": [SimpleUploadedFile("病历.png", PNG, "image/png")], "document_code": "medical_records"},
                       format="multipart")
    assert ok.status_code == 201, ok.json()
    assert [(x["filename"], x["document_code"], x["content_type"]) for x in ok.json()["attachments"]] == [
        ("病历.png", "medical_records", "image/png")]
    html = a["api"].post(url, {"file": SimpleUploadedFile("x.pdf", b"<html>not a scan</html>", "application/pdf"),
                               "document_code": "id_card"}, format="multipart")
    assert html.status_code == 400 and html.json()["error"]["field"] == "file"
    big = a["api"].post(url, {"file": SimpleUploadedFile("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf"),
                              "document_code": "id_card"}, format="multipart")
    assert big.status_code == 400 and big.json()["error"]["field"] == "file"
    none = a["api"].post(url, {"document_code": "medical_records"}, format="multipart")
    assert none.status_code == 400 and none.json()["error"]["field"] == "file"
    unnamed = a["api"].post(url, {"file": SimpleUploadedFile("x.pdf", PDF)}, format="multipart")
    assert unnamed.status_code == 400 and unnamed.json()["error"]["field"] == "document_code"
    assert CertificationAttachment.objects.filter(certification=certification).count() == 1


def test_the_hospital_reads_the_notice_attaches_and_resubmits(hospitals, patient, clerk):
    """DOMAIN.md §5: applied → incomplete (one notice listing every missing document) → resubmitted."""
    a = hospitals["A"]
    certification = apply(a, patient)
    certification_request_documents(acting_user=clerk, certification=certification, missing=["medical_records"],
                                    note="请补交病历")
    detail = a["api"].get(f"{URL}{certification.pk}/").json()
    assert detail["state"] == "incomplete"
    assert len(detail["notices"]) == 1 and "medical_records" in str(detail["notices"][0]["missing"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = a["api"].post(f"{URL}{certification.pk}/attachments/", {
        "file": SimpleUploadedFile("病历.pdf", PDF, "application/pdf"), "document_code": "medical_records"}, format="multipart")
    assert response.status_code == 201
    response = a["api"].post(f"{URL}{certification.pk}/resubmit/", {"note": "已补交"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "resubmitted"
    assert [t["to_state"] for t in response.json()["transitions"]][-2:] == ["incomplete", "resubmitted"]


def test_resubmitting_what_is_not_incomplete_is_refused(hospitals, patient):
    certification = apply(hospitals["A"], patient)
    response = hospitals["A"]["api"].post(f"{URL}{certification.pk}/resubmit/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


# --------------------------------------------------------------------------- decisions


def test_the_exam_hospital_approves_its_chronic_application(hospitals, patient):
    """DOMAIN.md §5: Changchun chronic: the exam hospital examines and certifies; approved carries the
    treatment institution chosen at filing and valid_from = the approval date."""
    a = hospitals["A"]
    certification = apply(a, patient)
    early = a["api"].post(f"{URL}{certification.pk}/decision/", {"decision": "approve"}, format="json")
    assert early.status_code == 400 and early.json()["error"]["code"] == "documents_missing"
    complete(a, certification)
    response = a["api"].post(f"{URL}{certification.pk}/decision/", {"decision": "approve"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["state"] == "approved" and data["valid_from"] == timezone.localdate().isoformat()
    assert data["valid_to"] is None  # open-ended while insured
    assert [s["institution"] for s in data["sites"]] == ["CC-H-019"]


def test_a_rejection_needs_its_reason(hospitals, patient):
    a = hospitals["A"]
    certification = apply(a, patient)
    response = a["api"].post(f"{URL}{certification.pk}/decision/", {"decision": "reject"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "reason"
    response = a["api"].post(f"{URL}{certification.pk}/decision/", {"decision": "reject", "reason": "不符合认定标准"},
                             format="json")
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    assert response.json()["end_reason"] == "不符合认定标准"
    bad = a["api"].post(f"{URL}{certification.pk}/decision/", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "decision"


# --------------------------------------------------------------------------- isolation


def test_a_hospital_never_sees_another_hospitals_applications(hospitals, patient):
    """DOMAIN.md §5 / DESIGN "Permissions": an institution only its own applications: 404 on every
    endpoint for another's (as for one that does not exist), and lists filtered."""
    mine = apply(hospitals["A"], patient)
    b = hospitals["B"]["api"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert b.get(f"{URL}{mine.pk}/").status_code == 404
    assert b.post(f"{URL}{mine.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)},
                  format="multipart").status_code == 404
    assert b.post(f"{URL}{mine.pk}/resubmit/", {}, format="json").status_code == 404
    assert b.post(f"{URL}{mine.pk}/decision/", {"decision": "approve"}, format="json").status_code == 404
    assert b.get(URL).json()["count"] == 0
    assert hospitals["A"]["api"].get(URL).json()["count"] == 1
    # the same client id at B creates B's own application, it never returns A's
    response = b.post(URL, application(patient, item="diabetes"), format="json", HTTP_IDEMPOTENCY_KEY="APP-1")
    assert response.status_code == 201 and response.json()["id"] != mine.pk
    mine.refresh_from_db()
    assert mine.state == "applied" and not mine.attachments.exists()


def test_agency_users_and_schools_use_other_doors(hospitals, clerk):
    """The hospital API is the institution operators' (clerks work in the admin, schools in the school API)."""
    from claims.models import SchoolOperator
    from tests.claims.factories import SchoolFactory

    assert _api(clerk).get(URL).status_code == 403
    school_user = UserFactory(username="school_op", is_staff=False)
    SchoolOperator.objects.create(user=school_user, school=SchoolFactory())
    assert _api(school_user).get(URL).status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


# --------------------------------------------------------------------------- list: filters, pages, queries


def test_the_list_filters_by_state_kind_and_updated_since(hospitals, patient):
    a = hospitals["A"]
    first = apply(a, patient, key="F-1", item="coronary_heart_disease")
    second = apply(a, patient, key="F-2", item="diabetes")
    a["api"].post(f"{URL}{second.pk}/decision/", {"decision": "reject", "reason": "不符合"}, format="json")
    ids = lambda query: [r["id"] for r in a["api"].get(URL + query).json()["results"]]  # noqa: E731
    assert ids("?state=applied") == [first.pk]
    assert ids("?state=rejected") == [second.pk]
    assert ids("?kind=chronic") == [second.pk, first.pk]
    assert ids("?kind=special_drug") == []
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert ids("?updated_since=" + future.replace("+", "%2B")) == []
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert set(ids("?updated_since=" + past.replace("+", "%2B"))) == {first.pk, second.pk}
    bad = a["api"].get(URL + "?state=dreaming")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "state"
    bad = a["api"].get(URL + "?updated_since=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "updated_since"


def test_the_list_runs_a_fixed_number_of_queries(hospitals, reference_data):
    """DESIGN "Tests": query count pinned on API lists (not one query per application)."""
    a = hospitals["A"]

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = a["api"].get(URL)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    person = PersonFactory(birth=dt.date(1950, 1, 1))
    cover(person, year=timezone.localdate().year)
    apply(a, person, key="Q-0")
    few, n = count_queries()
    for i, item in enumerate(("diabetes", "heart_failure")):
        apply(a, person, key=f"Q-{i + 1}", item=item)
    many, m = count_queries()
    assert (n, m) == (1, 3)
    assert many == few
    # token, operator, permissions, count, page
    assert many <= 7
