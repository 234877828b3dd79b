"""Recovery (追回) of what was wrongly paid (DOMAIN.md §9, issue 15 item 4).

- ``recovery_order_create``: a confirmed finding's settlements are corrected (corrections.py, one
  pure function per rule) and re-quoted with the engine on the person's year-to-date figures
  without them; the settlements' ledger entries are reversed and the corrected ones posted (so
  the next settlement reads the right totals). The fund's difference is a ``recovery`` order
  from the party that received the money (the institution for direct settlements, the person
  for manual ones); the person's overpayment is a ``refund`` order from the institution to the
  person. Nothing is typed; a rule or settlement kind that cannot be re-quoted is refused.
- ``recovery_offsets_apply`` (called by ``payment_order_for_institution``): the debtor
  institution's next payable is reduced by its outstanding recovery orders, oldest first, never
  below zero; the rest carries over. Once per payable: ordering it again offsets nothing more.
- ``recovery_repaid`` (finance), ``recovery_write_off_request`` (supervisor) and
  ``recovery_write_off_approve`` (an approver, not the requester), ``recovery_fine_reference``.

Decisions (DOMAIN.md is silent):
- The re-quote reads the person's year-to-date figures as they stand with the questioned
  settlements' own entries reversed: the settlement as it should have been, given every other
  settlement known now.
- What was paid is the settlement's fund and catastrophic amounts as recorded; the person paid
  the rest of the bill (after third-party compensation).
- When the fund should have paid more than it did (a merged split admission saves the person a
  deductible), no order is made to the fund's cost: the institution refunds the person's
  overpayment and the fund's difference is shown on the order only.
- Re-quoting needs the bill and the engine's request: reimbursement cases (manual and
  school-batch claims) and direct inpatient stays (claims.settlement.InpatientStay, whose lines
  carry their class A/B/C: the corrected bill is the sum of the lines left, by class; the order
  is owed by the hospital, which was paid) can be re-quoted today. For visits and care claims only the rules that
  drop a whole settlement (duplicate invoice, benefit twice) are computed; the others are
  refused with a message saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from . import corrections as C
from .errors import FourEyes, RecoveryRefused
from .models import Finding, FindingSettlement, RecoveryKind, RecoveryOffset, RecoveryOrder, RecoveryState
from .workflow import FindingState

ZERO = Decimal("0.00")
CREATE = "supervision.add_recoveryorder"
RECORD_REPAYMENT = "supervision.record_repayment"
APPROVE_WRITE_OFF = "supervision.approve_write_off"
# the kinds of settlement and the ledger's source kinds (claims.ledger.models.SourceKind)
LEDGER_SOURCE = {"case": "case", "certified_visit": "certified_visit", "pool_visit": "pool_visit",
                 "inpatient_stay": "inpatient_stay"}
REQUOTABLE_KINDS = ("case", "inpatient_stay")
DROP_RULES = ("duplicate_invoice", "benefit_twice")
REQUOTE_RULES = ("bed_holding", "duplicate_charge", "excess_prescription", "not_covered", "split_admission")
NOT_REQUOTABLE = ("third_party_not_deducted", "certification_mismatch", "grey_list", "overlapping_care")
CHRONIC_BENEFITS = ("chronic", "special_disease", "special_drug", "two_diseases")


def _refuse(message: str):
    raise RecoveryRefused(message)


# --------------------------------------------------------------------------- facts of a case


def _lines_of(kind: str, object_id: int) -> tuple:
    from .models import SettlementLine

    return tuple({"date": d, "item": item, "kind": k, "quantity": q, "amount": a, "days_supply": s, "class": c}
                 for d, item, k, q, a, s, c in SettlementLine.objects.filter(kind=kind, object_id=object_id)
                 .order_by("date", "pk").values_list("date", "item", "line_kind", "quantity", "amount", "days_supply",
                                                     "cost_class"))


class _CaseSettlement:
    """A paid reimbursement case as the correction and the re-quote need it."""

    source_kind = "case"

    def __init__(self, case_id: int):
        from claims.calculation import bill_of, deduct_third_party
        from claims.models import Case

        self.case = (Case.objects.select_related("case_type", "person__region", "institution")
                     .prefetch_related("invoices").get(pk=case_id))
        case = self.case
        self.benefit = case.case_type.benefit
        bill, _deducted = deduct_third_party(bill_of(case.invoices.all()), case.third_party_paid)
        self.stay = C.Stay(ref=f"case:{case.pk}", admitted=case.service_from, discharged=case.service_to or case.service_from,
                           bill=bill, lines=_lines_of("case", case.pk))
        self.fund_paid = (case.fund_amount or ZERO) + (case.catastrophic_amount or ZERO)
        self.person_paid = self.stay.total - self.fund_paid
        self.source_id, self.person, self.institution = case.pk, case.person, case.institution

    def rebill(self, stay: C.Stay | None) -> C.Stay | None:
        return stay

    def request(self, stay: C.Stay, ytd: dict) -> dict:
        from claims.calculation import quote_request
        from medins.benefits.errors import QuoteError
        from medins.benefits.rounding import money_str

        try:
            category = self.case.person.category_on(self.case.service_from)
        except QuoteError as exc:
            _refuse(f"无法重新计算：{exc}")
        try:
            request, _adjust = quote_request(self.case, invoices=list(self.case.invoices.all()), category=category,
                                             ytd=ytd)
        except Exception as exc:  # NotComputable: the case's benefit cannot be computed
            _refuse(f"无法重新计算：{exc}")
        request["bill"] = {k: money_str(v) for k, v in stay.bill.items()}
        return request


class _StaySettlement:
    """A direct inpatient stay (claims.settlement.InpatientStay) as the correction and the re-quote
    need it: the hospital was paid the fund and catastrophic supplement, the person the rest."""

    source_kind = "inpatient_stay"
    benefit = "inpatient"

    def __init__(self, stay_id: int):
        from claims.settlement.models import InpatientStay

        self.record = (InpatientStay.objects.select_related("person__region", "person__school", "institution__region")
                       .get(pk=stay_id))
        r = self.record
        self.stay = C.Stay(ref=f"ip:{r.pk}", admitted=r.admitted, discharged=r.discharged,
                           bill={"class_a": r.class_a, "class_b": r.class_b, "class_c": r.class_c},
                           lines=_lines_of("inpatient_stay", r.pk))
        self.fund_paid = r.fund + r.catastrophic
        self.person_paid = r.total - self.fund_paid
        self.source_id, self.person, self.institution = r.pk, r.person, r.institution

    def rebill(self, stay: C.Stay | None) -> C.Stay | None:
        """The corrected stay's bill is the sum of its remaining lines by their own class."""
        if stay is None:
            return None
        bill = dict.fromkeys(C.BILL_ORDER, ZERO)
        for line in stay.lines:
            bill[{"A": "class_a", "B": "class_b", "C": "class_c"}[line["class"]]] += Decimal(line["amount"])
        return replace(stay, bill=bill)

    def request(self, stay: C.Stay, ytd: dict) -> dict:
        from claims.settlement.services.stays import stay_request

        try:
            category = self.person.category_on(stay.admitted)
        except Exception as exc:
            _refuse(f"无法重新计算：{exc}")
        return stay_request(self.institution, admitted=stay.admitted, bill=stay.bill, category=category, ytd=ytd)


