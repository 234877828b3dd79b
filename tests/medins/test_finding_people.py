"""Issue #14 item 6, "Finding people": every field that chooses a person, an institution or a school
is an autocomplete box (name or ID digits; name or code), and every list that searches persons
accepts the last digits of an ID number — with tenancy in the suggestions and bounded queries."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory

from enrollment.admin_search import PersonSearchMixin
from enrollment.models import Person, School
from enrollment.selectors import persons_search
from medins.models import Institution
from tests.enrollment.factories import PersonFactory, SchoolFactory, UserFactory

AUTOCOMPLETE = "/admin/autocomplete/"
CHOSEN = (Person, Institution, School)


def role_client(username, role, *, institution=None):
    from claims.settlement.models import InstitutionOperator

    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    if institution is not None:
        InstitutionOperator.objects.create(user=user, institution=institution)
    client = Client()
    client.force_login(user)
    return client


def suggest(client, app_label, model_name, field_name, term=""):
    response = client.get(AUTOCOMPLETE, {"app_label": app_label, "model_name": model_name, "field_name": field_name,
                                         "term": term})
    return response


def texts(response):
    assert response.status_code == 200, response.content[:300]
    return [r["text"] for r in response.json()["results"]]


def ids(response):
    assert response.status_code == 200, response.content[:300]
    return {int(r["id"]) for r in response.json()["results"]}


@pytest.fixture
def superuser_request(db):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_superuser=True)
    return request


# --------------------------------------------------------------------------- every chooser is an autocomplete


def _chooser_fields():
    for model, model_admin in admin.site._registry.items():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in CHOSEN:
                yield model_admin, field


def test_every_person_institution_and_school_field_is_an_autocomplete(reference_data, superuser_request):
    """Issue #14 item 6: no raw database-id box and no plain select for a person, an institution or a
    school on any admin form (add form and change form)."""
    checked = []
    for model_admin, field in _chooser_fields():
        assert field.name not in model_admin.raw_id_fields, (model_admin, field.name)
        form = model_admin.get_form(superuser_request, None)
        if field.name not in form.base_fields:
            continue  # not on the form (the row arrives through a service, an upload or the API)
        widget = form.base_fields[field.name].widget
        widget = getattr(widget, "widget", widget)  # the admin wraps it with the add / change links
        assert isinstance(widget, AutocompleteSelect), (model_admin, field.name, type(widget))
        checked.append(f"{field.model._meta.label}.{field.name}")
    # the forms the issue is about are among those checked
    assert {"claims.Case.person", "claims.Case.institution", "certifications.Certification.person",
            "certifications.Certification.school", "certifications.Certification.applicant_institution",
            "carecare.Assessment.person", "carecare.Assessment.care_home", "carecare.CareStay.person",
            "carecare.CareStay.care_home", "enrollment.Payment.person", "enrollment.Stop.person",
            "enrollment.Person.school", "settlement.SchoolClinic.school", "settlement.SchoolClinic.institution",
            } <= set(checked), checked


def test_new_case_form_renders_the_person_box_as_an_autocomplete(reference_data):
    """The case intake page (新增案件): 参保人 is a select2 box served by the admin's autocomplete."""
    client = role_client("intake_x", "intake_clerk")

    html = client.get("/admin/claims/case/add/").content.decode()

    assert 'name="person"' in html and "admin-autocomplete" in html
    assert 'data-model-name="case"' in html and 'data-field-name="person"' in html
    assert 'id="lookup_id_person"' not in html  # no raw id box with its magnifier


# --------------------------------------------------------------------------- the autocomplete itself


@pytest.mark.parametrize("term_of", [lambda p: p.id_number[-4:], lambda p: p.id_number[-6:], lambda p: p.id_number,
                                     lambda p: p.name[:2]], ids=["last4", "last6", "full", "name"])
def test_person_autocomplete_finds_by_last_digits_full_id_or_name(reference_data, term_of):
    wanted = PersonFactory(name="欧阳修", birth=dt.date(1970, 7, 9), area="220104", seq=731)
    other = PersonFactory(name="李白", birth=dt.date(1990, 1, 1), seq=222)
    client = role_client("intake_x", "intake_clerk")

    response = suggest(client, "claims", "case", "person", term_of(wanted))

    assert wanted.pk in ids(response) and other.pk not in ids(response)


