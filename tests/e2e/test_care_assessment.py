"""Long-term care (issue 13, DOMAIN.md §7): an assessor picks the ten items, the score is shown as
they are chosen (never typed); a second assessor re-assesses on site, a reviewer and an approver
decide; the notice prints the result."""

import datetime as dt

import pytest

from carecare.models import Assessment
from carecare.services.assessments import assessment_request
from medins.demo import demo_users_ensure
from tests.claims.factories import PersonFactory, cover
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LTC_E0 = {"feeding": 5, "bathing": 0, "grooming": 0, "dressing": 5, "bowels": 10, "bladder": 5, "toilet": 5,
          "transfer": 5, "walking": 0, "stairs": 0}


@pytest.fixture
def requested(reference_data):
    demo_users_ensure()
    from django.contrib.auth import get_user_model

    person = PersonFactory(birth=dt.date(1940, 5, 1))
    cover(person)
    return assessment_request(acting_user=get_user_model().objects.get(username="intake_clerk"), person=person,
                              requested_by="person", requested_on=dt.date(2021, 6, 1))


def _items(page, date):
    score = page.locator("#care-score")
    for i, (code, value) in enumerate(LTC_E0.items()):
        page.select_option(f"select[name=item_{code}]", str(value))
        if i == 3:
            assert score.inner_text() == "10 (4/10)"  # shown live while the items are chosen
    assert score.inner_text() == "35"
    page.fill("input[name=assessed_on]", date)
    with page.expect_navigation():
        page.click("#care-items input[type=submit]")


def _step(page, name, date=None):
    form = page.locator(f"form:has(input[data-action={name}])")
    if date:
        form.locator("input[name=on]").fill(date)
    with page.expect_navigation():
        form.locator(f"input[data-action={name}]").click()
    if page.locator("#confirm-yes").count():  # a step that moves money or cannot be undone asks first (issue 14 item 5)
        assert_no_horizontal_scroll(page)
        with page.expect_navigation():
            page.click("#confirm-yes")


def test_assessment_with_live_score_and_four_eyes(requested, live_server, page):
    url = f"{live_server.url}/admin/carecare/assessment/{requested.pk}/change/"
    login(page, live_server, "assessor")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _items(page, "2021-06-03")
    shot(page, "care-assessed")
    page.context.clear_cookies()
    login(page, live_server, "assessor2")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _items(page, "2021-06-10")
    page.context.clear_cookies()
    login(page, live_server, "reviewer")
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _step(page, "review_start", "2021-06-11")
    assert page.locator("input[data-action=approve]").count() == 0
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(f"{live_server.url}/admin/carecare/assessment/?queue=to_approve")
    assert_no_horizontal_scroll(page)
    assert page.locator("#result_list tbody tr").count() == 1
    page.goto(url)
    assert_no_horizontal_scroll(page)
    _step(page, "approve", "2021-06-15")
    a = Assessment.objects.get(pk=requested.pk)
    assert (a.state, a.score, a.grade, a.valid_to) == ("approved", 35, "severe", dt.date(2023, 6, 15))
    page.goto(f"{live_server.url}/admin/carecare/assessment/{requested.pk}/notice/")
    assert_no_horizontal_scroll(page)
    assert "重度失能" in page.content() and "2023-06-15" in page.content()
    shot(page, "care-notice")
