"""Issue #14 item 2: finance runs the payment-order job from the payment orders page, sees its
progress, lands on its result and downloads the payment file with correct column labels; the job
is a background job (medins.jobs) run by Celery (eager here), never pays twice, and only finance
may start it (medins.roles)."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from claims.models import Case, PaymentFile, PaymentOrder
from claims.services import case_approve, case_calculate, case_start_review
from claims.services import payments as payments_module
from claims.workflow import CaseState
from medins.jobs import Job, JobStatus
from medins.roles import roles_sync
from tests.claims.factories import invoice
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db
_capture = []


def _commit():
    return _capture[-1](execute=True)


@pytest.fixture
def role_user(reference_data):
    roles_sync()

    def make(role, username=None):
        user = UserFactory(username=username or f"{role}-user", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def approved(new_case, reviewer, approver):
    def make(n=3):
        cases = []
        for i in range(n):
            case = new_case(invoices=[invoice(number=f"PJ-{i}")])
            case_start_review(acting_user=reviewer, case=case)
            case_calculate(acting_user=reviewer, case=case)
            case_approve(acting_user=approver, case=case)
            cases.append(case)
        return cases

    return make


@pytest.fixture(autouse=True)
def after_commit(django_capture_on_commit_callbacks):
    """The job is sent to Celery once the request's transaction commits (eager here)."""
    _capture.append(django_capture_on_commit_callbacks)
    yield
    _capture.pop()


def start_job(client, day=None):
    """The confirmation page's POST: the job's progress page is where it lands."""
    day = day or timezone.localdate()
    with _commit():
        response = client.post(reverse("admin:claims_paymentorder_run"), {"pay_date": day.isoformat()})
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.fullmatch(r"/admin/medins/job/(\d+)/progress/", response["Location"])
    assert match, response["Location"]
    return Job.objects.get(pk=int(match.group(1))), response["Location"]


