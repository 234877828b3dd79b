"""Recovery (追回, DOMAIN.md §9; issue 15 item 4): the order's amount is the re-quote of the
settlements as they should have been, never typed; the ledger is reversed and reposted so the
next settlement sees the corrected year-to-date figures; offsets against the debtor
institution's next payments (never below zero, once per payable); repayment, write-off (four
eyes), fine reference.

Hand-computed figures use the Changchun 2021 policy (medins/reference/policies/220100-2021/
inpatient.yaml): an adult at a municipal tertiary hospital has a deductible of 800 per
admission and the fund pays 60 % of the eligible amount above it (first band, up to 30 000);
class A only, so eligible = the bill. The catastrophic supplement starts above 10 000 of
personal payments a year: none here.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import translation

from claims.ledger import keys as ledger_keys
from claims.ledger.models import LedgerEntry
from claims.ledger.selectors import accounts_of
from claims.ledger.selectors import year_to_date as ledger_ytd
from claims.ledger.services import Posting, ledger_post
from claims.models import PaymentOrder
from claims.services.payments import payment_order_for_institution
from claims.supervision.errors import FourEyes, RecoveryRefused
from claims.supervision.models import Finding, FindingSettlement, RecoveryOffset, RecoveryOrder
from claims.supervision.recovery import (
    _CaseSettlement,
    recovery_fine_reference,
    recovery_order_create,
    recovery_repaid,
    recovery_write_off_approve,
    recovery_write_off_request,
)
from claims.supervision.services import block_message, finding_approve, finding_confirm, nightly_check
from medins.quoting import quote

pytestmark = pytest.mark.django_db
D = dt.date
M = Decimal


def stay_lines(start, n, *, treat=(), treat_amount="1000.00"):
    """One 40.00 bed line a day for n days; `treat` days also get a treatment line."""
    out = []
    for i in range(n):
        day = start + dt.timedelta(days=i)
        out.append((day, "BED01", "bed", 1, "40.00"))
        if i in treat:
            out.append((day, "TRT01", "treatment", 1, treat_amount))
    return out


@transaction.atomic
def approve_into_ledger(case):
    """Post the case's own quote to the ledger, as case approval does (claims.services.cases._approve)."""
    s = _CaseSettlement(case.pk)
    accounts = accounts_of(case.person_id, case.service_from.year, s.benefit, lock=True)
    body = quote(s.request(s.stay, ledger_keys.year_to_date(s.benefit, accounts)))
    ledger_post(acting_user=None, postings=[Posting(person_id=case.person_id, service_date=case.service_from,
                                                    benefit=s.benefit, source_kind="case", source_id=case.pk,
                                                    figures=ledger_keys.effect(s.benefit, body))],
                read=accounts.read)
    return body


def confirmed(rule, supervisors):
    first, second = supervisors
    finding = Finding.objects.get(rule=rule)
    finding_confirm(acting_user=first, finding=finding)
    finding_approve(acting_user=second, finding=finding)
    finding.refresh_from_db()
    return finding


@pytest.fixture
def bed_holding(person, hospitals, paid_case, supervisors):
    """A stay of 8 days (06-10 → 06-18) at a municipal tertiary hospital; days 3–5 hold only a bed line.
    Bill 8 × 40 + 5 × 1 000 = 5 320; fund paid 0.60 × (5 320 − 800) = 2 712.00."""
    h1, _h2 = hospitals
    case = paid_case(person, D(2021, 6, 10), D(2021, 6, 18), institution=h1, diagnosis="K35.8", fund="2712.00",
                     total="5320.00", lines=stay_lines(D(2021, 6, 10), 8, treat=(0, 1, 2, 6, 7)))
    body = approve_into_ledger(case)
    assert body["fund"] == "2712.00"  # the hand-computed figure is the engine's
    nightly_check(region="220100", day=D(2021, 6, 15))
    return case, confirmed("bed_holding", supervisors)


