# ruff: noqa: F811 - the fixtures imported below are requested by name
"""Recovery of the certified outpatient benefits other than Changchun chronic (those are in
test_recovery_kinds.py): special disease and special drug (Changchun), 两病 and 门规 (Jinan). Each
visit is re-quoted with its benefit's engine (requote.CertifiedVisitSettlement) on the corrected
bill; the order is what the fund paid minus what it should have paid, from the institution that
was paid; the visit's ledger entry is reversed and the corrected one posted (DOMAIN.md §9
"Recovery").

Every correction here is contract excess_prescription (a): a drug line of 60 days of supply on a
certified visit, the maximum for certified benefits being 30 (fund_security.max_days_supply
chronic): half the line's amount is removed, from class A first (corrections.py). The figures are
worked out by hand from DOMAIN.md §3 (inpatient deductibles and bands of an adult), §4.1 (special
disease), §4.4 (special drug), §4.3 (两病) and §4.2 (Jinan 门规), on the 2021 parameters
(medins/reference/policies).
"""

import datetime as dt
from decimal import Decimal

import pytest

from claims.ledger import keys as ledger_keys
from claims.ledger.models import LedgerEntry
from claims.ledger.selectors import accounts_of, discrepancies
from claims.ledger.services import Posting, ledger_post, ledger_read, live_entries
from claims.settlement.models import CertifiedVisit
from claims.settlement.services import certified_visits_ingest
from claims.supervision.errors import RecoveryRefused
from claims.supervision.models import RecoveryOrder
from claims.supervision.recovery import recovery_order_create
from enrollment.models import CoveragePeriod
from medins.models import Institution
from tests.enrollment import factories as ef
from tests.settlement.conftest import cc, certify, changchun, cvisit, make_resident, make_user  # noqa: F401

from .test_recovery_kinds import chronic_visit, confirmed_finding, diabetic, drug_line, orders_of  # noqa: F401

pytestmark = pytest.mark.django_db
D = dt.date
M = Decimal


def ingest(institution, person, visit_id, day, benefit, item, a="0.00", b="0.00", c="0.00"):
    result = certified_visits_ingest(acting_user=None, institution=institution,
                                     rows=[cvisit(visit_id, person, day, benefit, item, a=a, b=b, c=c)])
    assert result.created == 1, result.errors
    return CertifiedVisit.objects.get(institution=institution, visit_id=visit_id)


def excess(visit, supervisors, *, amount, drug="DX"):
    """A drug line of 60 days (`amount`) on the visit, confirmed as excess_prescription (a): the orders by kind."""
    drug_line("certified_visit", visit, visit.service_date, supply=60, amount=amount, drug=drug)
    return orders_of(confirmed_finding("excess_prescription", visit, severity="review"), supervisors)


def assert_reposted(visit, *, fund_before, fund_after):
    """The visit's first entry reversed by its mirror, one live entry with the corrected fund, and
    every account equal to the sum of its entries."""
    entries = list(LedgerEntry.objects.filter(source_kind="certified_visit", source_id=visit.pk).order_by("pk"))
    assert [e.fund for e in entries] == [fund_before, -fund_before, fund_after]
    original, reversal, corrected = entries
    assert reversal.reverses_id == original.pk and corrected.reverses_id is None
    assert [e.pk for e in live_entries("certified_visit", visit.pk)] == [corrected.pk]
    assert discrepancies() == []


def figures(account):
    """(fund, cap_fund, deductible, eligible): cap_fund lands on the year account only (ledger keys.split)."""
    return (account.fund, account.cap_fund, account.deductible, account.eligible)


# --------------------------------------------------------------------------- Changchun special disease


