"""Issue #3 items 1 and 5 over the API: masked person lists, the coverage endpoint, recording a payment."""

import datetime as dt

import pytest

from enrollment.services import payment_record, person_stop


def test_person_list_masks_id_numbers_and_bank_accounts(person_factory, clerk_client):
    """DOMAIN §1: ID numbers masked in lists, even for roles that may see them in full."""
    person = person_factory()

    body = clerk_client.get("/api/v1/persons/").json()

    assert body["results"][0]["id_number"] == person.masked_id_number
    assert person.id_number not in str(body) and "bank_account" not in body["results"][0]


@pytest.mark.parametrize("rows", [3, 30])
def test_person_list_query_count_is_bounded(person_factory, school_factory, clerk_client, django_assert_max_num_queries, rows):
    school = school_factory()
    for i in range(rows):
        person_factory(school=school if i % 2 else None)

    with django_assert_max_num_queries(6):
        assert clerk_client.get("/api/v1/persons/").status_code == 200


def test_person_list_search(person_factory, clerk_client):
    wanted, other = person_factory(), person_factory()

    body = clerk_client.get("/api/v1/persons/", {"q": wanted.id_number}).json()

    assert [r["id"] for r in body["results"]] == [wanted.pk]
    assert other.pk != wanted.pk


def test_person_detail_full_for_clerks_masked_for_others(person_factory, clerk_client, viewer_client):
    person = person_factory()

    full = clerk_client.get(f"/api/v1/persons/{person.pk}/").json()
    masked = viewer_client.get(f"/api/v1/persons/{person.pk}/").json()

    assert (full["id_number"], full["bank_account"]) == (person.id_number, person.bank_account)
    assert (masked["id_number"], masked["bank_account"]) == (person.masked_id_number, person.masked_bank_account)


def test_person_api_needs_the_view_permission(person_factory, client, make_user):
    person = person_factory()
    client.force_login(make_user("nobody"))

    assert client.get(f"/api/v1/persons/{person.pk}/coverage/").status_code == 403


def test_coverage_endpoint(person_factory, viewer_client):
    """Issue #3: GET /api/v1/persons/{id}/coverage/?date=YYYY-MM-DD."""
    person = person_factory()
    payment_record(acting_user=None, person=person, receipt_number="R1", paid_on=dt.date(2021, 3, 15), amount=320)

    covered = viewer_client.get(f"/api/v1/persons/{person.pk}/coverage/", {"date": "2021-06-15"}).json()
    waiting = viewer_client.get(f"/api/v1/persons/{person.pk}/coverage/", {"date": "2021-06-14"}).json()

    assert covered == {"person": person.pk, "date": "2021-06-15", "covered": True, "period": {
        "benefit_year": 2021, "covered_from": "2021-06-15", "covered_to": "2021-12-31", "waiting": True,
        "receipt_number": "R1"}}
    assert waiting["covered"] is False and waiting["period"] is None


def test_coverage_endpoint_after_a_stop(person_factory, viewer_client):
    person = person_factory()
    payment_record(acting_user=None, person=person, receipt_number="R1", paid_on=dt.date(2021, 3, 15), amount=320)
    person_stop(acting_user=None, person=person, reason="death", stop_date=dt.date(2021, 8, 1))

    body = viewer_client.get(f"/api/v1/persons/{person.pk}/coverage/", {"date": "2021-08-02"}).json()

    assert body["covered"] is False


def test_coverage_endpoint_errors(person_factory, viewer_client):
    person = person_factory()

    bad = viewer_client.get(f"/api/v1/persons/{person.pk}/coverage/", {"date": "2021-13-01"})
    missing = viewer_client.get("/api/v1/persons/999999/coverage/", {"date": "2021-01-01"})

    assert bad.status_code == 400 and bad.json()["error"]["field"] == "date"
    assert missing.status_code == 404


def test_record_payment_over_the_api(person_factory, clerk_client, changchun_2022):
    person = person_factory()
    body = {"person": person.pk, "receipt_number": "API1", "paid_on": "2021-10-15", "amount": "320.00"}

    created = clerk_client.post("/api/v1/payments/", body, content_type="application/json")
    again = clerk_client.post("/api/v1/payments/", body, content_type="application/json")

    assert created.status_code == 201
    assert created.json()["periods"] == [{"benefit_year": 2022, "covered_from": "2022-01-01",
                                          "covered_to": "2022-12-31", "waiting": False}]
    assert again.status_code == 400
    assert again.json()["error"] == {"code": "duplicate_receipt", "field": "receipt_number",
                                     "message": "receipt_number: receipt API1 is already recorded"}


def test_record_payment_errors_name_the_field(person_factory, clerk_client, viewer_client, changchun_2022):
    person = person_factory()
    body = {"person": person.pk, "receipt_number": "API1", "paid_on": "2021-10-15", "amount": "1.00"}

    wrong = clerk_client.post("/api/v1/payments/", body, content_type="application/json")
    invalid = clerk_client.post("/api/v1/payments/", {**body, "paid_on": "x"}, content_type="application/json")
    forbidden = viewer_client.post("/api/v1/payments/", body, content_type="application/json")

    assert wrong.json()["error"]["field"] == "amount"
    assert invalid.json()["error"]["field"] == "paid_on"
    assert forbidden.status_code == 403
