"""Issue #3 item 6: the clerks' admin — masked lists, indexed search, bounded queries, import preview,
stop and refund through the services, history kept."""

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse

from enrollment.demo import demo_id_number, demo_persons_ensure
from enrollment.models import Payment, PaymentImport, PaymentStatus, Person, Stop, StopReason
from enrollment.services import payment_record, person_stop

SAMPLES = Path(__file__).resolve().parents[2] / "enrollment" / "samples"
CHANGELIST = "/admin/enrollment/person/"


def test_person_changelist_masks_id_numbers(person_factory, clerk_client):
    """DOMAIN §1: ID numbers are shown masked in lists."""
    person = person_factory()

    html = clerk_client.get(CHANGELIST).content.decode()

    assert person.masked_id_number in html
    assert person.id_number not in html


@pytest.mark.parametrize("rows", [3, 30])
def test_person_changelist_query_count_is_bounded(person_factory, school_factory, clerk_client,
                                                   django_assert_max_num_queries, rows):
    """DESIGN: list_select_related for every FK shown; the same bound at 3 and 30 rows."""
    school = school_factory()
    for i in range(rows):
        person_factory(school=school if i % 2 else None)

    with django_assert_max_num_queries(12):
        response = clerk_client.get(CHANGELIST + "?category=minor")

    assert response.status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_payment_changelist_query_count_is_bounded(person_factory, clerk_client, django_assert_max_num_queries, rows):
    for i in range(rows):
        payment_record(acting_user=None, person=person_factory(), receipt_number=f"R{i}", paid_on=dt.date(2021, 3, 15),
                       amount=320)

    with django_assert_max_num_queries(12):
        html = clerk_client.get("/admin/enrollment/payment/").content.decode()

    assert "R0" in html and "**********" in html


@pytest.mark.parametrize("term_of", [
    lambda p: p.id_number,            # full ID number: exact
    lambda p: p.id_number.lower(),    # lower-case x still matches
    lambda p: p.id_number[-4:],       # last digits
    lambda p: p.id_number[:12],       # first digits
    lambda p: p.name[:2],             # start of the name
])
def test_person_search(person_factory, clerk_client, term_of):
    """Issue #3: search a person by full ID number, last digits or name."""
    wanted = person_factory(name="欧阳修", birth=dt.date(1970, 7, 9), area="220104")
    other = person_factory(name="李白", birth=dt.date(1990, 1, 1))

    html = clerk_client.get(CHANGELIST, {"q": term_of(wanted)}).content.decode()

    assert wanted.masked_id_number in html
    assert other.masked_id_number not in html


