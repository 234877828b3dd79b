# ruff: noqa: F811 - the fixtures imported below are requested by name
"""Recovery of a pool visit under capitation (DOMAIN.md §8 and §9 "Recovery"): the institution
gives back what it was actually overpaid, not the visit's fund difference
(claims/settlement/services/pool_corrections.py).

Figures (Jinan 2021): the pool pays 65 % of the bill, no deductible, a yearly cap of 500 per
person; capitation 60 per person a year (monthly quota = head count × 5.00), surplus share 0.50
(DOMAIN.md §8: under the annual quota the year pays actual + 50 % of (quota − actual)). The
month's head count is frozen on the account before the run, as a run freezes it.

The visit of every test: a bill of 600.00 (fund 0.65 × 600 = 390.00) with 14 days of a drug
(280.00), the acute maximum 7 days: 140.00 removed (contract excess_prescription (a)), so the fund
should have paid 0.65 × 460 = 299.00 (δ = 91.00) and the student 161.00 instead of 210.00 — the
clinic refunds 49.00 in every case (the person's side does not depend on capitation).
"""

import datetime as dt
from decimal import Decimal

import pytest

from claims.ledger.models import LedgerEntry
from claims.ledger.selectors import discrepancies
from claims.ledger.selectors import year_to_date as ledger_ytd
from claims.ledger.services import live_entries
from claims.settlement.models import CertifiedVisit, PoolAccount, RunKind, Visit
from claims.settlement.services import certified_visits_ingest, pool_members_sync_schools
from claims.supervision.models import GreyListEntry, RecoveryOrder
from claims.supervision.recovery import recovery_order_create
from tests.settlement.conftest import (  # noqa: F401 - fixtures
    certify,
    changchun,
    clinic,
    college,
    cvisit,
    ingest,
    jinan,
    make_student,
    make_user,
    visit,
)

from .test_recovery_kinds import confirmed_finding, drug_line, orders_of, settle, student  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
D = dt.date
M = Decimal


def account_of(institution):
    return PoolAccount.objects.get(institution=institution, year=2021)


def june_visit(ingest, student, visit_id="V-1", a="600.00", drug=True):
    ingest([visit(visit_id, student, D(2021, 6, 1), a=a)])
    v = Visit.objects.get(visit_id=visit_id)
    if drug:
        drug_line("pool_visit", v, v.service_date, supply=14, amount="280.00")
    return v


def excess(v, supervisors):
    return orders_of(confirmed_finding("excess_prescription", v, severity="review"), supervisors)


def test_paid_month_under_quota_recovers_the_whole_difference_and_the_next_run_does_not_take_it_again(
        student, ingest, clinic, supervisors):
    """June's head count 1 200 → quota 6 000.00; June paid its actual 390.00 (under quota). Corrected
    actual 299.00, still under quota → paid 299.00: overpaid 390.00 − 299.00 = 91.00, the recovery
    order. The account: June actual 299.00, settled to date 390.00 − 91.00 = 299.00, so July's run
    (nothing new) pays 0.00 — the order, not the run, takes the 91.00 back."""
    v = june_visit(ingest, student)
    assert settle(clinic, 6, headcount=1200).paid == M("390.00")
    orders = excess(v, supervisors)
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("91.00"), clinic.pk)
    assert orders["refund"].amount == M("49.00")
    cap = orders["recovery"].breakdown["quotes"][f"pv:{v.pk}"]["capitation"]
    assert (cap["settled"], cap["quota"], cap["actual_before"], cap["actual_after"], cap["overpaid"]) == (
        True, "6000.00", "390.00", "299.00", "91.00")
    v.refresh_from_db()
    assert (v.fund, v.personal) == (M("299.00"), M("301.00"))
    account = account_of(clinic)
    assert (account.actuals["6"], account.settled_to_date) == ("299.00", M("299.00"))
    july = settle(clinic, 7, headcount=1200)
    assert (july.payable, july.adjustment) == (M("0.00"), M("0.00"))


