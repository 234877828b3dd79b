"""`python manage.py enrollment_import_payments FILE [--dry-run]`: import a tax bureau payment file.

Like `settlement_import` (issue #14): rows are numbered by their line in the file (the header is
line 1), a wrong header is "missing column(s): …"; exit 0 when every row was taken, 1 when rows
were refused, 2 when the file as a whole cannot be read."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrollment.imports import FileError
from enrollment.services import payment_file_import, payment_import_prepare
from medins.cli import file_problem


class Command(BaseCommand):
    help = "Import a tax bureau payment file (.csv/.xlsx). Idempotent by receipt number; bad rows are reported."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="validate and report only")

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(file_problem(file, exc), returncode=2) from None
        try:
            run = payment_import_prepare if dry_run else payment_file_import
            payment_import, report = run(acting_user=None, filename=path.name, content=content)
        except FileError as exc:
            raise CommandError(f"{file}: {exc.message}", returncode=2) from None
        for error in report.errors:
            self.stdout.write(json.dumps(error, ensure_ascii=False))
        verb = "valid" if dry_run else "imported"
        self.stdout.write(f"{report.total} rows: {report.ok} {verb}, {report.duplicates} already imported, "
                          f"{len(report.errors)} with errors (import #{payment_import.pk}).")
        if report.errors:
            sys.stdout.flush()
            sys.exit(1)
