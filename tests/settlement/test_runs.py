"""Settlement runs (DOMAIN §8): monthly and year-end, idempotent, resumable, late visits."""

import datetime as dt
from decimal import Decimal as D
from unittest import mock

import pytest

from claims.settlement.models import InstitutionSettlement, PoolAccount, RunKind, RunState, SettlementRun, Visit
from claims.settlement.selectors import statement_visits, visit_is_settled, with_account_marks
from claims.settlement.services import pool_members_sync_schools, settlement_release, settlement_run_start
from claims.settlement.services import runs as runs_module
from claims.settlement.tasks import capitation_monthly, capitation_year_end
from tests.settlement.conftest import visit

POOL_INSTITUTIONS = 2  # 山东大学校医院 and 样例社区卫生服务中心 (reference data)
_capture = None


@pytest.fixture
def students(make_student):
    return [make_student() for _ in range(12)]  # quota 12 × 5 = 60.00 a month


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks):
    """Run the enqueued task (eager Celery) when the starting transaction commits."""
    global _capture
    _capture = django_capture_on_commit_callbacks


def start(region, kind=RunKind.MONTHLY, month=None, user=None, year=2021):
    with _capture(execute=True):
        run = settlement_run_start(acting_user=user, region=region, kind=kind, year=year, month=month)
    run.refresh_from_db()
    return run


def close_months(region, year=2021):
    """The twelve monthly runs a year-end run needs (issue 10 item 3)."""
    for month in range(1, 13):
        start(region, month=month, year=year)


def ingest_members(jinan):
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)


def statement(run, clinic):
    return InstitutionSettlement.objects.get(run=run, institution=clinic)


def test_monthly_run_pays_actual_up_to_quota(jinan, clinic, students, ingest):
    ingest_members(jinan)
    ingest([visit("F1", students[0], dt.date(2021, 2, 3), a="40.00"),    # 26.00
            visit("F2", students[1], dt.date(2021, 2, 9), a="60.00")])   # 39.00
    run = start(jinan, month=2)
    assert run.state == RunState.FINISHED
    assert (run.institutions_done, run.institutions_total, run.visits_count) == (POOL_INSTITUTIONS, POOL_INSTITUTIONS, 2)
    s = statement(run, clinic)
    assert (s.headcount, s.quota, s.actual, s.paid, s.payable) == (12, D("60.00"), D("65.00"), D("60.00"), D("60.00"))
    assert set(statement_visits(s).values_list("visit_id", flat=True)) == {"F1", "F2"}
    assert all(visit_is_settled(v) for v in Visit.objects.all())


def test_starting_twice_or_rerunning_a_finished_run_does_not_pay_twice(jinan, clinic, students, ingest):
    ingest_members(jinan)
    ingest([visit("F1", students[0], dt.date(2021, 1, 3), a="40.00")])
    first = start(jinan, month=1)
    again = start(jinan, month=1)
    assert again.pk == first.pk and again.state == RunState.FINISHED
    runs_module.settlement_run_process(run_id=first.pk)
    assert InstitutionSettlement.objects.count() == POOL_INSTITUTIONS
    assert PoolAccount.objects.get(institution=clinic, year=2021).settled_to_date == D("26.00")
    assert SettlementRun.objects.get().amount_total == D("26.00")


def test_late_visit_is_an_adjustment_in_the_next_run(jinan, clinic, students, ingest):
    ingest_members(jinan)
    ingest([visit("J1", students[0], dt.date(2021, 1, 10), a="40.00")])      # 26.00
    jan = start(jinan, month=1)
    ingest([visit("J2", students[1], dt.date(2021, 1, 20), a="100.00"),      # late January: 65.00
            visit("F1", students[2], dt.date(2021, 2, 2), a="20.00")])       # 13.00
    feb = start(jinan, month=2)
    jan_statement, feb_statement = statement(jan, clinic), statement(feb, clinic)
    assert jan_statement.payable == D("26.00")                               # never rewritten
    assert feb_statement.paid == D("13.00")
    assert feb_statement.adjustment == D("34.00")                            # January now min(91, 60) − 26
    assert feb_statement.payable == D("47.00")
    assert feb_statement.late_visits_count == 1
    assert PoolAccount.objects.get(institution=clinic).settled_to_date == D("73.00")


def test_year_end_pays_the_surplus_share_minus_what_was_settled(jinan, clinic, students, ingest):
    ingest_members(jinan)
    ingest([visit("M1", students[0], dt.date(2021, 3, 1), a="100.00")])     # 65.00 in March (quota 60)
    for month in range(1, 13):
        start(jinan, month=month)
    settled = PoolAccount.objects.get(institution=clinic).settled_to_date
    assert settled == D("60.00")
    ye = start(jinan, kind=RunKind.YEAR_END)
    s = statement(ye, clinic)
    # annual quota 720, actual 65 → final 65 + 0.5 × 655 = 392.50; minus 60 settled.
    assert (s.quota, s.actual, s.paid) == (D("720.00"), D("65.00"), D("392.50"))
    assert s.payable == D("332.50")
    assert PoolAccount.objects.get(institution=clinic).closed


