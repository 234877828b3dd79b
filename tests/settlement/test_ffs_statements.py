"""Monthly fee-for-service statements of certified visits, release by finance, payment orders
(issue 12 item 5; DESIGN "Idempotency", "Jobs … never pay twice", four eyes)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from claims.models import PaymentFile, PaymentOrder
from claims.services import payment_result_import
from claims.services.payments import PaymentRefused, payment_order_for_institution
from claims.settlement.errors import ReleaseRefused
from claims.settlement.models import CertifiedVisit, FeeStatement, RunKind, RunState, SettlementRun
from claims.settlement.services import fee_statement_release, settlement_run_start, visits_receive
from claims.tasks import payment_orders_nightly

from .conftest import cvisit

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def run_month(changchun, django_capture_on_commit_callbacks):
    def run(month, user=None, year=2021):
        with django_capture_on_commit_callbacks(execute=True):
            started = settlement_run_start(acting_user=user, region=changchun, kind=RunKind.FEE_FOR_SERVICE,
                                           year=year, month=month)
        started.refresh_from_db()
        return started

    return run


@pytest.fixture
def paid_institutions(cc):
    for inst in cc.values():
        inst.bank_name, inst.bank_account, inst.bank_account_name = "中国银行", "6216600000001234567", inst.name
        inst.save()
    return cc


@pytest.fixture
def chronic_patient(paid_institutions, make_resident, certify):
    person = make_resident()
    certify(person, "chronic", "diabetes", paid_institutions["primary"])
    return person


def send(institution, rows):
    result = visits_receive(acting_user=None, institution=institution, rows=rows)
    assert not result.errors, result.errors
    return result


def test_statement_totals_are_the_fund_of_the_visits_behind_it(cc, chronic_patient, run_month):
    """Issue 12 item 5: payable = fund sum, with the visits behind it; one statement per institution and benefit."""
    send(cc["primary"], [cvisit(f"V-{k}", chronic_patient, D(2021, 5, 1 + k), "chronic", "diabetes", "100.00", "50.00")
                         for k in range(3)])
    send(cc["primary"], [cvisit("V-6", chronic_patient, D(2021, 6, 2), "chronic", "diabetes", "100.00")])
    run = run_month(5)
    assert run.state == RunState.FINISHED and run.kind == RunKind.FEE_FOR_SERVICE
    statement = FeeStatement.objects.get()
    visits = CertifiedVisit.objects.filter(statement=statement)
    assert statement.visits_count == visits.count() == 3  # the June visit waits for June's statement
    assert statement.payable == visits.aggregate(s=Sum("fund"))["s"] == Decimal("270.00")  # 3 × 60% of 150
    assert statement.total == Decimal("450.00") and statement.personal == Decimal("180.00")
    assert (statement.benefit, statement.year, statement.month) == ("chronic", 2021, 5)


def test_rerunning_changes_nothing_and_late_visits_go_to_the_next_statement(cc, chronic_patient, run_month):
    """Decision (services/statements.py): a visit arriving after its month's statement goes onto the next one."""
    send(cc["primary"], [cvisit("A-1", chronic_patient, D(2021, 5, 3), "chronic", "diabetes")])
    first = run_month(5)
    send(cc["primary"], [cvisit("A-2", chronic_patient, D(2021, 5, 20), "chronic", "diabetes")])  # late
    again = run_month(5)
    assert again.pk == first.pk and FeeStatement.objects.count() == 1
    may = FeeStatement.objects.get(month=5)
    assert may.visits_count == 1 and may.payable == Decimal("60.00")
    run_month(6)
    june = FeeStatement.objects.get(month=6)
    assert (june.visits_count, june.late_visits_count, june.payable) == (1, 1, Decimal("60.00"))
    assert CertifiedVisit.objects.get(visit_id="A-2").statement == june


def test_one_statement_per_benefit(cc, paid_institutions, make_resident, certify, run_month):
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["secondary"])
    certify(person, "chronic", "diabetes", cc["secondary"])
    send(cc["secondary"], [cvisit("B-1", person, D(2021, 5, 3), "chronic", "diabetes"),
                           cvisit("B-2", person, D(2021, 5, 3), "special_disease", "SPD-027", "1000.00")])
    run_month(5)
    assert sorted(FeeStatement.objects.values_list("benefit", flat=True)) == ["chronic", "special_disease"]