def read_csv(response) -> list[dict]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # a spreadsheet opens it as UTF-8 (Chinese labels)
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_finance_runs_the_job_from_the_payment_orders_page_and_downloads_the_file(approved, role_user, client):
    """Issue #14 item 2: button on the payment orders list → confirmation (what it pays) → progress
    page → result page (counts) → the file as a download whose header labels its own columns."""
    cases = approved(3)
    finance = role_user("finance")
    client.force_login(finance)
    listing = client.get(reverse("admin:claims_paymentorder_changelist")).content.decode()
    assert reverse("admin:claims_paymentorder_run") in listing and "执行支付任务" in listing

    confirm = client.get(reverse("admin:claims_paymentorder_run")).content.decode()
    total = sum(c.payable_amount for c in Case.objects.filter(pk__in=[c.pk for c in cases]))
    assert "待支付的已审批案件" in confirm and f"{total:,.2f}" in confirm
    assert Job.objects.count() == 0  # nothing runs before the confirmation

    job, progress_url = start_job(client)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.started_by == finance  # Celery, eager in tests
    assert (job.done, job.total) == (3, 3)
    page = client.get(progress_url).content.decode()
    assert 'role="progressbar"' in page and reverse("admin:medins_job_status", args=[job.pk]) in page
    status = client.get(reverse("admin:medins_job_status", args=[job.pk])).json()
    assert status["finished"] and status["percent"] == 100 and status["result_url"].endswith(f"/{job.pk}/result/")

    result = client.get(status["result_url"]).content.decode()
    payment_file = PaymentFile.objects.get()
    assert "已完成" in result and "文件中的支付指令" in result
    assert "支付日期" in result and "缴费日期" not in result  # the bank file's date, not a contribution's
    download_url = reverse("admin:claims_paymentfile_download", args=[payment_file.pk])
    assert download_url in result

    response = client.get(download_url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"{payment_file.pay_date:%Y%m%d}.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    assert list(rows[0]) == ["支付指令号", "业务编号", "收款人户名", "银行账号", "金额（元）"]
    orders = {o.pk: o for o in PaymentOrder.objects.select_related("case", "case__person")}
    assert len(rows) == len(orders) == 3
    for row in rows:  # header ↔ value, column by column, against the order the row pays
        order = orders[int(row["支付指令号"].removeprefix("ZF"))]
        assert row["业务编号"] == order.case.number
        assert row["收款人户名"] == order.account_name == order.case.person.name
        assert row["银行账号"] == order.bank_account == order.case.bank_account
        assert Decimal(row["金额（元）"]) == order.amount == order.case.payable_amount


def test_payment_file_page_labels_its_date_and_total_as_payment_not_contribution_or_bill(approved, role_user,
                                                                                         client):
    """Issue #14 item 2: 缴费日期 (a contribution's date) and 医疗费总额 (a bill's total) labelled the
    bank file's pay date and total."""
    approved(1)
    client.force_login(role_user("finance"))
    start_job(client)
    payment_file = PaymentFile.objects.get()
    for url in (reverse("admin:claims_paymentfile_changelist"),
                reverse("admin:claims_paymentfile_change", args=[payment_file.pk])):
        body = client.get(url).content.decode()
        assert "支付日期" in body and "支付总额" in body
        assert "缴费日期" not in body and "医疗费总额" not in body


def test_download_masks_bank_accounts_for_roles_without_the_reveal_permission(approved, role_user, client):
    """DESIGN personal data (issue #11 finding 9): the supervisor reads the file with accounts masked."""
    (case,) = approved(1)
    client.force_login(role_user("finance"))
    start_job(client)
    client.force_login(role_user("supervisor"))
    rows = read_csv(client.get(reverse("admin:claims_paymentfile_download", args=[PaymentFile.objects.get().pk])))
    assert rows[0]["银行账号"] != case.bank_account and rows[0]["银行账号"].endswith(case.bank_account[-4:])


def test_progress_is_recorded_batch_by_batch(approved, role_user, client, monkeypatch):
    """Issue #14 item 3: the job's run row records done / total as it goes (batches of two cases)."""
    approved(3)
    monkeypatch.setattr(payments_module, "BATCH_SIZE", 2)
    seen = []
    real = Job.progress

    def spy(self, done, total=None):
        seen.append((done, total))
        return real(self, done, total)

    monkeypatch.setattr(Job, "progress", spy)
    client.force_login(role_user("finance"))
    job, _url = start_job(client)
    assert seen == [(0, 3), (2, 3), (3, 3)]
    job.refresh_from_db()
    assert (job.done, job.total, job.percent, job.heartbeat_at is not None) == (3, 3, 100, True)


def test_a_failed_job_is_run_again_and_pays_each_case_once(approved, role_user, client, monkeypatch):
    """DESIGN "Jobs … never pay twice": the job fails half-way (its transaction leaves nothing); the
    result page shows the error and a re-run button; the re-run orders each case once, and running
    the job again for the same day orders nothing."""
    cases = approved(3)
    monkeypatch.setattr(payments_module, "BATCH_SIZE", 2)
    real, calls = payments_module._insert_transitions, []

    def fail_on_the_second_batch(cursor, ids, **kwargs):
        calls.append(ids)
        if len(calls) == 2:
            raise RuntimeError("the bank interface went away")
        return real(cursor, ids, **kwargs)

    monkeypatch.setattr(payments_module, "_insert_transitions", fail_on_the_second_batch)
    client.force_login(role_user("finance"))
    job, _url = start_job(client)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "bank interface" in job.error
    assert PaymentOrder.objects.count() == 0 and PaymentFile.objects.count() == 0
    assert set(Case.objects.values_list("state", flat=True)) == {CaseState.APPROVED}
    result = client.get(reverse("admin:medins_job_result", args=[job.pk])).content.decode()
    assert "失败" in result and "bank interface" in result and reverse("admin:medins_job_rerun", args=[job.pk]) in result

    monkeypatch.setattr(payments_module, "_insert_transitions", real)
    with _commit():
        response = client.post(reverse("admin:medins_job_rerun", args=[job.pk]))
    assert response["Location"] == reverse("admin:medins_job_progress", args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2 and job.result["created"] is True
    assert sorted(PaymentOrder.objects.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)

    with _commit():
        client.post(reverse("admin:medins_job_rerun", args=[job.pk]))  # a finished job is not run again
    again, _url = start_job(client)  # nor is the day's file made twice
    again.refresh_from_db()
    assert again.status == JobStatus.DONE and again.result["created"] is False
    assert PaymentOrder.objects.count() == 3 and PaymentFile.objects.count() == 1
    assert "已存在" in client.get(reverse("admin:medins_job_result", args=[again.pk])).content.decode()


def test_the_confirmation_refuses_a_past_day(approved, role_user, client):
    """Decision (issue #14 item 2): a payment file is not back-dated."""
    approved(1)
    client.force_login(role_user("finance"))
    yesterday = timezone.localdate() - timezone.timedelta(days=1)
    response = client.post(reverse("admin:claims_paymentorder_run"), {"pay_date": yesterday.isoformat()})
    assert response.status_code == 200 and Job.objects.count() == 0
    assert "不能为过去的日期" in response.content.decode()


@pytest.mark.parametrize("role", ["intake_clerk", "reviewer", "approver", "supervisor", "policy_admin"])
def test_only_finance_may_run_the_payment_job(approved, role_user, client, role):
    """Issue #14 item 2 and medins.roles: the job is finance's; the others see no button and are refused."""
    approved(1)
    client.force_login(role_user(role))
    listing = client.get(reverse("admin:claims_paymentorder_changelist"))
    assert reverse("admin:claims_paymentorder_run") not in listing.content.decode()
    assert client.get(reverse("admin:claims_paymentorder_run")).status_code == 403
    assert client.post(reverse("admin:claims_paymentorder_run"),
                       {"pay_date": timezone.localdate().isoformat()}).status_code == 403
    assert Job.objects.count() == 0 and PaymentOrder.objects.count() == 0


def test_a_job_is_seen_by_who_may_see_what_it_works_on(approved, role_user, client):
    """medins.jobs.job_visible: the starter and holders of the kind's view permission; not the others."""
    approved(1)
    client.force_login(role_user("finance"))
    job, progress_url = start_job(client)
    client.force_login(role_user("supervisor"))  # reads payment files
    assert client.get(reverse("admin:medins_job_result", args=[job.pk])).status_code == 200
    assert client.post(reverse("admin:medins_job_rerun", args=[job.pk])).status_code == 403
    client.force_login(role_user("policy_admin"))  # does not
    assert client.get(progress_url).status_code == 403
    assert client.get(reverse("admin:medins_job_status", args=[job.pk])).status_code == 403
