"""`python manage.py quote FILE|-` and `quote --many FILE.jsonl` (contracts/quote.md)."""

import sys

from django.core.management.base import BaseCommand

from medins.cli import run
from medins.quoting import quote_or_error
from medins.selectors import PolicyCache


class Command(BaseCommand):
    help = ("Compute a benefit quote (contracts/quote.md). With --many, output line N answers input line N. "
            "Exit 2 when anything was refused.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON request file, or '-' for standard input")
        parser.add_argument("--many", action="store_true", help="one JSON request per line, one response per line")

    def handle(self, *args, file, many, **options):
        policies = PolicyCache()
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        code = run(path=file, many=many, out=out, answer=lambda data: quote_or_error(data, policies=policies))
        if code:
            sys.exit(code)
