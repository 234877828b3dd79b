# ruff: noqa: F811 - the fixtures imported below are requested by name
"""Recovery of visits, care claims and the block rules (DOMAIN.md §9 "Recovery", issue 15 item 4):
every rule × settlement kind a finding can name is re-quoted with the settlement's own engine on
the corrected facts, the order is what the fund paid minus what it should have paid, from the
party that received the money, and the ledger is reversed and reposted so the next settlement of
the person sees the corrected year-to-date figures. The combinations that cannot be re-quoted are
refused in Chinese.

Parameters used in the hand-computed figures (medins/reference/policies):
- Jinan 2021 outpatient pool (college students at the school clinic): 65 %, no deductible, a
  yearly fund cap of 500;
- Changchun 2021 chronic disease (门诊慢性病), diabetes at a primary centre: 60 %, no deductible,
  the disease's yearly cap 2 400; fund_security.max_days_supply chronic 30, acute 7; window 30
  days, tolerance 1.2 (36 days);
- Changchun 2021 long-term care, a severe grade (Barthel 35) aged 78: bed + nursing + supplies
  covered, capped at 107 a day, 80 % → 85.60 a day from the fund; the resident pays the rest
  (115.00 − 85.60 = 29.40 a day);
- Changchun 2021 inpatient, municipal tertiary: deductible 800, 60 % of the rest.
"""

import datetime as dt
from decimal import Decimal

import pytest