def _settlement(link: FindingSettlement):
    return _StaySettlement(link.object_id) if link.kind == "inpatient_stay" else _CaseSettlement(link.object_id)


def _quote(request: dict) -> dict:
    from medins.quoting import quote_or_error

    ok, body = quote_or_error(request)
    if not ok:
        _refuse(f"无法重新计算：{body['error']['message']}")
    return body


def _policy(region: str, day: dt.date):
    from medins.selectors import policy_in_force

    return policy_in_force(region=region, date=day)


def correct(rule: str, settlements: list[_CaseSettlement], policy) -> tuple[dict[str, C.Stay | None], str]:
    """{ref: corrected stay (None: not to be paid)} for the finding's settlements, and the note."""
    if rule == "split_admission":
        a, b = sorted(settlements, key=lambda s: (s.stay.admitted, s.stay.ref))
        merged = C.merge_split(a.stay, b.stay)
        return {a.stay.ref: merged.stay, b.stay.ref: None}, merged.note
    if len(settlements) != 1:
        _refuse("该类疑点应只涉及一笔结算")
    s = settlements[0]
    if rule == "bed_holding":
        out = C.correct_bed_holding(s.stay, idle_kinds=set(policy.get("fund_security.idle_day_kinds")),
                                    min_days=int(policy.get("fund_security.idle_days")))
    elif rule == "duplicate_charge":
        out = C.correct_duplicate_charge(s.stay)
    elif rule == "excess_prescription":
        limits = policy.get("fund_security.max_days_supply")
        out = C.correct_excess_prescription(
            s.stay, max_days=int(limits["chronic" if s.benefit in CHRONIC_BENEFITS else "acute"]))
    elif rule == "not_covered":
        from enrollment.models import CoveragePeriod

        covered = list(CoveragePeriod.objects.filter(person_id=s.person.pk).values_list("covered_from", "covered_to"))
        out = C.correct_not_covered(s.stay, covered=covered)
    else:
        _refuse(f"规则“{rule}”没有可重新计算的更正方法")
    if not out.removed and out.stay is not None:
        _refuse("按规则更正后费用没有变化，无需追回")
    return {s.stay.ref: out.stay}, out.note


