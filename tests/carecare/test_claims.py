"""Monthly care claims (DOMAIN.md §7 "Care homes bill monthly", contracts/quote.md long_term_care,
research §4.3 examples LTC-E1..E6): each day's check with its reason, the contract's arithmetic
through the claim, idempotency, four eyes, the ledger, the payment order, query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carecare.claim_checks import REASONS, day_refusal
from carecare.errors import ClaimConflict, FourEyes, InvalidClaim, NotPermitted, Recalculated
from carecare.models import CareClaim, CareClaimState, CareClaimTransition, CareStay, StayAbsence
from carecare.selectors import claim_facts
from carecare.services.claims import (
    care_claim_approve,
    care_claim_check,
    care_claim_receive,
    care_claim_reject,
)
from claims.ledger.models import LedgerEntry
from enrollment.models import CoveragePeriod, Stop
from tests.enrollment.factories import PersonFactory

from .claim_helpers import JUNE, D, approved, days, entry, inpatient_case, resident_in
from .conftest import role_user

C = CareClaimState


@pytest.fixture
def approver2(reference_data):
    return role_user("care_approver2", "approver")


def _receive(user, home, residents, month=JUNE):
    return care_claim_receive(acting_user=user, care_home=home, month=month, residents=residents)


def _line(claim, person):
    return claim.lines.get(person=person)


def _refused(line):
    return {d["date"][-2:]: d["refused"] for d in line.days if d.get("refused")}


# --------------------------------------------------------------------------- each day's check


def test_every_day_of_a_covered_resident_in_the_home_is_payable(home, home_operator, intake):
    person = resident_in(home, user=intake, score=35)
    claim, outcome = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert outcome == "created" and claim.state == C.RECEIVED
    assert (line.days_billed, line.days_paid, line.days_refused) == (30, 30, 0)


def test_day_not_covered_is_refused_with_its_reason(home, home_operator, intake):
    """§7 / §1: days without coverage are not payable."""
    person = resident_in(home, user=intake, score=35, covered=False)
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1), covered_to=D(2021, 6, 20))
    claim, _ = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert set(_refused(line)) == {f"{d:02d}" for d in range(21, 31)}
    assert set(_refused(line).values()) == {"not_covered"}
    assert line.days_paid == 20


def test_day_not_resident_in_this_home_is_refused(home, other_home, home_operator, intake):
    """§7 stays: admitted on the 11th (admission day in); before it the person was not here; a
    resident of another home is refused every day."""
    person = resident_in(home, user=intake, score=35, admitted=D(2021, 6, 11))
    elsewhere = resident_in(other_home, user=intake, score=35)
    claim, _ = _receive(home_operator, home, [entry(person), entry(elsewhere)])
    assert _refused(_line(claim, person)) == {f"{d:02d}": "not_resident" for d in range(1, 11)}
    assert _line(claim, elsewhere).days_refused == 30


def test_inpatient_case_days_are_refused(home, home_operator, intake):
    """§7: days as an inpatient are not payable. A known inpatient case, admitted 10 June and
    discharged 15 June: 10–14 refused (the discharge day is a day in the home, as the return day
    of an absence); research LTC-E6: 25 payable days, fund min(2875, 2675) × 0.80 = 2140.00."""
    person = resident_in(home, user=intake, score=35)
    inpatient_case(person, D(2021, 6, 10), D(2021, 6, 15), user=intake)
    claim, _ = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert _refused(line) == {f"{d:02d}": "inpatient" for d in range(10, 15)}
    assert line.days_paid == 25 and line.fund == Decimal("2140.00")
    assert line.refused_amount == Decimal("575.00")  # 5 × 115: paid by neither the fund nor counted personal
    assert line.fund + line.personal + line.refused_amount == line.total


def test_rejected_inpatient_case_does_not_refuse_days(home, home_operator, intake):
    person = resident_in(home, user=intake, score=35)
    inpatient_case(person, D(2021, 6, 10), D(2021, 6, 15), user=intake, state="rejected")
    claim, _ = _receive(home_operator, home, [entry(person)])
    assert _line(claim, person).days_refused == 0


def test_hospital_absence_days_are_refused(home, home_operator, intake):
    """§7: a temporary absence (hospital) recorded on the stay: left 10th, back 15th → 10–14 refused."""
    person = resident_in(home, user=intake, score=35)
    StayAbsence.objects.create(stay=CareStay.objects.get(person=person), from_date=D(2021, 6, 10), to_date=D(2021, 6, 15),
                               reason="hospital", created_by=intake)
    claim, _ = _receive(home_operator, home, [entry(person)])
    assert _refused(_line(claim, person)) == {f"{d:02d}": "hospital_absence" for d in range(10, 15)}


def test_days_after_death_are_refused(home, home_operator, intake):
    """§7: days after death are not payable — from the date of death on (a stop of cover for death)."""
    person = resident_in(home, user=intake, score=35)
    Stop.objects.create(person=person, reason="death", stop_date=D(2021, 6, 21), created_by=intake)
    claim, _ = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert _refused(line) == {f"{d:02d}": "after_death" for d in range(21, 31)}
    assert line.fund == Decimal("0.80") * 107 * 20  # 20 severe days at the 107 cap


def test_unknown_id_number_refuses_the_line(home, home_operator, intake):
    ghost = PersonFactory.build(birth=D(1940, 1, 1))
    claim, _ = _receive(home_operator, home, [{"id_number": ghost.id_number, "days": days(1, 3)}])
    line = claim.lines.get()
    assert line.person is None and line.line_refusal == "unknown_person" and line.days_refused == 3


def test_every_reason_reads_in_chinese():
    """The reasons are English source strings with zh_Hans translations."""
    from django.utils import translation

    with translation.override("zh-hans"):
        texts = {code: str(text) for code, text in REASONS.items()}
    with translation.override("en"):
        assert str(REASONS["inpatient"]) == "Inside an inpatient stay (a hospital reimbursement case)"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts.values()), texts


def test_day_refusal_order_death_first():
    """The first reason that applies: after death wins over not covered (pure)."""
    from carecare.claim_checks import PersonFacts
    from carecare.selectors import CareDay

    day = D(2021, 6, 5)
    facts = PersonFacts(1, D(1940, 1, 1), (), {day: CareDay(day, 9, 1, False, "", True)}, ())
    assert day_refusal(facts, 9, day) == "after_death"
    assert day_refusal(None, 9, day) == "unknown_person"


# --------------------------------------------------------------------------- the arithmetic through the claim


@pytest.mark.parametrize(("score", "fund"), [
    (35, "2568.00"),  # LTC-E1 severe: min(3450, 107 × 30) × 0.80
    (55, "1797.60"),  # LTC-E2 moderate: 3210 × 0.56
    (80, "0.00"),     # no grade, aged 78: no rule (flagged, the resident pays)
])
def test_each_grade(home, home_operator, intake, score, fund):
    """§7 rules 1 and 2 by grade (age 78); 115 a day billed."""
    person = resident_in(home, user=intake, score=score)
    claim, _ = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert line.fund == Decimal(fund)
    assert line.personal == Decimal("3450.00") - Decimal(fund)
    if score == 80:
        assert {d.get("flag") for d in line.days} == {"no_rule"} and line.days_refused == 0


@pytest.mark.parametrize(("bed", "fund"), [("40.00", "600.00"), ("60.00", "750.00")])
def test_aged_85_to_89_bed_fee_average_cap(home, home_operator, intake, bed, fund):
    """§7 rule 4, LTC-E3: age 87, no grade: 50 % of the bed fee, fund at most 25 × days on average."""
    person = resident_in(home, user=intake, birth=D(1934, 1, 5), score=70)
    claim, _ = _receive(home_operator, home, [entry(person, bed=bed, nursing="45.00", supplies="5.00")])
    assert _line(claim, person).fund == Decimal(fund)


def test_aged_90_or_over(home, home_operator, intake):
    """§7 rule 3, LTC-E4: age 92, ADL 100, 90 a day: 2700 ≤ 3210 → 0.56 × 2700 = 1512.00."""
    person = resident_in(home, user=intake, birth=D(1929, 3, 1), score=100)
    claim, _ = _receive(home_operator, home, [entry(person, bed="40.00", nursing="45.00", supplies="5.00")])
    assert _line(claim, person).fund == Decimal("1512.00")


def test_birthday_inside_the_month_splits(home, home_operator, intake):
    """§7 and LTC-E5: 90th birthday on 16 June, ADL 70: 1–15 rule 4 (300.00), 16–30 rule 3 (756.00)."""
    person = resident_in(home, user=intake, birth=D(1931, 6, 16), score=70)
    claim, _ = _receive(home_operator, home, [entry(person, bed="40.00", nursing="45.00", supplies="5.00")])
    line = _line(claim, person)
    assert line.fund == Decimal("1056.00") and line.personal == Decimal("1644.00")
    assert [(g["rule"], g["days"], g["fund"]) for g in line.groups] == [("aged", 15, "756.00"), ("aged_bed_fee", 15, "300.00")]


def test_new_assessment_inside_the_month_splits(home, home_operator, intake):
    """Contract: one request per assessment — moderate until 15 June, a re-assessment approved on
    16 June (severe) supersedes it: 15 × 107 × 0.56 + 15 × 107 × 0.80 = 898.80 + 1284.00."""
    person = resident_in(home, user=intake, score=None)
    old = approved(person, 55, D(2021, 1, 10), user=intake, state="superseded")
    new = approved(person, 35, D(2021, 6, 16), user=intake)
    old.superseded_by = new
    old.save(update_fields=["superseded_by"])
    claim, _ = _receive(home_operator, home, [entry(person)])
    line = _line(claim, person)
    assert [(g["assessment"], g["rule"], g["days"]) for g in line.groups] == [(old.pk, "moderate", 15), (new.pk, "severe", 15)]
    assert line.fund == Decimal("898.80") + Decimal("1284.00")


def test_shares_add_up_on_every_line(home, home_operator, intake):
    people = [resident_in(home, user=intake, score=s) for s in (35, 55, 80)]
    claim, _ = _receive(home_operator, home, [entry(p, other="12.50") for p in people])
    for line in claim.lines.all():
        assert line.fund + line.personal + line.refused_amount == line.total
    assert claim.fund == sum(line.fund for line in claim.lines.all())


# --------------------------------------------------------------------------- reading and idempotency


def test_a_bad_value_refuses_the_claim_naming_row_and_field(home, home_operator, intake):
    person = resident_in(home, user=intake, score=35)
    bad = days(1, 3)
    bad[1]["bed"] = "4O.00"
    bad[2]["date"] = "2021-07-01"  # outside the month
    with pytest.raises(InvalidClaim) as exc:
        _receive(home_operator, home, [entry(person, bad)])
    assert {(e["row"], e["field"]) for e in exc.value.errors} == {("1.2", "bed"), ("1.3", "date")}
    assert not CareClaim.objects.exists()


def test_the_same_claim_sent_twice_changes_nothing(home, home_operator, intake):
    """§7: one claim per home and month, idempotent — also with residents in another order."""
    a, b = resident_in(home, user=intake, score=35), resident_in(home, user=intake, score=55)
    claim, _ = _receive(home_operator, home, [entry(a), entry(b)])
    lines = list(claim.lines.values_list("pk", flat=True))
    again, outcome = _receive(home_operator, home, [entry(b), entry(a, list(reversed(days())))])
    assert outcome == "unchanged" and again.pk == claim.pk
    assert list(again.lines.values_list("pk", flat=True)) == lines
    assert CareClaimTransition.objects.filter(claim=claim).count() == 1


def test_corrected_resend_before_checking_replaces_the_lines(home, home_operator, intake, reviewer):
    a = resident_in(home, user=intake, score=35)
    claim, _ = _receive(home_operator, home, [entry(a, bed="40.00")])
    claim, outcome = _receive(home_operator, home, [entry(a, bed="50.00")])
    assert outcome == "replaced" and claim.sends == 2 and CareClaim.objects.count() == 1
    assert _line(claim, a).days[0]["bed"] == "50.00"
    care_claim_check(acting_user=reviewer, claim=claim)
    with pytest.raises(ClaimConflict):
        _receive(home_operator, home, [entry(a, bed="60.00")])
    assert _receive(home_operator, home, [entry(a, bed="50.00")])[1] == "unchanged"  # the same again is fine


def test_a_rejected_claim_may_be_sent_again(home, home_operator, intake, reviewer):
    a = resident_in(home, user=intake, score=35)
    claim, _ = _receive(home_operator, home, [entry(a)])
    care_claim_reject(acting_user=reviewer, claim=claim, reason="床位费有误")
    claim, outcome = _receive(home_operator, home, [entry(a, bed="30.00")])
    assert outcome == "replaced" and claim.state == C.RECEIVED
    assert list(claim.transitions.values_list("to_state", flat=True)) == ["received", "rejected", "received"]


def test_a_home_sends_for_itself_only(home, other_home, home_operator, intake):
    a = resident_in(other_home, user=intake, score=35)
    with pytest.raises(NotPermitted):
        _receive(home_operator, other_home, [entry(a)])


# --------------------------------------------------------------------------- workflow, four eyes, ledger, payment


def _checked(home, home_operator, intake, reviewer, score=35):
    person = resident_in(home, user=intake, score=score)
    claim, _ = _receive(home_operator, home, [entry(person)])
    return care_claim_check(acting_user=reviewer, claim=claim), person


def test_four_eyes_the_checker_cannot_approve(home, home_operator, intake, reference_data):
    """DESIGN four eyes: a clerk who holds both roles still cannot approve the claim it checked."""
    both = role_user("both_roles", "reviewer", "approver")
    person = resident_in(home, user=intake, score=35)
    claim, _ = _receive(home_operator, home, [entry(person)])
    claim = care_claim_check(acting_user=both, claim=claim)
    with pytest.raises(FourEyes):
        care_claim_approve(acting_user=both, claim=claim)
    claim.refresh_from_db()
    assert claim.state == C.CHECKED and not LedgerEntry.objects.exists()


def test_four_eyes_the_receiving_clerk_cannot_approve(home, intake, reviewer, reference_data):
    both = role_user("intake_and_approver", "intake_clerk", "approver")
    person = resident_in(home, user=intake, score=35)
    claim, _ = care_claim_receive(acting_user=both, care_home=home, month=JUNE, residents=[entry(person)], source="upload")
    claim = care_claim_check(acting_user=reviewer, claim=claim)
    with pytest.raises(FourEyes):
        care_claim_approve(acting_user=both, claim=claim)


def test_only_an_approver_approves(home, home_operator, intake, reviewer, reference_data):
    claim, _ = _checked(home, home_operator, intake, reviewer)
    with pytest.raises(NotPermitted):
        care_claim_approve(acting_user=role_user("rev2", "reviewer"), claim=claim)


def test_approval_posts_the_ledger_and_orders_the_payment_once(home, home_operator, intake, reviewer, approver):
    """§7: the fund pays the home — approval writes the yearly ledger (benefit long_term_care) and
    makes one payment order to the home through the payment path of cases."""
    from claims.models import PaymentOrder

    _bank_account(home)
    claim, person = _checked(home, home_operator, intake, reviewer)
    claim = care_claim_approve(acting_user=approver, claim=claim)
    claim.refresh_from_db()
    assert claim.state == C.PAYMENT_ORDERED
    entry_row = LedgerEntry.objects.get(source_kind="care_claim", source_id=claim.pk)
    assert (entry_row.person_id, entry_row.benefit, entry_row.fund) == (person.pk, "long_term_care", Decimal("2568.00"))
    order = PaymentOrder.objects.get(source_kind="care_claim", source_id=claim.pk)
    assert (order.payee_institution_id, order.amount, claim.payment_order_id) == (home.pk, Decimal("2568.00"), order.pk)
    # sent again, approved again or ordered again: still one order, one ledger entry
    assert _receive(home_operator, home, [entry(person)])[1] == "unchanged"
    from claims.services.payments import payment_order_for_institution

    assert payment_order_for_institution(acting_user=approver, institution=home, amount=claim.fund,
                                         source_kind="care_claim", source_id=claim.pk).pk == order.pk
    assert PaymentOrder.objects.filter(source_kind="care_claim").count() == 1
    assert LedgerEntry.objects.filter(source_kind="care_claim").count() == 1


def _bank_account(home):
    home.bank_account, home.bank_account_name = "6222020200100001001", home.name
    home.save(update_fields=["bank_account", "bank_account_name"])


def test_a_home_without_bank_account_stays_approved_until_ordered(home, home_operator, intake, reviewer, approver):
    """Approval commits the money (ledger); the order to the home waits for its bank account and
    is made from the claim's page later — once."""
    from carecare.services.claims import care_claim_order_payment
    from claims.models import PaymentOrder

    claim, _person = _checked(home, home_operator, intake, reviewer)
    done = care_claim_approve(acting_user=approver, claim=claim)
    assert done.state == C.APPROVED and "银行账户" in done.payment_refusal
    assert LedgerEntry.objects.count() == 1 and not PaymentOrder.objects.exists()
    _bank_account(home)
    care_claim_order_payment(acting_user=approver, claim=claim)
    claim.refresh_from_db()
    assert claim.state == C.PAYMENT_ORDERED and PaymentOrder.objects.get().amount == Decimal("2568.00")


