from django.core.management import call_command
from django.core.management.base import BaseCommand

from medins.demo import DEMO_PASSWORD, demo_users_ensure
from medins.schedules import schedules_sync


class Command(BaseCommand):
    help = "Load reference data, role groups and demo users for the local demo (idempotent)."

    def handle(self, *args, **options):
        call_command("load_reference_data", stdout=self.stdout)
        users = demo_users_ensure()
        # Each app contributes its own demo records; called by name so the core app
        # does not import the apps that depend on it.
        schedules_sync()
        for command in ("enrollment_demo_data", "claims_demo_data", "settlement_demo_data",
                        "certifications_demo_data", "carecare_demo_data", "supervision_demo_data"):
            call_command(command, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo users (password '{DEMO_PASSWORD}'): {', '.join(users)}"))