# --------------------------------------------------------------------------- creating the orders


def _lock_finding(finding_id: int) -> Finding:
    return Finding.objects.select_for_update().get(pk=finding_id)


@transaction.atomic
def recovery_order_create(*, acting_user, finding: Finding) -> list[RecoveryOrder]:
    """The recovery (and refund) orders of a confirmed finding; the settlements' ledger entries are
    reversed and the corrected ones posted. Idempotent: a finding's orders are made once."""
    if not acting_user.has_perm(CREATE):
        _refuse("只有基金监管人员可以生成追回单")
    finding = _lock_finding(finding.pk)
    existing = list(finding.recovery_orders.order_by("pk"))
    if existing:
        return existing
    if finding.state != FindingState.CONFIRMED:
        _refuse("只有经两人确认的疑点才能生成追回单")
    rule = finding.rule
    if rule in NOT_REQUOTABLE:
        _refuse(f"规则“{finding.get_rule_display()}”的疑点无法按更正后的事实重新计算（系统未保存应扣除的金额依据），"
                "请线下核定后处理，未生成追回单")
    links = list(finding.settlements.select_related("institution", "person").order_by("ref"))
    if not links:
        _refuse("疑点没有关联的结算记录")
    if rule in DROP_RULES:
        return _drop(acting_user, finding, links)
    if any(link.kind not in REQUOTABLE_KINDS for link in links):
        _refuse("门诊、照护类结算没有可重新计算的费用清单与计算请求，目前只能对报销案件（手工报销、学校批量）和住院直接结算重新计算，"
                "未生成追回单")
    return _requote(acting_user, finding, links)


def _drop(acting_user, finding: Finding, links: list[FindingSettlement]) -> list[RecoveryOrder]:
    """duplicate_invoice / benefit_twice: the second settlement is reversed entirely."""
    from claims.ledger.services import ledger_reverse

    second = max(links, key=lambda link: (link.service_date or dt.date.min, link.ref))
    if second.kind not in LEDGER_SOURCE:
        _refuse("长期护理结算的冲正需按护理月结处理，目前不能自动生成追回单")
    if second.fund is None:
        _refuse("该结算没有基金支付金额记录，无法计算追回金额")
    ledger_reverse(acting_user=acting_user, source_kind=LEDGER_SOURCE[second.kind], source_id=second.object_id,
                   note=f"追回 {finding.number}")
    breakdown = {"dropped": second.ref, "fund_paid": str(second.fund), "total": str(second.total or ZERO)}
    # Only the fund's payment is ordered back: whether the person paid its share twice is not known.
    return _orders(acting_user, finding, via=second.via, institution=second.institution, person=second.person,
                   fund_paid=second.fund, fund_due=ZERO, person_paid=ZERO, person_due=ZERO,
                   note=f"重复结算（{second.ref}）整笔不应支付，冲正其台账记录", breakdown=breakdown)