def test_the_daily_payment_file_pays_the_home(home, home_operator, intake, reviewer, approver):
    """The order joins the day's bank payment file with the claim's reference (HL + number)."""
    from claims.services.payments import payment_orders_create

    _bank_account(home)
    claim, _person = _checked(home, home_operator, intake, reviewer)
    care_claim_approve(acting_user=approver, claim=claim)
    payment_file, _created = payment_orders_create(acting_user=approver, pay_date=D(2021, 7, 1))
    assert f"HL{claim.pk:08d}" in payment_file.content and "2568.00" in payment_file.content


def test_a_death_recorded_after_checking_recalculates_at_approval(home, home_operator, intake, reviewer, approver):
    """Approval checks again under the ledger lock: a death recorded since the check refuses
    approval with the new figures saved, nothing posted; approving again then succeeds."""
    _bank_account(home)
    claim, person = _checked(home, home_operator, intake, reviewer)
    Stop.objects.create(person=person, reason="death", stop_date=D(2021, 6, 16), created_by=intake)
    with pytest.raises(Recalculated):
        care_claim_approve(acting_user=approver, claim=claim)
    claim.refresh_from_db()
    assert claim.state == C.CHECKED and claim.fund == Decimal("0.80") * 107 * 15
    assert not LedgerEntry.objects.exists()
    care_claim_approve(acting_user=approver, claim=claim)
    assert LedgerEntry.objects.get().fund == Decimal("1284.00")


# --------------------------------------------------------------------------- query counts


def test_claim_facts_read_a_fixed_number_of_queries(home, intake):
    """Set-based checks: the same number of queries for 2 residents as for 12."""
    few = [resident_in(home, user=intake, score=35).id_number for _ in range(2)]
    many = few + [resident_in(home, user=intake, score=55).id_number for _ in range(10)]
    counts = []
    for numbers in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            claim_facts(id_numbers=numbers, year=2021, month=6)
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 8, counts


def test_receiving_a_claim_is_set_based(home, home_operator, intake):
    few = [resident_in(home, user=intake, score=35) for _ in range(2)]
    more = [resident_in(home, user=intake, score=55) for _ in range(8)]
    _receive(home_operator, home, [entry(p, month=5) for p in few], month=D(2021, 5, 1))  # permissions, policy cached
    counts = []
    for month, people in ((D(2021, 6, 1), few), (D(2021, 7, 1), few + more)):
        with CaptureQueriesContext(connection) as ctx:
            _receive(home_operator, home, [entry(p, month=month.month) for p in people], month=month)
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts

