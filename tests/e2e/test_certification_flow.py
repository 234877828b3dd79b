"""Issue 12 item 7, the browser test: a hospital submits a chronic certification through the REST API
(a real HTTP client against the live server, with its operator's token), a clerk finds it in the admin
queue and sends the one-time notice of the missing document (DOMAIN.md §5), the hospital attaches it
and resubmits through the API, a clerk starts the review and the approver approves it."""

import base64
import datetime as dt

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from claims.certifications.models import Certification
from claims.settlement.models import InstitutionOperator
from enrollment.models import CoveragePeriod
from medins.demo import demo_users_ensure
from medins.models import Institution
from tests.claims.factories import PersonFactory
from tests.e2e.conftest import shot
from tests.e2e.test_reference_admin import login
from tests.enrollment.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n% scanned document\n"


@pytest.fixture
def hospital_token(reference_data):
    """The operator of a Changchun exam hospital (门诊慢性病体检认定机构), its API token."""
    demo_users_ensure()
    user = UserFactory(username="exam_hospital_his")
    user.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=user, institution=Institution.objects.get(region__code="220100", code="CC-H-003"))
    return Token.objects.create(user=user).key


@pytest.fixture
def patient(reference_data):
    person = PersonFactory(birth=dt.date(1958, 6, 1), name="赵慢病")
    year = timezone.localdate().year
    CoveragePeriod.objects.create(person=person, benefit_year=year, covered_from=dt.date(year, 1, 1),
                                  covered_to=dt.date(year, 12, 31))
    return person


def click_step(page, name):
    with page.expect_navigation():
        page.click(f"input[data-action={name}]")
    page.wait_for_selector("#content-main")


def test_hospital_applies_by_api_clerk_asks_for_a_document_and_approves(hospital_token, patient, live_server, page):
    api = requests.Session()
    api.headers.update({"Authorization": f"Token {hospital_token}", "Accept-Language": "zh-hans"})
    base = f"{live_server.url}/api/v1/certifications/"

    # the hospital applies: 冠心病, treatment at 朝阳区医院, three of the four documents
    documents = [{"document_code": code, "filename": f"{code}.pdf", "content_base64": base64.b64encode(PDF).decode()}
                 for code in ("id_card", "application_form", "medical_records")]
    body = {"application_id": "HIS-2024-0001", "id_number": patient.id_number, "kind": "chronic",
            "item": "coronary_heart_disease", "institution": "CC-H-019", "attachments": documents}
    response = api.post(base, json=body, timeout=30)
    assert response.status_code == 201, response.text
    application = response.json()
    assert application["state"] == "applied"
    retry = api.post(base, json=body, timeout=30)  # the HIS retries after a timeout: nothing twice
    assert retry.status_code == 200 and retry.json()["id"] == application["id"]
    certification = Certification.objects.get()

    # a clerk finds it in the queue of applications waiting for review and sends the one-time notice
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/admin/certifications/certification/?queue=review")
    assert certification.number in page.locator("#result_list").inner_text()
    page.click(f"#result_list a:has-text('{certification.number}')")
    page.wait_for_selector("#certification-actions")
    click_step(page, "request_documents")
    shot(page, "certification-notice")
    certification.refresh_from_db()
    assert certification.state == "incomplete"

    # the hospital reads the notice through the API, attaches the missing document and resubmits
    detail = api.get(f"{base}{application['id']}/", timeout=30).json()
    assert detail["state"] == "incomplete"
    assert [m["code"] for m in detail["notices"][0]["missing"]] == ["exam_results"]
    response = api.post(f"{base}{application['id']}/attachments/", data={"document_code": "exam_results", "resubmit": "true"},
                        files={"file": ("体检认定结果.pdf", PDF, "application/pdf")}, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "resubmitted"

    # the clerk starts the review; the approver approves
    page.goto(f"{live_server.url}/admin/certifications/certification/?queue=review")
    page.click(f"#result_list a:has-text('{certification.number}')")
    page.wait_for_selector("#certification-actions")
    click_step(page, "start_review")
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(f"{live_server.url}/admin/certifications/certification/{certification.pk}/change/")
    click_step(page, "approve")
    shot(page, "certification-approved")
    certification.refresh_from_db()
    assert certification.state == "approved"
    assert certification.valid_from == timezone.localdate() and certification.valid_to is None
    assert list(certification.sites.values_list("institution__code", flat=True)) == ["CC-H-019"]
    assert [t for t in certification.transitions.values_list("to_state", flat=True)] == [
        "applied", "incomplete", "resubmitted", "under_review", "approved"]

    # the hospital sees the approval through the API
    assert api.get(f"{base}{application['id']}/", timeout=30).json()["state"] == "approved"
