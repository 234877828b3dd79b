"""Settlement periods close for good (issue 10 item 3, finding 3) and the admin's resume
never errors (issue 11 finding 6)."""

import datetime as dt
from decimal import Decimal as D
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from claims.settlement.errors import RunRefused
from claims.settlement.models import (
    InstitutionSettlement,
    PoolAccount,
    ReopeningState,
    RunKind,
    RunState,
    SettlementRun,
    YearReopening,
)
from claims.settlement.services import (
    settlement_run_process,
    settlement_run_start,
    settlement_year_reopen_approve,
    settlement_year_reopen_request,
)
from claims.settlement.services.closing import ReopeningRefused
from tests.settlement.conftest import visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def students(make_student):
    return [make_student() for _ in range(12)]


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    def run(region, kind=RunKind.MONTHLY, month=None, year=2021, user=None):
        with django_capture_on_commit_callbacks(execute=True):
            r = settlement_run_start(acting_user=user, region=region, kind=kind, year=year, month=month)
        r.refresh_from_db()
        return r

    return run


@pytest.fixture
def closed_year(jinan, clinic, students, ingest, start):
    from claims.settlement.services import pool_members_sync_schools

    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    ingest([visit("M1", students[0], dt.date(2021, 3, 1), a="100.00")])   # 65.00 in March (quota 60)
    for month in range(1, 13):
        start(jinan, month=month)
    return start(jinan, kind=RunKind.YEAR_END)


@pytest.fixture
def finance2(make_user):
    return make_user("finance2", "settlement.reopen_settlement_year", "settlement.view_yearreopening",
                     "settlement.view_settlementrun")


@pytest.fixture
def finance1(make_user):
    return make_user("finance1", "settlement.reopen_settlement_year", "settlement.view_yearreopening",
                     "settlement.view_settlementrun")


def test_year_end_needs_the_twelve_monthly_runs_finished(jinan, clinic, students, start):
    """Issue 10 finding 3: the year-end run started without the twelve monthly runs being done."""
    for month in range(1, 12):
        start(jinan, month=month)
    with translation.override("zh-hans"), pytest.raises(RunRefused) as info:
        start(jinan, kind=RunKind.YEAR_END)
    assert "2021-12" in str(info.value) and "2021-11" not in str(info.value)
    assert "月度" in str(info.value)  # a clear message in Chinese
    assert not SettlementRun.objects.filter(kind=RunKind.YEAR_END).exists()


def test_year_end_is_refused_before_december_has_ended(jinan, clinic, students, start):
    """Issue 10 finding 3 (the demo): a clerk could run the year end before December, after which
    December was refused forever. timezone.localdate() decides."""
    with mock.patch("claims.settlement.services.runs.timezone.localdate", return_value=dt.date(2021, 12, 31)):
        for month in range(1, 13):
            start(jinan, month=month)
        with pytest.raises(RunRefused, match="31"):
            start(jinan, kind=RunKind.YEAR_END)
    with mock.patch("claims.settlement.services.runs.timezone.localdate", return_value=dt.date(2022, 1, 1)):
        assert start(jinan, kind=RunKind.YEAR_END).state == RunState.FINISHED


def test_a_monthly_run_needs_its_month(jinan, clinic):
    """Issue 10 item 3: a monthly run without a month is refused with a clear message."""
    with translation.override("zh-hans"), pytest.raises(RunRefused, match="月份"):
        settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=None)


def test_admin_start_form_shows_the_refusal_in_chinese(jinan, clinic, client, starter):
    """Issue 10 item 3: the admin says why in Chinese (no run is created)."""
    client.force_login(starter)
    response = client.post(reverse("admin:settlement_settlementrun_start"),
                           {"region": jinan.pk, "kind": "year_end", "year": 2021}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "十二个月度结算" in response.content.decode()
    assert not SettlementRun.objects.exists()


def test_a_late_monthly_run_does_not_settle_a_closed_account(closed_year, jinan, clinic):
    """Issue 10 finding 3: a December run processed after the year-end run wrote a negative
    payable (clawing back the surplus share) and reopened the year. institution_settle now
    refuses a closed account: the run fails, the account stays closed and unchanged."""
    account = PoolAccount.objects.get(institution=clinic, year=2021)
    assert account.closed
    before = account.settled_to_date
    # replay the finding: the December run, unfinished, processed after the year end (its
    # statements removed as if it had not run yet)
    december = SettlementRun.objects.get(region=jinan, kind=RunKind.MONTHLY, year=2021, month=12)
    InstitutionSettlement.objects.filter(run=december).delete()
    SettlementRun.objects.filter(pk=december.pk).update(state=RunState.FAILED)
    run = settlement_run_process(run_id=december.pk)
    assert run.state == RunState.FAILED and run.errors[-1]["error"].startswith("RunRefused: ")
    account.refresh_from_db()
    assert account.closed and account.settled_to_date == before
    assert not InstitutionSettlement.objects.filter(run=december).exists()
    assert not InstitutionSettlement.objects.filter(payable__lt=0).exists()


def test_a_monthly_run_is_refused_once_the_year_is_closed(closed_year, jinan, start):
    """Issue 10 item 3: nothing reopens a closed year through the runs."""
    with pytest.raises(RunRefused):
        settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=12)


