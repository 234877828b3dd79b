"""`python manage.py enrollment_preview FILE|-` and `--many FILE.jsonl` (contracts/enrollment-preview.md)."""

import json
import sys

from django.core.management.base import BaseCommand

from enrollment.previewing import preview_or_error
from medins.selectors import PolicyCache


def _read(path: str):
    return sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115


def _one(text: str, policies: PolicyCache) -> tuple[bool, dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return False, {"error": {"code": "invalid_request", "message": f"not valid JSON: {exc}", "field": "body"}}
    return preview_or_error(data, policies=policies)


class Command(BaseCommand):
    help = "What a contribution paid on a date buys (contracts/enrollment-preview.md). Exit 2 on an error."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON request file, or '-' for standard input")
        parser.add_argument("--many", action="store_true", help="one JSON request per line, one response per line")

    def handle(self, *args, file, many, **options):
        policies = PolicyCache()
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        failed = False
        with _read(file) as fh:
            lines = [fh.read()] if not many else (line for line in fh if line.strip())
            for text in lines:
                ok, body = _one(text, policies)
                out.write(json.dumps(body, ensure_ascii=False) + "\n")
                failed = failed or not ok
        out.flush()
        if failed:
            sys.exit(2)
