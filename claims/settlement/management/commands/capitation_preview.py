"""`python manage.py capitation_preview FILE|-` (contracts/capitation.md). Exit 2 with {"error": {...}}."""

import sys

from django.core.management.base import BaseCommand

from claims.settlement.capitation import parse_preview_request, preview, year_start
from medins.benefits.errors import QuoteError
from medins.cli import run
from medins.selectors import policy_in_force


def preview_or_error(data) -> tuple[bool, dict]:
    try:
        req = parse_preview_request(data)
        return True, preview(req, policy_in_force(region=req.region, date=year_start(req.year)))
    except QuoteError as exc:
        return False, {"error": exc.as_dict()}


class Command(BaseCommand):
    help = "Capitation settlement arithmetic of one institution and year (contracts/capitation.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON request file, or '-' for standard input")

    def handle(self, *args, file, **options):
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        code = run(path=file, many=False, out=out, answer=preview_or_error)
        if code:
            sys.exit(code)
