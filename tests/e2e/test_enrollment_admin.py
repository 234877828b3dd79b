"""Issue #3, done-when: an intake clerk imports the sample tax file in the admin, sees the bad row
flagged (row and field named), confirms, finds a person by the last digits of the ID number, reads
the coverage timeline, stops the cover, and is refused a refund where DOMAIN §1 refuses it."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from enrollment.demo import demo_id_number
from enrollment.idnumber import mask
from enrollment.models import CoverageStatus, Payment, PaymentStatus, Person, Stop
from medins.demo import DEMO_PASSWORD, demo_users_ensure
from tests.e2e.conftest import assert_no_horizontal_scroll, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[2] / "enrollment" / "samples" / "tax_payments_sample.csv"
FULL_ID = re.compile(r"\b\d{17}[\dX]\b")


@pytest.fixture
def demo(reference_data):
    demo_users_ensure()
    call_command("enrollment_demo_data", stdout=io.StringIO())


def login(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def submit(page, selector):
    """Click something that submits a form and wait for the next page before reading it."""
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_selector("#content")


def assert_no_full_id_number(text):
    """DOMAIN §1: lists show ID numbers masked."""
    assert not FULL_ID.search(text), FULL_ID.search(text).group(0)


def test_clerk_imports_the_tax_file_finds_a_person_stops_cover_and_is_refused_a_refund(demo, live_server, page):
    zhang = demo_id_number("zhang_wei")  # sample row 2: paid late on 2021-03-15, covered from 2021-06-15
    login(page, live_server, "intake_clerk")

    # the payments list links to the import page
    page.goto(f"{live_server.url}/admin/enrollment/payment/")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.click("a[href$='/payment/import/']")
    page.wait_for_selector("#id_file")
    shot(page, "enr-01-upload")
    assert "导入税务缴费文件" in page.locator("#content").inner_text()

    # upload: the preview names the bad row and its column, nothing written yet
    page.set_input_files("#id_file", str(SAMPLE))
    submit(page, "#content input[type=submit]")
    shot(page, "enr-02-preview")
    errors = page.locator("#row-errors tbody tr")
    assert errors.count() == 1
    cells = errors.first.locator("td").all_inner_texts()
    assert cells[0] == "7" and cells[1] == "身份证号码" and cells[2] == "TAX2021000011"
    assert "校验码" in cells[4]  # the check digit is named, in Chinese
    assert page.locator("#row-ok tbody tr").count() == 10
    assert_no_full_id_number(page.locator("#content").inner_text())
    assert Payment.objects.count() == 0

    # confirm: the import runs as a background job (issue #14 item 3): its progress page, then its
    # result with the counts and the bad row reported again
    submit(page, "input[name=confirm]")
    page.wait_for_url("**/result/")
    shot(page, "enr-03-imported")
    assert "已导入 10 笔缴费" in page.locator("#job-message").inner_text()
    assert "校验码" in page.locator("#content").inner_text()
    assert Payment.objects.count() == 10
    page.goto(f"{live_server.url}/admin/enrollment/payment/")
    page.wait_for_selector("#result_list")
    assert_no_horizontal_scroll(page)
    shot(page, "enr-03b-payments")
    listed = page.locator("#result_list").inner_text()
    assert "TAX2021000001" in listed and mask(zhang) in listed and "成年居民" in listed
    assert_no_full_id_number(listed)

    # find the person by the last six digits of the ID number
    page.goto(f"{live_server.url}/admin/enrollment/person/")
    assert_no_horizontal_scroll(page)
    page.fill("#searchbar", zhang[-6:])
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    shot(page, "enr-04-search")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    listed = rows.first.inner_text()
    assert "张伟" in listed and mask(zhang) in listed and "成年居民" in listed
    assert_no_full_id_number(page.locator("#content").inner_text())

    # the detail page: the coverage timeline of the 2021 late payment
    with page.expect_navigation():
        rows.first.locator("th a").click()
    page.wait_for_selector(".coverage-timeline")
    shot(page, "enr-05-person")
    timeline = page.locator(".coverage-timeline").inner_text()
    assert "2021年6月15日" in timeline and "2021年12月31日" in timeline and "经等待期" in timeline

    # stop the cover (admin action on the list) because the person joined employee insurance
    page.go_back()
    page.wait_for_selector("#result_list")
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "stop_cover")
    submit(page, "button[name=index]")
    shot(page, "enr-06-stop-form")
    assert "张伟" in page.locator(".field-person").inner_text()
    page.select_option("#id_reason", "joined_employee_insurance")
    page.fill("#id_stop_date", "2021-09-01")
    page.fill("#id_note", "入职参加职工医保")
    submit(page, "input[name=_save]")
    shot(page, "enr-07-stops")
    assert page.locator(".messagelist .success").count() == 1
    person = Person.objects.get(id_number=zhang)
    period = person.coverage_periods.get()
    assert (period.covered_to.isoformat(), period.status) == ("2021-09-01", CoverageStatus.ACTIVE)
    assert_no_full_id_number(page.locator("#result_list").inner_text())

    # refund: refused, the benefit period had started before the stop date
    stop = Stop.objects.get(person=person)
    page.locator(f"#result_list input.action-select[value='{stop.pk}']").check()
    page.select_option("select[name=action]", "refund")
    submit(page, "button[name=index]")
    # a refund cannot be undone: a confirmation page lists the stop first (issue 14 item 5)
    assert "张伟" in page.locator("#confirm-objects").inner_text()
    assert Payment.objects.get(person=person).status == PaymentStatus.RECORDED  # nothing done yet
    assert_no_horizontal_scroll(page)
    submit(page, "#confirm-yes")
    shot(page, "enr-08-refund-refused")
    message = page.locator(".messagelist .error").inner_text()
    assert "不予退费" in message and "2021-06-15" in message
    assert Payment.objects.get(person=person).status == PaymentStatus.RECORDED