def test_bed_holding_recovers_the_idle_days_from_the_manual_claimant_and_refunds_the_person(bed_holding, supervisors):
    """DOMAIN.md §9: re-quote without the idle days' lines (3 × 40 = 120 removed: bill 5 200, fund
    0.60 × 4 400 = 2 640.00). The fund paid 2 712.00 → 72.00 back from the party that received it
    (a manual claim: the person). The person paid 5 320 − 2 712 = 2 608.00 but should have paid
    5 200 − 2 640 = 2 560.00 → the hospital refunds 48.00."""
    case, finding = bed_holding
    orders = {o.kind: o for o in recovery_order_create(acting_user=supervisors[0], finding=finding)}
    recovery, refund = orders["recovery"], orders["refund"]
    assert (recovery.amount, recovery.outstanding, recovery.fund_paid, recovery.fund_due) == (
        M("72.00"), M("72.00"), M("2712.00"), M("2640.00"))
    assert recovery.debtor_person_id == case.person_id and recovery.debtor_institution_id is None
    assert (refund.amount, refund.person_paid, refund.person_due) == (M("48.00"), M("2608.00"), M("2560.00"))
    assert refund.debtor_institution_id == case.institution_id and refund.creditor_person_id == case.person_id
    assert recovery.breakdown["quotes"][f"case:{case.pk}"]["fund"] == "2640.00"


def test_the_corrected_settlement_reverses_and_reposts_the_ledger_and_the_next_quote_sees_it(bed_holding, supervisors):
    """DOMAIN.md §9: "The corrected settlement reverses and reposts the yearly ledger entries, so
    later settlements see the right totals": year-to-date fund 2 712 → 2 640, covered personal
    2 608 → 2 560; the next admission's quote reads them."""
    case, finding = bed_holding
    before = ledger_ytd(person_id=case.person_id, benefit="inpatient", on=D(2021, 7, 1))
    assert (before["fund_paid"], before["covered_personal"]) == (M("2712.00"), M("2608.00"))
    recovery_order_create(acting_user=supervisors[0], finding=finding)
    after = ledger_ytd(person_id=case.person_id, benefit="inpatient", on=D(2021, 7, 1))
    assert (after["fund_paid"], after["covered_personal"]) == (M("2640.00"), M("2560.00"))
    entries = LedgerEntry.objects.filter(source_kind="case", source_id=case.pk)
    assert entries.count() == 3  # the original, its mirror, the corrected one
    assert entries.filter(reverses__isnull=False).count() == 1
    # a later settlement's request carries the corrected year-to-date figures
    from claims.supervision.corrections import Stay

    s = _CaseSettlement(case.pk)
    later = Stay(ref="x", admitted=D(2021, 7, 1), discharged=D(2021, 7, 5), bill={"class_a": M("1000.00")})
    request = s.request(later, after)
    assert request["year_to_date"]["fund_paid"] == "2640.00"


def test_recovery_is_made_once_and_only_from_a_confirmed_finding(bed_holding, supervisors, person, hospitals, paid_case):
    """Issue 15 item 4: a confirmed finding (four eyes) becomes the order; asking again returns the same orders
    and reverses nothing twice."""
    case, finding = bed_holding
    first = recovery_order_create(acting_user=supervisors[0], finding=finding)
    again = recovery_order_create(acting_user=supervisors[1], finding=finding)
    assert [o.pk for o in first] == [o.pk for o in again]
    assert LedgerEntry.objects.filter(source_kind="case", source_id=case.pk).count() == 3
    Finding.objects.filter(pk=finding.pk).update(state="confirmed_pending_second")
    RecoveryOrder.objects.all().delete()
    with pytest.raises(RecoveryRefused, match="两人确认"):
        recovery_order_create(acting_user=supervisors[0], finding=finding)


