"""`python manage.py supervision_demo_data`: fund-security findings to try (idempotent)."""

from django.core.management.base import BaseCommand

from claims.services.cases import system_user


class Command(BaseCommand):
    help = "Create the fund-supervision demo: paid inpatient cases with lines, the nightly findings, a grey-listed person."

    def handle(self, *args, **options):
        from ...demo import supervision_demo_ensure

        result = supervision_demo_ensure(acting_user=system_user())
        self.stdout.write(self.style.SUCCESS(
            f"Supervision demo: {result['cases_created']} cases and {result['stays_created']} direct inpatient stays "
            f"created; {result['findings_new']} new findings "
            f"({result['findings_known']} already there)."))
