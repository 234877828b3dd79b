"""Issue #11: who may move money (findings 2, 3, 8), operator accounts (4), what a school sees of a
student who moved (5), personal data shown to the supervisor (9) and leaks across tenants (13)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from claims.errors import NotPermitted
from claims.models import Attachment, Batch, CaseType, MaterialsNotice, SchoolOperator
from claims.selectors import school_cases, school_notices
from claims.services import batch_submit, case_approve, case_calculate, case_details_update, case_start_review
from claims.settlement.models import InstitutionOperator
from claims.workflow import CaseState
from medins.models import Institution
from medins.roles import roles_sync
from tests.claims.factories import PersonFactory, SchoolFactory, cover, invoice
from tests.confirming import take_step
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "6222020200198765432"


@pytest.fixture
def role_user(reference_data):
    roles_sync()

    def make(role, username=None, **kwargs):
        user = UserFactory(username=username or role, is_staff=kwargs.pop("is_staff", True), **kwargs)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


OLD_ACCOUNT = "6222020200111112222"


@pytest.fixture
def calculated(new_case, reviewer, intake):
    """A calculated case whose bank account was corrected once (a diff in its history)."""
    case = new_case(bank_account=OLD_ACCOUNT)
    case_details_update(acting_user=intake, case=case, bank_account=ACCOUNT)
    case_start_review(acting_user=reviewer, case=case)
    return case_calculate(acting_user=reviewer, case=case)


# --------------------------------------------------------------------------- finding 2: approve


@pytest.mark.parametrize("role", ["intake_clerk", "finance", "reviewer", "supervisor"])
def test_only_an_approver_may_approve_in_the_service(calculated, role_user, role):
    """Finding 2: intake clerk, finance and a reviewer each approved cases; approve is the approver's alone."""
    with pytest.raises(NotPermitted):
        case_approve(acting_user=role_user(role), case=calculated)
    calculated.refresh_from_db()
    assert calculated.state == CaseState.CALCULATED


def test_the_approver_approves(calculated, role_user):
    case = case_approve(acting_user=role_user("approver"), case=calculated)
    assert case.state == CaseState.APPROVED


@pytest.mark.parametrize("role", ["intake_clerk", "finance", "reviewer"])
def test_only_an_approver_may_approve_in_the_admin(calculated, role_user, client, role):
    """Finding 2 in the admin: no approve button, the transition and the bulk action are refused."""
    client.force_login(role_user(role))
    page = client.get(reverse("admin:claims_case_change", args=[calculated.pk])).content.decode()
    assert 'data-action="approve"' not in page
    response = take_step(client, reverse("admin:claims_case_change", args=[calculated.pk]), "approve", confirm=True)
    assert response.status_code == 403
    client.post(reverse("admin:claims_case_changelist"), {"action": "action_approve", "_selected_action": [calculated.pk]})
    calculated.refresh_from_db()
    assert calculated.state == CaseState.CALCULATED


def test_the_approver_sees_the_approve_button(calculated, role_user, client):
    client.force_login(role_user("approver"))
    page = client.get(reverse("admin:claims_case_change", args=[calculated.pk])).content.decode()
    assert 'data-action="approve"' in page


# --------------------------------------------------------------------------- finding 3: bank results


@pytest.fixture
def ordered(calculated, role_user):
    """An approved case, ordered for payment by the nightly job (the bank file holds its account)."""
    from claims.services import payment_orders_create

    case_approve(acting_user=role_user("approver"), case=calculated)
    payment_file, _created = payment_orders_create(acting_user=role_user("finance", "nightly"), pay_date=dt.date(2021, 6, 1))
    order = payment_file.orders.get()
    assert order.bank_account == ACCOUNT and ACCOUNT in payment_file.content
    return order