def test_special_disease_requoted_at_inpatient_terms_on_the_years_deductible(cc, make_resident, certify, supervisors):
    """DOMAIN.md §4.1 (special disease SPD-027, certified at CC-H-001, provincial tertiary, adult):
    class B first self-pays 10 %, one amount-based deductible a year (1 200), bands on the year's
    cumulative eligible amount (55 % up to 30 000), the fund toward the 200 000 cap shared with
    inpatient (the year's cap_fund).
    - S-0 (04-01, A 1 000): eligible 1 000, all of it toward the deductible, fund 0.00.
    - S-1 (04-12, A 3 000, B 2 000, C 100): co-pay 200, eligible 4 800, the deductible's last 200,
      fund 0.55 × 4 600 = 2 530.00; the person paid 5 100 − 2 530 = 2 570.00.
    - Corrected S-1: 500.00 removed from class A (A 2 500): co-pay 200, eligible 4 300, deductible
      200 (S-0's 1 000 stay paid: the re-quote reads the year without S-1 only), fund 0.55 × 4 100
      = 2 255.00 → 275.00 back from the hospital; the person owed 4 600 − 2 255 = 2 345.00 → 225.00
      refunded. Ledger: special-disease fund 2 255.00, deductible 1 200.00, eligible 1 000 + 4 300
      = 5 300.00; the year's cap_fund 2 255.00."""
    person = make_resident()
    hospital = cc["tertiary"]
    certify(person, "special_disease", "SPD-027", hospital)
    assert ingest(hospital, person, "S-0", D(2021, 4, 1), "special_disease", "SPD-027", a="1000.00").fund == M("0.00")
    s1 = ingest(hospital, person, "S-1", D(2021, 4, 12), "special_disease", "SPD-027", "3000.00", "2000.00", "100.00")
    assert (s1.deductible, s1.fund) == (M("200.00"), M("2530.00"))
    orders = excess(s1, supervisors, amount="1000.00")
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("275.00"), hospital.pk)
    assert (orders["recovery"].fund_paid, orders["recovery"].fund_due) == (M("2530.00"), M("2255.00"))
    assert (orders["refund"].amount, orders["refund"].person_paid, orders["refund"].person_due) == (
        M("225.00"), M("2570.00"), M("2345.00"))
    quote = orders["recovery"].breakdown["quotes"][f"cv:{s1.pk}"]
    assert (quote["first_copay"], quote["eligible"], quote["deductible"], quote["fund"]) == (
        "200.00", "4300.00", "200.00", "2255.00")
    assert_reposted(s1, fund_before=M("2530.00"), fund_after=M("2255.00"))
    accounts = accounts_of(person.pk, 2021, "special_disease", "SPD-027")
    assert figures(accounts[("special_disease", "")]) == (M("2255.00"), M("0.00"), M("1200.00"), M("5300.00"))
    assert accounts[("special_disease", "SPD-027")].fund == M("2255.00")
    assert accounts[ledger_keys.YEAR].cap_fund == M("2255.00")


# --------------------------------------------------------------------------- Changchun special drug


def test_special_drug_dispensed_at_a_pharmacy_is_requoted_at_the_approving_hospitals_level(
        cc, make_resident, certify, supervisors):
    """DOMAIN.md §4.4 (CC-D-003, group copay_35, approved at CC-H-001 provincial tertiary, dispensed
    at the pharmacy CC-P-001): the person first pays 35 % of the drug amount (instead of the class-B
    10 %), then one deductible a year (1 200) and the inpatient bands of the approving hospital's
    level (55 %; a pharmacy has no level), the fund toward the cap shared with inpatient.
    - Paid: B 20 000 → first self-pay 7 000, eligible 13 000, fund 0.55 × (13 000 − 1 200) = 6 490.00.
    - Corrected: 60 days of the drug dispensed (20 000.00), 30 allowed → 10 000.00 removed (class A
      being 0, from class B): first self-pay 3 500, eligible 6 500, fund 0.55 × 5 300 = 2 915.00 →
      3 575.00 back from the pharmacy (it was paid); the person paid 13 510.00 but owed
      10 000 − 2 915 = 7 085.00 → the pharmacy refunds 6 425.00. Ledger: special-drug fund
      2 915.00, deductible 1 200.00, eligible 6 500.00; the year's cap_fund 2 915.00."""
    person = make_resident()
    hospital, pharmacy = cc["tertiary"], cc["pharmacy"]
    certify(person, "special_drug", "CC-D-003", hospital, valid_to=D(2021, 12, 31),
            sites=[(hospital, "approving", D(2021, 1, 1), D(2021, 12, 31)),
                   (pharmacy, "dispensing", D(2021, 1, 1), D(2021, 12, 31))])
    v = ingest(pharmacy, person, "P-1", D(2021, 3, 8), "special_drug", "CC-D-003", b="20000.00")
    assert (v.level, v.fund) == ("provincial_tertiary", M("6490.00"))
    orders = excess(v, supervisors, amount="20000.00", drug="CC-D-003")
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("3575.00"), pharmacy.pk)
    assert (orders["refund"].amount, orders["refund"].debtor_institution_id, orders["refund"].creditor_person_id) == (
        M("6425.00"), pharmacy.pk, person.pk)
    quote = orders["recovery"].breakdown["quotes"][f"cv:{v.pk}"]
    assert (quote["first_copay"], quote["eligible"], quote["deductible"], quote["fund"]) == (
        "3500.00", "6500.00", "1200.00", "2915.00")
    assert_reposted(v, fund_before=M("6490.00"), fund_after=M("2915.00"))
    accounts = accounts_of(person.pk, 2021, "special_drug", "CC-D-003")
    assert figures(accounts[("special_drug", "")]) == (M("2915.00"), M("0.00"), M("1200.00"), M("6500.00"))
    assert accounts[("special_drug", "CC-D-003")].fund == M("2915.00")
    assert accounts[ledger_keys.YEAR].cap_fund == M("2915.00")


