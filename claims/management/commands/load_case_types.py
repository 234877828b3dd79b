from django.core.management.base import BaseCommand

from claims.services import case_types_load


class Command(BaseCommand):
    help = "Load the shipped manual-case types and their materials (idempotent; keeps local edits)."

    def handle(self, *args, **options):
        counts = case_types_load()
        self.stdout.write(f"case types: {counts['created']} created, {counts['kept']} kept; "
                          f"materials created: {counts['materials_created']}")