from carecare.services.claims import care_claim_approve, care_claim_check, care_claim_receive
from claims.ledger.models import LedgerEntry
from claims.ledger.selectors import accounts_of
from claims.ledger.selectors import year_to_date as ledger_ytd
from claims.settlement.capitation import rates_of, year_start
from claims.settlement.models import CertifiedVisit, PoolAccount, RunKind, RunState, SettlementRun, Visit
from claims.settlement.services import certified_visits_ingest, institution_settle, pool_members_sync_schools
from claims.supervision.errors import RecoveryRefused
from claims.supervision.models import Finding, FindingSettlement, GreyListEntry, RecoveryOrder, SettlementLine
from claims.supervision.recovery import recovery_order_create
from enrollment.models import CoveragePeriod
from medins.selectors import policy_in_force
from tests.carecare.claim_helpers import JUNE, entry, resident_in
from tests.carecare.conftest import approver, home, home_operator, intake, reviewer  # noqa: F401 - fixtures
from tests.settlement.conftest import (  # noqa: F401 - fixtures
    cc,
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

from .test_recovery import approve_into_ledger, stay_lines

pytestmark = pytest.mark.django_db
D = dt.date
M = Decimal


def link_of(obj) -> dict:
    """A finding's settlement row for a visit, a certified visit, a care-claim line or a case."""
    from carecare.models import CareClaimLine
    from claims.models import Case

    if isinstance(obj, Visit):
        return {"kind": "pool_visit", "ref": f"pv:{obj.pk}", "institution": obj.institution, "via": "direct",
                "service_date": obj.service_date, "total": obj.total, "fund": obj.fund, "person": obj.person}
    if isinstance(obj, CertifiedVisit):
        return {"kind": "certified_visit", "ref": f"cv:{obj.pk}", "institution": obj.institution, "via": "direct",
                "service_date": obj.service_date, "total": obj.total, "fund": obj.fund, "person": obj.person}
    if isinstance(obj, CareClaimLine):
        return {"kind": "care_claim_line", "ref": f"ltc:{obj.pk}", "institution": obj.claim.care_home, "via": "direct",
                "service_date": obj.claim.month, "total": obj.total, "fund": obj.fund, "person": obj.person}
    assert isinstance(obj, Case)
    return {"kind": "case", "ref": f"case:{obj.pk}", "institution": obj.institution, "via": "manual",
            "service_date": obj.service_from, "total": M("0"), "fund": obj.fund_amount, "person": obj.person}


def confirmed_finding(rule, *settlements, severity="block"):
    """A finding of `rule` naming the settlements, confirmed by two supervisors (the workflow has its own tests)."""
    links = [link_of(s) for s in settlements]
    day = max(x["service_date"] for x in links)
    finding = Finding.objects.create(
        key=f"{rule}-{'-'.join(x['ref'] for x in links)}", region=links[0]["person"].region, rule=rule,
        rule_version="test", severity=severity, settlement_refs=sorted(x["ref"] for x in links),
        institution=links[-1]["institution"], month=day.replace(day=1), service_date=day, evidence="-",
        state="confirmed")
    for x in links:
        FindingSettlement.objects.create(finding=finding, kind=x["kind"], object_id=int(x["ref"].split(":")[1]),
                                         ref=x["ref"], person=x["person"], institution=x["institution"], via=x["via"],
                                         service_date=x["service_date"], total=x["total"], fund=x["fund"])
    return finding


def drug_line(kind, obj, day, *, supply, amount, drug="DX"):
    SettlementLine.objects.create(kind=kind, object_id=obj.pk, date=day, item=drug, line_kind="drug", quantity=1,
                                  amount=M(amount), drug=drug, days_supply=supply)


def orders_of(finding, supervisors):
    return {o.kind: o for o in recovery_order_create(acting_user=supervisors[0], finding=finding)}


def live(kind, pk):
    return LedgerEntry.objects.filter(source_kind=kind, source_id=pk, reverses__isnull=True, reversed_by__isnull=True)


# --------------------------------------------------------------------------- pool visits


def settle(institution, month, *, headcount, kind=RunKind.MONTHLY):
    """The capitation run of `month` (or the year-end) for one institution, its head count frozen first."""
    account, _ = PoolAccount.objects.get_or_create(institution=institution, year=2021)
    months = range(1, 13) if kind == RunKind.YEAR_END else [month]
    account.headcounts = {**account.headcounts, **{str(k): headcount for k in months}}
    account.save(update_fields=["headcounts"])
    run = SettlementRun.objects.create(region=institution.region, kind=kind, year=2021, month=month,
                                       state=RunState.RUNNING)
    rates = rates_of(policy_in_force(region=institution.region.code, date=year_start(2021)))
    return institution_settle(run=run, institution=institution, rates=rates)


@pytest.fixture
def student(jinan, make_student):
    person = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    return person


def test_excess_prescription_on_a_pool_visit_and_the_next_visit_sees_the_ledger(student, ingest, clinic, supervisors):
    """contract excess_prescription (a) / DOMAIN.md §9: 14 days of a drug (280.00) on a pool visit of
    600.00, the acute maximum being 7: 7/14 × 280 = 140.00 removed. Paid 0.65 × 600 = 390.00; should
    have paid 0.65 × 460 = 299.00 → 91.00 back from the clinic; the student paid 210.00 but owed
    161.00 → the clinic refunds 49.00. Ledger: year-to-date fund 390.00 → 299.00, so the next visit
    (400.00) is paid up to the cap: 500 − 299 = 201.00 (without the correction 500 − 390 = 110.00)."""
    ingest([visit("V-1", student, D(2021, 6, 1), a="600.00")])
    v1 = Visit.objects.get(visit_id="V-1")
    assert v1.fund == M("390.00")
    settle(clinic, 6, headcount=1200)  # June paid its actual 390.00, under the quota 6 000.00 (DOMAIN.md §8)
    drug_line("pool_visit", v1, v1.service_date, supply=14, amount="280.00")
    orders = orders_of(confirmed_finding("excess_prescription", v1, severity="review"), supervisors)
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("91.00"), clinic.pk)
    assert (orders["refund"].amount, orders["refund"].creditor_person_id) == (M("49.00"), student.pk)
    assert orders["recovery"].breakdown["quotes"][f"pv:{v1.pk}"]["fund"] == "299.00"
    assert ledger_ytd(person_id=student.pk, benefit="outpatient_pool", on=D(2021, 6, 20))["fund_paid"] == M("299.00")
    ingest([visit("V-2", student, D(2021, 6, 20), a="400.00")])
    assert Visit.objects.get(visit_id="V-2").fund == M("201.00")


def test_grey_list_pool_visit_is_not_payable_at_all(student, ingest, clinic, supervisors):
    """contract grey_list: a direct settlement in a grey-list period should not have been settled
    directly: the fund's 0.65 × 400 = 260.00 back from the clinic; the student owed the whole bill, so
    no refund; the visit's ledger entry is reversed (year-to-date fund 0)."""
    ingest([visit("V-1", student, D(2021, 6, 1), a="400.00")])
    v1 = Visit.objects.get(visit_id="V-1")
    settle(clinic, 6, headcount=1200)  # June paid 260.00, under its quota (DOMAIN.md §8)
    GreyListEntry.objects.create(person=student, from_date=D(2021, 5, 1), to_date=D(2021, 8, 31), reason="骗保",
                                 created_by=supervisors[0])
    orders = orders_of(confirmed_finding("grey_list", v1), supervisors)
    assert set(orders) == {"recovery"} and orders["recovery"].amount == M("260.00")
    assert orders["recovery"].debtor_institution_id == clinic.pk
    assert ledger_ytd(person_id=student.pk, benefit="outpatient_pool", on=D(2021, 7, 1))["fund_paid"] == M("0.00")