def test_split_admission_costs_the_fund_nothing_but_the_person_a_second_deductible(person, hospitals, paid_case,
                                                                                    supervisors):
    """DOMAIN.md §9 / issue 15 item 6: two I63 stays of 3 000 each, 5 days apart. Split: the fund
    paid 2 × 0.60 × (3 000 − 800) = 2 640.00, the person 6 000 − 2 640 = 3 360.00. Merged (one
    deductible): fund 0.60 × (6 000 − 800) = 3 120.00, person 2 880.00. The fund paid less than it
    should have: no recovery; the person paid 480.00 (= 0.60 × the second deductible of 800) too
    much: the hospital refunds it. The ledger holds the merged admission only."""
    h1, _h2 = hospitals
    a = paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9",
                  fund="1320.00", total="3000.00", lines=stay_lines(D(2021, 6, 1), 4, treat=(0, 1, 2, 3)))
    b = paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1", fund="1320.00",
                  total="3000.00", lines=stay_lines(D(2021, 6, 10), 4, treat=(0, 1, 2, 3)))
    assert approve_into_ledger(a)["fund"] == "1320.00"
    assert approve_into_ledger(b)["fund"] == "1320.00"
    nightly_check(region="220100", day=D(2021, 6, 15))
    finding = confirmed("split_admission", supervisors)
    [refund] = recovery_order_create(acting_user=supervisors[0], finding=finding)
    assert refund.kind == "refund" and refund.amount == M("480.00")
    assert (refund.fund_paid, refund.fund_due, refund.person_paid, refund.person_due) == (
        M("2640.00"), M("3120.00"), M("3360.00"), M("2880.00"))
    assert refund.debtor_institution_id == h1.pk and refund.creditor_person_id == person.pk
    ytd = ledger_ytd(person_id=person.pk, benefit="inpatient", on=D(2021, 7, 1))
    assert ytd["fund_paid"] == M("3120.00")
    assert not LedgerEntry.objects.filter(source_kind="case", source_id=b.pk, reverses__isnull=True,
                                          reversed_by__isnull=True).exists()


def test_duplicate_bed_charge_removes_the_excess_bed_quantity(person, hospitals, paid_case, supervisors):
    """contract duplicate_charge / DOMAIN.md §9: 4 stay days, 06-11 billed 2 beds (80.00): one bed day
    (40.00) removed. Bill 4 × 40 + 40 + 4 × 1 000 = 4 200, fund 0.60 × 3 400 = 2 040.00; corrected bill
    4 160, fund 0.60 × 3 360 = 2 016.00 → 24.00 back; the person 2 160.00 − 2 144.00 = 16.00 refunded."""
    h1, _h2 = hospitals
    lines = stay_lines(D(2021, 6, 10), 4, treat=(0, 1, 2, 3)) + [(D(2021, 6, 11), "BED01", "bed", 1, "40.00")]
    case = paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, fund="2040.00", total="4200.00",
                     lines=lines)
    assert approve_into_ledger(case)["fund"] == "2040.00"
    nightly_check(region="220100", day=D(2021, 6, 15))
    finding = confirmed("duplicate_charge", supervisors)
    orders = {o.kind: o.amount for o in recovery_order_create(acting_user=supervisors[0], finding=finding)}
    assert orders == {"recovery": M("24.00"), "refund": M("16.00")}


def test_a_correction_without_the_facts_it_needs_is_refused_in_chinese(person, hospitals, paid_case, supervisors):
    """Issue 15 item 4: never invent an amount — a finding without settlements, or a bed-holding
    finding on a settlement without itemised lines (nothing to remove), is refused."""
    h1, _h2 = hospitals
    finding = Finding.objects.create(key="k-bare", region=h1.region, rule="bed_holding", rule_version="x",
                                     severity="review", settlement_refs=[], month=D(2021, 6, 1),
                                     service_date=D(2021, 6, 1), evidence="-", state="confirmed")
    with pytest.raises(RecoveryRefused, match="没有关联的结算记录"):
        recovery_order_create(acting_user=supervisors[0], finding=finding)
    case = paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1)
    FindingSettlement.objects.create(finding=finding, kind="case", object_id=case.pk, ref=f"case:{case.pk}",
                                     person=person, via="manual", fund=M("1000.00"), total=M("2000.00"))
    with pytest.raises(RecoveryRefused, match="没有费用明细"):
        recovery_order_create(acting_user=supervisors[0], finding=finding)
    assert not RecoveryOrder.objects.exists()


