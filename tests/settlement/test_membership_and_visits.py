"""Pool membership (head counts) and visit ingestion (DOMAIN §4, §8, §9)."""

import datetime as dt
import io
import json
from decimal import Decimal as D

from django.core.management import call_command

from claims.ledger.models import LedgerAccount, LedgerEntry
from claims.settlement.models import PoolMembership, Visit
from claims.settlement.selectors import headcounts
from claims.settlement.services import pool_members_sync_schools, pool_signups_import
from enrollment.models import CoveragePeriod, SchoolKind
from medins.models import Institution
from tests.enrollment import factories as ef
from tests.settlement.conftest import visit


def pool_account(person=None, year=2021):
    """The person's outpatient-pool account of the yearly ledger (the only one when person is None)."""
    qs = LedgerAccount.objects.filter(benefit="outpatient_pool", item="")
    return qs.get(person=person, year=year) if person is not None else qs.get()

def test_quote_contract_serves_outpatient_pool(reference_data, capsys, monkeypatch):
    request = {"region": "370100", "benefit": "outpatient_pool", "service_date": "2021-05-10",
               "person": {"category": "college_student"}, "institution": {"level": "primary"},
               "bill": {"class_a": "100.00", "class_b": "0.00", "class_c": "0.00"},
               "year_to_date": {"fund_paid": "0.00", "deductible_paid": False, "deductible_paid_amount": "0.00"}}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    call_command("quote", "-")
    body = json.loads(capsys.readouterr().out)
    assert body["fund"] == "65.00" and body["settlement"]["hifp_pay"] == "65.00"


def test_college_students_join_their_school_clinic_automatically(jinan, clinic, make_student):
    a, b = make_student(), make_student()
    assert pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021) == 2
    assert pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021) == 0  # idempotent
    assert set(PoolMembership.objects.filter(institution=clinic, year=2021).values_list("person_id", flat=True)) == {
        a.pk, b.pk}


def test_students_without_cover_in_the_year_or_at_other_schools_are_not_members(jinan, make_student):
    make_student(covered_from=dt.date(2022, 1, 1), covered_to=dt.date(2022, 12, 31))
    other = ef.SchoolFactory(region=jinan, kind=SchoolKind.COLLEGE)  # no clinic linked
    make_student(school=other)
    assert pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021) == 0


def test_headcount_counts_members_covered_on_the_first_of_the_month(jinan, clinic, make_student):
    # Decision: counted for a month when covered on its 1st day.
    make_student()
    make_student(covered_from=dt.date(2021, 3, 2))           # from April
    make_student(covered_to=dt.date(2021, 2, 15))            # January and February
    make_student(covered_from=dt.date(2021, 7, 1))           # Jinan late payer: from July 1
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    counts = headcounts(institution_id=clinic.pk, year=2021, months=[1, 2, 3, 4, 7])
    assert counts == {1: 2, 2: 2, 3: 1, 4: 2, 7: 3}


def test_signup_import_for_residents(jinan):
    centre = Institution.objects.filter(region=jinan, designations__code="outpatient_pool").exclude(
        code="JN-S-001").first() or _centre(jinan)
    person = ef.PersonFactory(area="370102")
    rows = [{"id_number": person.id_number, "signed_on": "2021-01-05"}, {"id_number": "370102199001010000"}]
    result = pool_signups_import(acting_user=None, institution=centre, year=2021, rows=rows)
    assert result.created == 1 and len(result.errors) == 1
    again = pool_signups_import(acting_user=None, institution=centre, year=2021, rows=rows[:1])
    assert again.created == 0 and again.unchanged == 1


def _centre(region):
    from medins.models import Designation
    centre = Institution.objects.create(region=region, code="JN-C-T1", name="测试社区卫生服务中心", kind="clinic",
                                        level="primary")
    centre.designations.add(Designation.objects.get(code="outpatient_pool"))
    return centre


