from django.core.management.base import BaseCommand

from medins.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the role groups and their permissions (idempotent)."

    def handle(self, *args, **options):
        for code, count in roles_sync().items():
            self.stdout.write(f"{code}: {count} permissions")
