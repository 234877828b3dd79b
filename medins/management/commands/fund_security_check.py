"""`python manage.py fund_security_check FILE|-` (contracts/fund-security.md "Command line")."""

import sys

from django.core.management.base import BaseCommand

from medins.cli import run
from medins.fund_security import check_or_error
from medins.selectors import PolicyCache


class Command(BaseCommand):
    help = ("Run the fund-security rules over a request (contracts/fund-security.md) and print the findings. "
            "Exit 0 with the response (also when there are findings); exit 2 with {\"error\": {...}} when refused.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON request file, or '-' for standard input")

    def handle(self, *args, file, **options):
        policies = PolicyCache()
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        code = run(path=file, many=False, out=out, answer=lambda data: check_or_error(data, policies=policies))
        if code:
            sys.exit(code)