def test_not_covered_pool_visit_is_dropped(student, ingest, clinic, supervisors):
    """contract not_covered: the visit's date fell outside the cover (corrected afterwards): the
    fund's 0.65 × 100 = 65.00 is recovered whole."""
    ingest([visit("V-1", student, D(2021, 6, 1), a="100.00")])
    settle(clinic, 6, headcount=1200)  # June paid 65.00, under its quota (DOMAIN.md §8)
    CoveragePeriod.objects.filter(person=student).update(covered_to=D(2021, 5, 31))
    orders = orders_of(confirmed_finding("not_covered", Visit.objects.get()), supervisors)
    assert set(orders) == {"recovery"} and orders["recovery"].amount == M("65.00")


# --------------------------------------------------------------------------- certified visits


@pytest.fixture
def diabetic(person, cc, certify):
    certify(person, "chronic", "diabetes", cc["primary"])
    return person


def chronic_visit(person, cc, visit_id, day, a):
    result = certified_visits_ingest(acting_user=None, institution=cc["primary"],
                                     rows=[cvisit(visit_id, person, day, "chronic", "diabetes", a=a)])
    assert result.created == 1, result.errors
    return CertifiedVisit.objects.get(visit_id=visit_id)


def test_excess_prescription_on_a_certified_visit_and_the_next_visit_sees_the_ledger(diabetic, cc, supervisors):
    """contract excess_prescription (a) / DOMAIN.md §9: 60 days of a drug (2 000.00) on a chronic
    visit, the chronic maximum being 30: 30/60 × 2 000 = 1 000.00 removed. Paid 0.60 × 3 000 = 1 800.00;
    should have paid 0.60 × 2 000 = 1 200.00 → 600.00 back from the centre; the person paid 1 200.00 but
    owed 800.00 → 400.00 refunded. The next diabetes visit (2 000.00) then has 2 400 − 1 200 = 1 200.00 of
    the yearly cap left: paid 1 200.00 (without the correction: 600.00)."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "3000.00")
    assert c1.fund == M("1800.00")
    drug_line("certified_visit", c1, c1.service_date, supply=60, amount="2000.00")
    orders = orders_of(confirmed_finding("excess_prescription", c1, severity="review"), supervisors)
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("600.00"), cc["primary"].pk)
    assert (orders["refund"].amount, orders["refund"].person_paid, orders["refund"].person_due) == (
        M("400.00"), M("1200.00"), M("800.00"))
    assert live("certified_visit", c1.pk).get().fund == M("1200.00")
    assert chronic_visit(diabetic, cc, "C-2", D(2021, 6, 20), "2000.00").fund == M("1200.00")


def test_excess_prescription_window_over_certified_visits_cuts_the_later_dispensing(diabetic, cc, supervisors):
    """contract excess_prescription (b) / DOMAIN.md §9: 30 + 30 days of drug DX dispensed on 06-01 and
    06-10 (60 > 1.2 × 30 = 36 days in the window from 06-01; each within the chronic maximum of 30).
    Each visit 600.00, of which 300.00 of DX: paid 0.60 × 600 = 360.00 each. Corrected: C-1 keeps its
    30 days; C-2 keeps 36 − 30 = 6 days: 24/30 × 300 = 240.00 removed, fund 0.60 × 360 = 216.00 →
    144.00 back from the centre; the person paid 240.00 but owed 144.00 → 96.00 refunded. C-1 is not
    touched; the year-to-date chronic fund 720.00 → 576.00."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "600.00")
    c2 = chronic_visit(diabetic, cc, "C-2", D(2021, 6, 10), "600.00")
    for c in (c1, c2):
        drug_line("certified_visit", c, c.service_date, supply=30, amount="300.00")
    orders = orders_of(confirmed_finding("excess_prescription", c1, c2, severity="review"), supervisors)
    assert (orders["recovery"].amount, orders["refund"].amount) == (M("144.00"), M("96.00"))
    assert orders["recovery"].debtor_institution_id == cc["primary"].pk
    assert list(orders["recovery"].breakdown["corrected"]) == [f"cv:{c2.pk}"]
    assert live("certified_visit", c1.pk).get().fund == M("360.00")
    assert not LedgerEntry.objects.filter(source_kind="certified_visit", source_id=c1.pk, reverses__isnull=False).exists()
    assert ledger_ytd(person_id=diabetic.pk, benefit="chronic", on=D(2021, 7, 1))["fund_paid"] == M("576.00")