def test_ingest_computes_fund_with_the_yearly_ledger_in_service_date_order(jinan, make_student, ingest):
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    # Sent out of order: the 1 March visit is computed first; the cap (500) binds on the later one.
    result = ingest([visit("V2", student, dt.date(2021, 4, 1), a="400.00"),
                     visit("V1", student, dt.date(2021, 3, 1), a="500.00")])
    assert result.created == 2 and not result.errors
    v1, v2 = Visit.objects.get(visit_id="V1"), Visit.objects.get(visit_id="V2")
    assert v1.fund == D("325.00")
    assert v2.fund == D("175.00")  # 260 computed, 500 − 325 left
    ledger = pool_account(student)
    assert ledger.fund == D("500.00") and ledger.entries == 2


def test_resending_a_visit_changes_nothing(jinan, make_student, ingest):
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    rows = [visit("V1", student, dt.date(2021, 3, 1))]
    assert ingest(rows).created == 1
    again = ingest([{**rows[0], "class_a": "999.00"}])
    assert again.created == 0 and again.duplicates == 1
    assert Visit.objects.get().fund == D("65.00")
    assert pool_account().fund == D("65.00")


def test_late_visit_with_earlier_date_is_computed_in_arrival_order(jinan, make_student, ingest):
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("V2", student, dt.date(2021, 6, 1), a="700.00")])   # 455
    ingest([visit("V1", student, dt.date(2021, 2, 1), a="200.00")])   # arrives later: 45 left
    assert Visit.objects.get(visit_id="V2").fund == D("455.00")
    assert Visit.objects.get(visit_id="V1").fund == D("45.00")


def test_refused_rows_name_their_reason(jinan, clinic, make_student, ingest):
    member = make_student()
    outsider = ef.PersonFactory(area="370102", birth=dt.date(2001, 1, 1))
    CoveragePeriod.objects.create(person=outsider, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                  covered_to=dt.date(2021, 12, 31))
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    rows = [
        visit("A", member, dt.date(2022, 1, 5)),           # not a member in 2022 (no cover either)
        visit("B", outsider, dt.date(2021, 3, 1)),         # not a member of the school clinic
        {"visit_id": "C", "id_number": "370102200101011111", "service_date": "2021-03-01", "class_a": "1"},
        {"visit_id": "D", "id_number": member.id_number, "service_date": "2021-02-30", "class_a": "1"},
        visit("E", member, dt.date(2021, 3, 1), a="1.5"),
    ]
    result = ingest(rows)
    codes = {e["visit_id"]: e["code"] for e in result.errors}
    assert codes == {"A": "not_member", "B": "not_member", "C": "not_member", "D": "invalid_request"}
    # issue #11 finding 13: an unknown ID number and a non-member look the same (no "is insured elsewhere" oracle)
    assert {e["message"] for e in result.errors if e["visit_id"] in "BC"} == {"2021 年度不是本机构门诊统筹签约人员"}  # in Chinese (issue 14 item 4)
    assert result.created == 1


def test_not_covered_on_the_service_date(jinan, make_student, ingest):
    student = make_student(covered_to=dt.date(2021, 6, 30))
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    result = ingest([visit("X", student, dt.date(2021, 8, 1))])
    assert [e["code"] for e in result.errors] == ["not_covered"]


def test_a_visit_recorded_between_the_duplicate_check_and_the_write_refuses_the_batch(jinan, clinic, make_student,
                                                                                    ingest):
    """Visits are written without ON CONFLICT (COPY on PostgreSQL): should one be recorded after
    the duplicate check all the same, the unique (institution, visit id) index refuses the write
    and the whole batch is refused as a concurrent change and rolled back, ledger included."""
    from unittest import mock

    import pytest

    from claims.settlement.errors import ConcurrentChange
    from claims.settlement.services import visits as visits_module

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    real = visits_module.ledger_read
    zero = D("0.00")

    def read_while_another_batch_records(keys):
        Visit.objects.create(institution=clinic, visit_id="D2", person=student, service_date=dt.date(2021, 3, 2),
                             year=2021, month=3, class_a=zero, class_b=zero, class_c=zero, total=zero, fund=zero,
                             deductible=zero, personal=zero, policy_version="370100-2021")
        return real(keys)

    rows = [visit("D1", student, dt.date(2021, 3, 1)), visit("D2", student, dt.date(2021, 3, 2))]
    with mock.patch.object(visits_module, "ledger_read", side_effect=read_while_another_batch_records), \
            pytest.raises(ConcurrentChange, match="已被同时录入"):
        ingest(rows)
    assert not Visit.objects.exists() and not LedgerAccount.objects.exists()
    assert ingest(rows).created == 2  # sent again


