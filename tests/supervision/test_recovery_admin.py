"""Recovery in the admin (issue 15 items 4–5): the confirmed finding's button makes the re-quoted
orders; finance records a repayment, an approver the write-off; the orders list has bounded
queries; the report of findings and recoveries by month, rule and institution, exported as XLSX
with numeric cells."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from claims.supervision.models import RecoveryOrder
from claims.supervision.recovery import recovery_order_create
from tests.confirming import confirm_then_do, is_confirmation

from .test_recovery import bed_holding, confirmed, owed  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
M = Decimal


def test_the_confirmed_findings_button_creates_the_orders(bed_holding, supervisors, client, role_user):  # noqa: F811
    case, finding = bed_holding
    page = reverse("admin:supervision_finding_change", args=[finding.pk])
    url = reverse("admin:supervision_finding_recover", args=[finding.pk])
    client.force_login(role_user("fin-x", "finance"))
    assert client.post(url).status_code == 403  # finance does not create orders
    client.force_login(supervisors[0])
    assert b"recover-button" in client.get(page).content
    response = client.post(url)
    assert response.status_code == 302
    assert sorted(RecoveryOrder.objects.values_list("kind", "amount")) == [("recovery", M("72.00")), ("refund", M("48.00"))]
    shown = client.get(page).content.decode()
    assert "recover-button" not in shown and "ZH" in shown


def test_orders_list_is_bounded_and_steps_follow_the_roles(owed, supervisors, role_user, client,  # noqa: F811
                                                           django_assert_max_num_queries):
    _h1, order = owed
    client.force_login(supervisors[0])
    with django_assert_max_num_queries(14):
        listing = client.get(reverse("admin:supervision_recoveryorder_changelist"))
    assert listing.status_code == 200 and order.number in listing.content.decode()
    act = reverse("admin:supervision_recoveryorder_act", args=[order.pk])
    assert client.post(act, {"action": "repaid", "value": "X"}).status_code == 403  # a supervisor records no repayment
    client.post(act, {"action": "write_off_request", "value": "无可执行财产"})
    order.refresh_from_db()
    assert order.state == "write_off_pending"
    approver = role_user("appr-x", "approver")
    client.force_login(approver)
    assert b"write_off_approve" in client.get(reverse("admin:supervision_recoveryorder_change", args=[order.pk])).content
    # the write-off gives the money up: it asks first, showing the outstanding amount, and nothing moves before "Yes"
    asked, _done = confirm_then_do(client, act, {"action": "write_off_approve"})
    assert asked.context["total"] == M("150.00") and "无可执行财产" in asked.content.decode()
    order.refresh_from_db()
    assert (order.state, order.written_off_by) == ("written_off", approver)


def test_repayment_asks_for_the_reference_then_confirms(owed, role_user, client):  # noqa: F811
    """Finance records a repayment: without the reference it is refused before the confirmation page
    (the service's own words); with it the page shows the order's outstanding amount, and only its
    "Yes" settles the order. A step the order no longer offers is refused; an order that does not
    exist is 404; a user who cannot see orders gets 403."""
    _h1, order = owed
    act = reverse("admin:supervision_recoveryorder_act", args=[order.pk])
    client.force_login(role_user("pol-x", "policy_admin"))
    assert client.post(act, {"action": "repaid", "value": "X"}).status_code == 403
    client.force_login(role_user("fin-x", "finance"))
    page = client.get(reverse("admin:supervision_recoveryorder_change", args=[order.pk])).content.decode()
    assert 'placeholder="银行流水号或收据号"' in page  # what a repayment's reference is (not a settlement number)
    assert client.post(reverse("admin:supervision_recoveryorder_act", args=[order.pk + 1000]),
                       {"action": "repaid", "value": "X"}).status_code == 404
    missing = client.post(act, {"action": "repaid", "value": " "}, follow=True)
    assert not is_confirmation(missing)
    assert "登记还款须填写银行流水号或收据号" in " ".join(str(m) for m in missing.context["messages"])
    asked = client.post(act, {"action": "repaid", "value": "BOC-0001"})
    assert is_confirmation(asked) and asked.context["total"] == M("150.00") and "BOC-0001" in asked.content.decode()
    order.refresh_from_db()
    assert order.state == "open"
    client.post(act, {"action": "repaid", "value": "BOC-0001", "confirmed": "yes"})
    order.refresh_from_db()
    assert (order.state, order.repaid_reference, order.outstanding) == ("settled", "BOC-0001", M("0.00"))
    again = client.post(act, {"action": "repaid", "value": "BOC-0002", "confirmed": "yes"}, follow=True)
    assert "不能执行" in " ".join(str(m) for m in again.context["messages"])
    order.refresh_from_db()
    assert order.repaid_reference == "BOC-0001"


def test_report_by_month_rule_and_institution_with_xlsx_export(owed, bed_holding, supervisors, client):  # noqa: F811
    """Issue 15 item 5: findings and recoveries by rule, institution and month; numbers as numeric cells."""
    h1, order = owed
    _case, finding = bed_holding
    recovery_order_create(acting_user=supervisors[0], finding=finding)
    client.force_login(supervisors[0])
    url = reverse("admin:supervision_recoveryorder_report")
    page = client.get(url, {"year": "2021"})
    rows = {(r["month"], r["rule"]): r for r in page.context["rows"]}
    dup = rows[("2021-06", "duplicate_invoice")]
    assert (dup["findings"], dup["confirmed"], dup["orders"], dup["ordered"], dup["outstanding"]) == (
        1, 1, 1, M("150.00"), M("150.00"))
    bed = rows[("2021-06", "bed_holding")]
    assert (bed["ordered"], bed["refunds"], bed["institution"]) == (M("72.00"), M("48.00"), h1.name)
    assert page.context["totals"]["ordered"] == M("222.00")
    xlsx = client.get(url, {"year": "2021", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert sheet.max_row == len(rows) + 1
    ordered_col = header.index(page.context["columns"][8][1])
    values = sorted(sheet.cell(row=i, column=ordered_col + 1).value for i in range(2, sheet.max_row + 1))
    assert values == [72, 150] and all(isinstance(v, (int, float)) for v in values)
    assert client.get(url, {"year": "2020"}).context["rows"] == []


def test_the_offset_is_shown_on_the_payment_order(owed, role_user, client):  # noqa: F811
    """Issue 15 item 4: the offset is recorded on both sides — the order's offsets and the payment order's page."""
    from .test_recovery import pay

    h1, order = owed
    payment = pay(h1, "400.00", 21)
    assert payment.amount == M("250.00")
    client.force_login(role_user("fin-y", "finance"))
    page = client.get(reverse("admin:claims_paymentorder_change", args=[payment.pk])).content.decode()
    assert f"{order.number} −150.00" in page
    assert payment.pk in order.offsets.values_list("payment_order_id", flat=True)


def test_the_supervisors_home_page_charts_findings_and_recoveries(owed, supervisors, role_user, client):  # noqa: F811
    """Issue 15 item 5: the chart on the supervisor's home page (medins.home card), figures by month."""
    from claims.supervision.home import recovery_context

    context = recovery_context(None)
    june = next(r for r in context["rows"] if r["month"] == "2021-06")
    assert (june["findings"], june["ordered"], june["outstanding"]) == (1, M("150.00"), M("150.00"))
    assert context["chart"]["labels"][-1] == "2021-06" and context["chart"]["datasets"][1]["data"][-1] == 150.0
    client.force_login(supervisors[0])
    page = client.get(reverse("admin:index")).content.decode()
    assert 'data-card="supervision.recoveries"' in page and "home-chart-recoveries" in page
    client.force_login(role_user("fin-z", "finance"))
    assert 'data-card="supervision.recoveries"' not in client.get(reverse("admin:index")).content.decode()
