"""Jinan schools forward a college student's 门规 file through the school API and portal (DOMAIN.md
§4.2 "College students apply through their school, which forwards the file", §5 "Who acts"): a
chronic certification of the student (region 370100, the school set) with its documents; the school
reads its state and the agency's one-time notice, adds documents and resubmits; it reads only the
files it forwarded."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.certifications.models import Certification, CertificationAttachment
from claims.certifications.services import certification_request_documents
from claims.models import SchoolOperator
from medins.models import Region
from tests.claims.factories import PersonFactory, SchoolFactory, cover
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/school/certifications/"
PDF = b"%PDF-1.4\n% scan\n"


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def schools(reference_data):
    jinan = Region.objects.get(code="370100")
    out = {}
    for key in ("A", "B"):
        school = SchoolFactory(region=jinan, kind="college", name=f"大学{key}")
        user = UserFactory(username=f"op{key}", is_staff=False)
        SchoolOperator.objects.create(user=user, school=school)
        student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school, name=f"学生{key}")
        cover(student, year=2021)
        cover(student, year=timezone.localdate().year)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        out[key] = {"school": school, "user": user, "student": student, "api": api}
    return out


@pytest.fixture
def clerk(reference_data):
    user = UserFactory(username="cert_clerk")
    user.groups.add(Group.objects.get(name="reviewer"))
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="certifications"))
    return user


def body(student, **extra):
    return {"id_number": student.id_number, "item": "diabetes", "institution": "JN-C-001",
            "attachments": [{"document_code": "medical_records", "filename": "病历.pdf", "content_base64": b64(PDF)}], **extra}


def forward(school, key="MG-1", **extra):
    response = school["api"].post(URL, body(school["student"], **extra), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    return Certification.objects.get(pk=response.json()["id"])


def test_a_school_forwards_a_students_file_by_api(schools):
    """DOMAIN.md §4.2/§5: the school forwards the 门规 file: kind chronic, region 370100, the school set."""
    a = schools["A"]
    certification = forward(a)
    assert (certification.kind, certification.region.code, certification.school, certification.applicant_institution) == (
        "chronic", "370100", a["school"], None)
    assert certification.person == a["student"] and certification.item.code == "diabetes"
    assert certification.institution.code == "JN-C-001"  # the treatment institution chosen at filing
    assert certification.state == "applied"
    attachment = CertificationAttachment.objects.get(certification=certification)
    assert (attachment.document_code, bytes(attachment.content)) == ("medical_records", PDF)


def test_a_retried_post_creates_nothing_twice(schools):
    """DESIGN "Idempotency", as school batches: the same key returns the first application unchanged."""
    a = schools["A"]
    first = a["api"].post(URL, body(a["student"]), format="json", HTTP_IDEMPOTENCY_KEY="MG-7")
    again = a["api"].post(URL, body(a["student"]), format="json", HTTP_IDEMPOTENCY_KEY="MG-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Certification.objects.count() == 1 and CertificationAttachment.objects.count() == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "special_drug"}, "kind"),
    ({"item": "no_such_disease"}, "item"),
    ({"id_number": "370102200201010000"}, "id_number"),
    ({"attachments": "not a list"}, "attachments"),
])
def test_bad_input_is_refused_naming_the_field(schools, change, field):
    a = schools["A"]
    response = a["api"].post(URL, {**body(a["student"]), **change}, format="json", HTTP_IDEMPOTENCY_KEY="BAD")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["field"] == field
    assert not Certification.objects.exists()


def test_a_school_forwards_only_its_own_students(schools):
    """Another school's student reads as unknown (nothing leaks)."""
    a, b = schools["A"], schools["B"]
    response = a["api"].post(URL, body(b["student"]), format="json", HTTP_IDEMPOTENCY_KEY="X")
    assert response.status_code == 400 and response.json()["error"]["field"] == "id_number"
    assert "本校" in response.json()["error"]["message"]