def test_reopening_is_four_eyed_by_finance_and_recorded(closed_year, jinan, clinic, finance1, finance2, starter,
                                                        students, ingest, start):
    """Issue 10 item 3: only an explicit, audited, four-eyed reopening by finance opens a closed
    year; a new year-end run then settles the difference."""
    with pytest.raises(ReopeningRefused):  # not finance
        settlement_year_reopen_request(acting_user=starter, region=jinan, year=2021, reason="补录")
    reopening = settlement_year_reopen_request(acting_user=finance1, region=jinan, year=2021,
                                               reason="校医院补报12月门诊")
    with pytest.raises(ReopeningRefused, match="[Ff]our eyes|四眼|申请"):
        settlement_year_reopen_approve(acting_user=finance1, reopening=reopening)
    assert PoolAccount.objects.get(institution=clinic, year=2021).closed
    settlement_year_reopen_approve(acting_user=finance2, reopening=reopening)
    reopening.refresh_from_db()
    assert (reopening.state, reopening.requested_by, reopening.decided_by) == (
        ReopeningState.APPROVED, finance1, finance2)
    closed_year.refresh_from_db()
    assert closed_year.state == RunState.REOPENED
    (t,) = closed_year.transitions.filter(to_state=RunState.REOPENED)
    assert t.by == finance2 and "校医院补报12月门诊" in t.note
    assert not PoolAccount.objects.get(institution=clinic, year=2021).closed
    assert reopening.history.count() == 2
    # the year takes visits again, and a new year-end run settles only the difference
    result = ingest([visit("LATE", students[1], dt.date(2021, 12, 20), a="40.00")])  # 26.00
    assert result.created == 1
    settled = PoolAccount.objects.get(institution=clinic, year=2021).settled_to_date
    again = start(jinan, kind=RunKind.YEAR_END)
    assert again.pk != closed_year.pk and again.state == RunState.FINISHED
    s = InstitutionSettlement.objects.get(run=again, institution=clinic)
    # final = 91 + 0.5 × (720 − 91) = 405.50; settled before: the first year end's total
    assert (s.actual, s.paid, s.settled_before) == (D("91.00"), D("405.50"), settled)
    assert s.payable == D("405.50") - settled == D("13.00")
    assert PoolAccount.objects.get(institution=clinic, year=2021).closed


def test_reopening_through_the_admin(closed_year, jinan, client, finance1, finance2):
    """Issue 10 item 3: the admin's request form and approve action call the same services."""
    client.force_login(finance1)
    response = client.post(reverse("admin:settlement_yearreopening_add"),
                           {"region": jinan.pk, "year": 2021, "reason": "更正"})
    assert response.status_code == 302
    reopening = YearReopening.objects.get()
    changelist = reverse("admin:settlement_yearreopening_changelist")
    response = client.post(changelist, {"action": "approve", "_selected_action": [reopening.pk], "confirmed": "yes"})
    assert any(m.level_tag == "error" for m in get_messages(response.wsgi_request))  # four eyes
    client.force_login(finance2)
    client.post(changelist, {"action": "approve", "_selected_action": [reopening.pk], "confirmed": "yes"})
    reopening.refresh_from_db()
    assert reopening.state == ReopeningState.APPROVED and reopening.decided_by == finance2


def test_finance_role_may_reopen_and_others_not(db):
    from medins.roles import roles_sync

    roles_sync()
    perm = Permission.objects.get(codename="reopen_settlement_year")
    assert set(perm.group_set.values_list("name", flat=True)) == {"finance"}


def test_admin_resume_of_a_refused_run_is_a_message_not_an_error(closed_year, jinan, client, starter):
    """Issue 11 finding 6: "Resume" on a run that start refuses answered HTTP 500."""
    december = SettlementRun.objects.get(region=jinan, kind=RunKind.MONTHLY, year=2021, month=12)
    SettlementRun.objects.filter(pk=december.pk).update(state=RunState.FAILED)
    client.force_login(starter)
    response = client.post(reverse("admin:settlement_settlementrun_changelist"),
                           {"action": "resume_runs", "_selected_action": [december.pk]})
    assert response.status_code == 302
    assert any(m.level_tag == "error" for m in get_messages(response.wsgi_request))
