"""Fund security end to end (issue 15 items 3, 4, 6): the nightly job finds a bed-holding stay; a
supervisor confirms it, a second supervisor approves; the recovery orders are created from the
finding page (re-quoted: 72.00 back to the fund from the manual claimant, 48.00 refunded by the
hospital to the person, the figures of tests/supervision/test_recovery.py); finance records the
repayment.

This stay is a manual claim, so the fund's recovery is owed by the person (DOMAIN.md §9). The
same walk on a stay the hospital settled directly, whose recovery is owed by the hospital and
offset on its next statement's payment order, is tests/e2e/test_direct_stay_recovery.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from claims.models import Case, CaseTransition, CaseType, Invoice
from claims.supervision.models import Finding, RecoveryOrder, SettlementDetail, SettlementLine
from claims.supervision.services import nightly_check
from medins.demo import demo_users_ensure
from medins.models import Institution
from tests.claims.factories import PersonFactory, cover
from tests.e2e.conftest import assert_no_english, shot, take_step
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = dt.date


@pytest.fixture
def bed_holding(reference_data):
    """An 8-day stay (bill 5 320, fund paid 2 712.00 = 0.60 × (5 320 − 800)) with 3 bed-only days, its
    ledger entry posted as approval does, found by the nightly job of 2021-06-20."""
    from tests.supervision.test_recovery import approve_into_ledger, stay_lines

    demo_users_ensure()
    User = get_user_model()
    clerk = User.objects.get(username="intake_clerk")
    hospital = Institution.objects.filter(region__code="220100", kind="hospital").order_by("code").first()
    person = PersonFactory(birth=D(1970, 3, 1))
    cover(person)
    case_type = CaseType.objects.filter(region__code="220100", benefit="inpatient").order_by("number").first()
    case = Case.objects.create(case_type=case_type, person=person, state="paid", service_from=D(2021, 6, 10),
                               service_to=D(2021, 6, 18), institution=hospital, institution_level="municipal_tertiary",
                               bank_account="6222000011112222", received_by=clerk, fund_amount=Decimal("2712.00"),
                               payable_amount=Decimal("2712.00"), state_changed_at=timezone.now())
    Invoice.objects.create(case=case, issuer=hospital.name, number="E2E-REC-1", issued_on=D(2021, 6, 18),
                           class_a=Decimal("5320.00"))
    t = CaseTransition.objects.create(case=case, from_state="calculated", to_state="approved", actor=clerk)
    CaseTransition.objects.filter(pk=t.pk).update(at=timezone.make_aware(dt.datetime(2021, 6, 20, 10)))
    SettlementDetail.objects.create(kind="case", object_id=case.pk, diagnosis="K35.8")
    SettlementLine.objects.bulk_create([
        SettlementLine(kind="case", object_id=case.pk, date=d, item=item, line_kind=kind, quantity=q, amount=Decimal(a))
        for d, item, kind, q, a in stay_lines(D(2021, 6, 10), 8, treat=(0, 1, 2, 6, 7))])
    approve_into_ledger(case)
    nightly_check(region="220100", day=D(2021, 6, 20))
    return Finding.objects.get(rule="bed_holding")


def test_confirm_approve_recover_and_repay(bed_holding, live_server, page):
    url = f"{live_server.url}/admin/supervision/finding/{bed_holding.pk}/change/"
    login(page, live_server, "supervisor")
    page.goto(url)
    take_step(page, "confirm")
    page.context.clear_cookies()
    login(page, live_server, "supervisor2")
    page.goto(url)
    take_step(page, "approve", confirm=True)
    bed_holding.refresh_from_db()
    assert bed_holding.state == "confirmed"
    with page.expect_navigation():
        page.click("#recover-button")
    shot(page, "recovery-order")
    assert_no_english(page)
    orders = {o.kind: o for o in RecoveryOrder.objects.all()}
    assert (orders["recovery"].amount, orders["refund"].amount) == (Decimal("72.00"), Decimal("48.00"))
    assert "72.00" in page.content() or "48.00" in page.content()
    # finance records the person's repayment of the fund's 72.00
    page.context.clear_cookies()
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/supervision/recoveryorder/{orders['recovery'].pk}/change/")
    page.fill("#recovery-actions form:has(input[data-action=repaid]) input[name=value]", "BOC-E2E-0001")
    assert_no_english(page)
    take_step(page, "repaid", confirm=True)
    orders["recovery"].refresh_from_db()
    assert (orders["recovery"].state, orders["recovery"].repaid_reference) == ("settled", "BOC-E2E-0001")
    # the supervisor's report shows the month's finding and what was recovered
    page.context.clear_cookies()
    login(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/supervision/recoveryorder/report/?year=2021")
    assert_no_english(page)
    table = page.inner_text("#report-table")
    assert "2021-06" in table and "72.00" in table