def test_a_changchun_school_forwards_no_file(reference_data):
    """DOMAIN.md §4.2: the school forwards Jinan college students' 门规 files; Changchun has no such path."""
    school = SchoolFactory(kind="college")
    user = UserFactory(username="cc_school", is_staff=False)
    SchoolOperator.objects.create(user=user, school=school)
    student = PersonFactory(birth=dt.date(2002, 1, 1), school=school)
    cover(student, year=timezone.localdate().year)
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(URL, {"id_number": student.id_number, "item": "diabetes"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="CC")
    assert response.status_code == 400 and response.json()["error"]["field"] == "kind"


def test_schools_see_only_their_own_files(schools):
    """DESIGN "Permissions": a school sees only its own students' applications: 404 on every endpoint, lists filtered."""
    mine = forward(schools["A"])
    b = schools["B"]["api"]
    assert b.get(f"{URL}{mine.pk}/").status_code == 404
    assert b.post(f"{URL}{mine.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)},
                  format="multipart").status_code == 404
    assert b.post(f"{URL}{mine.pk}/resubmit/", {}, format="json").status_code == 404
    assert b.get(URL).json()["count"] == 0
    assert schools["A"]["api"].get(URL).json()["count"] == 1
    from django.test import Client

    client = Client()
    client.force_login(schools["B"]["user"])
    assert client.get(f"/portal/certifications/{mine.pk}/").status_code == 404
    attachment = mine.attachments.get()
    assert client.get(f"/portal/certifications/{mine.pk}/attachments/{attachment.pk}/").status_code == 404


def test_the_school_reads_the_notice_adds_documents_and_resubmits_by_api(schools, clerk):
    """DOMAIN.md §5: one notice listing every missing document; the school resubmits."""
    a = schools["A"]
    certification = forward(a)
    certification_request_documents(acting_user=clerk, certification=certification,
                                    missing=["secondary_test_reports"], note="请补交二级以上医院检查报告")
    detail = a["api"].get(f"{URL}{certification.pk}/").json()
    assert detail["state"] == "incomplete"
    assert "secondary_test_reports" in str(detail["notices"][0]["missing"])
    response = a["api"].post(f"{URL}{certification.pk}/attachments/", {
        "file": SimpleUploadedFile("报告.pdf", PDF), "document_code": "secondary_test_reports", "resubmit": "true",
        "note": "已补交"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "resubmitted"
    assert {x["document_code"] for x in response.json()["attachments"]} == {"medical_records", "secondary_test_reports"}


def test_the_list_runs_a_fixed_number_of_queries(schools):
    a = schools["A"]

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = a["api"].get(URL)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    forward(a, key="Q-0")
    few, n = count_queries()
    forward(a, key="Q-1", item="hypertension")
    many, m = count_queries()
    assert (n, m) == (1, 2) and many == few
    assert many <= 5  # token, school operator, count, page


# --------------------------------------------------------------------------- the portal


@pytest.fixture
def portal(client, schools):
    client.force_login(schools["A"]["user"])
    return client


def test_the_portal_forwards_a_file_on_the_upload_page(portal, schools):
    """The portal's one upload page has the second submission kind: a 门规 file with its documents."""
    a = schools["A"]
    page = portal.get("/portal/upload/?kind=certification")
    assert page.status_code == 200 and "doc_medical_records" in page.content.decode()
    response = portal.post("/portal/upload/?kind=certification", {
        "application_id": "P-1", "id_number": a["student"].id_number, "item": "diabetes", "institution": "JN-C-001",
        "doc_medical_records": [SimpleUploadedFile("病历.pdf", PDF, "application/pdf")],
        "doc_secondary_test_reports": [SimpleUploadedFile("报告1.pdf", PDF), SimpleUploadedFile("报告2.pdf", PDF)]})
    certification = Certification.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/portal/certifications/{certification.pk}/"
    assert certification.school == a["school"] and certification.client_id == "P-1"
    assert sorted(certification.attachments.values_list("document_code", flat=True)) == [
        "medical_records", "secondary_test_reports", "secondary_test_reports"]
    again = portal.post("/portal/upload/?kind=certification", {
        "application_id": "P-1", "id_number": a["student"].id_number, "item": "diabetes", "institution": "JN-C-001"})
    assert again.status_code == 302 and Certification.objects.count() == 1
    home = portal.get("/portal/").content.decode()
    assert certification.number in home


def test_the_portal_refuses_a_bad_file_naming_it(portal, schools):
    a = schools["A"]
    response = portal.post("/portal/upload/?kind=certification", {
        "id_number": a["student"].id_number, "item": "diabetes", "institution": "JN-C-001",
        "doc_medical_records": [SimpleUploadedFile("病历.txt", b"just text")]})
    assert response.status_code == 200
    assert "doc_medical_records" in response.content.decode()
    assert not Certification.objects.exists()


def test_the_portal_shows_the_notice_and_resubmits(portal, schools, clerk):
    a = schools["A"]
    certification = forward(a)
    certification_request_documents(acting_user=clerk, certification=certification,
                                    missing=["secondary_test_reports"], note="请补交")
    page = portal.get(f"/portal/certifications/{certification.pk}/").content.decode()
    assert "二级及以上定点医疗机构检查化验报告" in page and "请补交" in page
    response = portal.post(f"/portal/upload/?certification={certification.pk}", {
        "doc_secondary_test_reports": [SimpleUploadedFile("报告.pdf", PDF)], "resubmit": "on"})
    assert response.status_code == 302
    certification.refresh_from_db()
    assert certification.state == "resubmitted"
    download = portal.get(f"/portal/certifications/{certification.pk}/attachments/{certification.attachments.first().pk}/")
    assert download.status_code == 200 and download.content == PDF
