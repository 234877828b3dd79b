"""`settlement_demo_data`: a Jinan school clinic with members and 2021 visits (idempotent).

山东大学 (college) is linked to 山东大学校医院; 40 students with cover for 2021 (three joining
later in the year, one leaving in June) and about 60 small visits (under the 60-a-year quota overall, so the
year-end pays the 50% surplus share) through the year. The monthly
runs January–November are settled, so a clerk can start December and the 2021 year-end run
from the admin ("Start a settlement run") and read the statement. Run after
`load_reference_data` (and after enrollment's demo data, if any). The demo user
`institution_operator`, when it exists, becomes 山东大学校医院's operator.
"""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from claims.settlement.models import InstitutionOperator, RunKind, SettlementRun
from claims.settlement.services import school_clinic_link, settlement_run_process, settlement_run_start, visits_ingest
from enrollment.idnumber import make_id_number
from enrollment.models import CoveragePeriod, Person, School, SchoolKind
from medins.models import Institution, Region

STUDENTS = 40
DEMO_OPERATOR = "institution_operator"


class Command(BaseCommand):
    help = "Demo data for outpatient-pool capitation settlement (Jinan, 2021). Idempotent."

    def handle(self, *args, **options):
        jinan = Region.objects.get(code="370100")
        clinic = Institution.objects.get(region=jinan, code="JN-S-001")
        with transaction.atomic():
            # The same school as enrollment's demo (enrollment/demo.py SCHOOLS), whichever runs first.
            school, _ = School.objects.get_or_create(code="370100-U001", defaults={
                "region": jinan, "name": "山东大学", "kind": SchoolKind.COLLEGE})
            school_clinic_link(acting_user=None, school=school, institution=clinic)
            students = []
            for n in range(STUDENTS):
                id_number = make_id_number("370102", dt.date(2001 + n % 4, 1 + n % 12, 1 + n % 28), 600 + n)
                person, created = Person.objects.get_or_create(id_number=id_number, defaults={
                    "name": f"演示学生{n + 1:02d}", "region": jinan, "school": school, "community": "历城区洪家楼街道"})
                if created:
                    start = dt.date(2021, 1, 1) if n < 37 else dt.date(2021, 4 + n - 37, 1)
                    end = dt.date(2021, 6, 30) if n == 0 else dt.date(2021, 12, 31)
                    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=start, covered_to=end)
                students.append(person)
            operator = get_user_model().objects.filter(username=DEMO_OPERATOR).first()
            if operator is not None:  # the demo user of the institution_operator role (medins demo_data)
                InstitutionOperator.objects.get_or_create(user=operator, defaults={"institution": clinic})
        rng = random.Random(2021)
        rows = []
        for n, person in enumerate(students):
            for k in range(rng.randint(0, 3)):
                day = dt.date(2021, rng.randint(1, 12), rng.randint(1, 28))
                rows.append({"visit_id": f"SDU-2021-{n:02d}-{k:02d}", "id_number": person.id_number,
                             "service_date": day.isoformat(), "class_a": f"{rng.randint(10, 50)}.{rng.randint(0, 99):02d}",
                             "class_b": f"{rng.randint(0, 15)}.00", "class_c": f"{rng.choice([0, 0, 5, 12])}.00"})
        from claims.settlement.services import pool_members_sync_schools
        pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
        year_closed = SettlementRun.objects.filter(region=jinan, kind=RunKind.YEAR_END, year=2021).exists()
        result = visits_ingest(acting_user=None, institution=clinic, rows=rows) if not year_closed else None
        for month in range(1, 12):
            run = settlement_run_start(acting_user=None, region=jinan, kind=RunKind.MONTHLY, year=2021, month=month) \
                if not year_closed else None
            if run is not None:
                settlement_run_process(run_id=run.pk)
        created = result.created if result else 0
        self.stdout.write(self.style.SUCCESS(
            f"settlement demo: {school.name} → {clinic.name}, {len(students)} students, {created} new visits; "
            "2021-01..11 settled — start December and the 2021 year-end run in the admin."))
