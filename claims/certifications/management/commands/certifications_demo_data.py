"""`certifications_demo_data`: a few certifications of each kind, in different states, and the
operator accounts of an exam hospital and a special-drug hospital (idempotent; local demo only).

Changchun: a chronic certification by the exam hospital 中日联谊医院 (operator `exam_hospital`)
whose treatment institution changed in June, one waiting for documents (its notice printable), a
special disease and an episodic one, a special drug approved at 吉大一院 (operator
`special_drug_hospital`) with a pharmacy. Jinan: a student's 门规 file forwarded by the demo
school and reviewed (waiting for the second clerk), a 两病 registration, a rejected application.
Run after the claims demo (its school and operator). Dates are in 2021, the policy year loaded.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from claims.certifications import services as cs
from claims.certifications.models import Certification
from claims.settlement.models import InstitutionOperator
from enrollment.idnumber import make_id_number
from enrollment.models import CoveragePeriod, Person, School
from medins.demo import DEMO_PASSWORD
from medins.models import CatalogueItem, Institution, Region

OPERATORS = {"exam_hospital": "CC-H-003", "special_drug_hospital": "CC-H-001"}


def _user(username, *, role=None):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _person(region, area, birth, seq, name, school=None):
    person, _ = Person.objects.get_or_create(id_number=make_id_number(area, birth, seq), defaults={
        "name": name, "region": region, "school": school, "bank_account": f"622202020077{seq:07d}"})
    if not CoveragePeriod.objects.filter(person=person, benefit_year=2021).exists():
        CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                      covered_to=dt.date(2021, 12, 31))
    return person


def _docs(cert, user):
    for doc in cert.documents.all():
        cs.certification_attach(acting_user=user, certification=cert, document_code=doc.code, filename=f"{doc.code}.pdf",
                                content_type="application/pdf", content=b"%PDF-1.4 demo scan")


def _approve(cert, applicant, reviewer, approver, on):
    _docs(cert, applicant)
    cs.certification_start_review(acting_user=reviewer, certification=cert)
    return cs.certification_approve(acting_user=approver, certification=cert, on=on)


def _bank_accounts(institutions) -> None:
    """A demo bank account for each place of use that has none, so the certified visits' monthly
    statements can be released to payment in the demo (release refuses an institution without one)."""
    for institution in institutions:
        if not institution.bank_account:
            institution.bank_name = "中国建设银行（演示）"
            institution.bank_account = f"4367420{institution.pk:012d}"
            institution.bank_account_name = institution.name
            institution.save(update_fields=["bank_name", "bank_account", "bank_account_name"])


class Command(BaseCommand):
    help = "Certifications demo data (each kind, several states) and hospital operators. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        cc, jn = Region.objects.get(code="220100"), Region.objects.get(code="370100")
        ops = {}
        for username, code in OPERATORS.items():
            ops[username] = _user(username, role="institution_operator")
            InstitutionOperator.objects.get_or_create(user=ops[username],
                                                      defaults={"institution": Institution.objects.get(region=cc, code=code)})
        clerk, reviewer, approver, approver2 = (_user(n) for n in ("intake_clerk", "reviewer", "approver", "approver2"))
        exam, drug_hospital = ops["exam_hospital"], ops["special_drug_hospital"]

        def item(region, code):
            return CatalogueItem.objects.get(region=region, code=code)

        def inst(code):
            return Institution.objects.get(code=code)

        p1 = _person(cc, "220102", dt.date(1958, 4, 2), 301, "认定示例甲")
        p2 = _person(cc, "220102", dt.date(1966, 8, 9), 302, "认定示例乙")
        p3 = _person(cc, "220104", dt.date(1972, 1, 15), 303, "认定示例丙")
        school = School.objects.filter(code="DEMO-JN-U1").first()
        student = _person(jn, "370102", dt.date(2002, 3, 3), 304, "认定示例学生", school=school)
        resident = _person(jn, "370102", dt.date(1962, 7, 7), 305, "两病示例居民")
        persons = [p1, p2, p3, student, resident]
        if Certification.objects.filter(person__in=persons).exists():
            self.stdout.write("certifications demo: already loaded")
            return
        day = dt.date(2021, 3, 1)
        # Changchun chronic: certified by the exam hospital, treated at 朝阳区医院, moved to a community centre in June
        diabetes = cs.certification_apply(acting_user=exam, person=p1, kind="chronic", item=item(cc, "diabetes"),
                                          institution=inst("CC-H-019"))
        _approve(diabetes, exam, exam, exam, day)
        cs.certification_change_institution(acting_user=clerk, certification=diabetes, institution=inst("CC-C-001"),
                                            on=dt.date(2021, 6, 30))
        # ... a second disease waiting for documents (one notice listing what is missing)
        heart = cs.certification_apply(acting_user=exam, person=p1, kind="chronic", item=item(cc, "coronary_heart_disease"),
                                       institution=inst("CC-H-019"))
        cs.certification_attach(acting_user=exam, certification=heart, document_code="id_card", filename="id.pdf",
                                content_type="application/pdf", content=b"%PDF-1.4 demo")
        cs.certification_request_documents(acting_user=reviewer, certification=heart, missing=[],
                                           note="请补充体检认定检查结果（心电图）")
        # ... and one new in the review queue
        cs.certification_apply(acting_user=exam, person=p2, kind="chronic", item=item(cc, "copd"), institution=inst("CC-H-020"))
        # special diseases at 朝阳区医院 (open-ended) and an episodic one (90 days)
        anaemia = cs.certification_apply(acting_user=clerk, person=p2, kind="special_disease", item=item(cc, "SPD-027"),
                                         applicant_institution=inst("CC-H-019"))
        _approve(anaemia, clerk, reviewer, approver, day)
        polyp = cs.certification_apply(acting_user=clerk, person=p3, kind="special_disease", item=item(cc, "SPD-011"),
                                       applicant_institution=inst("CC-H-006"))
        _approve(polyp, clerk, reviewer, approver, dt.date(2021, 10, 15))
        # a special drug approved at 吉大一院, dispensed there or at 吉林大药房重庆路连锁店, to 31 December
        drug = cs.certification_apply(acting_user=drug_hospital, person=p3, kind="special_drug", item=item(cc, "CC-D-003"),
                                      dispensing_institution=inst("CC-P-001"),
                                      assessment={"doctor": "示例责任医师", "indication": "HER2阳性乳腺癌"})
        _approve(drug, drug_hospital, drug_hospital, drug_hospital, dt.date(2021, 5, 1))
        # Jinan: a student's 门规 file forwarded by the school, reviewed, waiting for the second clerk (four eyes)
        if school is not None:
            forwarder = get_user_model().objects.filter(username="school_operator").first() or clerk
            menggui = cs.certification_apply(acting_user=forwarder, person=student, kind="chronic",
                                             item=item(jn, "hypertension"), institution=inst("JN-C-001"), school=school)
            _docs(menggui, forwarder)
            cs.certification_start_review(acting_user=reviewer, certification=menggui)
        # a 两病 registration at a community clinic, and a rejected application
        two = cs.certification_apply(acting_user=clerk, person=resident, kind="two_diseases", item=item(jn, "diabetes"),
                                     institution=inst("JN-C-001"), insulin_since=day)
        _approve(two, clerk, reviewer, approver2, day)
        refused = cs.certification_apply(acting_user=clerk, person=resident, kind="chronic", item=item(jn, "uremia_dialysis"),
                                         institution=inst("JN-H-003"))
        cs.certification_reject(acting_user=reviewer, certification=refused, reason="检查报告不是二级及以上定点医疗机构出具")
        _bank_accounts(Institution.objects.filter(certification_sites__certification__person__in=persons).distinct())
        self.stdout.write(f"certifications demo: {Certification.objects.filter(person__in=persons).count()} certifications, "
                          f"operators {', '.join(OPERATORS)}")
