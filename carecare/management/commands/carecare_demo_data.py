"""`python manage.py carecare_demo_data`: care homes with residents and June 2021's claim (idempotent)."""

from django.core.management.base import BaseCommand

from carecare.demo import care_demo_ensure
from claims.services.cases import system_user


class Command(BaseCommand):
    help = "Create the long-term care demo: residents of two care homes, the care_home operator, June's claim."

    def handle(self, *args, **options):
        result = care_demo_ensure(acting_user=system_user())
        self.stdout.write(self.style.SUCCESS(
            f"Care demo: {result['residents_created']} residents created; June 2021 claim {result['claim']}."))