@pytest.mark.parametrize("role", ["intake_clerk", "reviewer", "approver", "supervisor"])
def test_bank_result_import_is_finance_alone(ordered, role_user, client, role):
    """Finding 3: an intake clerk marked 11 orders paid; only finance imports the bank's result."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(role_user(role))
    url = reverse("admin:claims_paymentfile_import")
    assert client.get(url).status_code == 403
    result = SimpleUploadedFile("r.csv", f"order_no,result,message\nZF{ordered.pk:08d},success,ok\n".encode())
    assert client.post(url, {"file": result}).status_code == 403
    ordered.refresh_from_db()
    assert ordered.status == "ordered"
    assert url not in client.get(reverse("admin:claims_paymentfile_changelist")).content.decode()


def test_finance_imports_the_bank_result(ordered, role_user, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(role_user("finance"))
    url = reverse("admin:claims_paymentfile_import")
    assert url in client.get(reverse("admin:claims_paymentfile_changelist")).content.decode()
    result = SimpleUploadedFile("r.csv", f"order_no,result,message\nZF{ordered.pk:08d},success,ok\n".encode())
    assert client.post(url, {"file": result}).status_code == 302
    ordered.refresh_from_db()
    assert ordered.status == "paid"


# --------------------------------------------------------------------------- finding 8: scheduled jobs


@pytest.mark.parametrize("role", ["policy_admin", "finance", "intake_clerk", "supervisor"])
def test_scheduled_jobs_are_the_administrators_alone(role_user, client, role):
    """Finding 8: policy_admin could run, edit and delete periodic tasks (the payment job among them)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    task = PeriodicTask.objects.create(name="pay", task="claims.tasks.payment_orders_nightly",
                                       interval=IntervalSchedule.objects.create(every=1, period="days"))
    user = role_user(role)
    assert not any(user.has_perm(f"django_celery_beat.{a}_periodictask") for a in ("view", "add", "change", "delete"))
    client.force_login(user)
    for url in (reverse("admin:django_celery_beat_periodictask_changelist"),
                reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]),
                reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk])):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                           {"action": "run_tasks", "_selected_action": [task.pk]})
    assert response.status_code == 403
    assert PeriodicTask.objects.filter(pk=task.pk).exists()


# --------------------------------------------------------------------------- finding 4: operator accounts


@pytest.fixture
def two_schools(reference_data):
    return SchoolFactory(kind="college", name="甲大学"), SchoolFactory(kind="college", name="乙大学")


@pytest.mark.parametrize("role", ["intake_clerk", "reviewer", "approver", "finance", "policy_admin", "supervisor"])
def test_staff_cannot_move_operators_between_tenants(two_schools, role_user, client, role):
    """Finding 4: staff moved school-operator accounts between schools and linked an institution
    operator to a school; only the administrator changes operator links."""
    a, b = two_schools
    operator = SchoolOperator.objects.create(user=UserFactory(username="op_a", is_staff=False), school=a)
    client.force_login(role_user(role))
    change = reverse("admin:claims_schooloperator_change", args=[operator.pk])
    assert client.get(change).status_code == 403
    client.post(change, {"user": operator.user_id, "school": b.pk})
    assert client.get(reverse("admin:claims_schooloperator_add")).status_code == 403
    assert client.get(reverse("admin:settlement_institutionoperator_add")).status_code == 403
    operator.refresh_from_db()
    assert operator.school == a


def test_the_administrator_moves_an_operator_with_history(two_schools, superuser_client):
    a, b = two_schools
    operator = SchoolOperator.objects.create(user=UserFactory(username="op_a", is_staff=False), school=a)
    response = superuser_client.post(reverse("admin:claims_schooloperator_change", args=[operator.pk]),
                                     {"user": operator.user_id, "school": b.pk})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.school == b
    latest = operator.history.order_by("-history_id").first()
    assert latest.school_id == b.pk and latest.history_user.username == "root"