def test_year_end_over_quota_gets_the_quota(jinan, clinic, make_student, ingest):
    student = make_student()  # quota 5.00 a month, 60 a year
    ingest_members(jinan)
    ingest([visit(f"V{m}", student, dt.date(2021, m, 1), a="20.00") for m in range(1, 13)])  # 13.00 a month
    close_months(jinan)  # each month pays its quota 5.00
    s = statement(start(jinan, kind=RunKind.YEAR_END), clinic)
    assert (s.quota, s.actual, s.paid, s.settled_before, s.payable) == (
        D("60.00"), D("156.00"), D("60.00"), D("60.00"), D("0.00"))


def test_negative_year_end_balance_is_recovered(jinan, clinic, students, ingest):
    ingest_members(jinan)
    close_months(jinan)
    account = PoolAccount.objects.get(institution=clinic)
    PoolAccount.objects.filter(pk=account.pk).update(settled_to_date=D("500.00"))  # e.g. an advance paid
    s = statement(start(jinan, kind=RunKind.YEAR_END), clinic)
    assert s.paid == D("360.00")  # nothing used: half of 720
    assert s.payable == D("-140.00")


def test_visits_after_the_year_end_are_refused_and_monthly_runs_too(jinan, clinic, students, ingest):
    ingest_members(jinan)
    close_months(jinan, year=2021)
    start(jinan, kind=RunKind.YEAR_END)
    result = ingest([visit("Z", students[0], dt.date(2021, 12, 30))])
    assert [e["code"] for e in result.errors] == ["year_closed"]
    from claims.settlement.errors import RunRefused
    with pytest.raises(RunRefused):
        start(jinan, month=12)


def test_a_killed_run_resumes_and_finishes_with_the_same_result(jinan, clinic, students, ingest, college):
    ingest_members(jinan)
    from medins.models import Designation, Institution
    second = Institution.objects.create(region=jinan, code="JN-S-T2", name="第二校医院", kind="school_clinic",
                                        level="primary")
    second.designations.add(Designation.objects.get(code="outpatient_pool"))
    ingest([visit("A", students[0], dt.date(2021, 5, 1), a="40.00")])
    real = runs_module.institution_settle
    calls = []

    def crash_on_second(**kwargs):
        calls.append(kwargs["institution"].pk)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: nothing records it, like a SIGKILL
        return real(**kwargs)

    with mock.patch.object(runs_module, "institution_settle", side_effect=crash_on_second), \
            pytest.raises(SystemExit):
        start(jinan, month=5)
    run = SettlementRun.objects.get()
    assert run.state == RunState.RUNNING and run.institutions_done == 1  # the crash came at the second
    resumed = start(jinan, month=5)  # the admin's "resume": same run, re-enqueued
    assert resumed.pk == run.pk and resumed.state == RunState.FINISHED
    assert resumed.institutions_done == resumed.institutions_total == POOL_INSTITUTIONS + 1
    assert InstitutionSettlement.objects.filter(run=run).count() == POOL_INSTITUTIONS + 1
    assert statement(run, clinic).payable == D("26.00")
    assert resumed.amount_total == D("26.00")


def test_a_failing_run_is_recorded_and_resumable(jinan, clinic, students):
    with mock.patch.object(runs_module, "institution_settle", side_effect=ValueError("boom")):
        run = start(jinan, month=5)
    assert run.state == RunState.FAILED and "boom" in run.errors[0]["error"]
    run = start(jinan, month=5)
    assert run.state == RunState.FINISHED
    assert list(run.transitions.values_list("to_state", flat=True)) == [
        "pending", "running", "failed", "running", "finished"]


def test_release_is_four_eyes(jinan, clinic, students, starter, finance):
    from claims.settlement.errors import ReleaseRefused
    run = start(jinan, month=1, user=starter)
    s = statement(run, clinic)
    finance.user_permissions.add(*starter.user_permissions.all())
    starter.user_permissions.add(*finance.user_permissions.all())
    starter = type(starter).objects.get(pk=starter.pk)
    with pytest.raises(ReleaseRefused, match="four-eyes"):
        settlement_release(acting_user=starter, statement=s)
    settlement_release(acting_user=finance, statement=s)
    s.refresh_from_db()
    assert s.state == "released" and s.released_by == finance
    with pytest.raises(ReleaseRefused):
        settlement_release(acting_user=finance, statement=s)