def test_school_sync_is_idempotent_and_never_moves_a_signed_up_person(jinan, clinic, make_student):
    """DOMAIN §8 / membership: one institution per person and year — the school sync adds only
    persons without a membership, a second sync adds nothing."""
    other = Institution.objects.create(region=jinan, code="JN-Z-001", name="Z 门诊", kind="clinic", level="primary")
    signed, student = make_student(), make_student()
    PoolMembership.objects.create(person=signed, institution=other, year=2021, source="signup")
    assert pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021) == 1
    assert pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021) == 0
    assert PoolMembership.objects.get(person=signed).institution == other
    assert PoolMembership.objects.get(person=student).institution == clinic


def test_ingest_query_count_does_not_grow_with_the_batch(jinan, make_student, ingest, django_assert_max_num_queries):
    """A batch costs a fixed number of queries, however many visits and persons it has."""
    students = [make_student() for _ in range(6)]
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    with django_assert_max_num_queries(24) as small:  # 20 before the ledger: + ids, entries, savepoint
        assert ingest([visit("Q1", students[0], dt.date(2021, 3, 1))]).created == 1
    rows = [visit(f"Q{i}{m}", s, dt.date(2021, m, 1 + i)) for i, s in enumerate(students) for m in (2, 4, 5)]
    with django_assert_max_num_queries(len(small.captured_queries)):
        result = ingest(rows)
    assert result.created == 18 and not result.errors


def test_visit_id_null_is_a_visit_id(jinan, make_student, ingest):
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    assert ingest([visit("NULL", student, dt.date(2021, 3, 1)), visit("null", student, dt.date(2021, 3, 2))]).created == 2
    assert set(Visit.objects.values_list("visit_id", flat=True)) == {"NULL", "null"}


def test_a_ledger_changed_after_it_was_read_refuses_the_batch(jinan, make_student, ingest):
    """The ledgers are read without a row lock (a person's ledger for a year is only advanced by
    batches of the person's one pool institution, serialised by its account lock). Should another
    writer advance it between the read and the write all the same, the write's returned totals
    differ from the batch's (the accounts' entry counts) and the batch is refused and rolled back: no visit is saved against
    stale accumulators, which would let the yearly cap be passed."""
    from unittest import mock

    import pytest

    from claims.settlement.errors import InvalidRequest
    from claims.settlement.services import visits as visits_module
    from tests.settlement.test_concurrency_pg import another_pool_payment

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("G1", student, dt.date(2021, 3, 1), a="100.00")])  # fund 65.00
    real = visits_module.ledger_read

    def read_then_another_writer(keys):
        running = real(keys)
        another_pool_payment(student, D("415.00"))  # through the ledger service: one more entry
        return running

    with mock.patch.object(visits_module, "ledger_read", side_effect=read_then_another_writer), \
            pytest.raises(InvalidRequest, match="年度累计数据已变化"):
        ingest([visit("G2", student, dt.date(2021, 3, 2), a="100.00")])
    assert list(Visit.objects.values_list("visit_id", flat=True)) == ["G1"]
    ledger = pool_account(student)
    assert (ledger.fund, ledger.entries) == (D("65.00"), 1)  # the other writer's change rolled back too


def test_a_persons_first_visit_creates_the_ledger_and_the_next_advances_it(jinan, make_student, ingest):
    """One write creates or advances each (person, year) ledger; its yearly cap (Jinan 500) holds
    across batches."""
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    assert not LedgerAccount.objects.exists()
    assert ingest([visit("C1", student, dt.date(2021, 3, 1), a="700.00")]).fund == D("455.00")
    assert ingest([visit("C2", student, dt.date(2021, 3, 2), a="700.00")]).fund == D("45.00")  # 500 cap
    ledger = pool_account(student)
    assert (ledger.fund, ledger.entries) == (D("500.00"), 2)