def test_month_over_quota_pays_the_same_so_no_recovery_order(student, ingest, clinic, supervisors):
    """June's head count 12 → quota 60.00; June's actual 390.00 was paid the quota 60.00. Corrected
    actual 299.00 is still over the quota → still 60.00: overpaid 0.00, so no recovery order is
    created (an order is never of 0); the clinic still refunds the student 49.00. June's actual on
    the account is corrected (the year end reads it), settled to date stays 60.00."""
    v = june_visit(ingest, student)
    assert settle(clinic, 6, headcount=12).paid == M("60.00")
    orders = excess(v, supervisors)
    assert set(orders) == {"refund"} and orders["refund"].amount == M("49.00")
    cap = orders["refund"].breakdown["quotes"][f"pv:{v.pk}"]["capitation"]
    assert (cap["quota"], cap["actual_after"], cap["overpaid"]) == ("60.00", "299.00", "0.00")
    account = account_of(clinic)
    assert (account.actuals["6"], account.settled_to_date) == ("299.00", M("60.00"))


def test_over_quota_with_nothing_owed_at_all_records_the_correction_and_makes_no_order(
        student, make_student, ingest, clinic, supervisors):
    """Two June visits: 390.00 (the student, grey-listed) and 0.65 × 200 = 130.00 (another student);
    quota 60.00, paid 60.00. The grey-listed visit should not have been settled directly (fund 0,
    the student owed the whole bill: no refund); June's actual 520.00 → 130.00, still over 60.00:
    the clinic was not overpaid. No order at all; the correction stands (visit fund 0, actual
    130.00, the visit's ledger entry reversed) and is recorded on the finding, so asking again
    neither orders nor corrects anything more."""
    other = make_student()
    pool_members_sync_schools(acting_user=None, region_id=clinic.region_id, year=2021)
    v = june_visit(ingest, student, drug=False)
    ingest([visit("V-2", other, D(2021, 6, 3), a="200.00")])
    assert Visit.objects.get(visit_id="V-2").fund == M("130.00")
    settle(clinic, 6, headcount=12)
    GreyListEntry.objects.create(person=student, from_date=D(2021, 5, 1), to_date=D(2021, 8, 31), reason="骗保",
                                 created_by=supervisors[0])
    finding = confirmed_finding("grey_list", v)
    assert recovery_order_create(acting_user=supervisors[0], finding=finding) == []
    finding.refresh_from_db()
    assert finding.facts["recovery"]["breakdown"]["quotes"][f"pv:{v.pk}"]["capitation"]["overpaid"] == "0.00"
    v.refresh_from_db()
    assert v.fund == M("0.00")
    assert (account_of(clinic).actuals["6"], account_of(clinic).settled_to_date) == ("130.00", M("60.00"))
    entries = LedgerEntry.objects.count()
    assert recovery_order_create(acting_user=supervisors[0], finding=finding) == []
    assert LedgerEntry.objects.count() == entries and not RecoveryOrder.objects.exists()


def test_month_not_paid_yet_needs_no_order_the_coming_run_pays_the_corrected_amount(
        student, ingest, clinic, supervisors):
    """June not run yet: the visit is corrected to 299.00 and nothing is recovered (the clinic has not
    been paid); June's run then pays the corrected actual 299.00 (quota 6 000.00), not 390.00."""
    v = june_visit(ingest, student)
    orders = excess(v, supervisors)
    assert set(orders) == {"refund"}
    assert orders["refund"].breakdown["quotes"][f"pv:{v.pk}"]["capitation"]["settled"] is False
    june = settle(clinic, 6, headcount=1200)
    assert (june.actual, june.paid, june.payable) == (M("299.00"), M("299.00"), M("299.00"))


