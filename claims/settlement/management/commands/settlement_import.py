"""`settlement_import visits|signups REGION INSTITUTION_CODE FILE [--year 2021]`: file import of
visits (visit_id,id_number,service_date,class_a,class_b,class_c) or of a resident sign-up list
(id_number,signed_on). Prints the result as JSON; exit 1 when rows were refused."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from claims.settlement.imports import read_rows
from claims.settlement.services import pool_signups_import, visits_receive
from claims.settlement.services.visits import MAX_BATCH
from medins.models import Institution


class Command(BaseCommand):
    help = "Import outpatient-pool visits or a sign-up list for one institution from CSV/XLSX."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["visits", "signups"])
        parser.add_argument("region")
        parser.add_argument("institution")
        parser.add_argument("file")
        parser.add_argument("--year", type=int, help="sign-up year (signups only)")

    def handle(self, *args, what, region, institution, file, year, **options):
        inst = Institution.objects.select_related("region").filter(region__code=region, code=institution).first()
        if inst is None:
            raise CommandError(f"no institution {institution} in region {region}")
        rows = read_rows(file, Path(file).read_bytes())
        if what == "signups":
            if not year:
                raise CommandError("--year is required for signups")
            r = pool_signups_import(acting_user=None, institution=inst, year=year, rows=rows)
            out = {"created": r.created, "unchanged": r.unchanged, "errors": r.errors}
        else:
            out = {"created": 0, "duplicates": 0, "errors": []}
            for start in range(0, len(rows), MAX_BATCH):
                r = visits_receive(acting_user=None, institution=inst, rows=rows[start:start + MAX_BATCH])
                out["created"] += r.created
                out["duplicates"] += r.duplicates
                out["errors"] += [{**e, "row": e["row"] + start} for e in r.errors]
        self.stdout.write(json.dumps(out, ensure_ascii=False))
        if out["errors"]:
            sys.exit(1)
