"""`python manage.py enrollment_demo_data`: demo schools and insured persons (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from enrollment.demo import demo_persons_ensure


class Command(BaseCommand):
    help = "Create the demo insured persons used by enrollment/samples/tax_payments_sample.csv (idempotent)."

    def handle(self, *args, **options):
        try:
            counts = demo_persons_ensure()
        except KeyError as exc:
            raise CommandError(f"region {exc} is missing: run load_reference_data first") from exc
        self.stdout.write(self.style.SUCCESS(f"Demo persons: {counts['created']} created, {counts['existing']} already there."))