def test_late_visit_of_a_paid_month_is_not_settled_yet_so_no_order(student, make_student, ingest, clinic, supervisors):
    """June was run (another student's 0.65 × 100 = 65.00) before the visit arrived: a late visit, not
    settled (above June's watermark) → no order; July's run settles it as a late visit at 299.00."""
    other = make_student()
    pool_members_sync_schools(acting_user=None, region_id=clinic.region_id, year=2021)
    ingest([visit("V-0", other, D(2021, 6, 2), a="100.00")])
    settle(clinic, 6, headcount=1200)
    v = june_visit(ingest, student)
    assert set(excess(v, supervisors)) == {"refund"}
    july = settle(clinic, 7, headcount=1200)
    assert (july.adjustment, july.payable) == (M("299.00"), M("299.00"))


def test_year_settled_under_annual_quota_recovers_the_year_end_effect(student, ingest, clinic, supervisors):
    """Head count 12 every month: monthly quota 60.00, annual 720.00. June's actual 390.00 was paid
    60.00 (over quota); the year-end paid final 390.00 + 0.5 × (720.00 − 390.00) = 555.00 in all
    (495.00 after the 60.00 of the months) and closed the year. Corrected annual actual 299.00:
    final 299.00 + 0.5 × 421.00 = 509.50 → the clinic was overpaid 555.00 − 509.50 = 45.50 (half
    of δ), though June alone was over its quota. Settled to date 555.00 → 509.50."""
    v = june_visit(ingest, student)
    for month in range(1, 13):
        settle(clinic, month, headcount=12)
    year_end = settle(clinic, 12, headcount=12, kind=RunKind.YEAR_END)
    assert (year_end.paid, year_end.payable) == (M("555.00"), M("495.00"))
    assert account_of(clinic).closed
    orders = excess(v, supervisors)
    assert orders["recovery"].amount == M("45.50") and orders["refund"].amount == M("49.00")
    cap = orders["recovery"].breakdown["quotes"][f"pv:{v.pk}"]["capitation"]
    assert (cap["closed"], cap["received_before"], cap["received_after"]) == (True, "555.00", "509.50")
    assert account_of(clinic).settled_to_date == M("509.50")


def test_year_open_under_annual_quota_the_year_end_sees_the_corrected_actual(student, ingest, clinic, supervisors):
    """Same year, the recovery made before the year-end: June was paid 60.00 (over quota) → no
    recovery order; the year-end then pays final 509.50 on the corrected actual 299.00, minus 60.00
    settled = 449.50 (uncorrected it would have paid 495.00)."""
    v = june_visit(ingest, student)
    for month in range(1, 13):
        settle(clinic, month, headcount=12)
    assert set(excess(v, supervisors)) == {"refund"}
    year_end = settle(clinic, 12, headcount=12, kind=RunKind.YEAR_END)
    assert (year_end.actual, year_end.paid, year_end.payable) == (M("299.00"), M("509.50"), M("449.50"))


def test_the_admin_button_says_no_order_was_needed_and_is_not_offered_again(
        student, ingest, clinic, supervisors, client):
    """The finding's button on a correction capitation absorbed (June not run yet, grey-listed visit:
    fund 0, no refund): back to the finding with the message, no order, no button any more."""
    from django.urls import reverse

    v = june_visit(ingest, student, drug=False)
    GreyListEntry.objects.create(person=student, from_date=D(2021, 5, 1), to_date=D(2021, 8, 31), reason="骗保",
                                 created_by=supervisors[0])
    finding = confirmed_finding("grey_list", v)
    page = reverse("admin:supervision_finding_change", args=[finding.pk])
    client.force_login(supervisors[0])
    assert b"recover-button" in client.get(page).content
    response = client.post(reverse("admin:supervision_finding_recover", args=[finding.pk]), follow=True)
    assert response.redirect_chain[-1][0] == page
    assert "无需生成追回单" in response.content.decode()
    assert not RecoveryOrder.objects.exists() and b"recover-button" not in client.get(page).content


# --------------------------------------------------------------------------- a pool visit dropped whole


