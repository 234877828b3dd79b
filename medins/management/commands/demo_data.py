from django.core.management import call_command
from django.core.management.base import BaseCommand

from medins.demo import DEMO_PASSWORD, demo_users_ensure


class Command(BaseCommand):
    help = "Load reference data, role groups and demo users for the local demo (idempotent)."

    def handle(self, *args, **options):
        call_command("load_reference_data", stdout=self.stdout)
        users = demo_users_ensure()
        self.stdout.write(self.style.SUCCESS(f"Demo users (password '{DEMO_PASSWORD}'): {', '.join(users)}"))