# --------------------------------------------------------------------------- settling: offsets


@pytest.fixture
def owed(person, hospitals, supervisors):
    """A confirmed duplicate invoice between two direct certified visits at h1 (paid fee for service;
    a pool visit's order depends on its capitation account, test_recovery_capitation.py): the second
    (fund 150.00) is dropped entirely → a recovery of 150.00 from the institution (it received the money)."""
    h1, _h2 = hospitals
    h1.bank_name, h1.bank_account, h1.bank_account_name = "中国银行", "6216600000001234567", h1.name
    h1.save()
    finding = Finding.objects.create(key="k-dup", region=h1.region, rule="duplicate_invoice", rule_version="x",
                                     severity="block", settlement_refs=["cv:1", "cv:2"], institution=h1,
                                     month=D(2021, 6, 1), service_date=D(2021, 6, 2), evidence="-", state="confirmed")
    for pk, day in ((1, D(2021, 6, 1)), (2, D(2021, 6, 2))):
        FindingSettlement.objects.create(finding=finding, kind="certified_visit", object_id=pk, ref=f"cv:{pk}",
                                         person=person, institution=h1, via="direct", service_date=day, fund=M("150.00"),
                                         total=M("200.00"))
    [order] = recovery_order_create(acting_user=supervisors[0], finding=finding)
    assert (order.kind, order.amount, order.debtor_institution_id) == ("recovery", M("150.00"), h1.pk)
    return h1, order


def pay(institution, amount, source_id):
    return payment_order_for_institution(acting_user=None, institution=institution, amount=M(amount),
                                         source_kind="fee_statement", source_id=source_id)


def test_offset_against_the_next_payments_never_below_zero_and_the_rest_carries_over(owed):
    """DOMAIN.md §9 "offset against the debtor's next payments": a statement of 100.00 is paid 0.00
    (settled without the bank), 50.00 carries over to the next statement of 500.00 (paid 450.00)."""
    h1, order = owed
    first = pay(h1, "100.00", 1)
    assert (first.amount, first.status) == (M("0.00"), "paid")
    order.refresh_from_db()
    assert (order.outstanding, order.state) == (M("50.00"), "open")
    second = pay(h1, "500.00", 2)
    assert (second.amount, second.status) == (M("450.00"), "ordered")
    order.refresh_from_db()
    assert (order.outstanding, order.state) == (M("0.00"), "settled")
    assert list(RecoveryOffset.objects.order_by("pk").values_list("payment_order_id", "amount")) == [
        (first.pk, M("100.00")), (second.pk, M("50.00"))]
    assert pay(h1, "300.00", 3).amount == M("300.00")  # nothing left to offset


def test_offsetting_twice_never_deducts_twice(owed):
    """Issue 15 item 4 idempotency: ordering one payable again (the same call, or after its payment failed
    at the bank) keeps its one offset; the recovery is not deducted a second time."""
    h1, order = owed
    first = pay(h1, "100.00", 7)
    assert pay(h1, "100.00", 7).pk == first.pk
    PaymentOrder.objects.filter(pk=first.pk).update(status="failed")
    again = pay(h1, "100.00", 7)
    assert again.pk != first.pk and again.amount == M("0.00")
    order.refresh_from_db()
    assert order.outstanding == M("50.00")
    assert list(RecoveryOffset.objects.values_list("payment_order_id", "amount")) == [(again.pk, M("100.00"))]


# --------------------------------------------------------------------------- repayment, write-off, fine


def test_repayment_by_finance_with_a_reference(owed, role_user, supervisors):
    _h1, order = owed
    with pytest.raises(RecoveryRefused):
        recovery_repaid(acting_user=supervisors[0], order=order, reference="B1")
    finance = role_user("fin1", "finance")
    with pytest.raises(RecoveryRefused, match="流水号"):
        recovery_repaid(acting_user=finance, order=order, reference=" ")
    order = recovery_repaid(acting_user=finance, order=order, reference="BOC-20210701-1")
    assert (order.state, order.outstanding, order.repaid_reference) == ("settled", M("0.00"), "BOC-20210701-1")


