"""The yearly ledger as manual cases use it (issue #10 item 1, finding 1; DOMAIN.md §3 "Yearly
accumulators", §3.5 yearly pool-fund cap, §3.6 catastrophic supplement)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.errors import FourEyes, Recalculated
from claims.ledger import selectors as ledger_selectors
from claims.ledger.models import LedgerAccount, LedgerEntry, SourceKind
from claims.ledger.services import ledger_reverse
from claims.models import Case
from claims.services import case_approve, case_calculate, case_start_review
from claims.workflow import CaseState
from tests.claims.factories import invoice

CAP = D("200000.00")  # DOMAIN §3.5: the pool fund pays at most 200 000 per person per year


def calculated(new_case, reviewer, number, a="300000.00", b="0.00", c="0.00", **overrides):
    case = new_case(invoices=[invoice(number=number, a=a, b=b, c=c)], **overrides)
    case_start_review(acting_user=reviewer, case=case)
    return case_calculate(acting_user=reviewer, case=case)


def year_account(person, year=2021):
    return LedgerAccount.objects.get(person=person, year=year, benefit="", item="")


def test_two_cases_calculated_before_either_is_approved_never_pass_the_yearly_cap(new_case, reviewer, approver,
                                                                                 covered_adult):
    """Finding 1 of issue #10: two inpatient cases of 300 000 class A, both calculated on an empty
    year, each computed the full 200 000; the second approval must not pay it again. Approval
    recomputes under the ledger lock: the second case is recalculated to nothing left and its
    approval refused until the approver has seen the new amount."""
    first = calculated(new_case, reviewer, "INV-A")
    second = calculated(new_case, reviewer, "INV-B")
    assert first.fund_amount == second.fund_amount == CAP  # each alone reaches the cap

    case_approve(acting_user=approver, case=first)
    with pytest.raises(Recalculated, match="重新计算"):
        case_approve(acting_user=approver, case=second)
    second.refresh_from_db()
    assert second.state == CaseState.CALCULATED
    assert second.fund_amount == D("0.00")  # nothing left of the yearly cap
    assert second.breakdown["request"]["year_to_date"]["fund_paid"] == "200000.00"

    case_approve(acting_user=approver, case=second)  # the approver saw the new amount
    second.refresh_from_db()
    assert second.state == CaseState.APPROVED
    assert year_account(covered_adult).cap_fund == CAP
    assert Case.objects.filter(person=covered_adult).aggregate(s=Sum("fund_amount"))["s"] == CAP


def test_catastrophic_supplement_of_a_later_case_counts_the_earlier_approval(new_case, reviewer, approver,
                                                                             covered_adult):
    """DOMAIN §3.6: the catastrophic accumulator and its yearly cap run over the year; a case
    calculated before another was approved is recomputed on the accumulator as approved."""
    first = calculated(new_case, reviewer, "INV-C1", a="100000.00", b="0.00", c="0.00")
    second = calculated(new_case, reviewer, "INV-C2", a="100000.00", b="0.00", c="0.00")
    alone = second.catastrophic_amount
    case_approve(acting_user=approver, case=first)
    with pytest.raises(Recalculated):
        case_approve(acting_user=approver, case=second)
    second.refresh_from_db()
    assert second.catastrophic_amount != alone
    year = year_account(covered_adult)
    assert year.covered_personal == D(first.breakdown["quote"]["total"]) - first.fund_amount
    assert year.catastrophic == first.catastrophic_amount


def test_approval_writes_one_entry_naming_the_case_and_the_accounts_are_its_sum(new_case, reviewer, approver,
                                                                                covered_adult):
    """Issue #10 item 1: each entry records the settlement it comes from and the keys it advances;
    accounts equal the sum of their entries."""
    case = calculated(new_case, reviewer, "INV-E", a="20000.00", b="10000.00", c="1500.00")
    assert not LedgerEntry.objects.exists()  # calculating commits no money
    case_approve(acting_user=approver, case=case)
    entry = LedgerEntry.objects.get()
    assert (entry.source_kind, entry.source_id, entry.benefit, entry.year) == (SourceKind.CASE, case.pk, "inpatient", 2021)
    assert entry.created_by == approver
    assert entry.fund == entry.cap_fund == case.fund_amount
    assert entry.catastrophic == case.catastrophic_amount
    own = LedgerAccount.objects.get(person=covered_adult, year=2021, benefit="inpatient")
    assert own.fund == case.fund_amount and own.entries == 1
    assert ledger_selectors.discrepancies() == []


def test_a_reversal_writes_mirror_entries_and_never_changes_the_original(new_case, reviewer, approver, covered_adult):
    """DOMAIN §3: a reversed settlement reverses its ledger entries; nothing is updated in place,
    and an entry is reversed once only."""
    case = calculated(new_case, reviewer, "INV-R", a="20000.00", b="0.00", c="0.00")
    case_approve(acting_user=approver, case=case)
    original = LedgerEntry.objects.get()
    assert ledger_reverse(acting_user=approver, source_kind=SourceKind.CASE, source_id=case.pk, note="test") == 1
    assert ledger_reverse(acting_user=approver, source_kind=SourceKind.CASE, source_id=case.pk) == 0
    mirror = LedgerEntry.objects.get(reverses=original)
    assert mirror.fund == -original.fund and mirror.cap_fund == -original.cap_fund
    original.refresh_from_db()
    assert original.fund == case.fund_amount  # unchanged
    assert year_account(covered_adult).cap_fund == D("0.00")
    assert ledger_selectors.discrepancies() == []


def test_inpatient_and_day_surgery_share_the_yearly_cap(new_case, reviewer, approver, covered_adult):
    """Decision (claims/ledger/keys.py, DOMAIN §3.5 and §3.9): day surgery is an admission at
    inpatient ratios; its fund counts toward the same 200 000 a year — the year to date an
    inpatient case is calculated with includes it."""
    from claims.ledger.keys import entry_figures
    from claims.ledger.services import Posting, ledger_post, ledger_read

    day = dt.date(2021, 2, 1)
    keys = [(covered_adult.pk, 2021, "", ""), (covered_adult.pk, 2021, "day_surgery", "")]
    ledger_post(acting_user=approver, read=ledger_read(keys, lock=True), postings=[Posting(
        person_id=covered_adult.pk, service_date=day, benefit="day_surgery", source_kind=SourceKind.CASE, source_id=0,
        figures=entry_figures("day_surgery", fund=D("150000.00")))])
    case = calculated(new_case, reviewer, "INV-DS")
    assert case.fund_amount == D("50000.00")


def test_year_to_date_is_one_query(covered_adult, django_assert_num_queries):
    """Issue #10 item 1: "year to date for person P, benefit B, on date D" in one query."""
    with django_assert_num_queries(1):
        ytd = ledger_selectors.year_to_date(person_id=covered_adult.pk, benefit="inpatient", on=dt.date(2021, 5, 1))
    assert ytd == {"fund_paid": D("0.00"), "covered_personal": D("0.00"), "catastrophic_paid": D("0.00")}


