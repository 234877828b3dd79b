"""The admin's home page per role (issue 14 item 1): each role's queues with their counts and the
age of the oldest item, each a link to the changelist showing exactly those rows; only the queues
a role can act on; a bounded number of queries; the supervisor's charts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.certifications.models import CertificationTransition
from claims.models import Benefit, Case, CaseTransition, PaymentOrder
from claims.services import case_receive
from claims.settlement.models import InstitutionOperator
from claims.workflow import CaseState
from medins.home.aggregates import DaysBetween, Median
from medins.home.core import payments_by_month, processing_time_rows
from medins.home.page import age_days
from medins.models import Institution
from tests.claims.factories import PersonFactory, cover, invoice
from tests.medins import home_world

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = timezone.now()

# Issue 14 item 1: "what waits for me" — the queues each demo role sees on its home page.
EXPECTED = {
    "intake_clerk": {"enrollment.payment_import.confirm", "claims.case.new", "claims.case.incomplete",
                     "certifications.incomplete_overdue", "settlement.pool_upload.confirm",
                     "carecare.careclaimupload.confirm"},
    "reviewer": {"claims.case.new", "claims.case.review", "certifications.review", "certifications.incomplete_overdue",
                 "settlement.run.failed", "carecare.assessment.to_review", "carecare.careclaim.to_check"},
    "approver": {"claims.case.approve", "certifications.approve", "carecare.assessment.to_approve",
                 "carecare.careclaim.to_approve"},
    "finance": {"claims.case.pay", "claims.paymentfile.result", "settlement.statement.release",
                "settlement.fee_statement.release", "settlement.run.failed", "settlement.reopening.decide"},
    "policy_admin": {"medins.institution_import.confirm"},
    "assessor": {"carecare.assessment.to_assess", "carecare.assessment.to_reassess"},
    "institution_operator": {"certifications.review", "certifications.approve", "settlement.pool_upload.confirm",
                             "carecare.careclaimupload.confirm"},
    "supervisor": set(),  # read-only: charts, no queue to act on
}


@pytest.fixture
def world(reference_data):
    """Role users, and work waiting in several queues with known submission times."""
    return home_world.build()


def _home(client, username):
    client.force_login(User.objects.get(username=username))
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    rows = {row["key"]: row for card in response.context["home_cards"] for row in card.get("rows", [])
            if card["key"].startswith("queues:")}
    return response, rows


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_sees_the_queues_on_its_desk_and_no_others(world, client, role):
    """Issue 14 item 1: each role sees only the queues it can act on."""
    _response, rows = _home(client, role)
    assert set(rows) == EXPECTED[role]


def test_counts_and_oldest_age_match_the_fixtures(world, client):
    response, rows = _home(client, "intake_clerk")
    assert rows["claims.case.new"]["count"] == 2
    assert rows["claims.case.new"]["age_days"] == 3
    assert rows["claims.case.incomplete"]["count"] == 1
    assert rows["claims.case.incomplete"]["age_days"] == 9
    assert rows["enrollment.payment_import.confirm"]["count"] == 1
    assert rows["enrollment.payment_import.confirm"]["age_days"] == 4
    html = response.content.decode()
    assert "最早 3 天前" in html and "最早 9 天前" in html
    _response, rows = _home(client, "approver")
    assert (rows["claims.case.approve"]["count"], rows["claims.case.approve"]["age_days"]) == (1, 5)
    assert (rows["certifications.approve"]["count"], rows["certifications.approve"]["age_days"]) == (1, 2)
    _response, rows = _home(client, "reviewer")
    assert (rows["certifications.review"]["count"], rows["certifications.review"]["age_days"]) == (2, 6)
    _response, rows = _home(client, "finance")
    assert (rows["claims.case.pay"]["count"], rows["claims.case.pay"]["age_days"]) == (1, 12)
    assert rows["claims.paymentfile.result"]["count"] == 1
    _response, rows = _home(client, "assessor")
    assert (rows["carecare.assessment.to_assess"]["count"], rows["carecare.assessment.to_assess"]["age_days"]) == (1, 7)
    _response, rows = _home(client, "policy_admin")
    assert rows["medins.institution_import.confirm"]["count"] == 1
    assert rows["medins.institution_import.confirm"]["age"] == "最早 今天"


def test_an_empty_queue_shows_zero_and_no_age(world, client):
    _response, rows = _home(client, "reviewer")
    assert rows["claims.case.review"]["count"] == 0 and rows["claims.case.review"]["age"] == ""


@pytest.mark.parametrize("role", ["intake_clerk", "reviewer", "approver", "finance", "policy_admin", "assessor",
                                  "institution_operator", "supervisor", "admin"])
def test_every_link_opens_the_changelist_with_exactly_the_rows_counted(world, client, role):
    """Issue 14 item 1: each count is a link to the filtered list — the list behind it shows as many rows."""
    response, rows = _home(client, role)
    if role in ("supervisor", "admin"):  # the supervisor's (and the administrator's) table of every queue
        rows = {row["key"]: row for card in response.context["home_cards"] if card["key"] == "fund.queues"
                for row in card["rows"]}
    assert rows
    for key, row in rows.items():
        listing = client.get(row["url"], HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert listing.status_code == 200, (key, row["url"], listing.status_code)
        assert listing.context["cl"].result_count == row["count"], key


def test_an_institution_operator_counts_only_its_own_institution(world, client):
    """Object-level scoping (DESIGN "Permissions"): the count is the operator's own changelist's."""
    _response, rows = _home(client, "institution_operator")
    assert rows["certifications.review"]["count"] == 2  # both applied by its hospital
    other = Institution.objects.get(region__code="220100", code="CC-H-019")
    InstitutionOperator.objects.filter(user__username="institution_operator").update(institution=other)
    _response, rows = _home(client, "institution_operator")
    assert rows["certifications.review"]["count"] == 2  # the treating institution sees them too (selectors.visible_to)
    third = Institution.objects.filter(region__code="220100", kind="hospital").exclude(pk__in=[other.pk]).exclude(
        code="CC-H-003").first()
    InstitutionOperator.objects.filter(user__username="institution_operator").update(institution=third)
    _response, rows = _home(client, "institution_operator")
    assert rows["certifications.review"]["count"] == 0


def test_a_user_without_the_permission_does_not_see_the_queue(world, client):
    """Permissions gate every queue: an approver whose group lost claims.approve_case no longer sees "to approve"."""
    group = Group.objects.get(name="approver")
    group.permissions.remove(group.permissions.get(codename="approve_case"))
    _response, rows = _home(client, "approver")
    assert "claims.case.approve" not in rows
    assert "carecare.careclaim.to_approve" in rows


def test_the_school_operator_has_no_admin_home(world, client):
    client.force_login(User.objects.get(username="school_operator"))
    assert client.get("/admin/").status_code == 302


def test_the_model_list_stays_below_the_queues(world, client):
    response, _rows = _home(client, "reviewer")
    html = response.content.decode()
    assert html.index('id="home-cards"') < html.index('id="home-all"') < html.index("app-claims")
    assert "全部功能" in html


def _home_queries(client, username):
    client.force_login(User.objects.get(username=username))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/admin/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("username", ["admin", "reviewer", "finance", "supervisor"])
def test_the_home_page_query_count_does_not_grow_with_the_queues(world, client, username, django_assert_max_num_queries):
    """DESIGN "bounded query counts": one aggregate per queue, whatever the number of rows waiting."""
    before = _home_queries(client, username)
    intake = User.objects.get(username="intake_clerk")
    case_type = world["cases"][0].case_type
    for n in range(8):
        person = PersonFactory(birth=dt.date(1970, 1, 1))
        cover(person)
        c = case_receive(acting_user=intake, case_type=case_type, person=person, service_from="2021-05-10",
                         service_to="2021-05-20", institution_name="北京协和医院", institution_level="municipal_tertiary",
                         invoices=[invoice(number=f"INV-Q{n}")], materials_received=[m.code for m in case_type.materials.all()])
        Case.objects.filter(pk=c.pk).update(state=[CaseState.RECEIVED, CaseState.CALCULATED][n % 2])
    after = _home_queries(client, username)
    assert after == before
    from medins.home import queues

    with django_assert_max_num_queries(len(queues()) + 30):
        client.get("/admin/")


def test_one_aggregate_query_per_queue(world, client):
    client.force_login(User.objects.get(username="finance"))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/admin/")
    counted = [q["sql"] for q in ctx.captured_queries if re.search(r"COUNT\(.*MIN\(", q["sql"], re.S)]
    rows = [row for card in response.context["home_cards"] for row in card.get("rows", [])]
    assert len(counted) == len(rows) == len(EXPECTED["finance"])


# ---------------------------------------------------------------- the supervisor's charts


def test_the_supervisor_sees_the_three_charts_with_their_data(world, client):
    """Issue 14 item 1: payments by month and benefit, queue sizes, processing times — as charts."""
    case = world["cases"][5]
    PaymentOrder.objects.create(case=case, amount=Decimal("1234.50"), bank_account="6222020200100001001",
                                account_name="某某", status="paid")
    response, _rows = _home(client, "supervisor")
    cards = {card["key"]: card for card in response.context["home_cards"]}
    # and fund security's card (claims.supervision.home: findings and recoveries by month, issue 15 item 5)
    assert set(cards) == {"fund.payments", "fund.queues", "fund.times", "supervision.recoveries"}
    payments = cards["fund.payments"]
    assert payments["chart"]["labels"][-1] == f"{timezone.localdate():%Y-%m}"
    [dataset] = payments["chart"]["datasets"]  # one benefit: the case type's (an inpatient admission)
    assert dataset["data"] == [0.0] * 11 + [1234.5]
    assert dataset["label"] == str(Benefit.INPATIENT.label) and dataset["label"] != "inpatient"
    assert payments["total"] == Decimal("1234.50")
    queues = cards["fund.queues"]["chart"]
    assert queues["data"][queues["links"].index("/admin/claims/case/?queue=new")] == 2
    html = response.content.decode()
    for chart_id in ("home-chart-payments", "home-chart-queues", "home-chart-times"):
        assert f'<script id="{chart_id}" type="application/json">' in html
        assert f'data-chart="{chart_id}"' in html
    assert "vendor/chart.js-4.6.2/chart.umd.min.js" in html
    assert "1,234.50" in html  # the exact amount in the table under the chart


def test_a_role_clerk_sees_no_chart_and_loads_no_chart_library(world, client):
    response, _rows = _home(client, "reviewer")
    assert not any(card["key"].startswith("fund.") for card in response.context["home_cards"])
    assert "chart.umd.min.js" not in response.content.decode()


def test_payments_are_grouped_by_month_and_benefit_and_failed_orders_are_left_out(world):
    cases = world["cases"]
    for case, amount, status in ((cases[5], "100.00", "paid"), (cases[4], "50.00", "failed")):
        PaymentOrder.objects.create(case=case, amount=Decimal(amount), bank_account="6222020200100001001",
                                    account_name="某某", status=status)
    old = PaymentOrder.objects.create(case=cases[3], amount=Decimal("7.00"), bank_account="6222020200100001001",
                                      account_name="某某", status="paid")
    PaymentOrder.objects.filter(pk=old.pk).update(created_at=NOW - dt.timedelta(days=62))
    data = payments_by_month()
    by_month = {row["month"]: row["total"] for row in data["rows"]}
    assert by_month[f"{timezone.localdate():%Y-%m}"] == Decimal("100.00")
    assert sum(by_month.values()) == Decimal("107.00")
    assert len(data["rows"]) == 12


def test_processing_time_is_median_and_average_days_from_submission_to_first_decision(world):
    cases = world["cases"]
    actor = User.objects.get(username="approver")
    for case, days in ((cases[0], 2), (cases[1], 4), (cases[2], 9)):
        t = CaseTransition.objects.create(case=case, from_state="calculated", to_state="approved", actor=actor)
        CaseTransition.objects.filter(pk=t.pk).update(at=case.received_at + dt.timedelta(days=days))
        Case.objects.filter(pk=case.pk).update(received_at=case.received_at)
    for case in cases[:3]:
        case.refresh_from_db()
    # the first case approved again later (a payee change): counted once, at its first decision
    t = CaseTransition.objects.create(case=cases[0], from_state="calculated", to_state="approved", actor=actor)
    rows = {r["key"]: r for r in processing_time_rows(User.objects.get(username="supervisor"))}
    assert rows["claims.case"]["count"] == 3
    assert rows["claims.case"]["median"] == pytest.approx(4.0, abs=0.05)
    assert rows["claims.case"]["average"] == pytest.approx(5.0, abs=0.05)
    cert = world["certs"][0]
    cert.refresh_from_db()
    t = CertificationTransition.objects.create(certification=cert, from_state="under_review", to_state="approved", actor=actor)
    CertificationTransition.objects.filter(pk=t.pk).update(at=cert.applied_at + dt.timedelta(days=1, hours=12))
    rows = {r["key"]: r for r in processing_time_rows(User.objects.get(username="supervisor"))}
    assert rows["certifications.certification"]["median"] == pytest.approx(1.5, abs=0.05)


def test_median_and_days_between_are_computed_in_the_database(world):
    """The aggregates run on the test database (PostgreSQL's percentile_cont, or SQLite's registered median)."""
    qs = Case.objects.filter(pk__in=[c.pk for c in world["cases"]]).annotate(
        d=DaysBetween(timezone.now(), "received_at"))
    figures = qs.aggregate(m=Median("d"))
    # received 3, 1, 9, 5, 12, 40 days (and an hour) ago: median of the six = (5 + 9) / 2 days and an hour
    assert figures["m"] == pytest.approx(7 + 1 / 24, abs=0.01)


def test_age_of_a_date_counts_local_calendar_days():
    assert age_days(timezone.localdate() - dt.timedelta(days=2)) == 2
    assert age_days(None) is None
    assert age_days(NOW - dt.timedelta(hours=5), now=NOW) == 0


def test_the_administrator_sees_every_queue_with_its_count_and_age(world, client):
    _response, rows = _home(client, "admin")
    for key, (count, age) in home_world.COUNTS.items():
        assert (rows[key]["count"], rows[key]["age_days"]) == (count, age), key


def test_a_queue_declares_its_field_condition_once_for_the_count_and_the_link():
    """A plain field condition is declared once (`lookups`): the home page's filter and the
    changelist link's parameters are both made from it, so they cannot drift apart."""
    from medins.home import Queue
    from medins.models import InstitutionImport
    from medins.uploads import UploadStatus

    queue = Queue(key="t.lookups", group="g", label="l", model="medins.InstitutionImport", age_field="uploaded_at",
                  lookups={"status__exact": UploadStatus.CHECKED})
    assert queue.params == {"status__exact": "checked"}
    assert str(queue.filter(InstitutionImport.objects.all()).query) == \
        str(InstitutionImport.objects.filter(status__exact=UploadStatus.CHECKED).query)
    with pytest.raises(ValueError):
        Queue(key="t.both", group="g", label="l", model="medins.InstitutionImport", age_field="uploaded_at",
              lookups={"status__exact": "checked"}, params={"status__exact": "done"})