def test_full_id_search_is_an_exact_indexed_lookup(person_factory, clerk_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    person = person_factory()
    with CaptureQueriesContext(connection) as queries:
        clerk_client.get(CHANGELIST, {"q": person.id_number})

    person_queries = [q["sql"] for q in queries if 'FROM "enrollment_person"' in q["sql"]]
    assert person_queries and all("LIKE" not in sql for sql in person_queries)


def test_detail_page_shows_the_full_id_number_to_clerks(person_factory, clerk_client):
    """DOMAIN §1: full values only on the detail page for roles that need them."""
    person = person_factory()

    html = clerk_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    assert person.id_number in html and person.bank_account in html


def test_detail_page_masks_for_roles_without_the_permission(person_factory, viewer_client):
    person = person_factory()

    html = viewer_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    assert person.masked_id_number in html
    assert person.id_number not in html and person.bank_account not in html


def test_detail_page_shows_timeline_payments_stops(person_factory, clerk_client):
    person = person_factory()
    payment_record(acting_user=None, person=person, receipt_number="R-TL", paid_on=dt.date(2021, 3, 15), amount=320)
    person_stop(acting_user=None, person=person, reason=StopReason.OTHER, stop_date=dt.date(2021, 9, 1))

    html = clerk_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    assert "coverage-timeline" in html and "R-TL" in html
    assert str(StopReason.OTHER.label) in html


def test_add_person_through_the_admin_keeps_history(reference_data, clerk_client, clerk):
    from medins.models import Region

    response = clerk_client.post(f"{CHANGELIST}add/", {
        "id_number": "11010519491231002X", "name": "王芳", "region": Region.objects.get(code="220100").pk,
        "coverageperiod_set-TOTAL_FORMS": 0, "coverageperiod_set-INITIAL_FORMS": 0,
        "coverage_periods-TOTAL_FORMS": 0, "coverage_periods-INITIAL_FORMS": 0,
        "payments-TOTAL_FORMS": 0, "payments-INITIAL_FORMS": 0, "stops-TOTAL_FORMS": 0, "stops-INITIAL_FORMS": 0,
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    person = Person.objects.get()
    assert person.birth_date == dt.date(1949, 12, 31)
    assert person.history.get().history_user == clerk


def test_add_person_with_a_bad_check_digit_shows_the_field_error(reference_data, clerk_client):
    from medins.models import Region

    response = clerk_client.post(f"{CHANGELIST}add/", {
        "id_number": "110105194912310021", "name": "王芳", "region": Region.objects.get(code="220100").pk,
        "coverage_periods-TOTAL_FORMS": 0, "coverage_periods-INITIAL_FORMS": 0,
        "payments-TOTAL_FORMS": 0, "payments-INITIAL_FORMS": 0, "stops-TOTAL_FORMS": 0, "stops-INITIAL_FORMS": 0,
    })

    assert response.status_code == 200
    assert "校验码为 1，应为 X" in response.content.decode()  # the clerk's language (zh-hans)
    assert not Person.objects.exists()


def test_tax_file_upload_previews_then_confirm_imports(reference_data, clerk_client,
                                                       django_capture_on_commit_callbacks):
    """Issue #3: upload, see every row's problem, then confirm; the import runs as a background job
    whose result page reports the counts and the bad row (issue #14 item 3)."""
    demo_persons_ensure()
    with open(SAMPLES / "tax_payments_sample.csv", "rb") as fh:
        response = clerk_client.post("/admin/enrollment/payment/import/", {"file": fh})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="row-errors"' in html and "校验码" in html and "身份证号码" in html
    assert Payment.objects.count() == 0

    payment_import = PaymentImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(f"/admin/enrollment/payment/import/{payment_import.pk}/confirm/")

    assert response.status_code == 302 and response["Location"].endswith("/progress/")
    assert Payment.objects.count() == 10
    status = clerk_client.get(response["Location"].replace("/progress/", "/status/")).json()
    assert status["finished"] and status["percent"] == 100
    page = clerk_client.get(status["result_url"]).content.decode()
    assert "已导入 10 笔缴费" in page and "校验码" in page
    assert "校验码" in clerk_client.get(f"/admin/enrollment/paymentimport/{payment_import.pk}/change/").content.decode()


def test_single_payment_form_checks_the_amount(person_factory, clerk_client):
    person = person_factory()

    response = clerk_client.post("/admin/enrollment/payment/add/", {
        "person": person.pk, "receipt_number": "F1", "paid_on": "2021-03-15", "amount": "200.00"})

    assert response.status_code == 200
    assert "应缴 320.00 元" in response.content.decode()

    response = clerk_client.post("/admin/enrollment/payment/add/", {
        "person": person.pk, "receipt_number": "F1", "paid_on": "2021-03-15", "amount": "320.00"})

    assert response.status_code == 302
    assert Payment.objects.get().periods.get().covered_from == dt.date(2021, 6, 15)


def test_stop_action_leads_to_the_stop_form_and_the_form_calls_the_service(person_factory, clerk_client, changchun_2022):
    person = person_factory()
    payment_record(acting_user=None, person=person, receipt_number="R1", paid_on=dt.date(2021, 10, 15), amount=320)

    response = clerk_client.post(CHANGELIST, {"action": "stop_cover", "_selected_action": [person.pk]})
    assert response.status_code == 302 and f"person={person.pk}" in response["Location"]

    response = clerk_client.post("/admin/enrollment/stop/add/", {
        "person": person.pk, "reason": StopReason.JOINED_EMPLOYEE_INSURANCE, "stop_date": "2021-12-01", "note": "入职"})
    assert response.status_code == 302
    assert person.coverage_periods.get().status == "cancelled"


def test_refund_action_allowed_and_refused(person_factory, clerk_client, changchun_2022):
    """DOMAIN §1 refunds, through the admin action."""
    allowed, refused = person_factory(), person_factory()
    for p in (allowed, refused):
        payment_record(acting_user=None, person=p, receipt_number=f"R{p.pk}", paid_on=dt.date(2021, 10, 15), amount=320)
    stop_ok = person_stop(acting_user=None, person=allowed, reason=StopReason.DEATH, stop_date=dt.date(2021, 12, 1))
    stop_no = person_stop(acting_user=None, person=refused, reason=StopReason.OTHER, stop_date=dt.date(2021, 12, 1))

    response = clerk_client.post("/admin/enrollment/stop/", {"action": "refund", "_selected_action": [stop_ok.pk, stop_no.pk],
                                                             "confirmed": "yes"},
                                 follow=True)

    assert Payment.objects.get(person=allowed).status == PaymentStatus.REFUNDED
    assert Payment.objects.get(person=refused).status == PaymentStatus.RECORDED
    messages = [str(m) for m in response.context["messages"]]
    assert any("停保原因“其他”不予退费" in m for m in messages)


def test_refund_confirmation_shows_what_the_refund_pays(person_factory, clerk_client, changchun_2022):
    """Issue #14 item 5: the confirmation page's amount is the refund's own (stop_refund's rule:
    the payments whose benefit period had not started on the stop date), before anything moves."""
    person = person_factory()
    payment_record(acting_user=None, person=person, receipt_number="R-conf", paid_on=dt.date(2021, 10, 15), amount=320)
    stop = person_stop(acting_user=None, person=person, reason=StopReason.DEATH, stop_date=dt.date(2021, 12, 1))

    page = clerk_client.post("/admin/enrollment/stop/", {"action": "refund", "_selected_action": [stop.pk]})

    assert "320.00" in page.content.decode()
    assert Payment.objects.get(person=person).status == PaymentStatus.RECORDED  # nothing moved yet
    refunded = clerk_client.post("/admin/enrollment/stop/", {"action": "refund", "_selected_action": [stop.pk],
                                                             "confirmed": "yes"})
    assert refunded.status_code in (200, 302)
    assert Payment.objects.get(person=person).status == PaymentStatus.REFUNDED


def test_history_pages_render(person_factory, clerk_client):
    person = person_factory()

    assert clerk_client.get(f"{CHANGELIST}{person.pk}/history/").status_code == 200


@pytest.mark.parametrize("url", [
    "/admin/enrollment/payment/", "/admin/enrollment/stop/", "/admin/enrollment/coverageperiod/",
    "/admin/enrollment/paymentimport/", "/admin/enrollment/school/", "/admin/enrollment/payment/import/",
    CHANGELIST + "?covered_year=2022&region__id__exact=1&category=adult",
])
def test_admin_pages_render(reference_data, clerk_client, url):
    demo_persons_ensure()

    assert clerk_client.get(url).status_code == 200


def test_stop_list_masks(reference_data, clerk_client):
    demo_persons_ensure()
    person = Person.objects.get(id_number=demo_id_number("zhang_wei"))
    Stop.objects.create(person=person, reason=StopReason.OTHER, stop_date=dt.date(2021, 1, 1))

    html = clerk_client.get("/admin/enrollment/stop/").content.decode()

    assert person.masked_id_number in html and person.id_number not in html
    assert reverse("admin:enrollment_stop_changelist")


def test_person_page_change_log_names_author_time_and_record(person_factory, clerk_client, make_user):
    """DESIGN audit: every change to persons, payments and stops is kept with its author and time,
    and is visible in the admin — on the person's own page, next to the timeline."""
    from django.utils import timezone

    from enrollment.services import person_save

    person = person_factory()
    cashier, intake = make_user("cashier_li"), make_user("intake_wang")
    payment_record(acting_user=cashier, person=person, receipt_number="R-LOG", paid_on=dt.date(2021, 3, 15), amount=320)
    person_stop(acting_user=intake, person=person, reason=StopReason.OTHER, stop_date=dt.date(2021, 9, 1))
    person.phone = "13800000000"
    person_save(person=person, acting_user=intake)

    html = clerk_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    log = html[html.index('class="change-log"'):]
    log = log[:log.index("</table>")]
    assert "cashier_li" in log and "intake_wang" in log
    assert "R-LOG" in log and "停保" in log and "联系电话" in log  # the payment, the stop, the changed field
    assert str(timezone.localtime().year) in log
    assert reverse("admin:enrollment_payment_change", args=[Payment.objects.get().pk]) in log


def test_person_change_log_shows_field_names_not_values(person_factory, viewer_client):
    """DOMAIN §1 / DESIGN personal data: a changed bank account is named, never shown, in the log."""
    from enrollment.services import person_save

    person = person_factory()
    person.bank_account = "6222029999888877776"
    person_save(person=person, acting_user=None)

    html = viewer_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    assert "银行账号" in html[html.index('class="change-log"'):]
    assert "6222029999888877776" not in html and "6222020200112345678" not in html


@pytest.mark.parametrize("payments", [1, 10])
def test_person_page_query_count_is_bounded(person_factory, clerk_client, django_assert_max_num_queries, payments):
    """DESIGN: bounded queries on admin pages; the change log is one query per history table."""
    from enrollment.services import person_save

    person = person_factory()
    for i in range(payments):
        Payment.objects.create(receipt_number=f"Q{i}", person=person, paid_on=dt.date(2021, 3, 15), amount=320,
                               category="adult", policy_version="220100-2021", source="manual")
        person.phone = f"1390431{i:04d}"
        person_save(person=person, acting_user=None)

    with django_assert_max_num_queries(30):
        response = clerk_client.get(f"{CHANGELIST}{person.pk}/change/")

    assert response.status_code == 200


@pytest.mark.parametrize("url", [
    CHANGELIST, "/admin/enrollment/payment/", "/admin/enrollment/stop/", "/admin/enrollment/coverageperiod/",
    "/admin/enrollment/paymentimport/", f"{CHANGELIST}?q=张", "/admin/autocomplete/?app_label=enrollment"
    "&model_name=payment&field_name=person&term=",
])
def test_lists_never_show_full_id_numbers_or_bank_accounts(reference_data, clerk_client, url):
    """DOMAIN §1 / DESIGN: ID numbers and bank accounts masked in lists, even for a clerk who may
    see them in full on the detail page."""
    demo_persons_ensure()
    person = Person.objects.get(id_number=demo_id_number("zhang_wei"))
    payment_record(acting_user=None, person=person, receipt_number="R-MASK", paid_on=dt.date(2021, 3, 15), amount=320)
    Stop.objects.create(person=person, reason=StopReason.OTHER, stop_date=dt.date(2021, 9, 1))

    response = clerk_client.get(url)
    html = response.content.decode()

    assert response.status_code == 200
    assert "paymentimport" in url or person.masked_id_number in html  # the list does show the person
    for p in Person.objects.all():
        assert p.id_number not in html
        assert not p.bank_account or p.bank_account not in html


def test_category_filter_lists_the_youngest_first(person_factory, clerk_client):
    """Issue #3 benchmark: under the category filter the list walks the birth_date index (youngest
    first); without it, newest registrations first."""
    older = person_factory(birth=dt.date(1960, 1, 1))
    younger = person_factory(birth=dt.date(1990, 1, 1))
    oldest_registered_last = person_factory(birth=dt.date(1950, 1, 1))

    filtered = clerk_client.get(CHANGELIST, {"category": "adult"}).context["cl"].result_list
    unfiltered = clerk_client.get(CHANGELIST).context["cl"].result_list

    assert [p.pk for p in filtered] == [younger.pk, older.pk, oldest_registered_last.pk]
    assert [p.pk for p in unfiltered] == [oldest_registered_last.pk, younger.pk, older.pk]


def test_filtered_count_is_exact_up_to_the_limit(person_factory, monkeypatch):
    from enrollment.admin import EstimatedCountPaginator

    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_UP_TO", 3)
    for year in (1950, 1960, 1970):
        person_factory(birth=dt.date(year, 1, 1))
    person_factory(birth=dt.date(2020, 1, 1))

    adults = Person.objects.filter(birth_date__lt=dt.date(2000, 1, 1)).order_by("-pk")

    assert EstimatedCountPaginator(adults, 50).count == 3


def test_filtered_count_beyond_the_limit_is_at_least_what_was_seen(person_factory, monkeypatch):
    """A large filtered list is counted on the planner's estimate, never below the rows seen."""
    from django.db import connection

    from enrollment.admin import EstimatedCountPaginator

    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_UP_TO", 2)
    for year in (1950, 1960, 1970, 1980):
        person_factory(birth=dt.date(year, 1, 1))

    count = EstimatedCountPaginator(Person.objects.filter(birth_date__lt=dt.date(2000, 1, 1)).order_by("-pk"), 50).count

    assert count == 4 if connection.vendor != "postgresql" else count >= 3


def test_person_page_links_to_stop_and_to_the_persons_stops_for_refund(person_factory, clerk_client, changchun_2022):
    """Issue #3: from the person's page a clerk stops the cover and reaches the stops to refund."""
    person, other = person_factory(), person_factory()
    for p in (person, other):
        payment_record(acting_user=None, person=p, receipt_number=f"R-{p.pk}", paid_on=dt.date(2021, 10, 15), amount=320)
        person_stop(acting_user=None, person=p, reason=StopReason.DEATH, stop_date=dt.date(2021, 12, 1))

    html = clerk_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()
    stops_url = reverse("admin:enrollment_stop_changelist") + f"?person__id__exact={person.pk}"

    assert reverse("admin:enrollment_stop_add") + f"?person={person.pk}" in html
    assert stops_url in html
    listed = clerk_client.get(stops_url).context["cl"].result_list
    assert [s.person_id for s in listed] == [person.pk]

    clerk_client.post(stops_url, {"action": "refund", "_selected_action": [listed[0].pk], "confirmed": "yes"})
    html = clerk_client.get(stops_url).content.decode()
    assert Payment.objects.get(person=person).status == PaymentStatus.REFUNDED
    assert Payment.objects.get(person=other).status == PaymentStatus.RECORDED
    assert '<td class="field-refunded">1</td>' in html


def test_person_page_hides_the_stop_link_without_the_permission(person_factory, viewer_client):
    person = person_factory()

    html = viewer_client.get(f"{CHANGELIST}{person.pk}/change/").content.decode()

    assert reverse("admin:enrollment_stop_add") not in html


def test_person_filters_by_region_school_and_coverage_year(person_factory, school_factory, clerk_client, changchun_2022):
    """Issue #3 clerk's filters: region, school, covered in a year (active cover only: a period
    cancelled by a stop before it started does not count — DOMAIN §1 stop)."""
    from medins.models import Region

    school = school_factory()
    covered_2022 = person_factory()
    cancelled_2022 = person_factory(school=school)
    jinan = person_factory(area="370102")
    for p in (covered_2022, cancelled_2022):
        payment_record(acting_user=None, person=p, receipt_number=f"W{p.pk}", paid_on=dt.date(2021, 10, 15),
                       amount=200 if p.school_id else 320)  # a student pays the student rate
    person_stop(acting_user=None, person=cancelled_2022, reason=StopReason.OTHER, stop_date=dt.date(2021, 12, 1))

    def listed(params):
        return {p.pk for p in clerk_client.get(CHANGELIST, params).context["cl"].result_list}

    assert listed({"covered_year": "2022"}) == {covered_2022.pk}
    assert listed({"school__id__exact": school.pk}) == {cancelled_2022.pk}
    assert listed({"region__id__exact": Region.objects.get(code="370100").pk}) == {jinan.pk}


def test_coverage_year_filter_offers_every_policy_year(clerk_client, reference_data):
    """Issue #14 item 8: the 'covered in year' filter offers 2021 (the shipped policies' year)
    whatever today's date is, and this and next year."""
    from django.utils import timezone

    response = clerk_client.get(CHANGELIST)
    spec = next(f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", "") == "covered_year")
    years = [value for value, _label in spec.lookup_choices]

    this_year = timezone.localdate().year
    assert "2021" in years and str(this_year) in years and str(this_year + 1) in years
    assert years == sorted(years, reverse=True)