def test_four_eyes_still_refuses_before_anything_is_computed(new_case, reviewer):
    case = calculated(new_case, reviewer, "INV-4")
    with pytest.raises(FourEyes):
        case_approve(acting_user=reviewer, case=case)
    assert not LedgerEntry.objects.exists()


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(amounts=st.lists(st.sampled_from(["30000.00", "90000.00", "150000.00", "260000.00"]), min_size=2, max_size=3),
       order=st.randoms(use_true_random=False))
def test_any_interleaving_of_calculations_and_approvals_keeps_the_yearly_caps(new_case, reviewer, approver,
                                                                              covered_adult, amounts, order):
    """Property (issue #10 item 6): whatever the order in which one person's cases of a year are
    calculated and approved, the fund paid never exceeds the yearly cap (DOMAIN §3.5) nor the
    catastrophic supplement its cap (§3.6), and the ledger holds exactly what was approved."""
    from django.db import transaction

    with transaction.atomic():
        ops = [("calc", i) for i in range(len(amounts))] + [("approve", i) for i in range(len(amounts))]
        order.shuffle(ops)
        cases, done = {}, set()
        for op, i in ops + [("approve", i) for i in range(len(amounts))]:  # every case approved at the end
            if op == "calc" and i not in cases:
                cases[i] = calculated(new_case, reviewer, f"INV-P{i}", a=amounts[i])
            elif op == "approve" and i in cases and i not in done:
                try:
                    case_approve(acting_user=approver, case=cases[i])
                except Recalculated:
                    case_approve(acting_user=approver, case=cases[i])  # the approver checked the new amount
                done.add(i)
        approved = Case.objects.filter(person=covered_adult, state=CaseState.APPROVED)
        totals = approved.aggregate(fund=Sum("fund_amount"), catastrophic=Sum("catastrophic_amount"))
        assert approved.count() == len(amounts)
        assert totals["fund"] <= CAP
        assert totals["catastrophic"] <= D("300000.00")
        year = year_account(covered_adult)
        assert (year.cap_fund, year.catastrophic) == (totals["fund"], totals["catastrophic"])
        assert ledger_selectors.discrepancies() == []
        transaction.set_rollback(True)


