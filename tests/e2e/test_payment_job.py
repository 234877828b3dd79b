"""Issue #14 item 2 done-when, in the browser: finance starts the payment-order job from the payment
orders page, confirms it on its confirmation page, sees its progress bar (polled from the status
endpoint), lands on its result and downloads the payment file (headers asserted). The job runs as a
Celery task, eager in this test: the first status answer is held back as "running, 40 %" by the
browser test (page.route), so the page's polling is seen updating the bar before the real answer
sends it to the result."""

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model

from claims.models import CaseType, PaymentFile, PaymentOrder
from claims.services import case_approve, case_calculate, case_receive, case_start_review
from enrollment.models import CoveragePeriod
from medins.demo import demo_users_ensure
from tests.claims.factories import PersonFactory, invoice
from tests.e2e.conftest import shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def approved_cases(reference_data):
    demo_users_ensure()
    users = get_user_model().objects
    case_type = CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")
    cases = []
    for i in range(2):
        person = PersonFactory(birth=dt.date(1980, 3, 1 + i))
        CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                      covered_to=dt.date(2021, 12, 31))
        case = case_receive(acting_user=users.get(username="intake_clerk"), case_type=case_type, person=person,
                            service_from="2021-05-10", service_to="2021-05-20", institution_name="北京协和医院",
                            institution_level="municipal_tertiary", invoices=[invoice(number=f"E2E-PAY-{i}")],
                            materials_received=[m.code for m in case_type.materials.all()])
        case_start_review(acting_user=users.get(username="reviewer"), case=case)
        case_calculate(acting_user=users.get(username="reviewer"), case=case)
        case_approve(acting_user=users.get(username="approver"), case=case)
        cases.append(case)
    return cases


def test_finance_runs_the_payment_job_sees_progress_lands_on_the_result_and_downloads_the_file(
        approved_cases, live_server, page):
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/claims/paymentorder/")
    with page.expect_navigation():
        page.click("#run-payment-job")
    shot(page, "payjob-01-confirm")
    outlook = page.locator("#payment-job-outlook").inner_text()
    assert "待支付的已审批案件" in outlook and "2" in outlook
    assert "执行支付任务" in page.locator("#content").inner_text()

    # the first status answer the page receives says "running, 2 of 5": the bar must show it
    held = {"done": False}

    def first_answer_running(route):
        if held["done"]:
            return route.continue_()
        held["done"] = True
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            {"status": "running", "status_label": "进行中", "done": 2, "total": 5, "percent": 40, "finished": False,
             "result_url": ""}))

    page.route("**/admin/medins/job/*/status/", first_answer_running)
    with page.expect_navigation():
        page.click("#confirm-payment-job")
    assert "/progress/" in page.url
    page.wait_for_selector("progress#job-bar[role=progressbar]")
    page.wait_for_function("document.getElementById('job-percent').textContent === '40%'")
    assert page.locator("#job-counts").inner_text() == "2 / 5"
    shot(page, "payjob-02-progress")

    page.wait_for_url("**/result/")
    shot(page, "payjob-03-result")
    result = page.locator("#job-result").inner_text()
    assert "已完成" in result and "文件中的支付指令" in result
    assert "支付日期" in result and "缴费日期" not in result and "医疗费总额" not in result
    payment_file = PaymentFile.objects.get()
    assert payment_file.order_count == 2 and PaymentOrder.objects.count() == 2

    with page.expect_download() as info:
        page.click("text=下载支付文件")
    download = info.value
    assert download.suggested_filename == f"支付文件_{payment_file.pay_date:%Y%m%d}.csv"
    response = page.request.get(f"{live_server.url}/admin/claims/paymentfile/{payment_file.pk}/download/")
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert list(rows[0]) == ["支付指令号", "业务编号", "收款人户名", "银行账号", "金额（元）"]
    assert {r["业务编号"] for r in rows} == {c.number for c in approved_cases}