def test_a_user_operates_one_tenant_only(two_schools):
    """Finding 4: an institution operator linked to a school read that school's cases."""
    a, _b = two_schools
    user = UserFactory(username="op_inst")
    InstitutionOperator.objects.create(user=user, institution=Institution.objects.first())
    with pytest.raises(ValidationError):
        SchoolOperator(user=user, school=a).full_clean()
    school_user = UserFactory(username="op_school")
    SchoolOperator.objects.create(user=school_user, school=a)
    with pytest.raises(ValidationError):
        InstitutionOperator(user=school_user, institution=Institution.objects.first()).full_clean()


# --------------------------------------------------------------------------- finding 5: a student moves


@pytest.fixture
def moved_student(two_schools, intake):
    """A student whose case school A submitted, now a student of school B."""
    a, b = two_schools
    op_a = UserFactory(username="op_a", is_staff=False)
    SchoolOperator.objects.create(user=op_a, school=a)
    student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=a)
    cover(student)
    case_type = CaseType.objects.filter(region__code="370100", active=True).exclude(benefit="maternity").order_by("pk").first()
    batch, _ = batch_submit(acting_user=op_a, school=a, client_batch_id="A-1", source="api", rows=[{
        "row_id": "1", "id_number": student.id_number, "name": student.name, "case_type": case_type.code,
        "service_from": "2021-05-10", "service_to": "2021-05-12", "institution_name": "甲医院",
        "institution_level": "municipal_tertiary", "bank_account": ACCOUNT,
        "invoices": [invoice(number="MOVE-1", issuer="甲医院")],
        "attachments": [{"material": "", "filename": "scan.pdf", "content_type": "application/pdf",
                         "content_base64": "JVBERg=="}]}])
    case = batch.cases.get()
    MaterialsNotice.objects.create(case=case, issued_by=intake, missing=[{"code": "invoice", "name": "发票"}])
    student.school = b
    student.save(update_fields=["school"])
    op_b = UserFactory(username="op_b", is_staff=False)
    SchoolOperator.objects.create(user=op_b, school=b)
    return case, op_a, op_b


def _items(body):
    """A list response, paginated or not."""
    return body["results"] if isinstance(body, dict) else body


def test_the_new_school_does_not_see_the_old_schools_cases(moved_student, client):
    """Finding 5: after a student moved, the new school read the old school's cases and attachments."""
    case, op_a, op_b = moved_student
    _a, b = op_a.school_operator.school, op_b.school_operator.school
    assert not school_cases(b.pk).exists() and not school_notices(b.pk).exists()
    client.force_login(op_b)
    assert client.get(reverse("v1:school-case-detail", args=[case.pk])).status_code == 404
    assert _items(client.get(reverse("v1:school-case-list")).json()) == []
    assert client.get(reverse("portal:case", args=[case.pk])).status_code == 404
    attachment = Attachment.objects.get(case=case)
    assert client.get(reverse("portal:attachment", args=[case.pk, attachment.pk])).status_code == 404
    notice = case.notices.get()
    assert client.get(reverse("portal:notice", args=[notice.pk])).status_code == 404
    assert _items(client.get(reverse("v1:school-notice-list")).json()) == []


def test_the_submitting_school_keeps_its_cases(moved_student, client):
    """Issue #11 item 3: a school sees the cases it submitted, whoever the student's school is now."""
    case, op_a, _op_b = moved_student
    client.force_login(op_a)
    assert client.get(reverse("v1:school-case-detail", args=[case.pk])).status_code == 200
    assert client.get(reverse("portal:case", args=[case.pk])).status_code == 200


# --------------------------------------------------------------------------- finding 9: masked for the supervisor


def test_supervisor_sees_masked_accounts_on_payment_pages_and_history(ordered, role_user, client):
    """Finding 9: full bank accounts on the payment-order page, the payment-file content and case history diffs."""
    case = ordered.case
    client.force_login(role_user("supervisor"))
    pages = [reverse("admin:claims_paymentorder_change", args=[ordered.pk]),
             reverse("admin:claims_paymentorder_history", args=[ordered.pk]),
             reverse("admin:claims_paymentfile_change", args=[ordered.payment_file_id]),
             reverse("admin:claims_case_history", args=[case.pk]),
             reverse("admin:claims_case_change", args=[case.pk]),
             reverse("admin:enrollment_person_history", args=[case.person_id])]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert ACCOUNT not in body and OLD_ACCOUNT not in body, url
    assert "6222**" in client.get(pages[2]).content.decode()
    history = case.history.order_by("history_id").first()
    body = client.get(reverse("admin:claims_case_simple_history", args=[case.pk, history.history_id])).content.decode()
    assert ACCOUNT not in body