@pytest.fixture
def twice(student, ingest, clinic, certify):
    """twice(headcount=None) -> (the 两病 visit, the pool visit) of one June day at the school clinic
    for the same line: the student is registered for 两病 hypertension at the clinic (a primary
    institution, DOMAIN.md §4.3: 50 %, 300.00 a year), its 两病 visit of 600.00 paid 300.00; the clinic
    sent the same 600.00 again as a pool visit (0.65 × 600 = 390.00). Both carry the drug line
    (06-01, DX, 280.00): contract benefit_twice (one line under two benefits). June's capitation run
    is made first with the head count given (None: June not run)."""

    def make(headcount=None):
        certify(student, "two_diseases", "hypertension", clinic)
        result = certified_visits_ingest(acting_user=None, institution=clinic, rows=[
            cvisit("L-1", student, D(2021, 6, 1), "two_diseases", "hypertension", a="600.00")])
        assert result.created == 1, result.errors
        two = CertifiedVisit.objects.get(visit_id="L-1")
        pool = june_visit(ingest, student, drug=False)
        for kind, v in (("certified_visit", two), ("pool_visit", pool)):
            drug_line(kind, v, v.service_date, supply=7, amount="280.00")
        assert (two.fund, pool.fund) == (M("300.00"), M("390.00"))
        if headcount is not None:
            settle(clinic, 6, headcount=headcount)
        return two, pool

    return make


def drop(two, pool, supervisors):
    finding = confirmed_finding("benefit_twice", two, pool)
    return finding, recovery_order_create(acting_user=supervisors[0], finding=finding)


def test_dropped_pool_visit_of_a_month_paid_under_quota_recovers_its_fund_and_corrects_the_account(
        twice, clinic, student, supervisors):
    """The later settlement of the pair is dropped (contract benefit_twice; same day, pv after cv —
    also DOMAIN.md §4.0's precedence, 两病 before the pool). June's quota 6 000.00 (head count
    1 200), June paid its actual 390.00. Without the visit June's actual is 0.00, paid 0.00: the
    clinic was overpaid 390.00, the order. The visit's fund becomes 0.00 (the person bears the
    bill), June's actual 0.00 and settled to date 390.00 − 390.00 = 0.00, so July's run pays 0.00
    (the order, not the run, takes it back). The pool ledger entry is reversed, none is posted; the
    两病 visit's entry stays (its 300.00). No refund: whether the person paid twice is not known."""
    two, pool = twice(headcount=1200)
    _finding, orders = drop(two, pool, supervisors)
    [order] = orders
    assert (order.kind, order.amount, order.debtor_institution_id) == ("recovery", M("390.00"), clinic.pk)
    assert (order.fund_paid, order.fund_due) == (M("390.00"), M("0.00"))
    assert order.breakdown["dropped"] == f"pv:{pool.pk}"
    cap = order.breakdown["capitation"]
    assert (cap["settled"], cap["actual_before"], cap["actual_after"], cap["overpaid"]) == (
        True, "390.00", "0.00", "390.00")
    pool.refresh_from_db()
    assert (pool.fund, pool.personal) == (M("0.00"), M("600.00"))
    assert (account_of(clinic).actuals["6"], account_of(clinic).settled_to_date) == ("0.00", M("0.00"))
    entries = LedgerEntry.objects.filter(source_kind="pool_visit", source_id=pool.pk)
    assert sorted(e.fund for e in entries) == [M("-390.00"), M("390.00")]
    assert not live_entries("pool_visit", pool.pk).exists()
    assert [e.fund for e in live_entries("certified_visit", two.pk)] == [M("300.00")]
    assert ledger_ytd(person_id=student.pk, benefit="outpatient_pool", on=D(2021, 7, 1))["fund_paid"] == M("0.00")
    assert discrepancies() == []
    july = settle(clinic, 7, headcount=1200)
    assert (july.payable, july.adjustment) == (M("0.00"), M("0.00"))