def test_release_is_four_eyed_and_orders_one_payment(cc, chronic_patient, run_month, make_user):
    """Like settlement_release: finance releases, never whoever produced the statement."""
    clerk = make_user("producer", "settlement.release_feestatement", "settlement.start_settlementrun")
    finance = make_user("fin", "settlement.release_feestatement")
    send(cc["primary"], [cvisit("R-1", chronic_patient, D(2021, 5, 3), "chronic", "diabetes", "500.00")])
    run_month(5, user=clerk)
    statement = FeeStatement.objects.get()
    with pytest.raises(ReleaseRefused):
        fee_statement_release(acting_user=clerk, statement=statement)
    with pytest.raises(ReleaseRefused):
        fee_statement_release(acting_user=make_user("nobody"), statement=statement)
    fee_statement_release(acting_user=finance, statement=statement)
    with pytest.raises(ReleaseRefused):
        fee_statement_release(acting_user=finance, statement=statement)
    order = PaymentOrder.objects.get()
    assert (order.payee_institution, order.case, order.amount, order.source_kind, order.source_id) == (
        cc["primary"], None, Decimal("300.00"), "fee_statement", statement.pk)
    assert order.payment_file is None and order.bank_account == cc["primary"].bank_account


def test_payment_order_for_a_payable_is_created_once(cc, paid_institutions):
    """One live order per payable; a failed one may be ordered again."""
    args = {"acting_user": None, "institution": cc["primary"], "amount": Decimal("10.00"), "source_kind": "fee_statement",
            "source_id": 77}
    first = payment_order_for_institution(**args)
    assert payment_order_for_institution(**args) == first and PaymentOrder.objects.count() == 1
    PaymentOrder.objects.filter(pk=first.pk).update(status="failed")
    assert payment_order_for_institution(**args) != first
    with pytest.raises(PaymentRefused):
        payment_order_for_institution(**{**args, "source_id": 78, "amount": Decimal("0.00")})


def test_an_institution_without_a_bank_account_is_refused(cc):
    with pytest.raises(PaymentRefused, match="bank account|银行账户"):
        payment_order_for_institution(acting_user=None, institution=cc["tertiary"], amount=Decimal("1.00"),
                                      source_kind="fee_statement", source_id=1)


def test_the_database_refuses_an_order_with_two_payees_or_none(cc, chronic_patient):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentOrder.objects.create(amount=1, bank_account="1", account_name="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentOrder.objects.create(amount=1, bank_account="1", account_name="x", payee_institution=cc["primary"])


def test_the_daily_payment_file_includes_released_statements_and_the_bank_result_marks_them(
        cc, chronic_patient, run_month, make_user):
    send(cc["primary"], [cvisit("F-1", chronic_patient, D(2021, 5, 3), "chronic", "diabetes", "500.00")])
    run_month(5)
    statement = FeeStatement.objects.get()
    fee_statement_release(acting_user=make_user("fin", "settlement.release_feestatement"), statement=statement)
    result = payment_orders_nightly("2021-06-02")
    assert result["orders"] == 1
    payment_file = PaymentFile.objects.get()
    order = PaymentOrder.objects.get()
    assert order.payment_file == payment_file and payment_file.total_amount == Decimal("300.00")
    assert f"ZF{order.pk:08d},JS{statement.pk:08d},{cc['primary'].name},6216600000001234567,300.00" in payment_file.content
    payment_orders_nightly("2021-06-03")
    assert PaymentFile.objects.get(pay_date="2021-06-03").order_count == 0  # never paid twice
    counts = payment_result_import(acting_user=make_user("bank", "claims.import_bank_result"),
                                   content=f"order_no,result,message\nZF{order.pk:08d},success,\n")
    assert counts["paid"] == 1
    order.refresh_from_db()
    assert order.status == "paid"


def test_statement_admin_lists_and_shows_the_visits_with_a_pinned_query_count(
        cc, chronic_patient, run_month, superuser_client, django_assert_max_num_queries):
    send(cc["primary"], [cvisit(f"W-{k}", chronic_patient, D(2021, 5, 1 + k), "chronic", "diabetes")
                         for k in range(5)])
    run_month(5)
    statement = FeeStatement.objects.get()
    with django_assert_max_num_queries(12):
        page = superuser_client.get(reverse("admin:settlement_feestatement_changelist"))
    assert page.status_code == 200 and "门诊慢性病" in page.content.decode()
    with django_assert_max_num_queries(16):
        detail = superuser_client.get(reverse("admin:settlement_feestatement_change", args=[statement.pk]))
    body = detail.content.decode()
    assert detail.status_code == 200 and "W-4" in body and "W-0" in body
    printed = superuser_client.get(reverse("admin:settlement_feestatement_print", args=[statement.pk]))
    assert printed.status_code == 200 and "按项目付费结算单" in printed.content.decode()
    exported = superuser_client.post(reverse("admin:settlement_feestatement_changelist"),
                                     {"action": "export_csv", "_selected_action": [statement.pk]})
    assert exported.status_code == 200 and "W-3" in exported.content.decode("utf-8-sig")
    # the disease by its catalogue name beside its code (issue 14 item 4)
    header, first = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[:2]
    assert (first[header.index("病种或药品")], first[header.index("病种或药品编码")]) == ("糖尿病", "diabetes")


def test_an_institution_operator_sees_only_its_own_statements(cc, paid_institutions, chronic_patient, make_resident,
                                                              certify, run_month, client):
    from claims.settlement.models import InstitutionOperator
    from medins.roles import roles_sync
    from tests.enrollment import factories as ef

    other = make_resident()
    certify(other, "chronic", "diabetes", cc["primary2"])
    send(cc["primary"], [cvisit("K-1", chronic_patient, D(2021, 5, 3), "chronic", "diabetes")])
    send(cc["primary2"], [cvisit("K-2", other, D(2021, 5, 3), "chronic", "diabetes")])
    run_month(5)
    roles_sync()
    from django.contrib.auth.models import Group

    user = ef.UserFactory(username="op-primary")
    user.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=user, institution=cc["primary"])
    client.force_login(user)
    page = client.get(reverse("admin:settlement_feestatement_changelist"))
    assert page.status_code == 200
    mine, theirs = FeeStatement.objects.get(institution=cc["primary"]), FeeStatement.objects.get(
        institution=cc["primary2"])
    assert client.get(reverse("admin:settlement_feestatement_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:settlement_feestatement_change", args=[theirs.pk])).status_code in (302, 404)


