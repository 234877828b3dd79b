"""Bad input to the settlement API and the admin pool upload is a 400 or a row error, never a 500
(issue 11 finding 6; issue 10 item 4: one parser for files and values)."""

import datetime as dt
import io
import json

from django.urls import reverse

from claims.settlement.models import PoolUpload, Visit
from claims.settlement.services import pool_members_sync_schools
from tests.settlement.conftest import visit


def _file(content: bytes, name: str):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def test_a_non_workbook_xlsx_to_the_visits_api_is_a_400(jinan, clinic, client, make_user):
    """Issue 11 finding 6: a non-workbook XLSX in the settlement API was a 500."""
    client.force_login(make_user("his", "settlement.add_visit"))
    url = reverse("v1:settlement-visits-file", args=["370100", "JN-S-001"])
    response = client.post(url, {"file": _file(b"this is not a workbook", "visits.xlsx")})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "file"


def test_a_non_workbook_xlsx_in_the_admin_pool_upload_is_a_form_error(clinic, client, make_user):
    """Issue 11 finding 6: the admin pool upload answered a non-workbook XLSX with a 500."""
    client.force_login(make_user("clerk2", "settlement.add_visit", "settlement.view_poolupload",
                                 "settlement.add_poolupload"))
    response = client.post(reverse("admin:settlement_poolupload_upload"),
                           {"kind": "visits", "institution": clinic.pk, "file": _file(b"PK\x03\x04garbage", "v.xlsx")})
    assert response.status_code == 200 and PoolUpload.objects.count() == 0
    assert "XLSX" in response.content.decode()


def test_signups_as_a_list_of_strings_are_row_errors(jinan, clinic, client, make_user):
    """Issue 11 finding 6: signups sent as a list of strings gave a 500."""
    client.force_login(make_user("his2", "settlement.add_poolmembership"))
    url = reverse("v1:settlement-signups", args=["370100", "JN-S-001"])
    response = client.post(url, json.dumps({"year": 2021, "signups": ["370102200201011234", "x"]}),
                           content_type="application/json")
    assert response.status_code == 200
    assert [e["field"] for e in response.json()["errors"]] == ["row", "row"]


def test_visits_with_nan_or_a_far_date_are_row_errors_and_good_rows_kept(jinan, clinic, make_student, client, make_user):
    """Issue 10 item 4: a bad value is a per-row error; 9999-12-31 opens no account for year 9999."""
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    client.force_login(make_user("his3", "settlement.add_visit"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    rows = [visit("G1", student, dt.date(2021, 3, 1)), {**visit("N1", student, dt.date(2021, 3, 2)), "class_a": "NaN"},
            {**visit("F1", student, dt.date(2021, 3, 3)), "service_date": "9999-12-31"},
            {**visit("O1", student, dt.date(2021, 3, 4)), "visit_id": {"x": 1}}]
    body = client.post(url, json.dumps({"visits": rows}), content_type="application/json").json()
    assert body["created"] == 1 and Visit.objects.get().visit_id == "G1"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "class_a"), (3, "service_date"), (4, "visit_id")]
    assert not clinic.pool_accounts.filter(year=9999).exists()