def test_beat_tasks_start_runs_for_capitation_regions_only(jinan, clinic, students):
    ids = capitation_monthly(2021, 3)
    assert SettlementRun.objects.get(pk__in=ids).region == jinan  # Changchun has no capitation parameters
    assert capitation_monthly(2021, 3) == ids
    assert capitation_year_end(2021) == []  # refused: the other eleven months are not settled
    for month in range(1, 13):
        with _capture(execute=True):  # the runs are processed when their start commits
            capitation_monthly(2021, month)
    assert len(capitation_year_end(2021)) == 1


def test_year_end_head_count_is_person_months_and_the_quota_their_sum(jinan, clinic, students, make_student):
    """DOMAIN §8 and the Jinan seed ("年度结算定额（每月结算定额累加）"): the annual quota is the sum of
    the monthly quotas, so the year-end head count is person-months — not the members at year end
    × 60 (13 × 60 = 780) nor the members of January × 60 (12 × 60 = 720)."""
    make_student(covered_from=dt.date(2021, 7, 1))  # covered on the 1st of July…December: 6 person-months
    ingest_members(jinan)
    close_months(jinan)
    s = statement(start(jinan, kind=RunKind.YEAR_END), clinic)
    monthly = {m["month"]: m["headcount"] for m in s.detail["monthly"]}
    assert monthly == {**{m: 12 for m in range(1, 7)}, **{m: 13 for m in range(7, 13)}}
    assert s.headcount == 12 * 6 + 13 * 6 == 150
    assert s.quota == D("750.00") == sum(D(m["quota"]) for m in s.detail["monthly"])


def test_settled_actuals_kept_on_the_account_give_the_same_result_as_summing_the_visits(jinan, clinic, students,
                                                                                       ingest):
    """DOMAIN §8 monthly rule (paid = actual up to the quota, cumulated): a run reads the months
    settled before from the account; an account without them (from before they were kept) sums
    its settled visits once — both give the same statement."""
    ingest_members(jinan)
    ingest([visit("K1", students[0], dt.date(2021, 1, 5), a="40.00"),     # 26.00 in January
            visit("K2", students[1], dt.date(2021, 2, 5), a="120.00")])   # 78.00 in February (quota 60)
    start(jinan, month=1)
    start(jinan, month=2)
    account = PoolAccount.objects.get(institution=clinic)
    assert account.actuals == {"1": "26.00", "2": "78.00"}
    ingest([visit("K3", students[2], dt.date(2021, 1, 20), a="20.00")])   # late: 13.00 more in January
    PoolAccount.objects.filter(pk=account.pk).update(actuals=None)
    s = statement(start(jinan, month=3), clinic)
    # owed through March: min(39, 60) + min(78, 60) + 0 = 99; settled before 26 + 60 = 86
    assert (s.late_visits_count, s.payable, s.adjustment) == (1, D("13.00"), D("13.00"))
    assert PoolAccount.objects.get(pk=account.pk).actuals == {"1": "39.00", "2": "78.00"}


def test_a_run_does_not_write_visits_and_late_ones_are_the_next_runs_adjustment(jinan, clinic, students, ingest):
    """Settling marks nothing on the visits (no UPDATE/DELETE of visit rows): the account's
    per-month watermark says which are settled; a late visit lies above it and is the next run's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ingest_members(jinan)
    ingest([visit("W1", students[0], dt.date(2021, 1, 10), a="40.00"),      # 26.00
            visit("W2", students[1], dt.date(2021, 2, 10), a="20.00")])     # February: not settled by January
    table = Visit._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        jan = start(jinan, month=1)
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("UPDATE", "DELETE", "INSERT")) and f'"{table}"' in q["sql"]]
    assert writes == []
    assert any(f'"{table}"' in q["sql"] for q in queries.captured_queries)  # it did read them
    settled = {v.visit_id: visit_is_settled(v) for v in with_account_marks(Visit.objects.all())}
    assert settled == {"W1": True, "W2": False}
    ingest([visit("W3", students[2], dt.date(2021, 1, 25), a="20.00")])     # late January: 13.00
    assert not visit_is_settled(Visit.objects.get(visit_id="W3"))
    feb = start(jinan, month=2)
    s = statement(feb, clinic)
    assert (s.visits_count, s.late_visits_count, s.paid, s.adjustment, s.payable) == (
        2, 1, D("13.00"), D("13.00"), D("26.00"))
    assert statement(jan, clinic).payable == D("26.00")                     # never rewritten
    assert set(statement_visits(statement(jan, clinic)).values_list("visit_id", flat=True)) == {"W1"}
    assert set(statement_visits(s).values_list("visit_id", flat=True)) == {"W2", "W3"}
    assert all(visit_is_settled(v) for v in with_account_marks(Visit.objects.all()))
    mar = statement(start(jinan, month=3), clinic)                          # nothing new: nothing counted twice
    assert (mar.visits_count, mar.adjustment) == (0, D("0.00"))