def test_visits_protect_their_person_and_institution_without_database_foreign_keys(jinan, clinic, make_student,
                                                                                   ingest):
    """Visits carry no database foreign keys (ingestion speed); deleting a person or an
    institution that has visits is still refused (on_delete=PROTECT, enforced by Django)."""
    import pytest
    from django.db.models import ProtectedError

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("P1", student, dt.date(2021, 3, 1))])
    PoolMembership.objects.filter(person=student).delete()
    LedgerEntry.objects.filter(person=student).delete()
    LedgerAccount.objects.filter(person=student).delete()
    student.coverage_periods.all().delete()
    recorded = Visit.objects.get()
    with pytest.raises(ProtectedError) as refused:
        student.delete()
    assert recorded in refused.value.protected_objects
    with pytest.raises(ProtectedError) as refused:
        recorded.institution.delete()
    assert recorded in refused.value.protected_objects
    assert Visit.objects.get().person_id == student.pk


def test_one_pool_membership_per_person_and_year_is_kept_by_the_database(jinan, clinic, make_student):
    """DOMAIN §8 / membership: one institution per person and year — a unique constraint of the
    database, on which ingestion's unlocked ledger read rests (services/visits.py)."""
    import pytest
    from django.db import IntegrityError, transaction

    other = Institution.objects.create(region=jinan, code="JN-U-001", name="U 门诊", kind="clinic", level="primary")
    student = make_student()
    PoolMembership.objects.create(person=student, institution=clinic, year=2021, source="signup")
    with pytest.raises(IntegrityError), transaction.atomic():
        PoolMembership.objects.create(person=student, institution=other, year=2021, source="signup")
    PoolMembership.objects.create(person=student, institution=other, year=2022, source="signup")  # next year: fine
    assert PoolMembership.objects.filter(person=student).count() == 2


def test_the_admin_never_deletes_a_membership(admin_client, jinan, clinic, make_student):
    """A membership removed mid-year would let a second institution advance the same ledger."""
    membership = PoolMembership.objects.create(person=make_student(), institution=clinic, year=2021, source="signup")
    assert admin_client.get(f"/admin/settlement/poolmembership/{membership.pk}/delete/").status_code == 403
    listing = admin_client.get("/admin/settlement/poolmembership/").content.decode()
    assert "delete_selected" not in listing


def test_each_visit_is_one_ledger_entry_naming_the_visit(jinan, make_student, ingest):
    """Issue #10 item 1: pool visits write through the one ledger — one entry per visit, naming
    the visit it comes from, and the person's accounts are the sum of the entries (the pool's
    fund counts toward the shared outpatient total, claims/ledger/keys.py)."""
    from claims.ledger.models import SourceKind
    from claims.ledger.selectors import discrepancies

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("E1", student, dt.date(2021, 3, 1), a="100.00"), visit("E2", student, dt.date(2021, 3, 5), a="40.00")])
    entries = {e.source_id: e for e in LedgerEntry.objects.filter(source_kind=SourceKind.POOL_VISIT)}
    visits = {v.pk: v for v in Visit.objects.all()}
    assert set(entries) == set(visits)
    for pk, entry in entries.items():
        assert (entry.person_id, entry.fund, entry.deductible, entry.service_date) == (
            visits[pk].person_id, visits[pk].fund, visits[pk].deductible, visits[pk].service_date)
    # The pool shares nothing with inpatient: no year account; its fund counts toward the shared
    # outpatient total (§4.2) from its own account.
    assert not LedgerAccount.objects.filter(person=student, year=2021, benefit="").exists()
    from claims.ledger.keys import shared_outpatient_fund
    from claims.ledger.selectors import accounts_of

    assert shared_outpatient_fund(accounts_of(student.pk, 2021, "chronic") | accounts_of(student.pk, 2021,
                                                                                         "outpatient_pool")) == D("91.00")
    assert discrepancies() == []
