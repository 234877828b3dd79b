"""The permission matrix walk (issue #11 item 1): every admin URL (changelist, add, change, delete,
history, past version, custom pages, case transitions, bulk actions) and every API and portal
endpoint, for every role, against the one table in medins/roles.py. Any difference fails, with
the full list of differences; an admin page, action or endpoint the table does not declare fails
too. Expected outcomes come from the table alone (roles × actions → permissions, and the
permissions each URL needs), never from the views' own checks.

Allowed: 200/201/204/400/409 or a redirect elsewhere than to a login or the admin index.
Forbidden: 401/403/404/405, a redirect to a login page, or the admin's "does not exist"
redirect to its index. A 5xx is always a difference.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.management import call_command
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from claims.admin import _ACTIONS as CASE_BUTTONS
from claims.models import Attachment, Batch, Case, CaseType, MaterialsNotice, PaymentFile, PaymentOrder, SchoolOperator
from claims.services import case_receive
from claims.settlement.models import (
    FeeStatement,
    InstitutionOperator,
    InstitutionSettlement,
    PoolMembership,
    PoolUpload,
    SchoolClinic,
    SettlementRun,
    YearReopening,
)
from claims.settlement.services import visits_ingest
from claims.settlement.services.uploads import pool_upload_check
from claims.supervision.models import Finding
from enrollment.models import CoveragePeriod, Payment, PaymentImport, School, Stop
from medins.jobs import Job
from medins.models import Institution, InstitutionImport, Region
from medins.roles import (
    ADMIN_ACTIONS,
    ADMIN_VIEWS,
    CASE_DETAIL_FIELDS,
    CASE_TRANSITIONS,
    EDITABLE_FIELDS,
    ENDPOINTS,
    ROLES,
    role_permissions,
    roles_sync,
)
from medins.schedules import schedules_sync
from medins.services.institution_import import institution_import_check
from tests.enrollment import factories as ef

ANON, ROOT = "anonymous", "administrator"
STANDARD = {"changelist": "view|change", "add": "add", "change": "view|change", "delete": "delete",
            "history": "view|change", "simple_history": "view|change"}


@dataclass
class Who:
    name: str
    user: object | None  # None: anonymous
    perms: set[str] = field(default_factory=set)
    superuser: bool = False
    school: int | None = None
    institution: int | None = None

    def has(self, requirement: str) -> bool:
        """One requirement: a permission, alternatives "a|b", or a tenant rule."""
        if requirement == "public":
            return True
        if self.user is None:
            return False
        if requirement == "authenticated":
            return True
        if requirement == "tenant:school":
            return self.school is not None
        if requirement == "tenant:institution":  # the fixture's institution is the operator's own
            return True
        if requirement == "tenant:institution_operator":  # an institution operator account only (hospital API)
            return self.institution is not None
        if requirement == "staff":
            return self.superuser or self.user.is_staff
        return self.superuser or any(p in self.perms for p in requirement.split("|"))

    def may(self, requirements) -> bool:
        return all(self.has(r) for r in requirements)


# --------------------------------------------------------------------------- the data set


def _build():
    """A small data set with at least one object of every model the admin shows."""
    call_command("load_reference_data", verbosity=0, stdout=io.StringIO())
    call_command("load_case_types", stdout=io.StringIO())
    roles_sync()
    schedules_sync()
    User = get_user_model()
    root = ef.UserFactory(username="root", is_superuser=True, is_staff=True)
    jinan = Region.objects.get(code="370100")
    clinic = Institution.objects.get(region=jinan, code="JN-S-001")
    school = School.objects.create(region=jinan, code="WALK-A", name="甲大学", kind="college")
    SchoolClinic.objects.create(school=school, institution=clinic)
    person = ef.PersonFactory(area="370102", birth=dt.date(2001, 3, 4), school=school, bank_account="6222020200112345678")
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                  covered_to=dt.date(2021, 12, 31))
    users = {}
    for role in ROLES:
        user = ef.UserFactory(username=f"walk_{role.code}", is_staff=role.staff)
        user.groups.add(Group.objects.get(name=role.code))
        users[role.code] = user
    SchoolOperator.objects.create(user=users["school_operator"], school=school)
    InstitutionOperator.objects.create(user=users["institution_operator"], institution=clinic)

    case_type = CaseType.objects.filter(region=jinan, active=True).exclude(benefit="maternity").order_by("pk").first()
    batch = Batch.objects.create(school=school, client_batch_id="walk-1", source="api", submitted_by=users["school_operator"])
    case = case_receive(acting_user=users["school_operator"], case_type=case_type, person=person, school=school, batch=batch,
                        service_from="2021-05-10", service_to="2021-05-12", institution_name="甲医院",
                        institution_level="municipal_tertiary",
                        invoices=[{"issuer": "甲医院", "number": "W-1", "issued_on": "2021-05-12", "class_a": "100.00"}])
    Attachment.objects.create(case=case, filename="scan.pdf", content_type="application/pdf", content=b"%PDF", size=4)
    MaterialsNotice.objects.create(case=case, issued_by=root, missing=[{"code": "x", "name": "发票"}])
    payment_file = PaymentFile.objects.create(pay_date=dt.date(2021, 6, 1), content=(
        "order_no,case_no,account_name,bank_account,amount\nZF00000001,BX00000001,甲,6222020200112345678,1.00\n"))
    PaymentOrder.objects.create(case=case, payment_file=payment_file, amount="1.00", bank_account=person.bank_account,
                                account_name=person.name)
    Payment.objects.create(receipt_number="WALK-R-1", person=person, paid_on=dt.date(2020, 12, 1), amount="350.00",
                           category="college_student", policy_version="370100-2021", source="manual")
    PaymentImport.objects.create(filename="tax.csv", content=b"", uploaded_by=root)
    Stop.objects.create(person=ef.PersonFactory(area="370102", birth=dt.date(1960, 1, 1)), reason="death",
                        stop_date=dt.date(2021, 7, 1), created_by=root)

    PoolMembership.objects.create(person=person, institution=clinic, year=2021, source="school")
    visits_ingest(acting_user=None, institution=clinic, rows=[{"visit_id": "W-V1", "id_number": person.id_number,
                                                               "service_date": "2021-03-01", "class_a": "50.00"}])
    run = SettlementRun.objects.create(region=jinan, kind="monthly", year=2021, month=3, started_by=root)
    InstitutionSettlement.objects.create(run=run, institution=clinic)
    from claims.certifications.models import Certification
    from claims.settlement.models import CertifiedVisit
    from medins.models import CatalogueItem

    certification = Certification.objects.create(
        number="WALK-C1", region=jinan, person=person, kind="two_diseases", institution=clinic, state="approved",
        item=CatalogueItem.objects.get(region=jinan, kind="chronic_disease", code="hypertension"), applied_by=root,
        valid_from=dt.date(2021, 1, 1))
    fee_run = SettlementRun.objects.create(region=jinan, kind="ffs", year=2021, month=3, started_by=root)
    fee_statement = FeeStatement.objects.create(run=fee_run, institution=clinic, benefit="two_diseases", year=2021,
                                                month=3)
    CertifiedVisit.objects.create(institution=clinic, visit_id="W-C1", person=person, benefit="two_diseases",
                                  item_code="hypertension", certification=certification, level="primary",
                                  service_date=dt.date(2021, 3, 3), policy_version="370100-2021",
                                  statement=fee_statement)
    from claims.settlement.models import InpatientStay

    InpatientStay.objects.create(institution=clinic, stay_id="W-ZY1", person=person, admitted=dt.date(2021, 3, 1),
                                 discharged=dt.date(2021, 3, 4), level="primary", diagnosis="J18.9",
                                 policy_version="370100-2021")
    year_end = SettlementRun.objects.create(region=jinan, kind="year_end", year=2020, month=12, started_by=root)
    YearReopening.objects.create(region=jinan, year=2020, reason="walk", year_end_run=year_end, requested_by=root)
    institution_import_check(acting_user=root, filename="institutions.csv", content=(
        "region,code,name,kind,level,designations\n370100,WALK-I-1,甲卫生院,clinic,primary,two_diseases\n").encode())
    pool_upload_check(acting_user=users["institution_operator"], kind="visits", institution=clinic, year=None,
                      filename="v.csv", content=f"visit_id,id_number,service_date,class_a\nW-V2,{person.id_number},2021-03-02,"
                                                  "10.00\n".encode())

    # long-term care: an approved assessment and a stay "of" the walk operator's institution (the
    # operator sees its own home's only; made directly, the services would want a care home)
    from carecare.models import Assessment, CareStay

    items = {"feeding": 5, "bathing": 0, "grooming": 0, "dressing": 5, "bowels": 10, "bladder": 5, "toilet": 5,
             "transfer": 5, "walking": 0, "stairs": 0}
    assessment = Assessment.objects.create(
        person=person, requested_by="care_home", care_home=clinic, requested_on=dt.date(2021, 6, 1), requested_by_user=root,
        state="approved", scale_version="barthel_changchun_2015", items=items, score=35, grade="severe",
        assessed_on=dt.date(2021, 6, 3), approved_on=dt.date(2021, 6, 15), valid_from=dt.date(2021, 6, 15),
        valid_to=dt.date(2023, 6, 15))
    assessment.transitions.create(from_state="", to_state="requested", actor=root)
    CareStay.objects.create(person=person, care_home=clinic, admitted_on=dt.date(2021, 6, 1), created_by=root)
    from carecare.models import CareClaim, CareClaimLine, CareClaimReminder, CareClaimUpload

    care_claim = CareClaim.objects.create(care_home=clinic, month=dt.date(2021, 6, 1), content_digest="walk",
                                          received_by=users["institution_operator"])
    care_claim.transitions.create(from_state="", to_state="received", actor=users["institution_operator"])
    CareClaimLine.objects.create(claim=care_claim, person=person, id_number=person.id_number,
                                 days=[{"date": "2021-06-01", "bed": "40.00", "nursing": "0.00", "supplies": "0.00",
                                        "other": "0.00", "refused": "not_resident"}])
    CareClaimUpload.objects.create(care_home=clinic, month=dt.date(2021, 6, 1), filename="walk.csv",
                                   preview={"errors": [{"row": 2, "field": "bed", "message": "walk"}]},
                                   uploaded_by=users["institution_operator"])
    CareClaimReminder.objects.create(month=dt.date(2021, 6, 1), homes=[], home_count=0)

    # a 两病 registration at the operator's clinic (primary level), with a notice, an attachment and a renewal row
    from claims.certifications.models import CertificationNotice, CertificationRenewal
    from claims.certifications.services import certification_apply, certification_attach
    from medins.models import CatalogueItem

    cert = certification_apply(acting_user=root, person=person, kind="two_diseases", applicant_institution=clinic,
                               item=CatalogueItem.objects.get(region=jinan, kind="chronic_disease", code="diabetes"))
    cert_attachment = certification_attach(acting_user=root, certification=cert, document_code=cert.documents.first().code,
                                           filename="scan.pdf", content_type="application/pdf", content=b"%PDF")
    CertificationNotice.objects.create(certification=cert, issued_by=root, missing=[{"code": "x", "name": "诊断证明"}])
    CertificationRenewal.objects.create(year=2022, institution=clinic, certification=cert, person=person, item=cert.item)
    # a 门规 file forwarded by the school (the school API and portal), with an attachment and a notice
    from claims.certifications.models import Certification, CertificationAttachment

    school_application = Certification.objects.create(
        number="MB-WALK-SCHOOL", region=jinan, person=person, kind="chronic", applied_by=root, school=school,
        item=CatalogueItem.objects.get(region=jinan, kind="chronic_disease", code="hypertension"))
    CertificationAttachment.objects.create(certification=school_application, filename="scan.pdf",
                                           content_type="application/pdf", content=b"%PDF-", size=5, uploaded_by=root)
    CertificationNotice.objects.create(certification=school_application, issued_by=root,
                                       missing=[{"code": "medical_records", "name": "病历"}])

    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult
    from rest_framework.authtoken.models import Token

    clocked = ClockedSchedule.objects.create(clocked_time=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    PeriodicTask.objects.get_or_create(name="walk-once", defaults={"task": "medins.tasks.noop", "clocked": clocked,
                                                                   "one_off": True})
    CrontabSchedule.objects.get_or_create(minute="5", hour="1")
    IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    SolarSchedule.objects.create(event="sunrise", latitude=36.65, longitude=117.0)
    TaskResult.objects.create(task_id="walk-task")
    GroupResult.objects.create(group_id="walk-group")
    Token.objects.create(user=root)
    from claims.supervision.models import CheckRun, Finding, GreyListEntry

    run = CheckRun.objects.create(region=jinan, day=dt.date(2021, 6, 1))
    finding = Finding.objects.create(key="walk", region=jinan, rule="bed_holding", rule_version="370100-2021",
                                     severity="review", settlement_refs=["case:1"], month=dt.date(2021, 6, 1),
                                     service_date=dt.date(2021, 6, 1), evidence="walk", run=run)
    finding.persons.add(person)
    GreyListEntry.objects.create(person=person, from_date=dt.date(2021, 6, 1), to_date=dt.date(2021, 8, 31),
                                 reason="walk", created_by=root)
    from claims.supervision.models import RecoveryOrder

    RecoveryOrder.objects.create(finding=finding, kind="recovery", region=jinan, rule="bed_holding",
                                 month=dt.date(2021, 6, 1), debtor_person=person, amount=10, outstanding=10, fund_paid=10,
                                 fund_due=0, person_paid=0, person_due=0, created_by=root)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    attempt = {"user_agent": "walk", "ip_address": "127.0.0.1", "username": "someone", "http_accept": "*/*",
               "path_info": "/admin/login/", "attempt_time": dt.datetime(2021, 1, 1, tzinfo=dt.UTC)}
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)

    # a background job (medins.jobs): finance's payment-order job, finished, on the walk's payment file
    Job.objects.create(kind="payment_orders", status="done", params={"pay_date": "2021-06-01"},
                       started_by=users["finance"], target_model="claims.paymentfile", target_id=payment_file.pk,
                       result={"counts": [["orders", 1]]})

    for model in admin.site._registry:
        assert model._default_manager.exists(), f"the walk's data set has no {model._meta.label}: add one"
    assert User.objects.filter(username="walk_school_operator").exists()
    return {"root": root, "users": users, "case": case, "batch": batch, "person": person, "clinic": clinic,
            "notice": MaterialsNotice.objects.get(case=case), "attachment": Attachment.objects.get(case=case),
            "payment_import": PaymentImport.objects.get(), "upload": PoolUpload.objects.get(), "assessment": assessment,
            "stay": CareStay.objects.get(), "care_claim": care_claim, "care_upload": CareClaimUpload.objects.get(),
            "institution_import": InstitutionImport.objects.get(), "cert": cert,
            "cert_notice": CertificationNotice.objects.get(certification=cert), "cert_attachment": cert_attachment,
            "applications": {"institution": cert, "school": school_application}}


def _whos(data) -> list[Who]:
    perms = list(Permission.objects.select_related("content_type"))
    out = [Who(ANON, None), Who(ROOT, data["root"], superuser=True)]
    for role in ROLES:
        user = data["users"][role.code]
        out.append(Who(role.code, user, role_permissions(role, perms),
                       school=SchoolOperator.objects.filter(user=user).values_list("school_id", flat=True).first(),
                       institution=InstitutionOperator.objects.filter(user=user).values_list("institution_id", flat=True).first()))
    return out


# --------------------------------------------------------------------------- outcomes


def _outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status in (401, 403, 404):
        return "forbidden"
    if status in (301, 302):
        location = response.headers.get("Location", "")
        if "login" in location or location.rstrip("/").endswith("/admin") or location == reverse("admin:index"):
            return "forbidden"
        return "allowed"
    if status == 405:  # the method is served to nobody
        return "forbidden"
    if status in (200, 201, 204, 400, 409):
        return "allowed"
    if status == 415:  # DRF parses the body only after authentication and permissions passed: the walk's
        return "allowed"  # form POST to a JSON-only endpoint (issue #14) or JSON to an upload endpoint
    return f"unexpected {status}"


def _request(client, method, url, data=None):
    """One request inside a rolled-back savepoint: a permitted POST changes nothing for the next one."""
    with transaction.atomic():
        response = client.post(url, data or {}) if method == "POST" else client.get(url)
        transaction.set_rollback(True)
    return response


def _walk_patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk_patterns(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}", p


# --------------------------------------------------------------------------- the admin URLs


def _admin_urls(data):
    """(label, method, url, requirements) for every admin URL, with real object ids."""
    objects = {"claims_case": data["case"], "enrollment_paymentimport": data["payment_import"],
               "settlement_poolupload": data["upload"]}
    out, standard_names = [], set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        info = f"{opts.app_label}_{opts.model_name}"
        obj = objects.get(info) or model._default_manager.order_by("pk").first()
        objects[info] = obj
        perm = {kind: "|".join(f"{opts.app_label}.{k}_{opts.model_name}" for k in need.split("|"))
                for kind, need in STANDARD.items()}
        pk = str(obj.pk)
        for kind, args in (("changelist", []), ("add", []), ("change", [pk]), ("delete", [pk]), ("history", [pk])):
            name = f"admin:{info}_{kind}"
            standard_names.add(name)
            out.append((name, "GET", reverse(name, args=args), (perm[kind],)))
        history = getattr(obj, "history", None)
        if history is not None and hasattr(model_admin, "history_form_view"):
            name = f"admin:{info}_simple_history"
            standard_names.add(name)
            version = history.order_by("history_id").first()
            if version is not None:
                out.append((name, "GET", reverse(name, args=[pk, version.history_id]),
                            (perm["simple_history"], *ADMIN_VIEWS.get(name, ()))))
    args_for = {
        "admin:claims_case_notice": [data["case"].pk, data["notice"].pk],
        "admin:claims_case_attachment": [data["case"].pk, data["attachment"].pk],
        "admin:enrollment_payment_import_confirm": [data["payment_import"].pk],
        "admin:settlement_institutionsettlement_print": [InstitutionSettlement.objects.get().pk],
        "admin:settlement_feestatement_print": [FeeStatement.objects.get().pk],
        "admin:settlement_poolupload_confirm": [data["upload"].pk],
        "admin:medins_institutionimport_confirm": [data["institution_import"].pk],
        "admin:auth_user_password_change": [data["root"].pk],
        "admin:carecare_assessment_act": [data["assessment"].pk],
        "admin:carecare_assessment_notice": [data["assessment"].pk],
        "admin:carecare_carestay_act": [data["stay"].pk],
        "admin:carecare_careclaim_act": [data["care_claim"].pk],
        "admin:supervision_finding_act": [Finding.objects.get().pk],
        "admin:supervision_finding_recover": [Finding.objects.get().pk],
        "admin:supervision_recoveryorder_act": [Finding.objects.get().recovery_orders.get().pk],
        "admin:carecare_careclaimupload_confirm": [data["care_upload"].pk],
        "admin:claims_paymentfile_download": [PaymentFile.objects.get().pk],
        **{f"admin:medins_job_{page}": [Job.objects.get().pk] for page in ("progress", "status", "result", "rerun")},
        "admin:certifications_certification_notice": [data["cert"].pk, data["cert_notice"].pk],
        "admin:certifications_certification_attachment": [data["cert"].pk, data["cert_attachment"].pk],
    }
    custom, undeclared = [], []
    for name, _pattern in _walk_patterns(get_resolver().url_patterns):
        if not name.startswith("admin:") or name in standard_names:
            continue
        # the admin's own pages, open to every staff user and showing no record
        if name in ("admin:index", "admin:login", "admin:logout", "admin:password_change", "admin:password_change_done",
                    "admin:jsi18n", "admin:view_on_site", "admin:app_list", "admin:autocomplete"):
            continue
        custom.append(name)
        if name not in ADMIN_VIEWS:
            undeclared.append(name)
            continue
        url = reverse(name, args=args_for.get(name, []))
        out.append((name, "GET", url, ADMIN_VIEWS[name]))
        out.append((name, "POST", url, ADMIN_VIEWS[name]))
    assert not undeclared, f"admin pages the permission table (medins.roles.ADMIN_VIEWS) does not declare: {undeclared}"
    # each transition button of the case page (it submits the page: medins.admin_workflow), with its own permissions
    url = reverse("admin:claims_case_change", args=[data["case"].pk])
    for button in CASE_BUTTONS:
        out.append((f"admin:claims_case_change[{button}]", "POST", (url, {"_workflow_step": button}),
                    ("claims.change_case", *CASE_TRANSITIONS.get(button, ()))))
    return out, custom


def _expected_admin(who: Who, requirements, superuser_outcome: str) -> str:
    if who.user is None or not (who.superuser or who.user.is_staff):
        return "forbidden"
    if superuser_outcome == "forbidden":  # nobody may (e.g. payments are never added by hand)
        return "forbidden"
    return "allowed" if who.may(requirements) else "forbidden"


# --------------------------------------------------------------------------- the API and the portal


def _endpoint_urls(data):
    kwargs_for = {
        "v1:person-detail": {"pk": data["person"].pk}, "v1:person-coverage": {"pk": data["person"].pk},
        "v1:school-batch-detail": {"pk": data["batch"].pk}, "v1:school-case-detail": {"pk": data["case"].pk},
        "v1:settlement-visits": {"region": "370100", "code": data["clinic"].code},
        "v1:settlement-signups": {"region": "370100", "code": data["clinic"].code},
        "v1:settlement-visits-file": {"region": "370100", "code": data["clinic"].code},
        "v1:settlement-signups-file": {"region": "370100", "code": data["clinic"].code},
        "v1:settlement-stays": {"region": "370100", "code": data["clinic"].code},
        "v1:settlement-stays-file": {"region": "370100", "code": data["clinic"].code},
        "portal:batch": {"pk": data["batch"].pk}, "portal:case": {"pk": data["case"].pk},
        "portal:case-materials": {"pk": data["case"].pk},
        "portal:attachment": {"pk": data["case"].pk, "attachment_pk": data["attachment"].pk},
        "portal:notice": {"pk": data["notice"].pk},
        **{name: {"pk": data["applications"]["institution"].pk} for name in (
            "v1:certification-detail", "v1:certification-attachments", "v1:certification-resubmit",
            "v1:certification-decision")},
        **{name: {"pk": data["applications"]["school"].pk} for name in (
            "v1:school-certification-detail", "v1:school-certification-attachments", "v1:school-certification-resubmit",
            "portal:certification")},
        "portal:certification-attachment": {"pk": data["applications"]["school"].pk,
                                            "attachment_pk": data["applications"]["school"].attachments.get().pk},
        "v1:care-assessment-detail": {"pk": data["assessment"].pk},
        "v1:care-claim-detail": {"pk": data["care_claim"].pk},
    }
    out = []
    for name, _pattern in _walk_patterns(get_resolver().url_patterns):
        if not name.startswith(("v1:", "portal:")):
            continue
        assert name in ENDPOINTS, f"{name}: an endpoint the permission table (medins.roles.ENDPOINTS) does not declare"
        if name == "portal:logout":
            continue  # signs the walker out; anyone may
        url = reverse(name, kwargs=kwargs_for.get(name, {}))
        for method, requirements in ENDPOINTS[name].items():
            out.append((name, method, url, requirements))
    return out


# --------------------------------------------------------------------------- the walk


@pytest.mark.django_db
def test_every_admin_url_and_endpoint_for_every_role_matches_the_matrix(settings):
    """Issue #11 item 1 and findings 2, 3, 4, 8: approve is the approver's alone, the bank result
    import finance's, operator accounts and scheduled jobs the administrator's."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    data = _build()
    whos = _whos(data)
    admin_urls, custom = _admin_urls(data)
    endpoints = _endpoint_urls(data)
    differences, checked = [], 0
    root_client = Client(raise_request_exception=False)
    root_client.force_login(data["root"])
    superuser_outcome = {}
    for label, method, target, _req in admin_urls:
        url, body = target if isinstance(target, tuple) else (target, None)
        superuser_outcome[(label, method)] = _outcome(_request(root_client, method, url, body))

    for who in whos:
        client = Client(raise_request_exception=False)
        if who.user is not None:
            client.force_login(who.user)
        for label, method, target, requirements in admin_urls:
            url, body = target if isinstance(target, tuple) else (target, None)
            got = (superuser_outcome[(label, method)] if who.superuser
                   else _outcome(_request(client, method, url, body)))
            want = _expected_admin(who, requirements, superuser_outcome[(label, method)])
            checked += 1
            if got != want:
                differences.append(f"{who.name:22} {method:4} {label} ({url}): {got}, table says {want}")
        for label, method, url, requirements in endpoints:
            got = _outcome(_request(client, method, url, {}))
            want = "allowed" if who.may(requirements) else "forbidden"
            checked += 1
            if got != want:
                differences.append(f"{who.name:22} {method:4} {label} ({url}): {got}, table says {want}")

    # bulk actions offered on each changelist, and "edit which fields" of a case
    factory = RequestFactory()
    case = data["case"]
    for who in whos:
        if who.user is None:
            continue
        request = factory.get("/admin/")
        request.user = who.user
        for model, model_admin in admin.site._registry.items():
            label = model._meta.label
            offered = set(model_admin.get_actions(request)) if model_admin.has_view_or_change_permission(request) else set()
            declared = {name for (m, name) in ADMIN_ACTIONS if m == label}
            every = set(model_admin.get_actions(_root_request(factory, data["root"])))
            for name in every - declared - {"delete_selected"}:
                undeclared = f"{label}.{name}: a bulk action the permission table (ADMIN_ACTIONS) does not declare"
                if undeclared not in differences:
                    differences.append(undeclared)
            want = {name for name in declared & every if who.may(ADMIN_ACTIONS[(label, name)])}
            if "delete_selected" in every and who.may((f"{model._meta.app_label}.delete_{model._meta.model_name}",)):
                want.add("delete_selected")
            checked += 1
            if offered != want:
                differences.append(f"{who.name:22} actions of {label}: {sorted(offered)}, table says {sorted(want)}")
        if who.may(("claims.change_case",)):
            case_admin = admin.site._registry[Case]
            fields = set(case_admin.get_fields(request, case)) & {*CASE_DETAIL_FIELDS, "bank_account"}
            editable = fields - set(case_admin.get_readonly_fields(request, case))
            want = set(CASE_DETAIL_FIELDS) | {"bank_account"} if who.superuser else set(EDITABLE_FIELDS[who.name]["claims.Case"])
            want &= fields
            checked += 1
            if editable != want:
                differences.append(f"{who.name:22} editable case fields: {sorted(editable)}, table says {sorted(want)}")

    urls = len(admin_urls) + len(endpoints)
    print(f"permission matrix: {len(whos)} roles × {urls} URLs = {len(whos) * urls} requests "
          f"({len(custom)} custom admin pages), {checked} checks in all")
    assert not differences, "\n".join(differences)
    assert len(whos) == len(ROLES) + 2


