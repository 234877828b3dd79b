"""A clerk logs in, finds an institution and reads the Changchun 2021 inpatient parameters (issue #2, done-when)."""


import pytest

from medins.demo import DEMO_PASSWORD, demo_users_ensure
from tests.e2e.conftest import assert_no_horizontal_scroll, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(reference_data):
    demo_users_ensure()


def login(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def test_clerk_finds_an_institution_and_reads_inpatient_policy(demo, live_server, page):
    login(page, live_server, "reviewer")
    assert "站点管理" in page.content() or "城乡居民" in page.content()

    page.goto(f"{live_server.url}/admin/medins/institution/?q=中日联谊")
    assert_no_horizontal_scroll(page)
    shot(page, "institution-search")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "中日联谊" in rows.first.inner_text()

    page.goto(f"{live_server.url}/admin/medins/policyparameter/?q=inpatient.deductible")
    assert_no_horizontal_scroll(page)
    shot(page, "parameter-search")
    assert "220100-2021" in page.locator("#result_list").inner_text()
    with page.expect_navigation():
        page.locator("#result_list tbody tr a").first.click()
    page.wait_for_selector("#content-main")
    shot(page, "parameter-detail")
    body = page.content()
    assert "起付线" in body
    assert "1200" in body


def test_policy_admin_imports_institutions_with_a_preview(demo, live_server, page):
    """Issue 12 item 3 / issue 13 item 2: the agency adds the institutions the seeds do not name."""
    from pathlib import Path

    from medins.models import Institution

    sample = Path(__file__).resolve().parents[2] / "medins" / "samples" / "institutions_sample.csv"
    login(page, live_server, "policy_admin")
    page.goto(f"{live_server.url}/admin/medins/institution/")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.click("text=导入定点机构")
    page.set_input_files("input[type=file]", str(sample))
    with page.expect_navigation():
        page.click("input[type=submit]")
    shot(page, "institution-import-check")
    errors = page.locator("#row-errors").inner_text()
    assert "定点资格" in errors and "乡镇卫生院" in errors
    assert "CC-L-101" in page.locator("#row-changes").inner_text()
    assert not Institution.objects.filter(code="CC-L-101").exists()
    with page.expect_navigation():
        page.click("input[name=confirm]")
    shot(page, "institution-import-done")
    assert "已新增机构 4 家" in page.locator(".messagelist").inner_text()
    assert Institution.objects.get(code="CC-L-101").designations.filter(code="ltc_home").exists()