def test_dropped_pool_visit_of_a_month_over_quota_recovers_only_what_the_month_paid(twice, clinic, supervisors):
    """June's quota 60.00 (head count 12): June's actual 390.00 was paid the quota 60.00. Without the
    visit June's actual 0.00 is paid 0.00: the clinic gives back 60.00 — what it received — not the
    visit's 390.00 (the order the drop made before capitation was taken into account)."""
    two, pool = twice(headcount=12)
    [order] = drop(two, pool, supervisors)[1]
    assert (order.kind, order.amount) == ("recovery", M("60.00"))
    assert order.breakdown["capitation"]["quota"] == "60.00"
    assert (account_of(clinic).actuals["6"], account_of(clinic).settled_to_date) == ("0.00", M("0.00"))


def test_dropped_pool_visit_with_the_month_still_over_quota_needs_no_order(
        twice, make_student, ingest, clinic, supervisors):
    """Another student's June visit of 0.65 × 200 = 130.00; June's quota 60.00, actual 520.00, paid
    60.00. Without the dropped visit June's actual 130.00 is still over the quota: paid 60.00 either
    way, the clinic was not overpaid. No order; the correction (visit fund 0, June's actual 130.00,
    the pool entry reversed) is recorded on the finding, and asking again changes nothing."""
    other = make_student()
    pool_members_sync_schools(acting_user=None, region_id=clinic.region_id, year=2021)
    ingest([visit("V-2", other, D(2021, 6, 3), a="200.00")])
    two, pool = twice(headcount=12)
    finding, orders = drop(two, pool, supervisors)
    assert orders == []
    finding.refresh_from_db()
    assert finding.facts["recovery"]["breakdown"]["capitation"]["overpaid"] == "0.00"
    pool.refresh_from_db()
    assert pool.fund == M("0.00")
    assert (account_of(clinic).actuals["6"], account_of(clinic).settled_to_date) == ("130.00", M("60.00"))
    entries = LedgerEntry.objects.count()
    assert recovery_order_create(acting_user=supervisors[0], finding=finding) == []
    assert LedgerEntry.objects.count() == entries and not RecoveryOrder.objects.exists()


def test_dropped_pool_visit_not_settled_yet_is_not_paid_by_the_coming_run(twice, clinic, supervisors):
    """June not run yet: no order (the clinic has received nothing for it); June's run then pays
    its corrected actual 0.00, not 390.00."""
    two, pool = twice()
    finding, orders = drop(two, pool, supervisors)
    assert orders == []
    finding.refresh_from_db()
    assert finding.facts["recovery"]["breakdown"]["capitation"]["settled"] is False
    june = settle(clinic, 6, headcount=1200)
    assert (june.actual, june.paid, june.payable) == (M("0.00"), M("0.00"), M("0.00"))


def test_dropped_pool_visit_of_a_year_settled_under_its_annual_quota_recovers_half(twice, clinic, supervisors):
    """Head count 12 every month (annual quota 720.00); the year-end paid final 390.00 + 0.5 ×
    (720.00 − 390.00) = 555.00 and closed the year. Without the visit: 0.00 + 0.5 × 720.00 = 360.00
    → the clinic was overpaid 555.00 − 360.00 = 195.00 (half the visit's fund, DOMAIN.md §8's
    surplus share). Settled to date 555.00 → 360.00."""
    two, pool = twice()
    for month in range(1, 13):
        settle(clinic, month, headcount=12)
    assert settle(clinic, 12, headcount=12, kind=RunKind.YEAR_END).paid == M("555.00")
    [order] = drop(two, pool, supervisors)[1]
    assert (order.kind, order.amount) == ("recovery", M("195.00"))
    cap = order.breakdown["capitation"]
    assert (cap["closed"], cap["received_before"], cap["received_after"]) == (True, "555.00", "360.00")
    assert account_of(clinic).settled_to_date == M("360.00")
