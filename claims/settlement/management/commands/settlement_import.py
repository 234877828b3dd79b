"""`settlement_import visits|stays|signups REGION INSTITUTION_CODE FILE [--year 2021]`: file import of
visits (visit_id,id_number,service_date,class_a[,class_b,class_c]), of a hospital's direct inpatient
stays (one row per itemised line, the stay's columns repeated: services/stays.py) or of a
resident sign-up list (id_number[,signed_on]). Prints the result as JSON.

Like `enrollment_import_payments` (issue #14): the file is read by the one parser
(medins.parsing), rows are numbered by their line in the file (the header is line 1), a wrong
header is "missing column(s): …"; exit 0 when every row was taken, 1 when rows were refused,
2 when the file as a whole cannot be read (missing, not CSV/XLSX text, wrong header)."""

import json
import sys
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from claims.settlement.imports import COLUMNS, REQUIRED
from claims.settlement.services import pool_signups_import, stays_receive, visits_receive
from claims.settlement.services.stays import MAX_STAYS, stay_rows_group
from claims.settlement.services.visits import MAX_BATCH
from medins.cli import file_problem
from medins.models import Institution
from medins.parsing import FileError, match_columns, read_table

# The columns (English or Chinese headers) are those of the admin upload (claims.settlement.imports).
# Certified visits name their benefit and disease/drug (optional: a pool visit has neither).


def read_file(what: str, file: str) -> tuple[list[int], list[dict]]:
    """(line numbers, one dict per data row keyed by field); raises CommandError (exit 2)."""
    try:
        header, rows = read_table(Path(file).name, Path(file).read_bytes())
        columns = match_columns(header, COLUMNS[what], REQUIRED[what])
        lines, records = [], []
        for line, values in rows:
            lines.append(line)
            records.append({field: values[i] if i < len(values) else "" for field, i in columns.items()})
    except OSError as exc:
        raise CommandError(file_problem(file, exc), returncode=2) from None
    except FileError as exc:
        raise CommandError(f"{file}: {exc.message}", returncode=2) from None
    return lines, records


class Command(BaseCommand):
    help = ("Import outpatient-pool or certified visits, direct inpatient stays or a sign-up list for one institution "
            "from CSV/XLSX. Exit 1 when rows "
            "were refused, 2 when the file cannot be read.")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["visits", "stays", "signups"])
        parser.add_argument("region")
        parser.add_argument("institution")
        parser.add_argument("file")
        parser.add_argument("--year", type=int, help="sign-up year (signups only)")

    def handle(self, *args, what, region, institution, file, year, **options):
        inst = Institution.objects.select_related("region").filter(region__code=region, code=institution).first()
        if inst is None:
            raise CommandError(f"no institution {institution} in region {region}", returncode=2)
        if what == "signups" and not year:
            raise CommandError("--year is required for signups", returncode=2)
        lines, rows = read_file(what, file)
        if what == "signups":
            r = pool_signups_import(acting_user=None, institution=inst, year=year, rows=rows)
            out = {"created": r.created, "unchanged": r.unchanged, "errors": r.errors}
        elif what == "stays":  # an error names its stay's first line
            stays, first_rows = stay_rows_group(rows)
            out = {"created": 0, "duplicates": 0, "fund": "0.00", "errors": []}
            for start in range(0, len(stays), MAX_STAYS):
                r = stays_receive(acting_user=None, institution=inst, stays=stays[start:start + MAX_STAYS])
                out["created"] += r.created
                out["duplicates"] += r.duplicates
                out["fund"] = str(Decimal(out["fund"]) + r.fund)
                out["errors"] += [{**e, "row": first_rows[e["row"] + start - 1]} for e in r.errors]
        else:
            out = {"created": 0, "duplicates": 0, "errors": []}
            for start in range(0, len(rows), MAX_BATCH):
                r = visits_receive(acting_user=None, institution=inst, rows=rows[start:start + MAX_BATCH])
                out["created"] += r.created
                out["duplicates"] += r.duplicates
                out["errors"] += [{**e, "row": e["row"] + start} for e in r.errors]
        # the services number rows 1, 2, … in the list: report the line in the file instead
        out["errors"] = [{**e, "row": lines[e["row"] - 1]} if isinstance(e.get("row"), int) else e for e in out["errors"]]
        self.stdout.write(json.dumps(out, ensure_ascii=False))
        if out["errors"]:
            sys.exit(1)