# --------------------------------------------------------------------------- Jinan


def jinan_resident():
    person = ef.PersonFactory(area="370102", birth=D(1960, 1, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                  covered_to=D(2021, 12, 31))
    return person


def jinan(code):
    return Institution.objects.select_related("region").get(region__code="370100", code=code)


def test_two_diseases_requoted_under_the_insulin_users_cap(make_user, certify, supervisors):
    """DOMAIN.md §4.3 (两病, diabetes, registered at JN-C-001, primary): 50 % of A + B, no deductible;
    the diabetes cap 300 a year, 400 for an insulin user from the day registered as one (here
    03-01, before the visit).
    - Paid: A 1 000 → 500, capped at 400.00; the person paid 600.00.
    - Corrected: 300.00 removed (A 700) → 0.50 × 700 = 350.00, under the 400 → 50.00 back from the
      centre (the 300 cap of a non-insulin user would have made it 100.00); the person owed
      700 − 350 = 350.00 → 250.00 refunded. Ledger: the diabetes 两病 fund 350.00 (the cap's
      figure), eligible 700.00; no share of the year's cap."""
    person = jinan_resident()
    centre = jinan("JN-C-001")
    certify(person, "two_diseases", "diabetes", centre, insulin_since=D(2021, 3, 1))
    v = ingest(centre, person, "LB-1", D(2021, 6, 1), "two_diseases", "diabetes", a="1000.00")
    assert v.fund == M("400.00")
    orders = excess(v, supervisors, amount="600.00")
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M("50.00"), centre.pk)
    assert (orders["refund"].amount, orders["refund"].person_paid, orders["refund"].person_due) == (
        M("250.00"), M("600.00"), M("350.00"))
    assert orders["recovery"].breakdown["quotes"][f"cv:{v.pk}"]["fund"] == "350.00"
    assert_reposted(v, fund_before=M("400.00"), fund_after=M("350.00"))
    accounts = accounts_of(person.pk, 2021, "two_diseases", "diabetes")
    assert figures(accounts[("two_diseases", "diabetes")]) == (M("350.00"), M("0.00"), M("0.00"), M("700.00"))
    assert ledger_keys.YEAR not in accounts


@pytest.mark.parametrize(("code", "paid", "due", "recovered", "refunded", "deductible"), [
    # JN-H-003, secondary: deductible 200, 80 %: 0.8 × (5 000 − 200) = 3 840.00 → 0.8 × (4 000 − 200) = 3 040.00;
    # the person paid 1 160.00, owed 960.00
    ("JN-H-003", "3840.00", "3040.00", "800.00", "200.00", "200.00"),
    # JN-C-002, a township health centre (primary): no deductible at primary level, 90 %:
    # 0.9 × 5 000 = 4 500.00 → 0.9 × 4 000 = 3 600.00; the person paid 500.00, owed 400.00
    ("JN-C-002", "4500.00", "3600.00", "900.00", "100.00", "0.00"),
])
def test_jinan_menggui_dialysis_requoted_on_class_a(code, paid, due, recovered, refunded, deductible, make_user,
                                                    certify, supervisors):
    """DOMAIN.md §4.2 Jinan 门规 (uremia dialysis, class A only — the one 门规 case Jinan's parameters
    compute): deductible 200 once a year, not charged at primary level; dialysis 80 %, 90 % at a
    township health centre; the disease has no cap of its own: 250 000 shared with inpatient (the
    year's cap_fund). Visit A 5 000; corrected: 1 000.00 removed (A 4 000)."""
    person = jinan_resident()
    place = jinan(code)
    certify(person, "chronic", "uremia_dialysis", place)
    v = ingest(place, person, "MG-1", D(2021, 6, 1), "chronic", "uremia_dialysis", a="5000.00")
    assert v.fund == M(paid)
    orders = excess(v, supervisors, amount="2000.00")
    assert (orders["recovery"].amount, orders["recovery"].debtor_institution_id) == (M(recovered), place.pk)
    assert orders["refund"].amount == M(refunded)
    quote = orders["recovery"].breakdown["quotes"][f"cv:{v.pk}"]
    assert (quote["fund"], quote["deductible"], quote["eligible"]) == (due, deductible, "4000.00")
    assert_reposted(v, fund_before=M(paid), fund_after=M(due))
    accounts = accounts_of(person.pk, 2021, "chronic", "uremia_dialysis", inpatient_cap=True)
    assert figures(accounts[("chronic", "")]) == (M(due), M("0.00"), M(deductible), M("4000.00"))
    assert accounts[("chronic", "uremia_dialysis")].fund == M(due)
    assert accounts[ledger_keys.YEAR].cap_fund == M(due)


