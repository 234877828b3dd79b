"""Issue 12 item 7, the browser test: a hospital submits a chronic certification through the REST API
(a real HTTP client against the live server, with its operator's token), a clerk finds it in the admin
queue and sends the one-time notice of the missing document (DOMAIN.md §5), the hospital attaches it
and resubmits through the API, a clerk starts the review and the approver approves it; the chosen
treatment institution sends a certified visit through the visits API and it appears on the month's
fee-for-service statement with the amount the quote contract gives (DOMAIN.md §4.2: 60% of A + B)."""

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
from medins.models import Institution, Region
from tests.claims.factories import PersonFactory
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_reference_admin import login
from tests.enrollment.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n% scanned document\n"


def operator_token(username, code):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=user, institution=Institution.objects.get(region__code="220100", code=code))
    return Token.objects.create(user=user).key


@pytest.fixture
def hospital_token(reference_data):
    """The operator of a Changchun exam hospital (门诊慢性病体检认定机构), its API token."""
    demo_users_ensure()
    return operator_token("exam_hospital_his", "CC-H-003")


@pytest.fixture
def patient(reference_data):
    """Insured in 2021 (the policy year of the visit) and this year (the application)."""
    person = PersonFactory(birth=dt.date(1958, 6, 1), name="赵慢病")
    for year in sorted({2021, timezone.localdate().year}):
        CoveragePeriod.objects.create(person=person, benefit_year=year, covered_from=dt.date(year, 1, 1),
                                      covered_to=dt.date(year, 12, 31))
    return person


def click_step(page, name):
    """A step button of the page's one form (issue 14 item 5); a step that cannot be undone asks first."""
    with page.expect_navigation():
        page.click(f"[data-action={name}]")
    page.wait_for_selector("#content-main")
    if page.locator("#confirm-yes").count():
        assert_no_horizontal_scroll(page)
        with page.expect_navigation():
            page.click("#confirm-yes")
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
    assert_no_horizontal_scroll(page)
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
    assert_no_horizontal_scroll(page)
    page.click(f"#result_list a:has-text('{certification.number}')")
    page.wait_for_selector("#certification-actions")
    click_step(page, "start_review")
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(f"{live_server.url}/admin/certifications/certification/{certification.pk}/change/")
    assert_no_horizontal_scroll(page)
    # valid from the day of the examination (a date of the 2021 policy year the visit falls in)
    page.fill("input[name=_workflow_on_approve]", "2021-05-01")
    click_step(page, "approve")
    shot(page, "certification-approved")
    certification.refresh_from_db()
    assert certification.state == "approved"
    assert certification.valid_from == dt.date(2021, 5, 1) and certification.valid_to is None
    assert list(certification.sites.values_list("institution__code", flat=True)) == ["CC-H-019"]
    assert [t for t in certification.transitions.values_list("to_state", flat=True)] == [
        "applied", "incomplete", "resubmitted", "under_review", "approved"]

    # the hospital sees the approval through the API
    assert api.get(f"{base}{application['id']}/", timeout=30).json()["state"] == "approved"

    # the treatment institution sends a certified visit through the visits API
    treatment = requests.Session()
    treatment.headers.update({"Authorization": f"Token {operator_token('community_his', 'CC-H-019')}"})
    bill = {"class_a": "300.00", "class_b": "100.00", "class_c": "50.00"}
    visit = {"visit_id": "CC019-2021-05-0001", "id_number": patient.id_number, "service_date": "2021-05-10",
             "benefit": "chronic", "item_code": "coronary_heart_disease", **bill}
    response = treatment.post(f"{live_server.url}/api/v1/settlement/institutions/220100/CC-H-019/visits/",
                              json={"visits": [visit]}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and not response.json()["errors"], response.json()

    # the amount the contract gives for this visit (POST /api/v1/quotes/, contracts/quote.md "chronic")
    quote = treatment.post(f"{live_server.url}/api/v1/quotes/", json={
        "region": "220100", "benefit": "chronic", "service_date": "2021-05-10", "person": {"category": "adult"},
        "institution": {"level": "secondary"}, "certified_diseases": ["coronary_heart_disease"], "bill": bill,
        "year_to_date": {"fund_paid": "0.00", "shared_fund_paid": "0.00"}}, timeout=30)
    assert quote.status_code == 200, quote.text
    assert quote.json()["fund"] == "240.00"  # DOMAIN.md §4.2: 60% of A + B, no deductible

    # the month's fee-for-service run; the statement in the admin carries that amount
    from django.contrib.auth import get_user_model

    from claims.settlement.models import FeeStatement, RunKind
    from claims.settlement.services import settlement_run_start

    settlement_run_start(acting_user=get_user_model().objects.get(username="reviewer"),
                         region=Region.objects.get(code="220100"), kind=RunKind.FEE_FOR_SERVICE, year=2021, month=5)
    statement = FeeStatement.objects.get(institution__code="CC-H-019", year=2021, month=5, benefit="chronic")
    assert str(statement.payable) == quote.json()["fund"] and statement.visits_count == 1
    page.context.clear_cookies()
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/settlement/feestatement/{statement.pk}/change/")
    assert_no_horizontal_scroll(page)
    shot(page, "certification-fee-statement")
    # the visit is one row: its amounts side by side, not stacked in one column
    cells = page.locator("fieldset.module table tbody tr").first.locator("td.money")
    tops = {round(cells.nth(i).bounding_box()["y"]) for i in range(cells.count())}
    lefts = [cells.nth(i).bounding_box()["x"] for i in range(cells.count())]
    assert cells.count() == 5 and len(tops) == 1 and lefts == sorted(set(lefts))
    content = page.content()
    assert "240.00" in content and "CC019-2021-05-0001" in content
