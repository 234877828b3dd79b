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
- What was paid is the settlement's fund (and catastrophic) amount as recorded; the person paid
  the rest of the bill (after third-party compensation; a care line: the resident's share).
- When the fund should have paid more than it did (a merged split admission saves the person a
  deductible), no order is made to the fund's cost: the institution refunds the person's
  overpayment and the fund's difference is shown on the order only.
- Only the settlements the correction changes are reversed and re-quoted (overlapping care: the
  care line or the outpatient visit, never the stay); their orders are made per party that
  received the money (an excess-prescription window may span two institutions: one order each).
- Each settlement kind is re-quoted with its own engine (requote.py, one class per kind), each
  rule corrected by its own function (``CORRECTIONS`` below, corrections.py).
- A pool visit is paid to its institution by capitation (DOMAIN.md §8), so its institution's order
  is what it was actually overpaid (claims/settlement/services/pool_corrections.py): the fund's
  difference minus the part it never received. When that leaves nothing (the month was over its
  quota, or the visit was not settled yet and the coming run pays on the corrected amount), no
  recovery order is made — an order is never of 0 — but the correction stands (ledger, visit,
  capitation account) and is recorded on the finding (``facts["recovery"]``), which makes a second
  request return no order instead of correcting again. A refund to the person is ordered as ever.
- A duplicate invoice or benefit twice drops the later settlement whole (``_drop``): its ledger
  entries are reversed, nothing is reposted, and the order is its fund amount. For benefit twice
  the line belongs to the benefit of higher precedence (DOMAIN.md §4.0: special drug > special
  disease > chronic (门规) > 两病 > outpatient pool), so the settlement under the lower one is
  dropped whatever its date; between benefits the list does not rank (two maternity settlements,
  an inpatient one), the later settlement is. A dropped pool visit
  is corrected like a re-quote to a fund of 0 (``PoolVisitSettlement.requote(None)``, as the grey
  list does): DOMAIN.md §9 orders "what the fund paid minus what it should have paid, from the
  party that received the money", and under capitation (§8) the institution received the month's
  actual up to its quota (and the year-end's share), not the visit's fund. So the visit's fund
  becomes 0 (a run not made yet pays without it), its month's actual on the capitation account
  drops by the visit's fund, and the order is what the institution was overpaid: the whole fund
  under the month's quota, nothing while the month stays at or over its quota, half of it once
  the year-end has settled the year under its annual quota, nothing for a visit not settled yet
  (then no order: the correction is recorded on the finding, as for a re-quote).
- What a dropped settlement's fund paid is what it stands at after any earlier recovery of it (an
  excess prescription corrected, then the same settlement found twice): its live ledger entries'
  fund (requote.fund_standing; a pool visit: its corrected fund), at most the fund on the finding,
  so the part an earlier order took back is not ordered again; the finding's figure when the
  settlement never had a ledger entry.

Refused (``RecoveryRefused``, in the clerk's language, nothing written) — the combinations that cannot be
re-quoted on the facts the system holds:
- overlapping_care between two stays (which hospital's days were not real is a judgement);
- third_party_not_deducted on a visit or a care line (they carry no third-party payment: the rule
  cannot name them), grey_list on a manual case (the grey list suspends direct settlement only);
- bed_holding, duplicate_charge and excess_prescription on a settlement without itemised lines
  (nothing to remove), and any correction that changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from . import corrections as C
from .errors import FourEyes, RecoveryRefused
from .models import Finding, FindingSettlement, RecoveryKind, RecoveryOffset, RecoveryOrder, RecoveryState
from .requote import CaseSettlement as _CaseSettlement  # noqa: F401 - the tests' name for a case's facts
from .requote import fund_standing, reverse_settlement, settlement_of
from .workflow import FindingState

ZERO = Decimal("0.00")
CREATE = "supervision.add_recoveryorder"
RECORD_REPAYMENT = "supervision.record_repayment"
APPROVE_WRITE_OFF = "supervision.approve_write_off"
DROP_RULES = ("duplicate_invoice", "benefit_twice")
CHRONIC_BENEFITS = ("chronic", "special_disease", "special_drug", "two_diseases")
STAYS = ("inpatient", "day_surgery")
ABSORBED = "absorbed"  # merged into another settlement of the finding (split admission's second stay)
RECORDED = "recovery"  # Finding.facts key: a correction made without an order (capitation absorbed it)


# What must be typed for a step, with the refusal when it is not (the admin asks before its
# confirmation page with the same words: claims.supervision.admin). Lazy: read in the reader's language.
REFERENCE_MISSING = gettext_lazy("Recording a repayment needs the bank transaction or receipt number.")
WRITE_OFF_REASON_MISSING = gettext_lazy("A write-off request needs a reason.")


def _refuse(message) -> None:
    """Refuse in the active language (a lazy message is rendered now)."""
    raise RecoveryRefused(str(message))


def _notes(notes: dict[str, str]) -> str:
    """The notes of several settlements in one line, by reference (recorded in the active language)."""
    return pgettext("list separator", "; ").join(
        pgettext("settlement note", "%(ref)s: %(note)s") % {"ref": ref, "note": note} for ref, note in sorted(notes.items()))


def _policy(region: str, day: dt.date):
    from medins.selectors import policy_in_force

    return policy_in_force(region=region, date=day)


# --------------------------------------------------------------------------- corrections, one per rule


def _one(settlements):
    if len(settlements) != 1:
        _refuse(gettext("A finding of this kind should name exactly one settlement."))
    return settlements[0]


def _changed(s, out: C.Corrected) -> tuple[dict, str]:
    if not out.removed and out.stay is not None:
        _refuse(gettext("Corrected by the rule, the charges do not change: nothing to recover."))
    return {s.ref: out.stay}, out.note


def _correct_split_admission(settlements, policy):
    if len(settlements) != 2:
        _refuse(gettext("A split-admission finding should name two inpatient stays."))
    a, b = sorted(settlements, key=lambda s: (s.stay.admitted, s.ref))
    merged = C.merge_split(a.stay, b.stay)
    return {a.ref: merged.stay, b.ref: ABSORBED}, merged.note


def _needs_lines(s):
    if not s.stay.lines:
        _refuse(gettext("Settlement %(ref)s has no itemised lines, so the charges to remove cannot be determined; "
                        "no recovery order was made.") % {"ref": s.ref})
    return s


def _correct_bed_holding(settlements, policy):
    s = _needs_lines(_one(settlements))
    return _changed(s, C.correct_bed_holding(s.stay, idle_kinds=set(policy.get("fund_security.idle_day_kinds")),
                                             min_days=int(policy.get("fund_security.idle_days"))))


def _correct_duplicate_charge(settlements, policy):
    s = _needs_lines(_one(settlements))
    return _changed(s, C.correct_duplicate_charge(s.stay))


def _correct_excess_prescription(settlements, policy):
    for s in settlements:
        _needs_lines(s)
    limits = policy.get("fund_security.max_days_supply")
    max_days = {s.ref: int(limits["chronic" if s.benefit in CHRONIC_BENEFITS else "acute"]) for s in settlements}
    out = C.correct_excess_prescriptions([s.stay for s in settlements], max_days=max_days,
                                         window_days=int(policy.get("fund_security.supply_window_days")),
                                         tolerance=Decimal(str(policy.get("fund_security.supply_tolerance"))))
    if not out:
        _refuse(gettext("Corrected by the rule, the charges do not change (no drug line above the maximum days of "
                        "supply or the 30-day cumulative supply): nothing to recover."))
    return {ref: c.stay for ref, c in out.items()}, _notes({ref: c.note for ref, c in out.items()})


def _person_cover(person_id: int) -> tuple[list, dt.date | None]:
    from enrollment.models import CoveragePeriod, CoverageStatus, Stop, StopReason

    covered = list(CoveragePeriod.objects.filter(person_id=person_id, status=CoverageStatus.ACTIVE)
                   .values_list("covered_from", "covered_to"))
    died = (Stop.objects.filter(person_id=person_id, reason=StopReason.DEATH).order_by("stop_date")
            .values_list("stop_date", flat=True).first())
    return covered, died


def _correct_not_covered(settlements, policy):
    s = _one(settlements)
    covered, died = _person_cover(s.person_id)
    return _changed(s, C.correct_not_covered(s.stay, covered=covered, died=died))


def _correct_third_party_not_deducted(settlements, policy):
    s = _one(settlements)
    if s.kind != "case":
        _refuse(gettext("This kind of settlement carries no third-party payment (the rule applies only to reimbursement "
                        "cases that report one); it cannot be re-quoted and no recovery order was made."))
    if s.third_party <= 0:
        _refuse(gettext("The settlement has no amount paid by a third party: nothing to recover."))
    out = C.correct_third_party(s.stay, third_party=s.third_party)
    return {s.ref: out.stay}, out.note


def _correct_certification_mismatch(settlements, policy):
    s = _one(settlements)
    if s.benefit not in CHRONIC_BENEFITS:
        _refuse(gettext("The settlement is not a chronic or special-disease, two-diseases or special-drug benefit: the "
                        "certification-mismatch correction does not apply and no recovery order was made."))
    return _changed(s, C.not_payable(s.stay, gettext(
        "No valid certification on the service date (the disease, drug or designated institution does not match): "
        "the fund should not have paid any of it")))


def _grey_periods(person_id: int) -> list[tuple[dt.date, dt.date]]:
    from .models import GreyListEntry

    return list(GreyListEntry.objects.filter(person_id=person_id).values_list("from_date", "to_date"))


def _correct_grey_list(settlements, policy):
    s = _one(settlements)
    if s.via != "direct":
        _refuse(gettext("A manual claim is not restricted by the grey list (it suspends direct settlement only): "
                        "nothing to recover."))
    periods = _grey_periods(s.person_id)
    if s.kind == "care_claim_line":
        days = [x["date"] for x in s.stay.lines if any(a <= x["date"] <= b for a, b in periods)]
        return _changed(s, C.correct_days(s.stay, days, gettext("Removed %(days)s care days inside the grey-list period")
                                                % {"days": len(days)}))
    return _changed(s, C.not_payable(s.stay, gettext(
        "Direct settlement is suspended during the grey-list period: none of it should have been settled directly "
        "(the person may claim manually instead)")))


def _correct_overlapping_care(settlements, policy):
    if len(settlements) != 2:
        _refuse(gettext("An overlap finding should name two settlements."))
    stays = [s for s in settlements if s.benefit in STAYS]
    if len(stays) != 1:
        _refuse(gettext("Two inpatient stays overlap: which hospital's overlapping days are not real must be checked by "
                        "hand; the system cannot tell which stay to correct, and no recovery order was made."))
    stay = stays[0]
    other = next(s for s in settlements if s is not stay)
    days = set(stay.stay.stay_days())
    if other.kind == "care_claim_line":
        hit = sorted(x["date"] for x in other.stay.lines if x["date"] in days)
        return _changed(other, C.correct_days(other.stay, hit, gettext(
            "Removed %(days)s care days overlapping the inpatient stay (%(ref)s)") % {"days": len(hit), "ref": stay.ref}))
    return _changed(other, C.not_payable(other.stay, gettext(
        "An outpatient settlement at another institution during the inpatient stay (%(ref)s): none of it should have "
        "been paid") % {"ref": stay.ref}))


CORRECTIONS = {
    "split_admission": _correct_split_admission,
    "bed_holding": _correct_bed_holding,
    "duplicate_charge": _correct_duplicate_charge,
    "excess_prescription": _correct_excess_prescription,
    "not_covered": _correct_not_covered,
    "third_party_not_deducted": _correct_third_party_not_deducted,
    "certification_mismatch": _correct_certification_mismatch,
    "grey_list": _correct_grey_list,
    "overlapping_care": _correct_overlapping_care,
}


def correct(rule: str, settlements: list, policy) -> tuple[dict, str]:
    """{ref: corrected stay (None: not to be paid; ABSORBED: merged into another)} for the
    settlements the correction changes, and the note."""
    fix = CORRECTIONS.get(rule)
    if fix is None:
        _refuse(gettext('Rule "%(rule)s" has no correction that can be re-quoted.') % {"rule": rule})
    try:
        return fix(settlements, policy)
    except C.NotCorrectable as exc:
        _refuse(str(exc))


# --------------------------------------------------------------------------- creating the orders


def _label(finding: Finding) -> str:
    """The ledger note of a recovery's reversals (stored in the active language)."""
    return gettext("Recovery %(number)s") % {"number": finding.number}


def _corrected(label: str) -> str:
    """The ledger note of a recovery's corrected postings."""
    return gettext("%(label)s correction") % {"label": label}


def _lock_finding(finding_id: int) -> Finding:
    return Finding.objects.select_for_update().get(pk=finding_id)


@transaction.atomic
def recovery_order_create(*, acting_user, finding: Finding) -> list[RecoveryOrder]:
    """The recovery (and refund) orders of a confirmed finding; the settlements' ledger entries are
    reversed and the corrected ones posted. Idempotent: a finding's orders are made once."""
    if not acting_user.has_perm(CREATE):
        _refuse(gettext("Only a fund supervisor may make recovery orders."))
    finding = _lock_finding(finding.pk)
    existing = list(finding.recovery_orders.order_by("pk"))
    if existing or RECORDED in (finding.facts or {}):
        return existing
    if finding.state != FindingState.CONFIRMED:
        _refuse(gettext("Recovery orders are made only from a finding confirmed by two people."))
    links = list(finding.settlements.select_related("institution", "person").order_by("ref"))
    if not links:
        _refuse(gettext("The finding names no settlement."))
    if finding.rule in DROP_RULES:
        return _drop(acting_user, finding, links)
    return _requote(acting_user, finding, links)


# DOMAIN.md §4.0: which benefit a cost line belongs to when a person could use several, highest first
PRECEDENCE = ("special_drug", "special_disease", "chronic", "two_diseases", "outpatient_pool")


def _dropped(finding: Finding, links: list[FindingSettlement]) -> FindingSettlement:
    """The settlement a drop reverses: for benefit_twice the one under the benefit of lower
    precedence when both benefits are ranked and differ; otherwise the later one (date, then reference)."""
    later = max(links, key=lambda link: (link.service_date or dt.date.min, link.ref))
    if finding.rule != "benefit_twice":
        return later
    rank = {}
    for link in links:
        try:
            benefit = settlement_of(link.kind, link.object_id).benefit
        except ObjectDoesNotExist:  # a record gone since the finding (a care line rewritten): by date
            return later
        rank[link.pk] = PRECEDENCE.index(benefit) if benefit in PRECEDENCE else None
    if None in rank.values() or len(set(rank.values())) < len(links):
        return later
    return max(links, key=lambda link: rank[link.pk])


def _drop(acting_user, finding: Finding, links: list[FindingSettlement]) -> list[RecoveryOrder]:
    """duplicate_invoice / benefit_twice: one settlement of the pair is reversed entirely (_dropped)."""
    second = _dropped(finding, links)
    if second.fund is None:
        _refuse(gettext("The settlement has no record of the fund's payment, so the amount to recover cannot be computed."))
    label = _label(finding)
    if second.kind == "pool_visit":  # paid by capitation, not visit by visit (see the top)
        return _drop_pool_visit(acting_user, finding, second, label)
    # an earlier recovery of this settlement already ordered part of its fund back (see the top)
    standing = fund_standing(kind=second.kind, object_id=second.object_id, person_id=second.person_id)
    fund_paid = second.fund if standing is None else min(second.fund, standing)
    reverse_settlement(acting_user=acting_user, kind=second.kind, object_id=second.object_id,
                       person_id=second.person_id, note=label)
    breakdown = {"dropped": second.ref, "fund_paid": str(fund_paid), "total": str(second.total or ZERO)}
    # Only the fund's payment is ordered back: whether the person paid its share twice is not known.
    group = _Group(via=second.via, institution=second.institution, person=second.person, fund_paid=fund_paid)
    return _orders(acting_user, finding, [group], note=gettext(
        "Duplicate settlement (%(ref)s): none of it should have been paid; its ledger entries are reversed")
        % {"ref": second.ref},
                   breakdown=breakdown)


def _drop_pool_visit(acting_user, finding: Finding, second: FindingSettlement, label: str) -> list[RecoveryOrder]:
    """A dropped pool visit: reversed, then corrected to a fund of 0 with its capitation account
    (the account locked before the ledger, as the re-quote does); the order is what its
    institution was overpaid. The person's side is not ordered, as for any dropped settlement."""
    s = settlement_of(second.kind, second.object_id)
    s.reverse(acting_user=acting_user, note=label)
    result = s.requote(None, acting_user=acting_user, note=_corrected(label))
    group = _Group(via=s.via, institution=s.institution, person=s.person, fund_paid=s.fund_paid)
    group.not_received = result.not_received
    breakdown = {"dropped": second.ref, "fund_paid": str(s.fund_paid), "total": str(s.stay.total),
                 "capitation": result.detail["capitation"]}
    note = gettext("Duplicate settlement (%(ref)s): none of it should have been paid; its ledger entries are reversed, "
                   "the visit and the capitation account corrected") % {"ref": second.ref}
    return _orders(acting_user, finding, [group], note=note, breakdown=breakdown)


class _Group:
    """What one party received and should have received over the finding's corrected settlements."""

    def __init__(self, *, via, institution, person, fund_paid=ZERO, fund_due=ZERO, person_paid=ZERO,
                 person_due=ZERO):
        self.via, self.institution, self.person = via, institution, person
        self.fund_paid, self.fund_due, self.person_paid, self.person_due = fund_paid, fund_due, person_paid, person_due
        self.not_received = ZERO  # of the fund's difference, what the party was never paid (capitation)


def _requote(acting_user, finding: Finding, links: list[FindingSettlement]) -> list[RecoveryOrder]:
    settlements = [settlement_of(link.kind, link.object_id) for link in links]
    if len({s.person_id for s in settlements}) != 1:
        _refuse(gettext("The finding names more than one insured person; they cannot be re-quoted together."))
    first = min(settlements, key=lambda s: (s.stay.admitted, s.ref))
    policy = _policy(first.person.region.code, finding.service_date)
    corrected, note = correct(finding.rule, settlements, policy)
    changed = [s for s in settlements if s.ref in corrected]
    label = _label(finding)
    for s in changed:  # reverse first: each re-quote reads the year-to-date without them
        s.reverse(acting_user=acting_user, note=label)
    groups: dict[tuple, _Group] = {}
    quotes, shown = {}, {}
    for s in sorted(changed, key=lambda s: (s.stay.admitted, s.ref)):
        key = (s.via == "manual", s.institution.pk if s.institution is not None and s.via != "manual" else s.person_id)
        group = groups.setdefault(key, _Group(via=s.via, institution=s.institution, person=s.person))
        group.fund_paid += s.fund_paid
        group.person_paid += s.person_paid
        stay = corrected[s.ref]
        if stay is ABSORBED:
            shown[s.ref] = ABSORBED
            continue
        result = s.requote(stay, acting_user=acting_user, note=_corrected(label))
        group.fund_due += result.fund
        group.person_due += result.person
        group.not_received += result.not_received
        quotes[s.ref] = result.detail
        shown[s.ref] = None if stay is None else {
            "admitted": stay.admitted.isoformat(), "discharged": stay.discharged.isoformat(),
            "bill": {k: str(v) for k, v in stay.bill.items()}}
    breakdown = {"corrected": shown, "quotes": quotes}
    return _orders(acting_user, finding, list(groups.values()), note=note, breakdown=breakdown)


def _orders(acting_user, finding: Finding, groups: list[_Group], *, note: str, breakdown) -> list[RecoveryOrder]:
    out = []
    for g in groups:
        common = {"finding": finding, "region_id": finding.region_id, "rule": finding.rule, "month": finding.month,
                  "fund_paid": g.fund_paid, "fund_due": g.fund_due, "person_paid": g.person_paid,
                  "person_due": g.person_due, "correction": note, "breakdown": breakdown, "created_by": acting_user}
        to_fund = g.fund_paid - g.fund_due - g.not_received
        if to_fund > 0:
            debtor = ({"debtor_person": g.person} if g.via == "manual" or g.institution is None
                      else {"debtor_institution": g.institution})
            out.append(RecoveryOrder(kind=RecoveryKind.RECOVERY, amount=to_fund, outstanding=to_fund, **debtor, **common))
        to_person = g.person_paid - g.person_due
        if to_person > 0 and g.institution is not None:
            out.append(RecoveryOrder(kind=RecoveryKind.REFUND, amount=to_person, outstanding=to_person,
                                     debtor_institution=g.institution, creditor_person=g.person, **common))
    if not out and any(g.not_received > 0 for g in groups):
        # capitation absorbed the fund's difference: the correction stands, no order (see the top)
        finding.facts = {**(finding.facts or {}), RECORDED: {
            "no_order": gettext(
                "Capitation: the institution was not overpaid by the fund (the month was over its quota, or the visit "
                "is not settled yet); the visit and the capitation account are corrected, nothing to recover"),
            "correction": note, "breakdown": breakdown, "by": acting_user.pk, "at": timezone.now().isoformat()}}
        finding.save(update_fields=["facts"])
        return []
    if not out:
        fund_due = sum((g.fund_due for g in groups), ZERO)
        fund_paid = sum((g.fund_paid for g in groups), ZERO)
        _refuse(gettext("After the re-quote neither the fund nor the person paid too much (the fund should pay %(due)s, "
                        "it paid %(paid)s): nothing to recover.") % {"due": fund_due, "paid": fund_paid})
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
        _refuse(gettext("Only finance staff may record a repayment."))
    if not (reference or "").strip():
        _refuse(REFERENCE_MISSING)
    order = _lock(order)
    if order.state not in (RecoveryState.OPEN, RecoveryState.WRITE_OFF_PENDING):
        _refuse(gettext("The recovery order is already settled or written off."))
    order.repaid_reference, order.outstanding = reference.strip(), ZERO
    order.state, order.settled_at = RecoveryState.SETTLED, timezone.now()
    order._history_user = acting_user
    order.save(update_fields=["repaid_reference", "outstanding", "state", "settled_at"])
    return order


@transaction.atomic
def recovery_write_off_request(*, acting_user, order: RecoveryOrder, reason: str) -> RecoveryOrder:
    """A supervisor proposes to write the outstanding amount off (an approver decides)."""
    if not acting_user.has_perm(CREATE):
        _refuse(gettext("Only a fund supervisor may request a write-off."))
    if not (reason or "").strip():
        _refuse(WRITE_OFF_REASON_MISSING)
    order = _lock(order)
    if order.state != RecoveryState.OPEN:
        _refuse(gettext("A write-off may be requested only for an unsettled recovery order."))
    order.state, order.write_off_reason, order.write_off_requested_by = RecoveryState.WRITE_OFF_PENDING, reason, acting_user
    order._history_user = acting_user
    order.save(update_fields=["state", "write_off_reason", "write_off_requested_by"])
    return order


@transaction.atomic
def recovery_write_off_approve(*, acting_user, order: RecoveryOrder) -> RecoveryOrder:
    """An approver, never the one who asked, writes the outstanding amount off (four eyes)."""
    if not acting_user.has_perm(APPROVE_WRITE_OFF):
        _refuse(gettext("Only an approver may approve a write-off."))
    order = _lock(order)
    if order.state != RecoveryState.WRITE_OFF_PENDING:
        _refuse(gettext("The recovery order has no write-off request awaiting approval."))
    if acting_user.pk in (order.write_off_requested_by_id, order.created_by_id):
        raise FourEyes(gettext("A write-off must be approved by someone other than the one who asked for it."))
    order.state, order.written_off_by, order.settled_at = RecoveryState.WRITTEN_OFF, acting_user, timezone.now()
    order._history_user = acting_user
    order.save(update_fields=["state", "written_off_by", "settled_at"])
    return order


@transaction.atomic
def recovery_fine_reference(*, acting_user, order: RecoveryOrder, reference: str) -> RecoveryOrder:
    """The administrative department's fine decision: its reference only (text)."""
    if not acting_user.has_perm(CREATE):
        _refuse(gettext("Only a fund supervisor may record the fine decision's reference."))
    order = _lock(order)
    order.fine_reference = (reference or "").strip()[:120]
    order._history_user = acting_user
    order.save(update_fields=["fine_reference"])
    return order