def test_certification_mismatch_recovers_the_whole_visit(diabetic, cc, supervisors):
    """contract certification_mismatch: without a valid certification the fund should have paid
    nothing: 0.60 × 500 = 300.00 back; the person owed the whole 500.00, so no refund."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "500.00")
    orders = orders_of(confirmed_finding("certification_mismatch", c1), supervisors)
    assert set(orders) == {"recovery"} and orders["recovery"].amount == M("300.00")
    assert ledger_ytd(person_id=diabetic.pk, benefit="chronic", on=D(2021, 7, 1))["fund_paid"] == M("0.00")


def test_outpatient_visit_during_a_stay_elsewhere_is_dropped_not_the_stay(diabetic, cc, hospitals, paid_case,
                                                                          supervisors):
    """contract overlapping_care (outpatient branch): a chronic visit at another institution on a stay
    day other than the admission: the visit's 0.60 × 500 = 300.00 back from the centre; the stay is
    left as it was (its ledger entry live)."""
    h1, _h2 = hospitals
    case = paid_case(diabetic, D(2021, 6, 1), D(2021, 6, 10), institution=h1, fund="720.00", total="2000.00",
                     lines=stay_lines(D(2021, 6, 1), 9))
    approve_into_ledger(case)
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 5), "500.00")
    orders = orders_of(confirmed_finding("overlapping_care", case, c1, severity="review"), supervisors)
    assert set(orders) == {"recovery"} and orders["recovery"].amount == M("300.00")
    assert orders["recovery"].debtor_institution_id == cc["primary"].pk
    assert live("case", case.pk).count() == 1 and not live("certified_visit", c1.pk).exists()


# --------------------------------------------------------------------------- care claims


def test_overlapping_care_drops_the_care_days_of_the_stay_and_requotes_the_care_line(
        home, home_operator, intake, reviewer, approver, hospitals, paid_case, supervisors):
    """contract overlapping_care (block, long-term care) / DOMAIN.md §9 "uncovered days dropped": a
    resident billed 30 June days (115.00 each, paid 85.60 by the fund, 29.40 by the resident) was an
    inpatient from 06-10 to 06-15 (stay days 10–14: 5 days). Re-quoted with the long-term-care engine
    on 25 days: fund 25 × 85.60 = 2 140.00 instead of 2 568.00 → 428.00 back from the care home; the
    resident paid 882.00 but owed 25 × 29.40 = 735.00 → the home refunds 147.00. The resident's ledger
    fund becomes 2 140.00; the other resident's entry of the same claim is untouched (then corrected by
    its own grey-list finding, below)."""
    resident = resident_in(home, user=intake, score=35)
    other = resident_in(home, user=intake, score=35)
    claim, _ = care_claim_receive(acting_user=home_operator, care_home=home, month=JUNE,
                                  residents=[entry(resident), entry(other)])
    claim = care_claim_check(acting_user=reviewer, claim=claim)
    care_claim_approve(acting_user=approver, claim=claim)
    line = claim.lines.get(person=resident)
    assert (line.fund, line.personal) == (M("2568.00"), M("882.00"))
    case = paid_case(resident, D(2021, 6, 10), D(2021, 6, 15), institution=hospitals[0], fund="0.00",
                     total="500.00", approved_on=D(2021, 6, 16))
    orders = orders_of(confirmed_finding("overlapping_care", case, line), supervisors)
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("428.00"), home.pk)
    assert (orders["refund"].amount, orders["refund"].creditor_person_id) == (M("147.00"), resident.pk)
    assert orders["recovery"].breakdown["quotes"][f"ltc:{line.pk}"]["days_paid"] == 25

    def care_fund(p):
        return accounts_of(p.pk, 2021, "long_term_care")[("long_term_care", "")].fund

    assert (care_fund(resident), care_fund(other)) == (M("2140.00"), M("2568.00"))
    # contract grey_list on a care line: the other resident's days 06-01..06-10 in a grey-list period
    # (entered after the claim was paid) are dropped: fund 20 × 85.60 = 1 712.00 → 856.00 back; the
    # resident paid 882.00 but owed 20 × 29.40 = 588.00 → 294.00 refunded.
    GreyListEntry.objects.create(person=other, from_date=D(2021, 5, 1), to_date=D(2021, 6, 10), reason="骗保",
                                 created_by=supervisors[0])
    grey = orders_of(confirmed_finding("grey_list", claim.lines.get(person=other)), supervisors)
    assert (grey["recovery"].amount, grey["refund"].amount) == (M("856.00"), M("294.00"))
    assert (care_fund(resident), care_fund(other)) == (M("2140.00"), M("1712.00"))


def test_benefit_twice_drops_a_care_line_and_not_covered_drops_its_uncovered_days(
        home, home_operator, intake, reviewer, approver, hospitals, paid_case, supervisors):
    """contract benefit_twice (one line under two benefits) with a care line as the later settlement:
    the whole line (2 568.00) back from the care home, the resident's care ledger entry reversed.
    contract not_covered on a care line ("every line date"): the other resident's cover ended 06-20 →
    days 21–30 dropped: fund 20 × 85.60 = 1 712.00 → 856.00 back, 882.00 − 20 × 29.40 = 294.00 refunded."""
    resident = resident_in(home, user=intake, score=35)
    other = resident_in(home, user=intake, score=35)
    claim, _ = care_claim_receive(acting_user=home_operator, care_home=home, month=JUNE,
                                  residents=[entry(resident), entry(other)])
    care_claim_approve(acting_user=approver, claim=care_claim_check(acting_user=reviewer, claim=claim))
    earlier = paid_case(resident, D(2021, 5, 20), D(2021, 5, 21), institution=hospitals[0], fund="10.00")
    twice = orders_of(confirmed_finding("benefit_twice", earlier, claim.lines.get(person=resident)), supervisors)
    assert set(twice) == {"recovery"} and twice["recovery"].amount == M("2568.00")
    assert twice["recovery"].debtor_institution_id == home.pk
    CoveragePeriod.objects.filter(person=other).update(covered_to=D(2021, 6, 20))
    uncovered = orders_of(confirmed_finding("not_covered", claim.lines.get(person=other)), supervisors)
    assert (uncovered["recovery"].amount, uncovered["refund"].amount) == (M("856.00"), M("294.00"))

    def care_fund(p):
        return accounts_of(p.pk, 2021, "long_term_care")[("long_term_care", "")].fund

    assert (care_fund(resident), care_fund(other)) == (M("0.00"), M("1712.00"))


# --------------------------------------------------------------------------- cases, and what stays refused


def test_third_party_not_deducted_requotes_the_case_net_of_the_third_party(person, hospitals, paid_case, supervisors):
    """contract third_party_not_deducted: a 5 000.00 stay paid 0.60 × (5 000 − 800) = 2 520.00 before a
    third party's 1 000.00 was known. Re-quoted on 4 000.00: 0.60 × 3 200 = 1 920.00 → 600.00 back from
    the claimant (a manual case); the ledger's year-to-date fund 2 520.00 → 1 920.00."""
    case = paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=hospitals[0], fund="2520.00",
                     total="5000.00")
    assert approve_into_ledger(case)["fund"] == "2520.00"
    type(case).objects.filter(pk=case.pk).update(third_party_paid=M("1000.00"))
    orders = orders_of(confirmed_finding("third_party_not_deducted", case), supervisors)
    assert set(orders) == {"recovery"} and orders["recovery"].amount == M("600.00")
    assert orders["recovery"].debtor_person_id == person.pk
    assert ledger_ytd(person_id=person.pk, benefit="inpatient", on=D(2021, 7, 1))["fund_paid"] == M("1920.00")


def test_refusals_that_remain_say_why_in_chinese(person, hospitals, paid_case, diabetic, cc, supervisors):
    """Issue 15 item 4 "never typed": two overlapping stays (which hospital's days were not real is a
    judgement), a third party on a visit (the rule cannot name one), the grey list on a manual case
    (not a direct settlement) are refused, nothing written."""
    h1, h2 = hospitals
    a = paid_case(person, D(2021, 6, 1), D(2021, 6, 10), institution=h1, lines=stay_lines(D(2021, 6, 1), 9))
    b = paid_case(person, D(2021, 6, 5), D(2021, 6, 12), institution=h2, lines=stay_lines(D(2021, 6, 5), 7))
    with pytest.raises(RecoveryRefused, match="两次住院时间重叠"):
        recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("overlapping_care", a, b))
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "500.00")
    with pytest.raises(RecoveryRefused, match="没有第三方赔付记录"):
        recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("third_party_not_deducted", c1))
    with pytest.raises(RecoveryRefused, match="手工报销不受灰名单限制"):
        recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("grey_list", a))
    assert not RecoveryOrder.objects.exists()
    assert live("certified_visit", c1.pk).count() == 1
