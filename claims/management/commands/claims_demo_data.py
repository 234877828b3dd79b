"""Demo data of the claims app: case types, a Jinan school with two covered students and an operator,
and a few Changchun cases in different states. Idempotent; for the local demo only."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from claims.models import Case, CaseType, SchoolOperator
from claims.services import case_receive, case_types_load
from enrollment.idnumber import make_id_number
from enrollment.models import CoveragePeriod, Person, School, SchoolKind
from medins.demo import DEMO_PASSWORD
from medins.models import Region

DEMO_SCHOOL = "DEMO-JN-U1"
DEMO_OPERATOR = "school_operator"


class Command(BaseCommand):
    help = "Claims demo data (case types, a school with its operator and students, sample cases)."

    @transaction.atomic
    def handle(self, *args, **options):
        case_types_load()
        jinan = Region.objects.get(code="370100")
        school, _ = School.objects.get_or_create(code=DEMO_SCHOOL, defaults={"region": jinan, "name": "济南示例大学",
                                                                             "kind": SchoolKind.COLLEGE})
        User = get_user_model()
        operator, created = User.objects.get_or_create(username=DEMO_OPERATOR, defaults={"is_staff": False})
        if created:
            operator.set_password(DEMO_PASSWORD)
            operator.save(update_fields=["password"])
        SchoolOperator.objects.get_or_create(user=operator, defaults={"school": school})
        for birth, seq, name in ((dt.date(2002, 1, 1), 11, "示例学生甲"), (dt.date(2002, 2, 2), 22, "示例学生乙")):
            person, _ = Person.objects.get_or_create(
                id_number=make_id_number("370102", birth, seq),
                defaults={"name": name, "region": jinan, "school": school, "bank_account": f"62220202001000000{seq}"})
            if not CoveragePeriod.objects.filter(person=person, benefit_year=2021).exists():
                CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                              covered_to=dt.date(2021, 12, 31))
        changchun = Region.objects.get(code="220100")
        clerk = User.objects.filter(username="intake_clerk").first() or User.objects.get_or_create(username="system")[0]
        case_type = CaseType.objects.get(region=changchun, code="out_of_province_emergency_admission")
        made = 0
        for i in range(3):
            number = f"DEMO-ZY-{i + 1:04d}"
            if Case.objects.filter(invoices__number=number).exists():
                continue
            person, _ = Person.objects.get_or_create(
                id_number=make_id_number("220102", dt.date(1975 + i, 6, 1), 101 + i),
                defaults={"name": f"示例居民{i + 1}", "region": changchun, "bank_account": f"62220202009{i:08d}"})
            if not CoveragePeriod.objects.filter(person=person, benefit_year=2021).exists():
                CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                              covered_to=dt.date(2021, 12, 31))
            case_receive(acting_user=clerk, case_type=case_type, person=person, service_from=dt.date(2021, 5, 10 + i),
                         service_to=dt.date(2021, 5, 20 + i), institution_name="北京协和医院", institution_level="municipal_tertiary",
                         invoices=[{"issuer": "北京协和医院", "number": number, "issued_on": dt.date(2021, 5, 20 + i),
                                    "class_a": Decimal("20000.00") + i * 1000, "class_b": "10000.00", "class_c": "1500.00"}],
                         materials_received=[m.code for m in case_type.materials.all()][: 6 - 2 * i])
            made += 1
        self.stdout.write(f"claims demo: school {school.code}, operator '{DEMO_OPERATOR}', {made} new cases")
