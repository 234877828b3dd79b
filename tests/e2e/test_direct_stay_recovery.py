"""Fund security on a direct inpatient settlement, end to end (issue 15 item 6: "a supervisor
confirms a bed-holding finding, a second person approves, the recovery order is offset against
the hospital's next statement").

吉林大学第一医院 sent a stay settled directly (住院直接结算) with three bed-and-nursing-only days;
its June statement was paid. The nightly job finds the bed-holding; `supervisor` confirms,
`supervisor2` approves, the recovery orders are made from the finding page (re-quoted: 115.50
owed to the fund by the hospital, 94.50 the hospital refunds the person — the figures of
tests/settlement/test_stays.py); `finance` releases the hospital's July statement (555.50) and its
payment order is 440.00, the 115.50 offset shown against the recovery order."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from claims.models import PaymentOrder
from claims.settlement.models import FeeStatement, InpatientStay, RunKind
from claims.settlement.services import fee_statement_release, settlement_run_start, stays_receive
from claims.supervision.models import Finding, RecoveryOrder
from claims.supervision.services import nightly_check
from enrollment.models import CoveragePeriod
from medins.demo import demo_users_ensure
from medins.models import Institution
from tests.claims.factories import PersonFactory
from tests.e2e.conftest import assert_no_english, shot, take_step
from tests.e2e.test_reference_admin import login
from tests.settlement.test_stays import EXTRA, stay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = dt.date


def _statement(month: int, starter) -> FeeStatement:
    run = settlement_run_start(acting_user=starter, region=starter_region(), kind=RunKind.FEE_FOR_SERVICE, year=2021,
                               month=month)
    return FeeStatement.objects.get(run=run, benefit="inpatient")


def starter_region():
    from medins.models import Region

    return Region.objects.get(code="220100")


@pytest.fixture
def direct_stays(reference_data):
    """The June stay paid on June's statement, found by the nightly job of 2021-06-18; the July
    stay waiting for July's statement (made by `reviewer`, released in the browser by `finance`)."""
    demo_users_ensure()
    User = get_user_model()
    reviewer, finance = User.objects.get(username="reviewer"), User.objects.get(username="finance")
    hospital = Institution.objects.get(region__code="220100", code="CC-H-001")
    hospital.bank_name, hospital.bank_account, hospital.bank_account_name = "中国银行", "6216600000009876543", hospital.name
    hospital.save()
    person = PersonFactory(birth=D(1960, 5, 6))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                  covered_to=D(2021, 12, 31))
    result = stays_receive(acting_user=None, institution=hospital,
                           stays=[stay("E2E-ZY-1", person, D(2021, 6, 10), 8, extra=EXTRA)])
    assert not result.errors, result.errors
    InpatientStay.objects.update(received_at=timezone.make_aware(dt.datetime(2021, 6, 18, 10)))
    fee_statement_release(acting_user=finance, statement=_statement(6, reviewer))
    nightly_check(region="220100", day=D(2021, 6, 18))
    result = stays_receive(acting_user=None, institution=hospital,
                           stays=[stay("E2E-ZY-2", person, D(2021, 7, 1), 3, treat=(0, 1))])
    assert not result.errors, result.errors
    july = _statement(7, reviewer)
    return Finding.objects.get(rule="bed_holding"), july, hospital


def test_bed_holding_on_a_direct_stay_is_offset_on_the_hospitals_next_statement(direct_stays, live_server, page):
    finding, july, hospital = direct_stays
    assert finding.institution == hospital
    url = f"{live_server.url}/admin/supervision/finding/{finding.pk}/change/"
    login(page, live_server, "supervisor")
    page.goto(url)
    assert "住院直接结算" in page.content() or "E2E-ZY-1" in page.content() or "ip:" in page.content()
    assert_no_english(page)
    take_step(page, "confirm")
    page.context.clear_cookies()
    login(page, live_server, "supervisor2")
    page.goto(url)
    take_step(page, "approve", confirm=True)
    finding.refresh_from_db()
    assert finding.state == "confirmed"
    with page.expect_navigation():
        page.click("#recover-button")
    shot(page, "direct-stay-recovery-order")
    assert_no_english(page)
    orders = {o.kind: o for o in RecoveryOrder.objects.all()}
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution) == (Decimal("115.50"), hospital)
    assert (orders["refund"].amount, orders["refund"].debtor_institution) == (Decimal("94.50"), hospital)
    assert hospital.name in page.content()

    # finance releases the hospital's July statement: the recovery order is offset on its payment order
    page.context.clear_cookies()
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/settlement/feestatement/{july.pk}/change/")
    assert "E2E-ZY-2" in page.locator("#statement-stays").inner_text()
    assert_no_english(page)
    page.goto(f"{live_server.url}/admin/settlement/feestatement/?benefit__exact=inpatient")
    page.locator(f"#result_list input.action-select[value='{july.pk}']").check()
    page.select_option("select[name=action]", "release")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "555.50" in page.locator("#content").inner_text()
    assert_no_english(page)
    with page.expect_navigation():
        page.click("#confirm-yes")
    assert page.locator(".messagelist .success").count() == 1
    order = PaymentOrder.objects.get(source_kind="fee_statement", source_id=july.pk)
    assert order.amount == Decimal("440.00")
    page.goto(f"{live_server.url}/admin/claims/paymentorder/{order.pk}/change/")
    shot(page, "direct-stay-offset")
    text = page.locator("#content").inner_text()
    assert orders["recovery"].number in text and "115.50" in text and "440.00" in text
    assert_no_english(page)
    orders["recovery"].refresh_from_db()
    assert (orders["recovery"].outstanding, orders["recovery"].state) == (Decimal("0.00"), "settled")
