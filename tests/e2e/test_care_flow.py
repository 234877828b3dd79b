"""Long-term care end to end (issue 13, DOMAIN.md §7): a care home requests an assessment through
the API, assessors record it, a reviewer and a second clerk approve it; the home sends June's
claim through the API; a clerk checks it and a second approves it in the admin, and the payment
order to the home appears."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from carecare.models import Assessment, CareClaim
from carecare.services.stays import stay_admit
from claims.settlement.models import InstitutionOperator
from medins.demo import demo_users_ensure
from medins.models import Institution
from tests.claims.factories import PersonFactory, cover
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_care_assessment import LTC_E0, _items, _step
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setting(reference_data):
    demo_users_ensure()
    from rest_framework.authtoken.models import Token

    User = get_user_model()
    home = Institution.objects.get(region__code="220100", code="CC-L-001")
    home.bank_account, home.bank_account_name = "6222020200100001001", "吉林省颐乐康复中心"
    home.save(update_fields=["bank_account", "bank_account_name"])
    operator = User.objects.get(username="institution_operator")
    InstitutionOperator.objects.update_or_create(user=operator, defaults={"institution": home})
    person = PersonFactory(birth=dt.date(1943, 5, 10))
    cover(person)
    stay_admit(acting_user=User.objects.get(username="intake_clerk"), person=person, care_home=home,
               admitted_on=dt.date(2021, 5, 1))
    return {"home": home, "person": person, "token": Token.objects.create(user=operator).key}


def _api(page, live_server, token, path, data):
    response = page.request.post(f"{live_server.url}{path}", data=data,
                                 headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    return response.status, response.json()


def test_request_assess_approve_claim_check_approve_pay(setting, live_server, page):
    person, token = setting["person"], setting["token"]
    # the home requests an assessment of its resident (API)
    status, body = _api(page, live_server, token, "/api/v1/care/assessments/",
                        {"id_number": person.id_number, "requested_on": "2021-05-03"})
    assert status == 201, body
    url = f"{live_server.url}/admin/carecare/assessment/{body['id']}/change/"
    # the initial assessment, the on-site re-assessment, review, approval by a second clerk
    login(page, live_server, "assessor")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _items(page, "2021-05-05")
    page.context.clear_cookies()
    login(page, live_server, "assessor2")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _items(page, "2021-05-10")
    page.context.clear_cookies()
    login(page, live_server, "reviewer")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _step(page, "review_start", "2021-05-11")
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _step(page, "approve", "2021-05-12")
    assert Assessment.objects.get(pk=body["id"]).grade == "severe"
    assert sum(LTC_E0.values()) == 35
    page.context.clear_cookies()

    # the home sends June's claim (API): 30 days of 115, all payable; LTC-E1 fund 2568.00
    days = [{"date": f"2021-06-{d:02d}", "bed": "40.00", "nursing": "60.00", "supplies": "15.00", "other": "0.00"}
            for d in range(1, 31)]
    status, claim = _api(page, live_server, token, "/api/v1/care/claims/",
                         {"month": "2021-06", "residents": [{"id_number": person.id_number, "days": days}]})
    assert status == 201, claim
    assert (claim["state"], claim["fund"], claim["lines"][0]["days_paid"]) == ("received", "2568.00", 30)
    claim_url = f"{live_server.url}/admin/carecare/careclaim/{claim['id']}/change/"

    # a clerk checks it, a second clerk approves it, and the payment order to the home appears
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/admin/carecare/careclaim/?queue=to_check")
    assert_no_horizontal_scroll(page)
    assert page.locator("#result_list tbody tr").count() == 1
    page.goto(claim_url)
    assert_no_horizontal_scroll(page)
    assert page.locator("tr.claim-line .line-fund").inner_text() == "2,568.00"  # issue 14 item 5: separators
    _step(page, "check")
    assert page.locator("input[data-action=approve]").count() == 0  # not the reviewer's step
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(claim_url)
    assert_no_horizontal_scroll(page)
    _step(page, "approve")
    shot(page, "care-claim-approved")
    saved = CareClaim.objects.get(pk=claim["id"])
    assert saved.state == "payment_ordered" and saved.payment_order is not None
    assert (saved.payment_order.payee_institution_id, saved.payment_order.amount) == (setting["home"].pk, saved.fund)
    assert "已下发支付" in page.content()  # the state, worded as for cases
    # the home reads its result
    response = page.request.get(f"{live_server.url}/api/v1/care/claims/{claim['id']}/",
                                headers={"Authorization": f"Token {token}"})
    assert response.json()["state"] == "payment_ordered"