def test_finance_sees_the_full_account(ordered, role_user, client):
    client.force_login(role_user("finance"))
    assert ACCOUNT in client.get(reverse("admin:claims_paymentorder_change", args=[ordered.pk])).content.decode()
    assert ACCOUNT in client.get(reverse("admin:claims_paymentfile_change", args=[ordered.payment_file_id])).content.decode()


# --------------------------------------------------------------------------- finding 13: leaks across tenants


def test_a_duplicate_invoice_does_not_name_another_schools_case(two_schools):
    """Finding 13: a duplicate-invoice error showed school A school B's case number."""
    a, b = two_schools
    users = {}
    for school in (a, b):
        users[school.pk] = UserFactory(username=f"op_{school.code}", is_staff=False)
        SchoolOperator.objects.create(user=users[school.pk], school=school)
    student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=b)
    cover(student)
    case_type = CaseType.objects.filter(region__code="370100", active=True).exclude(benefit="maternity").order_by("pk").first()

    def row(number):
        return {"row_id": "1", "id_number": student.id_number, "name": student.name, "case_type": case_type.code,
                "service_from": "2021-05-10", "service_to": "2021-05-12", "institution_name": "甲医院",
                "institution_level": "municipal_tertiary", "bank_account": ACCOUNT,
                "invoices": [invoice(number=number, issuer="甲医院")]}

    # given school B's case claiming an invoice, and the student now at school A
    first, _ = batch_submit(acting_user=users[b.pk], school=b, client_batch_id="B-1", source="api", rows=[row("DUP-1")])
    earlier = first.cases.get()
    student.school = a
    student.save(update_fields=["school"])
    # when school A sends the same invoice, then the refusal does not name B's case
    second, _ = batch_submit(acting_user=users[a.pk], school=a, client_batch_id="A-1", source="api", rows=[row("DUP-1")])
    entry = second.report[0]
    assert entry["status"] == "rejected"
    assert earlier.number not in str(entry) and "earlier_case" not in entry
    assert any(words in entry["errors"][0] for words in ("another case", "其他案件"))  # English or the zh_Hans UI
    # the school's own earlier case is named (chunk path and in-batch duplicates alike)
    own, _ = batch_submit(acting_user=users[a.pk], school=a, client_batch_id="A-2", source="api", rows=[row("DUP-2")])
    again, _ = batch_submit(acting_user=users[a.pk], school=a, client_batch_id="A-3", source="api", rows=[row("DUP-2")])
    assert again.report[0]["earlier_case"] == own.cases.get().number
    assert Batch.objects.count() == 4


def test_a_sign_up_refusal_does_not_name_the_other_institution(reference_data):
    """Finding 13: "already a member of another institution (#40)" named the institution."""
    from claims.settlement.models import PoolMembership
    from claims.settlement.services import pool_signups_import
    from medins.models import Designation

    pool = Designation.objects.get(code="outpatient_pool")
    first, second = (Institution.objects.filter(region__code="370100", designations=pool).order_by("pk")[:2])
    person = PersonFactory(area="370102", birth=dt.date(1970, 1, 1))
    cover(person)
    PoolMembership.objects.create(person=person, institution=first, year=2021, source="signup")
    result = pool_signups_import(acting_user=None, institution=second, year=2021, rows=[{"id_number": person.id_number}])
    (error,) = result.errors
    assert f"#{first.pk}" not in error["message"] and first.name not in error["message"]
    assert error["message"] == "2021 年度已签约其他机构"  # in Chinese (issue 14 item 4), naming no institution
