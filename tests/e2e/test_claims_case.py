"""A clerk takes a case from received to calculated, the approver approves it (issue #4 four eyes, issue #11 roles)."""

import datetime as dt

import pytest

from claims.models import Case, CaseType
from claims.services import case_receive
from enrollment.models import CoveragePeriod
from medins.demo import demo_users_ensure
from tests.claims.factories import PersonFactory, invoice
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def case(reference_data):
    demo_users_ensure()
    from django.contrib.auth import get_user_model

    person = PersonFactory(birth=dt.date(1980, 3, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1), covered_to=dt.date(2021, 12, 31))
    case_type = CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")
    return case_receive(acting_user=get_user_model().objects.get(username="intake_clerk"), case_type=case_type, person=person,
                        service_from="2021-05-10", service_to="2021-05-20", institution_name="北京协和医院",
                        institution_level="municipal_tertiary", invoices=[invoice()],
                        materials_received=[m.code for m in case_type.materials.all()])


def click_action(page, name, *, confirm=False):
    """A step button submits the case form (issue 14 item 5); a step that moves money asks first."""
    with page.expect_navigation():
        page.click(f"[data-action={name}]")
    page.wait_for_selector("#content-main")
    assert_no_horizontal_scroll(page)
    if confirm:
        assert page.locator("#confirm-yes").count() == 1
        with page.expect_navigation():
            page.click("#confirm-yes")
        page.wait_for_selector("#content-main")
        assert_no_horizontal_scroll(page)


def test_case_from_received_to_approved_by_two_clerks(case, live_server, page):
    url = f"{live_server.url}/admin/claims/case/{case.pk}/change/"
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/admin/claims/case/?queue=new")
    assert case.number in page.locator("#result_list").inner_text()
    assert_no_horizontal_scroll(page)
    page.goto(url)
    assert_no_horizontal_scroll(page)
    click_action(page, "start_review")
    click_action(page, "calculate")
    shot(page, "case-calculated")
    assert "220100-2021" in page.content()
    # approving is the approver's alone (issue #11 finding 2): the reviewer has no approve button
    assert page.locator("[data-action=approve]").count() == 0
    page.context.clear_cookies()
    login(page, live_server, "approver")
    page.goto(url)
    click_action(page, "approve", confirm=True)  # it orders the payment: a confirmation page first
    shot(page, "case-approved")
    case.refresh_from_db()
    assert case.state == "approved"
    assert list(Case.objects.get(pk=case.pk).transitions.values_list("to_state", flat=True)) == [
        "received", "under_review", "calculated", "approved"]


def test_ticked_materials_are_kept_when_a_step_button_is_pressed(reference_data, live_server, page):
    """Issue 14 item 5: "the case page's material ticks are lost when a workflow button is pressed".
    The clerk ticks the missing materials and presses "Start review": one form, so the ticks are
    saved and the case moves (which it may only with every material in)."""
    demo_users_ensure()
    from django.contrib.auth import get_user_model

    person = PersonFactory(birth=dt.date(1980, 3, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                  covered_to=dt.date(2021, 12, 31))
    case_type = CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")
    case = case_receive(acting_user=get_user_model().objects.get(username="intake_clerk"), case_type=case_type, person=person,
                        service_from="2021-05-10", service_to="2021-05-20", institution_name="北京协和医院",
                        institution_level="municipal_tertiary", invoices=[invoice()], materials_received=[])
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/admin/claims/case/?q={person.name}")
    assert_no_horizontal_scroll(page)  # the case list at 1366 px (issue 14 item 7)
    page.goto(f"{live_server.url}/admin/claims/case/{case.pk}/change/")
    assert_no_horizontal_scroll(page)
    boxes = page.locator("input[name^=materials-][name$=-received]")
    assert boxes.count() == case_type.materials.count()
    for i in range(boxes.count()):
        boxes.nth(i).check()
    click_action(page, "start_review")
    shot(page, "case-ticks-kept")
    case.refresh_from_db()
    assert case.state == "under_review"
    assert not case.materials.filter(received=False).exists()
    assert case.number in page.locator(".messagelist").inner_text()  # "saved; Start review — done"