def test_the_migration_turns_approved_cases_and_visits_into_entries_and_accounts(new_case, reviewer, approver,
                                                                                covered_adult):
    """Issue #10 item 1 "Migrate existing data into it": ledger migration 0002 rebuilds the entries
    of every approved case (and every pool visit) and the accounts as their sums."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("claims.ledger.migrations.0002_from_cases_and_visits")
    case = calculated(new_case, reviewer, "INV-M", a="20000.00", b="10000.00", c="1500.00")
    case_approve(acting_user=approver, case=case)
    before = list(LedgerAccount.objects.order_by("benefit").values_list("benefit", "fund", "cap_fund", "catastrophic",
                                                                         "covered_personal", "entries"))
    migration.backward(apps, None)
    assert not LedgerEntry.objects.exists() and not LedgerAccount.objects.exists()
    migration.forward(apps, None)
    entry = LedgerEntry.objects.get()
    assert (entry.source_kind, entry.source_id, entry.fund) == (SourceKind.CASE, case.pk, case.fund_amount)
    after = list(LedgerAccount.objects.order_by("benefit").values_list("benefit", "fund", "cap_fund", "catastrophic",
                                                                        "covered_personal", "entries"))
    assert after == before
    assert ledger_selectors.discrepancies() == []


def test_ledger_admin_lists_are_bounded_and_searchable_by_id_number(new_case, reviewer, approver, covered_adult,
                                                                    superuser_client, django_assert_max_num_queries):
    """The admin works for a clerk: read-only ledger lists, search by ID number, bounded queries."""
    for n in range(3):
        case = calculated(new_case, reviewer, f"INV-L{n}", a="1000.00", b="0.00", c="0.00")
        case_approve(acting_user=approver, case=case)
    for url in ("/admin/ledger/ledgeraccount/", "/admin/ledger/ledgerentry/"):
        with django_assert_max_num_queries(12):
            response = superuser_client.get(url, {"q": covered_adult.id_number})
        assert response.status_code == 200
        assert covered_adult.name in response.content.decode()
        listed = superuser_client.get(url, {"q": covered_adult.name}).content.decode()
        assert covered_adult.name in listed and covered_adult.id_number not in listed  # masked in lists
    entry = LedgerEntry.objects.order_by("pk").first()
    page = superuser_client.get(f"/admin/ledger/ledgerentry/{entry.pk}/change/").content.decode()
    assert f"BX{entry.source_id:08d}" in page


def test_a_pool_posting_on_figures_read_before_a_chronic_payment_is_refused(approver, covered_adult):
    """DOMAIN §4.2 (chronic + outpatient pool at most 6 500 a year): a pool visit batch reads the
    chronic account without locking it; when chronic fund was paid after that read, the batch's
    post is refused (LedgerChanged), never saved on a shared total that no longer holds."""
    from claims.ledger import keys as ledger_keys
    from claims.ledger.errors import LedgerChanged
    from claims.ledger.keys import entry_figures
    from claims.ledger.services import Posting, ledger_post, ledger_read

    day = dt.date(2021, 3, 1)
    person = covered_adult.pk

    def read(benefit):
        return ledger_read([(person, 2021, b, i) for b, i in ledger_keys.read_scopes(benefit)])

    pool_read = read("outpatient_pool")  # the pool batch reads (chronic + pool = 0 so far)
    chronic_read = read("chronic")
    ledger_post(acting_user=approver, read=chronic_read, postings=[Posting(
        person_id=person, service_date=day, benefit="chronic", source_kind=SourceKind.CASE, source_id=0,
        figures=entry_figures("chronic", fund=D("6000.00")))])
    with pytest.raises(LedgerChanged):
        ledger_post(acting_user=approver, read=pool_read, postings=[Posting(
            person_id=person, service_date=day, benefit="outpatient_pool", source_kind=SourceKind.POOL_VISIT,
            source_id=0, figures=entry_figures("outpatient_pool", fund=D("900.00")))])
    assert LedgerAccount.objects.get(person_id=person, year=2021, benefit="outpatient_shared").fund == D("6000.00")
    assert ledger_selectors.discrepancies() == []


def test_a_batch_of_postings_advances_each_account_as_one_by_one_postings_would(approver, covered_adult):
    """ledger_post sums a batch's postings per account before splitting them (issue 12 item 8):
    the accounts' figures and entry counts are those of posting each entry alone — also for the
    year account, which an entry whose cap_fund is +x and one whose cap_fund is -x each count."""
    from claims.ledger.keys import entry_figures
    from claims.ledger.services import Posting, ledger_post, ledger_read

    person = covered_adult.pk
    day = dt.date(2021, 4, 1)

    def postings(source_id):
        return [
            Posting(person_id=person, service_date=day, benefit="chronic", item="copd", source_kind=SourceKind.CASE,
                    source_id=source_id, figures=entry_figures("chronic", fund=D("300.00"), inpatient_cap=True)),
            Posting(person_id=person, service_date=day, benefit="chronic", item="copd", source_kind=SourceKind.CASE,
                    source_id=source_id, figures=-entry_figures("chronic", fund=D("300.00"), inpatient_cap=True)),
            Posting(person_id=person, service_date=day, benefit="chronic", item="copd", source_kind=SourceKind.CASE,
                    source_id=source_id, figures=entry_figures("chronic", fund=D("12.34"), eligible=D("20.00"))),
            Posting(person_id=person, service_date=day, benefit="special_drug", item="CC-D-001",
                    source_kind=SourceKind.CASE, source_id=source_id,
                    figures=entry_figures("special_drug", fund=D("45.67"), deductible=D("1.00"))),
        ]

    def keys(batch):
        return {key for p in batch for key in p.accounts()} | {(person, 2021, "", "")}

    batch = postings(1)
    ledger_post(acting_user=approver, read=ledger_read(keys(batch), lock=True), postings=batch)
    together = {a.key: (a.entries, a.fund, a.cap_fund, a.deductible, a.eligible)
                for a in LedgerAccount.objects.filter(person_id=person)}
    LedgerAccount.objects.filter(person_id=person).delete()
    LedgerEntry.objects.filter(person_id=person).delete()
    for posting in postings(2):
        ledger_post(acting_user=approver, read=ledger_read(keys([posting]), lock=True), postings=[posting])
    alone = {a.key: (a.entries, a.fund, a.cap_fund, a.deductible, a.eligible)
             for a in LedgerAccount.objects.filter(person_id=person)}
    assert together == alone
    assert together[(person, 2021, "", "")] == (3, D("0.00"), D("45.67"), D("0.00"), D("0.00"))
    assert together[(person, 2021, "chronic", "copd")][:2] == (3, D("12.34"))
    assert ledger_selectors.discrepancies() == []


def test_the_database_refuses_a_second_reversal_of_one_entry(new_case, reviewer, approver, covered_adult):
    """An entry is reversed once (a partial unique constraint: entries that reverse nothing, every
    visit's, stay out of its index)."""
    from django.db import IntegrityError, transaction

    from claims.ledger.keys import FIGURE_NAMES, Figures
    from claims.ledger.services import Posting, ledger_post, ledger_read

    case = calculated(new_case, reviewer, "INV-R2", a="20000.00", b="0.00", c="0.00")
    case_approve(acting_user=approver, case=case)
    original = LedgerEntry.objects.get()
    ledger_reverse(acting_user=approver, source_kind=SourceKind.CASE, source_id=case.pk)
    again = Posting(person_id=original.person_id, service_date=original.service_date, benefit=original.benefit,
                    source_kind=original.source_kind, source_id=original.source_id, reverses_id=original.pk,
                    figures=-Figures(*(getattr(original, n) for n in FIGURE_NAMES)))
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_post(acting_user=approver, read=ledger_read(set(again.accounts()), lock=True), postings=[again])
    assert LedgerEntry.objects.filter(reverses=original).count() == 1


def test_a_post_re_checks_the_entry_counts_it_read(approver, covered_adult):
    """The re-check compares each account's entry count (its version) with what was read plus
    what is added: a writer that posted meanwhile is caught even when its figures net to zero
    (a +x and a -x), and a post on figures not read by ledger_read is refused."""
    from claims.ledger.errors import LedgerChanged, LedgerRefused
    from claims.ledger.keys import entry_figures
    from claims.ledger.services import Posting, ledger_post, ledger_read

    person, day = covered_adult.pk, dt.date(2021, 5, 1)

    def posting(fund):
        return Posting(person_id=person, service_date=day, benefit="accident", source_kind=SourceKind.CASE,
                       source_id=0, figures=entry_figures("accident", fund=D(fund)))

    keys = set(posting("1.00").accounts())
    stale = ledger_read(keys)
    assert stale.entries == dict.fromkeys(keys, 0)
    ledger_post(acting_user=approver, read=ledger_read(keys), postings=[posting("5.00"), posting("-5.00")])
    assert ledger_read(keys) == stale  # the same figures …
    with pytest.raises(LedgerChanged):  # … but two entries more than read
        ledger_post(acting_user=approver, read=stale, postings=[posting("1.00")])
    with pytest.raises(LedgerRefused, match="read"):
        ledger_post(acting_user=approver, read=dict(ledger_read(keys)), postings=[posting("1.00")])
    assert ledger_read(keys).entries == dict.fromkeys(keys, 2)
    assert ledger_selectors.discrepancies() == []
