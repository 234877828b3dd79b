"""Admin (Chinese, bounded queries, export, print, release) and REST API of settlement."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from claims.settlement.models import InstitutionSettlement, RunKind, SettlementRun, StatementState, Visit
from claims.settlement.services import pool_members_sync_schools, settlement_run_start
from medins.models import Designation, Institution
from tests.settlement.conftest import visit


@pytest.fixture
def settled(jinan, clinic, make_student, starter, ingest, django_capture_on_commit_callbacks):
    """make `n` extra pool institutions, settle January 2021 started by `starter`."""

    def make(n):
        pool = Designation.objects.get(code="outpatient_pool")
        for i in range(n):
            inst = Institution.objects.create(region=jinan, code=f"JN-X-{i:03d}", name=f"校医院{i}",
                                              kind="school_clinic", level="primary")
            inst.designations.add(pool)
        student = make_student()
        pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
        ingest([visit("A1", student, dt.date(2021, 1, 5), a="4.00")])
        with django_capture_on_commit_callbacks(execute=True):
            run = settlement_run_start(acting_user=starter, region=jinan, kind=RunKind.MONTHLY, year=2021, month=1)
        return run

    return make


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


@pytest.mark.parametrize("extra", [1, 28])
def test_statement_changelist_queries_do_not_grow(settled, finance_client, django_assert_max_num_queries, extra):
    settled(extra)
    with django_assert_max_num_queries(12):
        response = finance_client.get(reverse("admin:settlement_institutionsettlement_changelist"))
    assert response.status_code == 200
    assert "门诊统筹" in response.content.decode() or "人头" in response.content.decode()


@pytest.mark.parametrize("extra", [1, 28])
def test_run_changelist_queries_do_not_grow(settled, finance_client, django_assert_max_num_queries, extra):
    settled(extra)
    with django_assert_max_num_queries(12):
        assert finance_client.get(reverse("admin:settlement_settlementrun_changelist")).status_code == 200


def test_release_action_and_exports(settled, finance_client, clinic):
    run = settled(1)
    s = InstitutionSettlement.objects.get(run=run, institution=clinic)
    url = reverse("admin:settlement_institutionsettlement_changelist")
    ids = list(InstitutionSettlement.objects.values_list("pk", flat=True))
    csv_response = finance_client.post(url, {"action": "export_csv", "_selected_action": ids})
    text = csv_response.content.decode("utf-8-sig")
    assert "山东大学校医院" in text and "2021-01" in text
    xlsx = finance_client.post(url, {"action": "export_xlsx", "_selected_action": ids})
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == len(ids) + 1
    printed = finance_client.get(reverse("admin:settlement_institutionsettlement_print", args=[s.pk]))
    assert "山东大学校医院" in printed.content.decode()
    finance_client.post(url, {"action": "release", "_selected_action": [s.pk], "confirmed": "yes"})
    s.refresh_from_db()
    assert s.state == StatementState.RELEASED


def test_starter_cannot_release_own_run(settled, client, starter, finance, clinic):
    run = settled(0)
    starter.user_permissions.add(*finance.user_permissions.all())
    client.force_login(starter)
    s = InstitutionSettlement.objects.get(run=run, institution=clinic)
    client.post(reverse("admin:settlement_institutionsettlement_changelist"),
                {"action": "release", "_selected_action": [s.pk], "confirmed": "yes"})
    s.refresh_from_db()
    assert s.state == StatementState.COMPUTED


def test_admin_start_form_starts_a_run_once(jinan, clinic, client, starter, django_capture_on_commit_callbacks):
    client.force_login(starter)
    url = reverse("admin:settlement_settlementrun_start")
    assert client.get(url).status_code == 200
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {"region": jinan.pk, "kind": "monthly", "year": 2021, "month": 3})
        assert response.status_code == 302
    assert SettlementRun.objects.get().state == "finished"


def test_start_form_needs_the_permission(jinan, client, finance):
    client.force_login(finance)
    assert client.get(reverse("admin:settlement_settlementrun_start")).status_code == 403


def test_api_visits_json_idempotent_and_csv_upload(jinan, clinic, make_student, client, make_user):
    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    client.force_login(make_user("his", "settlement.add_visit"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    body = {"visits": [visit("H1", student, dt.date(2021, 3, 1))]}
    first = client.post(url, json.dumps(body), content_type="application/json").json()
    again = client.post(url, json.dumps(body), content_type="application/json").json()
    assert (first["created"], again["created"], again["duplicates"]) == (1, 0, 1)
    csv_text = f"visit_id,id_number,service_date,class_a,class_b,class_c\nH2,{student.id_number},2021-03-02,10.00,0,0\n"
    upload = io.BytesIO(csv_text.encode("utf-8-sig"))
    upload.name = "visits.csv"
    result = client.post(reverse("v1:settlement-visits-file", args=["370100", "JN-S-001"]), {"file": upload}).json()
    assert result["created"] == 1 and Visit.objects.count() == 2


def test_api_visits_refused_for_a_concurrent_change_answers_409_and_saves_nothing(jinan, clinic, make_student, client,
                                                                                make_user):
    """A batch refused because what it read changed meanwhile is a conflict (409), not a bad
    request: nothing was saved and the same batch sent again goes through."""
    from unittest import mock

    from claims.settlement.services import visits as visits_module

    student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    client.force_login(make_user("his", "settlement.add_visit"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    body = json.dumps({"visits": [visit("H1", student, dt.date(2021, 3, 1))]})
    from claims.ledger.errors import LedgerChanged

    with mock.patch.object(visits_module, "ledger_post", side_effect=LedgerChanged([(student.pk, 2021, "", "")])):
        response = client.post(url, body, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "concurrent_change" and not Visit.objects.exists()
    assert client.post(url, body, content_type="application/json").json()["created"] == 1


def test_api_visits_needs_permission(jinan, clinic, client, make_user):
    client.force_login(make_user("nobody"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    assert client.post(url, "{}", content_type="application/json").status_code == 403


@pytest.mark.parametrize("extra", [1, 28])
def test_api_statements_queries_do_not_grow(settled, finance_client, django_assert_max_num_queries, extra):
    settled(extra)
    with django_assert_max_num_queries(7):  # 6 + the institution-operator lookup (object-level scoping)
        body = finance_client.get(reverse("v1:settlement-statements") + "?year=2021").json()
    assert body["count"] == extra + 2


def test_xlsx_export_writes_amounts_as_numbers_with_two_decimals(settled, finance_client, clinic):
    """Issue #10 item 5, DESIGN money (Decimal, never float): each amount of the XLSX export is a
    numeric cell formatted with two decimals — and thousands separators (issue #14 item 5) — holding
    exactly the statement's amount (a number, not text)."""
    from openpyxl import load_workbook

    from claims.settlement.admin import EXPORT_COLUMNS

    run = settled(1)
    s = InstitutionSettlement.objects.get(run=run, institution=clinic)
    xlsx = finance_client.post(reverse("admin:settlement_institutionsettlement_changelist"),
                               {"action": "export_xlsx", "_selected_action": [s.pk]})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    row = {key: sheet.cell(row=2, column=i) for i, (key, _label) in enumerate(EXPORT_COLUMNS, 1)}

    for key in ("quota", "actual", "paid", "adjustment", "payable"):
        cell, amount = row[key], getattr(s, key)
        assert cell.data_type == "n" and cell.number_format == "#,##0.00", key
        assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == amount, key
    assert row["headcount"].value == s.headcount and row["headcount"].number_format == "General"


def test_start_form_year_end_too_early_is_refused_once_in_chinese(jinan, clinic, client, starter, monkeypatch):
    """DOMAIN §8 / issue #14 item 8: a year-end run before the year has ended (here on 15 November
    2021) is refused, with the Chinese message shown once (it was shown twice, in English); a
    monthly run needs a month."""
    import datetime as dt

    monkeypatch.setattr("claims.settlement.services.runs.timezone.localdate", lambda: dt.date(2021, 11, 15))
    client.force_login(starter)
    url = reverse("admin:settlement_settlementrun_start")

    early = client.post(url, {"region": jinan.pk, "kind": "year_end", "year": 2021}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    no_month = client.post(url, {"region": jinan.pk, "kind": "monthly", "year": 2021}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = early.content.decode()
    assert early.status_code == 200 and not SettlementRun.objects.exists()
    assert html.count("2021 年度清算须在 2021 年 12 月 31 日结束后才能启动。") == 1
    assert "can start only after" not in html
    assert no_month.status_code == 200 and no_month.context["form"].errors["month"] == ["月度结算须填写月份（1 至 12）。"]


@pytest.mark.parametrize(("today", "year", "month"), [("2021-12-08", "2021", "11"), ("2022-01-05", "2021", "12")])
def test_start_form_offers_last_month(client, starter, monkeypatch, today, year, month):
    """The start page offers the period a clerk settles now: last month (in January, December of the
    year a year-end run also closes), not the year before whatever the month."""
    import datetime as dt

    monkeypatch.setattr("claims.settlement.admin.pool.timezone.localdate", lambda: dt.date.fromisoformat(today))
    client.force_login(starter)
    html = client.get(reverse("admin:settlement_settlementrun_start")).content.decode()
    assert f'name="year" value="{year}"' in html and f'name="month" value="{month}"' in html