def test_person_autocomplete_label_is_name_and_masked_id_never_the_key_or_full_number(reference_data):
    """DESIGN "Personal data": the suggestion shows name + masked ID number, even to a clerk who may
    reveal the full number on the person's page."""
    person = PersonFactory(name="王芳")
    client = role_client("intake_x", "intake_clerk")

    results = suggest(client, "claims", "case", "person", person.id_number[-4:]).json()["results"]

    assert results == [{"id": str(person.pk), "text": f"王芳 {person.masked_id_number}"}]
    # the key never shows as a number of its own (it may occur inside the masked ID's digits)
    assert person.id_number not in results[0]["text"]
    assert not re.search(rf"(?<!\d){person.pk}(?!\d)", results[0]["text"])


def test_last_four_digits_do_not_list_a_whole_area(reference_data):
    """Decision: up to six digits are the last digits only; "2201" does not list everyone born in 2201xx."""
    wanted = PersonFactory(birth=dt.date(1985, 2, 3), area="370102", seq=7)
    area = [PersonFactory(area="220102", birth=dt.date(1990, 1, 1) + dt.timedelta(days=i)) for i in range(3)]
    term = wanted.id_number[-4:]
    neighbours = [p for p in area if p.id_number.endswith(term)]

    found = set(persons_search(Person.objects.all(), "2201").values_list("pk", flat=True))
    assert not found & {p.pk for p in area if not p.id_number.endswith("2201")}
    assert set(persons_search(Person.objects.all(), term).values_list("pk", flat=True)) == {wanted.pk, *[p.pk for p in neighbours]}
    # seven digits and more: first digits too (the area code and a birth year)
    assert {p.pk for p in area} <= set(persons_search(Person.objects.all(), "2201021").values_list("pk", flat=True))


@pytest.mark.parametrize("rows", [3, 30])
def test_person_autocomplete_queries_are_bounded(reference_data, django_assert_max_num_queries, rows):
    client = role_client("intake_x", "intake_clerk")
    for i in range(rows):
        PersonFactory(name=f"张{i}")
    client.get("/admin/")  # the session and the user's permissions are read once, outside the count

    with django_assert_max_num_queries(8):
        response = suggest(client, "claims", "case", "person", "张")

    assert len(ids(response)) == min(rows, 20)
    assert response.json()["pagination"]["more"] is (rows > 20)


def test_institution_and_school_autocomplete_by_name_or_code_with_the_code_in_the_label(reference_data):
    client = role_client("intake_x", "intake_clerk")
    hospital = Institution.objects.filter(region__code="220100").order_by("pk").first()
    SchoolFactory(name="长春市第一实验小学", code="SCH-CC-77")

    by_code = texts(suggest(client, "claims", "case", "institution", hospital.code))
    by_name = texts(suggest(client, "claims", "case", "institution", hospital.name[:4]))
    school_by_code = texts(suggest(client, "certifications", "certification", "school", "SCH-CC-77"))
    school_by_name = texts(suggest(client, "certifications", "certification", "school", "长春市第一实验"))

    assert f"{hospital.name}（{hospital.code}）" in by_code and f"{hospital.name}（{hospital.code}）" in by_name
    assert school_by_code == school_by_name == ["长春市第一实验小学（SCH-CC-77）"]


def test_the_chosen_person_is_shown_by_label_when_the_form_is_shown_again(reference_data):
    """A refused form shows the chosen person as name + masked ID (the box's selected option)."""
    person = PersonFactory(name="赵六")
    client = role_client("intake_x", "intake_clerk")

    html = client.post("/admin/claims/case/add/", {"person": person.pk, "invoices-TOTAL_FORMS": 0,
                                                    "invoices-INITIAL_FORMS": 0}).content.decode()

    assert f"赵六 {person.masked_id_number}" in html and person.id_number not in html


# --------------------------------------------------------------------------- tenancy


@pytest.fixture
def homes(reference_data):
    return (Institution.objects.get(region__code="220100", code="CC-L-001"),
            Institution.objects.get(region__code="220100", code="CC-L-002"))


