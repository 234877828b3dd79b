"""Issue #5 done-when, in the browser: a clerk finds 山东大学校医院 with members and visits in the
demo data, starts the 2021 year-end run from the admin, reads its progress on the run row,
opens the clinic's statement — whose figures are what `capitation_preview` computes for the
same head counts and actuals — and a finance user (not the starter) releases it; the starter
cannot (DOMAIN §8, DESIGN four-eyes)."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.db.models import Sum

from claims.settlement.models import InstitutionSettlement, RunKind, SettlementRun, Visit
from claims.settlement.selectors import headcounts
from medins.demo import demo_users_ensure
from medins.models import Institution
from medins.value_display import format_money
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(reference_data):
    demo_users_ensure()
    call_command("settlement_demo_data", stdout=io.StringIO())
    return Institution.objects.get(region__code="370100", code="JN-S-001")


def preview_for(clinic, tmp_path) -> dict:
    """capitation_preview on figures read independently of the run: members covered on the 1st of
    each month and the fund-payable of the clinic's visits of each month."""
    counts = headcounts(institution_id=clinic.pk, year=2021, months=list(range(1, 13)))
    sums = dict(Visit.objects.filter(institution=clinic, year=2021).values_list("month").annotate(Sum("fund")))
    request = {"region": "370100", "year": 2021, "months": [
        {"month": m, "headcount": counts[m], "actual": str(sums.get(m) or "0.00")} for m in range(1, 13)]}
    path = tmp_path / "capitation.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    out = io.StringIO()
    call_command("capitation_preview", str(path), stdout=out)
    return json.loads(out.getvalue())


def select_action(page, action, pk):
    page.check(f"input.action-select[value='{pk}']")
    page.select_option("select[name=action]", action)
    with page.expect_navigation():
        page.click("button[name=index]")
    page.wait_for_selector("#content-main")


def test_clerk_runs_the_year_end_and_finance_releases_the_clinic_statement(demo, live_server, page, tmp_path):
    clinic = demo
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/admin/settlement/poolmembership/")
    assert_no_horizontal_scroll(page)
    assert "山东大学校医院" in page.locator("#result_list").inner_text()
    page.goto(f"{live_server.url}/admin/settlement/visit/")
    assert_no_horizontal_scroll(page)
    visits = page.locator("#result_list").inner_text()
    assert "山东大学校医院" in visits and "SDU-2021-" in visits

    def start_run(kind, month=None):
        page.goto(f"{live_server.url}/admin/settlement/settlementrun/")
        assert_no_horizontal_scroll(page)
        with page.expect_navigation():
            page.click("text=启动结算")
        page.select_option("#id_region", label=page.locator("#id_region option", has_text="济南").first.inner_text())
        page.select_option("#id_kind", kind)
        page.fill("#id_year", "2021")
        if month:
            page.fill("#id_month", str(month))
        with page.expect_navigation():
            page.click("input[type=submit]")
        page.wait_for_selector("#content")

    # the year end is refused until December is settled too (issue 10 item 3), with the reason in Chinese
    start_run("year_end")
    assert "十二个月度结算" in page.locator(".errorlist").first.inner_text()
    start_run("monthly", 12)
    start_run("year_end")
    run = SettlementRun.objects.get(region__code="370100", kind=RunKind.YEAR_END, year=2021)

    page.goto(f"{live_server.url}/admin/settlement/settlementrun/?kind=year_end")
    assert_no_horizontal_scroll(page)
    row = page.locator("#result_list tbody tr").first.inner_text()
    shot(page, "settlement-run-row")
    assert "已完成" in row and f"{run.institutions_total}/{run.institutions_total}" in row

    statement = InstitutionSettlement.objects.get(run=run, institution=clinic)
    page.goto(f"{live_server.url}/admin/settlement/institutionsettlement/{statement.pk}/print/")
    assert_no_horizontal_scroll(page)
    printed = page.locator("body").inner_text()
    shot(page, "settlement-year-end-statement")
    expected = preview_for(clinic, tmp_path)
    # amounts printed with separators (issue 14 item 5)
    assert format_money(expected["annual_quota"]) in printed and format_money(expected["annual_actual"]) in printed
    assert format_money(expected["final"]) in printed
    assert (str(statement.quota), str(statement.actual), str(statement.paid)) == (
        expected["annual_quota"], expected["annual_actual"], expected["final"])
    # the year-end pays final minus what the monthly runs settled
    assert re.search(re.escape(format_money(statement.payable)), printed)

    # the starter (a clerk without the finance role) is not offered the release
    page.goto(f"{live_server.url}/admin/settlement/institutionsettlement/?run__kind=year_end")
    assert_no_horizontal_scroll(page)
    assert page.locator("select[name=action] option[value=release]").count() == 0

    page.context.clear_cookies()
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/settlement/institutionsettlement/?run__kind=year_end")
    assert_no_horizontal_scroll(page)
    select_action(page, "release", statement.pk)
    # releasing pays: the confirmation page shows the statement and its amount first (issue 14 item 5)
    assert format_money(statement.payable) in page.locator("#confirm-objects").inner_text()
    statement.refresh_from_db()
    assert statement.state != "released"
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.click("#confirm-yes")
    page.wait_for_selector("#content-main")
    shot(page, "settlement-released")
    statement.refresh_from_db()
    assert statement.state == "released" and statement.released_by.username == "finance"
    assert "已提交支付" in page.locator("#result_list").inner_text()