def _root_request(factory, root):
    request = factory.get("/admin/")
    request.user = root
    return request


def test_the_table_names_every_action_of_every_role():
    from medins.roles import ACTIONS, MATRIX

    assert set(MATRIX) == {r.code for r in ROLES}
    assert all(a in ACTIONS for actions in MATRIX.values() for a in actions)
    assert set(EDITABLE_FIELDS) <= set(MATRIX)
    _ = AnonymousUser  # the anonymous row of the walk is a client without login


def test_the_table_declares_every_operation_of_the_openapi_schema():
    """Issue #11 item 1: every API operation of the OpenAPI schema is an endpoint the table (and so the walk) covers."""
    import re

    from drf_spectacular.generators import SchemaGenerator

    def shape(path):  # parameter names differ ({pk} in the URLconf, {id} in the schema)
        return re.sub(r"\{[^}]*\}", "{}", path)

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {(shape(path), method.upper()) for path, item in schema["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    declared = set()
    for name, methods in ENDPOINTS.items():
        if not name.startswith("v1:"):
            continue
        route = next(p for n, p in _walk_patterns(get_resolver().url_patterns) if n == name)
        path = "/api/v1/" + str(route.pattern).replace("<int:", "{").replace("<str:", "{").replace(">", "}")
        declared |= {(shape(path), method) for method in methods}
    assert operations == declared