def _requote(acting_user, finding: Finding, links: list[FindingSettlement]) -> list[RecoveryOrder]:
    from claims.ledger import keys as ledger_keys
    from claims.ledger.selectors import accounts_of
    from claims.ledger.services import Posting, ledger_post, ledger_reverse

    settlements = [_settlement(link) for link in links]
    first = min(settlements, key=lambda s: (s.stay.admitted, s.stay.ref))
    person = first.person
    if len({s.person.pk for s in settlements}) != 1:
        _refuse("疑点涉及多名参保人，无法合并重新计算")
    if len({s.source_kind for s in settlements}) != 1:
        _refuse("疑点同时涉及报销案件和住院直接结算，无法合并重新计算")
    policy = _policy(person.region.code, finding.service_date)
    try:
        corrected, note = correct(finding.rule, settlements, policy)
    except C.NotCorrectable as exc:
        _refuse(str(exc))
    by_ref = {s.stay.ref: s for s in settlements}
    corrected = {ref: by_ref[ref].rebill(st) for ref, st in corrected.items()}
    benefit = first.benefit
    # lock the person's accounts, reverse the settlements' entries, read what is left
    accounts_of(person.pk, first.stay.admitted.year, benefit, lock=True)
    for s in settlements:
        ledger_reverse(acting_user=acting_user, source_kind=s.source_kind, source_id=s.source_id,
                       note=f"追回 {finding.number}")
    requests, quotes = {}, {}
    fund_due = person_due = ZERO
    postings = []
    for s in settlements:
        stay = corrected[s.stay.ref]
        if stay is None:
            continue
        accounts = accounts_of(person.pk, stay.admitted.year, s.benefit, lock=True)
        request = s.request(stay, ledger_keys.year_to_date(s.benefit, accounts))
        request["service_date"] = stay.admitted.isoformat()
        body = _quote(request)
        requests[s.stay.ref], quotes[s.stay.ref] = request, body
        fund = Decimal(body["fund"]) + Decimal(body["catastrophic"])
        fund_due += fund
        person_due += Decimal(body["total"]) - fund
        posting = Posting(person_id=person.pk, service_date=stay.admitted, benefit=s.benefit,
                          source_kind=s.source_kind, source_id=s.source_id, note=f"追回 {finding.number} 更正",
                          figures=ledger_keys.effect(s.benefit, body))
        ledger_post(acting_user=acting_user, postings=[posting],
                    read={(person.pk, stay.admitted.year, b, i): f for (b, i), f in accounts.items()})
        postings.append(posting)
    fund_paid = sum((s.fund_paid for s in settlements), ZERO)
    person_paid = sum((s.person_paid for s in settlements), ZERO)
    link = next(x for x in links if x.ref == first.stay.ref)
    breakdown = {"corrected": {ref: (None if st is None else {"admitted": st.admitted.isoformat(),
                                                               "discharged": st.discharged.isoformat(),
                                                               "bill": {k: str(v) for k, v in st.bill.items()}})
                               for ref, st in corrected.items()},
                 "requests": requests, "quotes": quotes,
                 "paid": {s.stay.ref: {"fund": str(s.fund_paid), "person": str(s.person_paid)} for s in settlements}}
    return _orders(acting_user, finding, via=link.via, institution=first.institution, person=person,
                   fund_paid=fund_paid, fund_due=fund_due, person_paid=person_paid, person_due=person_due, note=note,
                   breakdown=breakdown)


def _orders(acting_user, finding, *, via, institution, person, fund_paid, fund_due, person_paid, person_due, note,
            breakdown) -> list[RecoveryOrder]:
    common = {"finding": finding, "region_id": finding.region_id, "rule": finding.rule, "month": finding.month,
              "fund_paid": fund_paid, "fund_due": fund_due, "person_paid": person_paid, "person_due": person_due,
              "correction": note, "breakdown": breakdown, "created_by": acting_user}
    out = []
    to_fund = fund_paid - fund_due
    if to_fund > 0:
        debtor = {"debtor_person": person} if via == "manual" or institution is None else {"debtor_institution": institution}
        out.append(RecoveryOrder(kind=RecoveryKind.RECOVERY, amount=to_fund, outstanding=to_fund, **debtor, **common))
    to_person = person_paid - person_due
    if to_person > 0 and institution is not None:
        out.append(RecoveryOrder(kind=RecoveryKind.REFUND, amount=to_person, outstanding=to_person,
                                 debtor_institution=institution, creditor_person=person, **common))
    if not out:
        _refuse(f"重新计算后基金和个人均未多付（基金应付 {fund_due}，已付 {fund_paid}），无需追回")
    for order in out:
        order._history_user = acting_user
        order.save()
    return out


# --------------------------------------------------------------------------- settling


