"""`python manage.py enrollment_import_payments FILE [--dry-run]`: import a tax bureau payment file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrollment.imports import FileError
from enrollment.services import payment_file_import, payment_import_prepare


class Command(BaseCommand):
    help = "Import a tax bureau payment file (.csv/.xlsx). Idempotent by receipt number; bad rows are reported."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="validate and report only")

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        try:
            run = payment_import_prepare if dry_run else payment_file_import
            payment_import, report = run(acting_user=None, filename=path.name, content=path.read_bytes())
        except (FileError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for error in report.errors:
            self.stdout.write(json.dumps(error, ensure_ascii=False))
        verb = "valid" if dry_run else "imported"
        self.stdout.write(f"{report.total} rows: {report.ok} {verb}, {report.duplicates} already imported, "
                          f"{len(report.errors)} with errors (import #{payment_import.pk}).")