def test_beat_task_starts_a_run_per_region(changchun, django_capture_on_commit_callbacks):
    from claims.settlement.tasks import fee_statements_monthly

    with django_capture_on_commit_callbacks(execute=True):
        runs = fee_statements_monthly(2021, 5)
    assert SettlementRun.objects.filter(pk__in=runs, kind=RunKind.FEE_FOR_SERVICE).count() == len(runs) >= 1


def test_statement_exports_and_print_name_the_disease_beside_its_code_in_bounded_queries(
        cc, chronic_patient, run_month, superuser_client, django_assert_max_num_queries):
    """Issue 14 item 4: the CSV, the XLSX, the print and the statement's page show the catalogue
    name of the disease or drug and keep its code; the names cost one query for any number of visits."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from openpyxl import load_workbook

    send(cc["primary"], [cvisit("M-1", chronic_patient, D(2021, 5, 3), "chronic", "diabetes")])
    send(cc["primary"], [cvisit(f"J-{k}", chronic_patient, D(2021, 6, 1 + k), "chronic", "diabetes") for k in range(6)])
    run_month(5)
    run_month(6)
    may, june = FeeStatement.objects.order_by("month")
    url = reverse("admin:settlement_feestatement_changelist")

    def export(action, *statements):
        with CaptureQueriesContext(connection) as queries:
            response = superuser_client.post(url, {"action": action, "_selected_action": [s.pk for s in statements]})
        assert response.status_code == 200
        return response, len(queries)

    (_response, one), (csv_response, seven) = export("export_csv", may), export("export_csv", may, june)
    assert seven == one  # not a query per visit (nor per statement)
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    header, visits = rows[0], rows[1:]
    assert len(visits) == 7
    assert {(r[header.index("病种或药品")], r[header.index("病种或药品编码")]) for r in visits} == {("糖尿病", "diabetes")}
    with django_assert_max_num_queries(seven):
        xlsx, _count = export("export_xlsx", may, june)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    name_at, code_at = values[0].index("病种或药品"), values[0].index("病种或药品编码")
    assert {(r[name_at], r[code_at]) for r in values[1:]} == {("糖尿病", "diabetes")}
    with django_assert_max_num_queries(12):
        printed = superuser_client.get(reverse("admin:settlement_feestatement_print", args=[june.pk])).content.decode()
    assert printed.count("糖尿病 <code>diabetes</code>") == 6
    page = superuser_client.get(reverse("admin:settlement_feestatement_change", args=[june.pk])).content.decode()
    assert page.count("糖尿病 <code>diabetes</code>") == 6
