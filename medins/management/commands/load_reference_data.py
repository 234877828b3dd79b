"""`python manage.py load_reference_data [--dir DIR] [--dry-run]`: load medins/reference/."""

from django.core.management.base import BaseCommand, CommandError

from medins.services.reference_data import ReferenceDataError, reference_data_load


class Command(BaseCommand):
    help = (
        "Load regions, designations, institutions, catalogues and policy versions with their parameters "
        "from medins/reference/. Idempotent; parameters edited by a clerk are kept and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", dest="base_dir", default=None, help="reference data directory (default: medins/reference)")
        parser.add_argument("--dry-run", action="store_true", help="validate and report, then roll back")

    def handle(self, *args, base_dir=None, dry_run=False, verbosity=1, **options):
        try:
            report = reference_data_load(base_dir=base_dir, acting_user=None, dry_run=dry_run)
        except ReferenceDataError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity < 1:
            return
        for line in report.kept:
            self.stdout.write(self.style.WARNING(line))
        for line in report.notices:
            self.stdout.write(line)
        for line in report.lines():
            self.stdout.write(line)
        suffix = " (dry run: rolled back)" if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"Reference data loaded{suffix}."))