def test_care_home_operator_is_offered_its_own_residents_only(homes, django_assert_max_num_queries):
    """DESIGN "Permissions": an institution operator never reads another home's residents through a
    chooser; a person it does not know yet is found by the full ID number only (a new resident)."""
    from carecare.models import CareStay

    home, other_home = homes
    mine, theirs, stranger = PersonFactory(name="住户甲"), PersonFactory(name="住户乙"), PersonFactory(name="路人丙")
    staff = UserFactory(username="care_staff")
    CareStay.objects.create(person=mine, care_home=home, admitted_on=dt.date(2021, 5, 1), created_by=staff)
    CareStay.objects.create(person=theirs, care_home=other_home, admitted_on=dt.date(2021, 5, 1), created_by=staff)
    operator = role_client("home_op", "institution_operator", institution=home)

    for model_name in ("assessment", "carestay"):
        assert ids(suggest(operator, "carecare", model_name, "person", mine.id_number[-4:])) == {mine.pk}
        assert ids(suggest(operator, "carecare", model_name, "person", "住户")) == {mine.pk}
        assert ids(suggest(operator, "carecare", model_name, "person", "")) == {mine.pk}
        assert ids(suggest(operator, "carecare", model_name, "person", theirs.id_number[-4:])) == set()
        assert ids(suggest(operator, "carecare", model_name, "person", stranger.id_number[-6:])) == set()
        assert ids(suggest(operator, "carecare", model_name, "person", stranger.id_number)) == {stranger.pk}
        assert ids(suggest(operator, "carecare", model_name, "care_home")) == {home.pk}
    with django_assert_max_num_queries(12):
        suggest(operator, "carecare", "assessment", "person", "住户")

    # the agency's clerk is offered everyone, and every care home (no other institution)
    clerk = role_client("care_clerk", "intake_clerk")
    assert {mine.pk, theirs.pk} <= ids(suggest(clerk, "carecare", "assessment", "person", "住户"))
    homes_offered = ids(suggest(clerk, "carecare", "carestay", "care_home"))
    assert {home.pk, other_home.pk} <= homes_offered
    assert not Institution.objects.filter(pk__in=homes_offered).exclude(kind=home.kind).exists()


def test_institution_operator_certification_choosers_are_its_own(reference_data):
    from claims.certifications.models import Certification
    from medins.models import CatalogueItem

    hospital = Institution.objects.get(code="CC-H-003")
    other = Institution.objects.exclude(pk=hospital.pk).filter(region__code="220100").first()
    patient, elsewhere = PersonFactory(name="病人甲"), PersonFactory(name="病人乙")
    staff = UserFactory(username="cert_staff")
    item = CatalogueItem.objects.filter(region=hospital.region).first()
    for number, person, institution in (("T-1", patient, hospital), ("T-2", elsewhere, other)):
        Certification.objects.create(number=number, region=hospital.region, person=person, kind="chronic", item=item,
                                     applied_by=staff, applicant_institution=institution, institution=institution)
    operator = role_client("cert_op", "institution_operator", institution=hospital)

    assert ids(suggest(operator, "certifications", "certification", "person", "病人")) == {patient.pk}
    assert ids(suggest(operator, "certifications", "certification", "person", elsewhere.id_number)) == {elsewhere.pk}
    assert ids(suggest(operator, "certifications", "certification", "applicant_institution")) == {hospital.pk}
    assert ids(suggest(operator, "certifications", "certification", "school")) == set()
    # the institution of use may be another designated institution: reference data, not personal
    assert other.pk in ids(suggest(operator, "certifications", "certification", "institution", other.code))


@pytest.mark.parametrize("source", [("claims", "case", "person"), ("enrollment", "payment", "person"),
                                    ("enrollment", "stop", "person"), ("claims", "case", "institution")])
def test_operator_may_not_use_the_agencys_choosers(reference_data, source):
    """A chooser is open to who may view the target list, or add or change rows in the form it
    serves; an institution operator has neither for the agency's forms."""
    PersonFactory(name="某人")
    operator = role_client("op_x", "institution_operator", institution=Institution.objects.get(code="CC-H-003"))

    assert suggest(operator, *source, "某").status_code == 403


def test_upload_pages_choose_the_institution_in_an_autocomplete_box(homes):
    """The visits / sign-up upload and the care claim upload: the agency's clerk picks any institution
    (care home) by name or code; an operator's own is chosen already and the box offers no other."""
    home, other_home = homes
    clerk = role_client("upload_clerk", "intake_clerk")
    html = clerk.get("/admin/settlement/poolupload/upload/").content.decode()
    assert 'data-model-name="poolupload"' in html and "admin-autocomplete" in html and "select2" in html
    assert f"{home.name}（{home.code}）" in texts(suggest(clerk, "settlement", "poolupload", "institution", home.code))

    operator = role_client("home_op", "institution_operator", institution=home)
    html = operator.get("/admin/settlement/poolupload/upload/").content.decode()
    assert "admin-autocomplete" not in html
    assert re.findall(r'<select name="institution"[^>]*>\s*<option value="(\d+)"', html) == [str(home.pk)]
    assert html.count("<option", html.index('name="institution"'), html.index('name="year"')) == 1
    assert ids(suggest(operator, "settlement", "poolupload", "institution", other_home.code)) == set()
    assert ids(suggest(operator, "carecare", "careclaimupload", "care_home", "")) == {home.pk}
    html = operator.get("/admin/carecare/careclaimupload/upload/").content.decode()
    assert "admin-autocomplete" not in html

    html = clerk.get("/admin/carecare/careclaimupload/upload/").content.decode()
    assert 'data-model-name="careclaimupload"' in html and "admin-autocomplete" in html
    offered = ids(suggest(clerk, "carecare", "careclaimupload", "care_home", ""))
    assert {home.pk, other_home.pk} <= offered
    assert not Institution.objects.filter(pk__in=offered).exclude(kind=home.kind).exists()


