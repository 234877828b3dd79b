"""Work waiting in several queues with known submission times, for the home page's tests (unit
and browser): role users named as the demo's, cases, certifications, imports, a payment file and
a care assessment request."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from carecare.services.assessments import assessment_request
from claims.certifications.models import Certification, CertificationKind
from claims.certifications.services import certification_apply
from claims.models import Case, CaseType, PaymentFile
from claims.services import case_receive
from claims.settlement.models import InstitutionOperator
from claims.workflow import CaseState
from enrollment.models import PaymentImport
from medins.models import CatalogueItem, Institution, InstitutionImport
from medins.roles import ROLES
from tests.claims.factories import PersonFactory, cover, invoice

# What the world leaves in each queue: key -> (count, age of the oldest in days).
COUNTS = {
    "claims.case.new": (2, 3), "claims.case.incomplete": (1, 9), "claims.case.review": (0, None),
    "claims.case.approve": (1, 5), "claims.case.pay": (1, 12), "claims.paymentfile.result": (1, 0),
    "certifications.review": (2, 6), "certifications.approve": (1, 2), "certifications.incomplete_overdue": (0, None),
    "enrollment.payment_import.confirm": (1, 4), "medins.institution_import.confirm": (1, 0),
    "carecare.assessment.to_assess": (1, 7), "carecare.assessment.to_reassess": (0, None),
}


def role_users(password: str | None = None):
    """One user per role, named as the demo's (medins.demo), and the administrator `admin`; with
    `password`, all share it (hashed once)."""
    User = get_user_model()
    hashed = make_password(password) if password else "!"
    User.objects.create(username="admin", is_staff=True, is_superuser=True, password=hashed)
    for role in ROLES:
        user = User.objects.create(username=role.code, is_staff=role.staff, password=hashed)
        user.groups.add(Group.objects.get(name=role.code))


def build(password: str | None = None) -> dict:
    User = get_user_model()
    now = timezone.now()

    def ago(days, hours=1):
        return now - dt.timedelta(days=days, hours=hours)

    role_users(password)
    intake = User.objects.get(username="intake_clerk")
    exam = Institution.objects.get(region__code="220100", code="CC-H-003")
    InstitutionOperator.objects.create(user=User.objects.get(username="institution_operator"), institution=exam)
    case_type = CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission")

    def case(state, days, n):
        person = PersonFactory(birth=dt.date(1980, 3, 1))
        cover(person)
        c = case_receive(acting_user=intake, case_type=case_type, person=person, service_from="2021-05-10",
                         service_to="2021-05-20", institution_name="北京协和医院", institution_level="municipal_tertiary",
                         invoices=[invoice(number=f"INV-H{n}")], materials_received=[m.code for m in case_type.materials.all()])
        Case.objects.filter(pk=c.pk).update(state=state, received_at=ago(days))
        c.refresh_from_db()
        return c

    cases = [case(CaseState.RECEIVED, 3, 1), case(CaseState.RECEIVED, 1, 2), case(CaseState.MATERIALS_INCOMPLETE, 9, 3),
             case(CaseState.CALCULATED, 5, 4), case(CaseState.PAYMENT_FAILED, 12, 5), case(CaseState.PAID, 40, 6)]

    item = CatalogueItem.objects.get(region__code="220100", kind="chronic_disease", code="diabetes")
    treat = Institution.objects.get(region__code="220100", code="CC-H-019")
    certs = []
    for n, days in enumerate((6, 2)):
        person = PersonFactory(birth=dt.date(1960 + n, 3, 1))
        cover(person)
        cert = certification_apply(acting_user=intake, person=person, kind=CertificationKind.CHRONIC, item=item,
                                   applicant_institution=exam, institution=treat)
        Certification.objects.filter(pk=cert.pk).update(applied_at=ago(days))
        cert.refresh_from_db()
        certs.append(cert)
    Certification.objects.filter(pk=certs[1].pk).update(state="under_review")

    PaymentImport.objects.create(filename="tax.csv", content=b"", uploaded_by=intake)
    PaymentImport.objects.filter(filename="tax.csv").update(uploaded_at=ago(4))
    InstitutionImport.objects.create(filename="inst.csv", uploaded_by=User.objects.get(username="policy_admin"))
    PaymentFile.objects.create(pay_date=dt.date(2021, 6, 1))
    elder = PersonFactory(birth=dt.date(1940, 3, 1))
    cover(elder)
    requested = assessment_request(acting_user=intake, person=elder, requested_by="person", requested_on=dt.date(2021, 5, 3))
    type(requested).objects.filter(pk=requested.pk).update(requested_on=timezone.localdate() - dt.timedelta(days=7))
    return {"cases": cases, "certs": certs, "exam": exam}