def test_write_off_needs_an_approver_other_than_the_requester(owed, role_user, supervisors):
    """DOMAIN.md §9 "a write-off needs an approver" (four eyes: a role permission, another person)."""
    _h1, order = owed
    approver = role_user("appr1", "approver")
    with pytest.raises(RecoveryRefused):
        recovery_write_off_approve(acting_user=approver, order=order)  # nothing requested
    recovery_write_off_request(acting_user=supervisors[0], order=order, reason="机构已注销，无可执行财产")
    with pytest.raises(RecoveryRefused):
        recovery_write_off_approve(acting_user=supervisors[1], order=order)  # a supervisor cannot approve
    approver.user_permissions.add(*supervisors[0].groups.first().permissions.filter(codename="add_recoveryorder"))
    order = recovery_write_off_approve(acting_user=approver, order=order)
    assert (order.state, order.written_off_by) == ("written_off", approver)
    # the requester, even holding the approver's permission, may not approve their own request
    order2 = RecoveryOrder.objects.get(pk=order.pk)
    RecoveryOrder.objects.filter(pk=order2.pk).update(state="write_off_pending", write_off_requested_by=approver,
                                                      written_off_by=None)
    with pytest.raises(FourEyes):
        recovery_write_off_approve(acting_user=approver, order=order2)


def test_fine_reference_is_text_only(owed, supervisors):
    """DOMAIN.md §9: fines are decided by the administrative department; the system records their reference."""
    _h1, order = owed
    order = recovery_fine_reference(acting_user=supervisors[0], order=order, reference="长医保罚字〔2021〕12号")
    assert order.fine_reference == "长医保罚字〔2021〕12号" and order.amount == M("150.00")


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize("language, texts", [
    ("en", {"note": "Removed the itemised charges of 3 bed-holding days", "reversed": "Recovery {n}",
            "reposted": "Recovery {n} correction", "not_finance": "Only finance staff may record a repayment.",
            "no_reference": "Recording a repayment needs the bank transaction or receipt number.",
            "block": "Refused by a fund-security rule [Suspected bed-holding] (bed_holding): idle"}),
    ("zh-hans", {"note": "删除挂床天数 3 天的费用明细", "reversed": "追回 {n}", "reposted": "追回 {n} 更正",
                 "not_finance": "只有财务人员可以登记还款", "no_reference": "登记还款须填写银行流水号或收据号",
                 "block": "基金安全规则拒付【疑似挂床住院】（bed_holding）：idle"}),
])
def test_recovery_refusals_read_in_the_clerks_language_and_notes_are_stored_as_written(
        bed_holding, supervisors, role_user, language, texts):
    """DESIGN (UI in Simplified Chinese by default, English selectable; English source strings): a refusal
    reads in the language active when it is raised; a correction note (the order's, the ledger entries')
    is written once in the language active when the order is made, and reads the same in any other."""
    case, finding = bed_holding
    finance = role_user("fin1", "finance")
    with translation.override(language):
        orders = recovery_order_create(acting_user=supervisors[0], finding=finding)
        with pytest.raises(RecoveryRefused) as not_finance:
            recovery_repaid(acting_user=supervisors[0], order=orders[0], reference="B1")
        with pytest.raises(RecoveryRefused) as no_reference:
            recovery_repaid(acting_user=finance, order=orders[0], reference=" ")
        block = block_message({"rule": "bed_holding", "evidence": "idle"})
    assert (str(not_finance.value), str(no_reference.value), block) == (
        texts["not_finance"], texts["no_reference"], texts["block"])
    other = "zh-hans" if language == "en" else "en"
    with translation.override(other):
        assert {o.correction for o in RecoveryOrder.objects.filter(finding=finding)} == {texts["note"]}
        notes = set(LedgerEntry.objects.filter(source_kind="case", source_id=case.pk).exclude(note="")
                    .values_list("note", flat=True))
    assert notes == {texts["reversed"].format(n=finding.number), texts["reposted"].format(n=finding.number)}
