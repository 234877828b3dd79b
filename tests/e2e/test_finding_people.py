"""Issue #14 item 6 in the browser: the intake clerk opens 新增案件, types the last four digits of an ID
number in the 参保人 box, picks the person (shown by name and masked ID number) and saves the case."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from claims.models import Case, CaseType
from enrollment.models import CoveragePeriod
from medins.demo import demo_users_ensure
from tests.claims.factories import PersonFactory
from tests.e2e.conftest import shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def persons(reference_data):
    demo_users_ensure()
    wanted = PersonFactory(name="欧阳修", birth=dt.date(1980, 3, 1), seq=417)
    other = PersonFactory(name="欧阳询", birth=dt.date(1981, 4, 2), seq=523)
    for person in (wanted, other):
        CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                      covered_to=dt.date(2021, 12, 31))
    return wanted, other


def choose(page, field, term, label):
    """Open the select2 box of `field`, type `term`, pick the suggestion reading `label`."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", term)
    option = page.locator(".select2-results__option", has_text=label)
    option.wait_for()
    # the last digits name one person here; to_have_count waits for select2 to replace its previous
    # list (counting at once raced it: "Searching…" and stale options were still there)
    expect(page.locator(".select2-results__option")).to_have_count(1)
    option.click()


def test_intake_clerk_picks_the_person_by_the_last_digits_of_the_id_number(persons, live_server, page):
    wanted, other = persons
    case_type = CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")
    login(page, live_server, "intake_clerk")
    page.goto(f"{live_server.url}/admin/claims/case/add/")

    # no raw database-id box: the person box is a select2 autocomplete
    assert page.locator("#lookup_id_person").count() == 0
    choose(page, "person", wanted.id_number[-4:], wanted.masked_id_number)
    chosen = page.locator("#id_person + .select2 .select2-selection__rendered").inner_text()
    shot(page, "case-add-person-chosen")
    assert chosen.strip().lstrip("×").strip() == f"欧阳修 {wanted.masked_id_number}"
    assert wanted.id_number not in page.content()

    page.select_option("#id_case_type", str(case_type.pk))
    page.fill("#id_service_from", "2021-05-10")
    page.fill("#id_service_to", "2021-05-20")
    page.fill("#id_institution_name", "北京协和医院")
    page.select_option("#id_institution_level", "municipal_tertiary")
    page.fill("#id_bank_account", "6222020200112345678")
    page.check("#id_materials_received")
    page.locator(".add-row a").first.click()
    row = "#id_invoices-0-"
    page.fill(row + "issuer", "吉林大学第一医院")
    page.fill(row + "number", "INV-E2E-1")
    page.fill(row + "issued_on", "2021-05-20")
    page.select_option(row + "kind", "original")
    page.fill(row + "class_a", "20000.00")
    page.fill(row + "class_b", "10000.00")
    page.fill(row + "class_c", "1500.00")
    with page.expect_navigation():
        page.click("input[name=_save]")
    shot(page, "case-add-saved")

    case = Case.objects.get()
    assert case.person_id == wanted.pk and case.person_id != other.pk
    assert page.locator(".errornote").count() == 0