def test_anonymous_and_unknown_fields_are_refused(reference_data):
    assert suggest(Client(), "claims", "case", "person", "1").status_code == 302  # to the login page
    school_operator = UserFactory(username="school_x", is_staff=False)  # the portal's user, not the admin's
    school_operator.groups.add(Group.objects.get(name="school_operator"))
    client = Client()
    client.force_login(school_operator)
    assert suggest(client, "claims", "case", "person", "1").status_code == 302
    clerk = role_client("intake_x", "intake_clerk")
    assert suggest(clerk, "claims", "case", "nothing", "1").status_code == 403


# --------------------------------------------------------------------------- every list searches by last digits


def _user():
    return UserFactory(username="rows")


def _case(person, n):
    from claims.models import Case, CaseType

    return Case.objects.create(case_type=CaseType.objects.filter(region__code="220100").first(), person=person,
                               service_from=dt.date(2021, 3, 1), service_to=dt.date(2021, 3, 5), institution_level="tertiary",
                               bank_account="6222020200112345678", received_by=_user())


def _certification(person, n):
    from claims.certifications.models import Certification
    from medins.models import CatalogueItem

    region = person.region
    return Certification.objects.create(number=f"T-{n}", region=region, person=person, kind="chronic",
                                        item=CatalogueItem.objects.filter(region=region).first(), applied_by=_user())


def _institution():
    return Institution.objects.filter(region__code="220100").order_by("pk").first()


def _care_home():
    return Institution.objects.get(region__code="220100", code="CC-L-001")


ROWS = {
    "enrollment.Payment": lambda p, n: __import__("enrollment.models", fromlist=["Payment"]).Payment.objects.create(
        receipt_number=f"R-{n}", person=p, paid_on=dt.date(2021, 3, 15), amount=320, category="adult",
        policy_version="220100-2021", source="manual"),
    "enrollment.CoveragePeriod": lambda p, n: p.coverage_periods.create(
        benefit_year=2021, covered_from=dt.date(2021, 1, 1), covered_to=dt.date(2021, 12, 31)),
    "enrollment.Stop": lambda p, n: p.stops.create(reason="other", stop_date=dt.date(2021, 9, 1)),
    "ledger.LedgerAccount": lambda p, n: p.ledger_accounts.create(year=2021),
    "ledger.LedgerEntry": lambda p, n: p.ledger_entries.create(year=2021, benefit="inpatient", source_kind="case",
                                                               source_id=n, service_date=dt.date(2021, 3, 1)),
    "claims.Case": _case,
    "claims.PaymentOrder": lambda p, n: _case(p, n).payment_orders.create(amount=100, bank_account="6222020200112345678",
                                                                          account_name=p.name),
    "settlement.Visit": lambda p, n: p.pool_visits.create(institution=_institution(), visit_id=f"V-{n}",
                                                          service_date=dt.date(2021, 3, 1), year=2021, month=3,
                                                          policy_version="220100-2021"),
    "settlement.PoolMembership": lambda p, n: p.pool_memberships.create(institution=_institution(), year=2021,
                                                                        source="signup"),
    "settlement.CertifiedVisit": lambda p, n: p.certified_visits.create(
        institution=_institution(), visit_id=f"CV-{n}", benefit="chronic", item_code="X", level="tertiary",
        certification=_certification(p, n), service_date=dt.date(2021, 3, 1), policy_version="220100-2021"),
    "certifications.Certification": _certification,
    "certifications.CertificationRenewal": lambda p, n: __import__(
        "claims.certifications.models", fromlist=["CertificationRenewal"]).CertificationRenewal.objects.create(
        year=2021, institution=_institution(), certification=(c := _certification(p, n)), person=p, item=c.item),
    "carecare.Assessment": lambda p, n: p.care_assessments.create(requested_by="family", requested_on=dt.date(2021, 3, 1),
                                                                  requested_by_user=_user(), scale_version="barthel-2021"),
    "carecare.CareStay": lambda p, n: p.care_stays.create(care_home=_care_home(), admitted_on=dt.date(2021, 3, 1),
                                                          created_by=_user()),
    "carecare.CareClaim": lambda p, n: __import__("carecare.models", fromlist=["CareClaim"]).CareClaim.objects.create(
        care_home=_care_home(), month=dt.date(2021, n % 12 + 1, 1), content_digest=f"d{n}", received_by=_user()
    ).lines.create(person=p, id_number=p.id_number).claim,
}
ROWS["settlement.InpatientStay"] = lambda p, n: p.inpatient_stays.create(
    institution=_institution(), stay_id=f"ZY-{n}", admitted=dt.date(2021, 3, 1), discharged=dt.date(2021, 3, 5),
    level="tertiary", diagnosis="K35.8", policy_version="220100-2021")
