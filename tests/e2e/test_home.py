"""Each demo role's home page in Chromium (issue 14 item 1): its queues with their counts and the
age of the oldest, a count's link opening the filtered list, no horizontal scroll at 1440 and 1366
px, no English on the work cards of a Chinese user, and the supervisor's three charts drawn by
Chart.js with data."""

import re
from decimal import Decimal

import pytest

from claims.models import PaymentOrder
from medins.demo import DEMO_PASSWORD
from tests.e2e.conftest import shot
from tests.e2e.test_reference_admin import login
from tests.medins import home_world
from tests.medins.test_home import EXPECTED

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = ((1440, 900), (1366, 768))


@pytest.fixture
def world(reference_data):
    data = home_world.build(password=DEMO_PASSWORD)
    PaymentOrder.objects.create(case=data["cases"][5], amount=Decimal("1234.50"), bank_account="6222020200100001001",
                                account_name="某某", status="paid")
    return data


def _no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def _cards_text(page):
    return page.inner_text("#home-cards")


@pytest.mark.parametrize("role", ["intake_clerk", "reviewer", "approver", "finance", "policy_admin", "assessor",
                                  "institution_operator"])
def test_each_role_sees_its_queues_with_counts(world, live_server, page, role):
    login(page, live_server, role)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/admin/")
        shown = page.eval_on_selector_all("#home-cards tr[data-queue]", "rows => rows.map(r => r.dataset.queue)")
        assert set(shown) == EXPECTED[role]
        for key in shown:
            count, age = home_world.COUNTS.get(key, (0, None))
            row = page.locator(f'tr[data-queue="{key}"]')
            assert row.locator("a[data-count]").inner_text().strip() == str(count), key
            age_text = row.locator("td.age").inner_text().strip()
            if age is None:
                assert age_text == "—"
            else:
                assert age_text == ("最早 今天" if age == 0 else f"最早 {age} 天前"), key
        assert _no_horizontal_scroll(page), (role, width)
        # Chinese only on the work cards of a zh-hans user (issue 14 item 4)
        assert not re.search(r"[A-Za-z]{2,}", _cards_text(page)), _cards_text(page)
        assert page.locator("#home-all").is_visible()  # the list of every page stays below
        shot(page, f"home-{role}-{width}")


def test_a_count_opens_the_list_of_exactly_those_items(world, live_server, page):
    login(page, live_server, "intake_clerk")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/admin/")
    with page.expect_navigation():
        page.click('tr[data-queue="claims.case.new"] a[data-count]')
    assert "queue=new" in page.url
    assert page.locator("#result_list tbody tr").count() == home_world.COUNTS["claims.case.new"][0]


def test_the_supervisor_sees_the_fund_at_a_glance(world, live_server, page):
    login(page, live_server, "supervisor")
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/admin/")
        page.wait_for_selector('canvas[data-chart="home-chart-times"][data-rendered="true"]')
        drawn = page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
            const chart = Chart.getChart(c);
            return {id: c.dataset.chart, width: c.width, height: c.height,
                    values: chart ? chart.data.datasets.flatMap(d => d.data) : null};
        })""")
        by_id = {d["id"]: d for d in drawn}
        # and fund security's findings and recoveries by month (claims.supervision.home, issue 15 item 5)
        assert set(by_id) == {"home-chart-payments", "home-chart-queues", "home-chart-times", "home-chart-recoveries"}
        for d in drawn:
            assert d["values"] is not None and d["width"] > 100 and d["height"] > 100, d
        assert 1234.5 in by_id["home-chart-payments"]["values"]
        assert 2 in by_id["home-chart-queues"]["values"]  # two new cases
        assert _no_horizontal_scroll(page), width
        # no queue card of its own (read-only): the queues appear in the queue-sizes card only
        assert page.locator("#home-cards > section[data-card^='queues:']").count() == 0
        assert page.locator("[data-card='fund.queues'] tr[data-queue]").count() == len(by_id["home-chart-queues"]["values"])
        shot(page, f"home-supervisor-{width}")
    # the table under the queue chart links to the filtered list
    page.click("[data-card='fund.queues'] details summary")
    with page.expect_navigation():
        page.click("[data-card='fund.queues'] tr[data-queue='claims.case.new'] a")
    assert page.locator("#result_list tbody tr").count() == 2