def test_jinan_menggui_charges_a_registered_poor_household_no_deductible(make_user, certify, supervisors):
    """DOMAIN.md §4.2 (seed J:96 "建档立卡贫困人口无起付线"): the 200 deductible is not charged to a
    registered poor household (the person's assistance category 建档立卡), at ingestion and again
    when the visit is re-quoted. Dialysis at JN-H-003 (secondary, 80 %), A 5 000: 0.8 × 5 000 =
    4 000.00 (3 840.00 for anyone else, the test above); corrected A 4 000: 3 200.00 → 800.00
    back; the person paid 1 000.00, owed 800.00 → 200.00 refunded. Nothing counts as deductible. The
    re-quote takes the status the visit was paid under (kept on the visit), not the person's today."""
    person = jinan_resident()
    person.assistance = "registered_poor"
    person.save()
    other = jinan_resident()  # 特困 is another assistance category: the deductible is charged
    other.assistance = "extreme_poverty"
    other.save()
    hospital = jinan("JN-H-003")
    certify(person, "chronic", "uremia_dialysis", hospital)
    certify(other, "chronic", "uremia_dialysis", hospital)
    assert ingest(hospital, other, "MG-O", D(2021, 6, 1), "chronic", "uremia_dialysis", a="5000.00").fund == M("3840.00")
    v = ingest(hospital, person, "MG-P", D(2021, 6, 1), "chronic", "uremia_dialysis", a="5000.00")
    assert (v.fund, v.deductible, v.poverty_registered) == (M("4000.00"), M("0.00"), True)
    person.assistance = ""  # no longer registered by the time of the recovery: re-quoted as the visit was paid
    person.save()
    orders = excess(v, supervisors, amount="2000.00")
    assert (orders["recovery"].amount, orders["refund"].amount) == (M("800.00"), M("200.00"))
    quote = orders["recovery"].breakdown["quotes"][f"cv:{v.pk}"]
    assert (quote["fund"], quote["deductible"]) == ("3200.00", "0.00")
    assert_reposted(v, fund_before=M("4000.00"), fund_after=M("3200.00"))


@pytest.mark.parametrize(("disease", "a", "b", "parameter"), [
    # hypertension is paid at the Jinan inpatient ratio, which the seeds do not give
    ("hypertension", "1000.00", "0.00", "inpatient.bands"),
    # dialysis is computable on class A only: Jinan's class-B first self-pay is not given
    ("uremia_dialysis", "3000.00", "1000.00", "chronic.class_b_copay_rate"),
])
def test_jinan_menggui_without_its_parameters_is_refused_naming_the_parameter(disease, a, b, parameter, make_user,
                                                                              certify, supervisors):
    """DOMAIN.md §4.2: a Jinan 门规 figure that needs a parameter the policy lacks is
    `missing_parameter` ("never guesses"). Visit ingestion refuses such visits, so these were
    recorded another way (a visit carried over from the previous system, fund 500.00, with its
    ledger entry). Their re-quote cannot be computed: the recovery is refused naming the parameter,
    nothing is written (no order, the entry not reversed), no figure is invented. (A correction
    that needs no engine, e.g. certification_mismatch — fund 0 — could still be made.)"""
    person = jinan_resident()
    hospital = jinan("JN-H-003")
    cert = certify(person, "chronic", disease, hospital)
    day = D(2021, 6, 1)
    total = M(a) + M(b)
    v = CertifiedVisit.objects.create(
        institution=hospital, visit_id="OLD-1", person=person, benefit="chronic", item_code=disease, certification=cert,
        level=hospital.level, service_date=day, class_a=M(a), class_b=M(b), total=total, eligible=total,
        deductible=M("200.00"), fund=M("500.00"), personal=total - M("500.00"), policy_version="legacy")
    posting = Posting(person_id=person.pk, service_date=day, benefit="chronic", item=disease,
                      source_kind="certified_visit", source_id=v.pk,
                      figures=ledger_keys.entry_figures("chronic", fund=M("500.00"), deductible=M("200.00"),
                                                        eligible=total))
    ledger_post(acting_user=None, postings=[posting], read=ledger_read(posting.accounts()))
    drug_line("certified_visit", v, day, supply=60, amount="400.00")
    finding = confirmed_finding("excess_prescription", v, severity="review")
    with pytest.raises(RecoveryRefused, match=f"政策参数“{parameter}”在地区 370100.*未定义，系统不推算金额"):
        recovery_order_create(acting_user=supervisors[0], finding=finding)
    assert not RecoveryOrder.objects.exists()
    assert [e.fund for e in LedgerEntry.objects.filter(source_kind="certified_visit", source_id=v.pk)] == [M("500.00")]
    assert live_entries("certified_visit", v.pk).count() == 1
    v.refresh_from_db()
    assert v.fund == M("500.00")