ROWS["supervision.GreyListEntry"] = lambda p, n: __import__(
    "claims.supervision.models", fromlist=["GreyListEntry"]).GreyListEntry.objects.create(
    person=p, from_date=dt.date(2021, 6, 1), to_date=dt.date(2021, 8, 31), reason=f"灰名单{n}", created_by=_user())


def _recovery_order(p, n):
    from claims.supervision.models import Finding, RecoveryOrder

    region = p.region
    finding = Finding.objects.create(key=f"k{n}", region=region, rule="bed_holding", severity="review",
                                     month=dt.date(2021, 6, 1), service_date=dt.date(2021, 6, 20), evidence="e",
                                     state="confirmed")
    return RecoveryOrder.objects.create(finding=finding, kind="recovery", region=region, rule="bed_holding",
                                        month=dt.date(2021, 6, 1), debtor_person=p, amount=72, outstanding=72,
                                        fund_paid=100, fund_due=28, person_paid=0, person_due=0, created_by=_user())


ROWS["supervision.RecoveryOrder"] = _recovery_order
PERSON_LISTS = sorted(m._meta.label for m, a in admin.site._registry.items() if isinstance(a, PersonSearchMixin))


def test_every_list_of_rows_belonging_to_a_person_searches_persons():
    """Every admin list whose rows have an insured person (a foreign key to Person) and a search box
    searches with the shared person search — none left on a plain name or full-ID-only search."""
    with_person = {m._meta.label for m, a in admin.site._registry.items() if m is not Person
                   and any(f.is_relation and f.related_model is Person for f in m._meta.concrete_fields)}
    searchable = {label for label in with_person
                  if admin.site._registry[next(m for m in admin.site._registry if m._meta.label == label)].search_fields
                  or label in PERSON_LISTS}
    assert searchable <= set(PERSON_LISTS) and set(ROWS) == set(PERSON_LISTS) - {"enrollment.Person"}


_seq = itertools.count(1)


@pytest.mark.parametrize("label", sorted(ROWS))
@pytest.mark.parametrize("term_of", [lambda p: p.id_number[-4:], lambda p: p.id_number, lambda p: p.name],
                         ids=["last4", "full", "name"])
def test_every_person_list_finds_its_rows_by_the_last_digits(reference_data, label, term_of):
    """Issue #14 item 6: "every search accepts the last digits of an ID number" — cases,
    certifications, visits, care claims, assessments, stays, payment orders, the ledger …"""
    from django.apps import apps

    model = apps.get_model(label)
    wanted = PersonFactory(name="上官婉儿", birth=dt.date(1975, 6, 1), seq=381)
    other = PersonFactory(name="司马光", birth=dt.date(1982, 9, 9), seq=642)
    row, other_row = ROWS[label](wanted, next(_seq)), ROWS[label](other, next(_seq))
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"

    response = client.get(url, {"q": term_of(wanted)})

    assert response.status_code == 200
    shown = {obj.pk for obj in response.context_data["cl"].result_list}
    assert row.pk in shown and other_row.pk not in shown


@pytest.mark.parametrize("url", ["/admin/claims/case/", "/admin/certifications/certification/", "/admin/carecare/assessment/",
                                 "/admin/ledger/ledgerentry/"])
def test_person_search_on_a_list_is_bounded(reference_data, django_assert_max_num_queries, url):
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    client.get(url)

    with django_assert_max_num_queries(20):
        response = client.get(url, {"q": "1234"})

    assert response.status_code == 200


def test_case_list_finds_a_case_by_its_number(reference_data):
    person = PersonFactory()
    case = _case(person, 1)
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))

    response = client.get("/admin/claims/case/", {"q": case.number.lower()})

    assert [c.pk for c in response.context_data["cl"].result_list] == [case.pk]