def recovery_offsets_apply(*, institution_id: int, amount: Decimal, source_kind: str, source_id: int) -> tuple[Decimal, list]:
    """(net amount, offsets to record) for a payable of `amount` to the institution: its outstanding
    recovery orders, oldest first, are taken from it, never below zero. A payable already offset
    (its earlier order failed at the bank) keeps exactly its offsets: nothing is taken twice.

    Called inside payment_order_for_institution's transaction; the orders are locked."""
    done = list(RecoveryOffset.objects.filter(source_kind=source_kind, source_id=source_id).order_by("pk"))
    if done:
        return amount - sum((o.amount for o in done), ZERO), done
    left = amount
    offsets = []
    orders = (RecoveryOrder.objects.select_for_update().filter(
        debtor_institution_id=institution_id, kind=RecoveryKind.RECOVERY,
        state__in=(RecoveryState.OPEN, RecoveryState.WRITE_OFF_PENDING), outstanding__gt=0).order_by("created_at", "pk"))
    for order in orders:
        if left <= 0:
            break
        taken = min(order.outstanding, left)
        left -= taken
        order.outstanding -= taken
        fields = ["outstanding"]
        if order.outstanding == 0:
            order.state, order.settled_at = RecoveryState.SETTLED, timezone.now()
            fields += ["state", "settled_at"]
        order.save(update_fields=fields)
        offsets.append(RecoveryOffset(order=order, source_kind=source_kind, source_id=source_id, amount=taken))
    return left, offsets


def recovery_offsets_record(offsets: list, payment_order) -> None:
    """Attach the offsets to the payment order made for the payable (new rows, or the re-ordered payable's)."""
    for offset in offsets:
        offset.payment_order = payment_order
        offset.save()


def _lock(order: RecoveryOrder) -> RecoveryOrder:
    return RecoveryOrder.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def recovery_repaid(*, acting_user, order: RecoveryOrder, reference: str) -> RecoveryOrder:
    """The debtor repaid the outstanding amount (finance records the bank or receipt reference)."""
    if not acting_user.has_perm(RECORD_REPAYMENT):
        _refuse("只有财务人员可以登记还款")
    if not (reference or "").strip():
        _refuse("登记还款须填写银行流水号或收据号")
    order = _lock(order)
    if order.state not in (RecoveryState.OPEN, RecoveryState.WRITE_OFF_PENDING):
        _refuse("该追回单已结清或已核销")
    order.repaid_reference, order.outstanding = reference.strip(), ZERO
    order.state, order.settled_at = RecoveryState.SETTLED, timezone.now()
    order._history_user = acting_user
    order.save(update_fields=["repaid_reference", "outstanding", "state", "settled_at"])
    return order


@transaction.atomic
def recovery_write_off_request(*, acting_user, order: RecoveryOrder, reason: str) -> RecoveryOrder:
    """A supervisor proposes to write the outstanding amount off (an approver decides)."""
    if not acting_user.has_perm(CREATE):
        _refuse("只有基金监管人员可以申请核销")
    if not (reason or "").strip():
        _refuse("申请核销须说明原因")
    order = _lock(order)
    if order.state != RecoveryState.OPEN:
        _refuse("只有未结清的追回单可以申请核销")
    order.state, order.write_off_reason, order.write_off_requested_by = RecoveryState.WRITE_OFF_PENDING, reason, acting_user
    order._history_user = acting_user
    order.save(update_fields=["state", "write_off_reason", "write_off_requested_by"])
    return order


@transaction.atomic
def recovery_write_off_approve(*, acting_user, order: RecoveryOrder) -> RecoveryOrder:
    """An approver, never the one who asked, writes the outstanding amount off (four eyes)."""
    if not acting_user.has_perm(APPROVE_WRITE_OFF):
        _refuse("只有审批人员可以批准核销")
    order = _lock(order)
    if order.state != RecoveryState.WRITE_OFF_PENDING:
        _refuse("该追回单没有待批准的核销申请")
    if acting_user.pk in (order.write_off_requested_by_id, order.created_by_id):
        raise FourEyes("核销须由申请人以外的审批人批准（four eyes）")
    order.state, order.written_off_by, order.settled_at = RecoveryState.WRITTEN_OFF, acting_user, timezone.now()
    order._history_user = acting_user
    order.save(update_fields=["state", "written_off_by", "settled_at"])
    return order


@transaction.atomic
def recovery_fine_reference(*, acting_user, order: RecoveryOrder, reference: str) -> RecoveryOrder:
    """The administrative department's fine decision: its reference only (text)."""
    if not acting_user.has_perm(CREATE):
        _refuse("只有基金监管人员可以登记行政处罚文号")
    order = _lock(order)
    order.fine_reference = (reference or "").strip()[:120]
    order._history_user = acting_user
    order.save(update_fields=["fine_reference"])
    return order