# --------------------------------------------------------------------------- dropped after an earlier recovery


def test_a_visit_corrected_before_and_then_dropped_is_not_recovered_twice(diabetic, cc, hospitals, paid_case,
                                                                          supervisors):
    """DOMAIN.md §4.2 Changchun chronic (60 %, diabetes at CC-C-001): C-1 of 3 000.00 paid 1 800.00.
    An excess prescription (60 days of 2 000.00, 30 allowed) re-quotes it at 0.60 × 2 000 = 1 200.00:
    600.00 back. Then C-1 is found to be the later of a benefit-twice pair and dropped whole: what
    the fund still stands to have paid for it is 1 200.00 (its live ledger entry), so the order is
    1 200.00, not the 1 800.00 on the finding — 600 + 1 200 = the 1 800.00 paid, nothing twice. A
    third finding on it has nothing left to recover and is refused."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "3000.00")
    assert excess(c1, supervisors, amount="2000.00")["recovery"].amount == M("600.00")
    earlier = paid_case(diabetic, D(2021, 5, 20), D(2021, 5, 21), institution=hospitals[0], fund="10.00")
    [order] = recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("benefit_twice", earlier, c1))
    assert (order.kind, order.amount, order.debtor_institution_id) == ("recovery", M("1200.00"), cc["primary"].pk)
    assert order.breakdown["fund_paid"] == "1200.00"
    assert not live_entries("certified_visit", c1.pk).exists()
    assert accounts_of(diabetic.pk, 2021, "chronic")[("chronic", "")].fund == M("0.00")
    assert discrepancies() == []
    finding = confirmed_finding("duplicate_invoice", earlier, c1)
    with pytest.raises(RecoveryRefused, match="均未多付"):
        recovery_order_create(acting_user=supervisors[0], finding=finding)


def test_benefit_twice_drops_the_benefit_of_lower_precedence_not_the_later(diabetic, cc, certify, supervisors):
    """DOMAIN.md §4.0: a cost line belongs to the benefit of higher precedence (special drug >
    special disease > chronic > 两病 > pool). The chronic visit C-1 (06-01, 0.60 × 3 000 = 1 800.00 at
    CC-C-001) and the special-disease visit S-1 (06-02, at CC-H-019) billed one line: the chronic one
    is dropped although it is the earlier — its 1 800.00 back from the centre — and the special
    disease visit keeps its payment and its ledger entry."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "3000.00")
    certify(diabetic, "special_disease", "SPD-027", cc["secondary"])
    s1 = ingest(cc["secondary"], diabetic, "S-1", D(2021, 6, 2), "special_disease", "SPD-027", a="3000.00")
    assert c1.fund == M("1800.00") and s1.fund > 0
    [order] = recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("benefit_twice", c1, s1))
    assert order.breakdown["dropped"] == f"cv:{c1.pk}"
    assert (order.kind, order.amount, order.debtor_institution_id) == ("recovery", M("1800.00"), cc["primary"].pk)
    assert not live_entries("certified_visit", c1.pk).exists()
    assert [e.fund for e in live_entries("certified_visit", s1.pk)] == [s1.fund]
    assert discrepancies() == []


def test_duplicate_invoice_still_drops_the_later_settlement(diabetic, cc, certify, supervisors):
    """Precedence is benefit_twice's (one line under two benefits): a duplicate invoice drops the
    later settlement of the pair, here the special-disease visit of 06-02."""
    c1 = chronic_visit(diabetic, cc, "C-1", D(2021, 6, 1), "3000.00")
    certify(diabetic, "special_disease", "SPD-027", cc["secondary"])
    s1 = ingest(cc["secondary"], diabetic, "S-1", D(2021, 6, 2), "special_disease", "SPD-027", a="3000.00")
    [order] = recovery_order_create(acting_user=supervisors[0], finding=confirmed_finding("duplicate_invoice", c1, s1))
    assert (order.breakdown["dropped"], order.amount) == (f"cv:{s1.pk}", s1.fund)
