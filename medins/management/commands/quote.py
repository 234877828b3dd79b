"""`python manage.py quote FILE|-` and `quote --many FILE.jsonl` (contracts/quote.md)."""

import json
import sys

from django.core.management.base import BaseCommand

from medins.quoting import quote_or_error
from medins.selectors import PolicyCache


def _read(path: str):
    return sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115


def _dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def _parse(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return {"__invalid_json__": str(exc)}


class Command(BaseCommand):
    help = "Compute a benefit quote (contracts/quote.md). Exit 2 on an invalid request or missing parameter."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON request file, or '-' for standard input")
        parser.add_argument("--many", action="store_true", help="one JSON request per line, one response per line")

    def handle(self, *args, file, many, **options):
        policies = PolicyCache()
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        failed = False
        with _read(file) as fh:
            if not many:
                ok, body = self._one(fh.read(), policies)
                out.write(_dumps(body) + "\n")
                failed = not ok
            else:
                write = out.write
                for line in fh:
                    if not line.strip():
                        continue
                    ok, body = self._one(line, policies)
                    write(_dumps(body) + "\n")
                    failed = failed or not ok
        out.flush()
        if failed:
            sys.exit(2)

    @staticmethod
    def _one(text: str, policies: PolicyCache):
        data = _parse(text)
        if isinstance(data, dict) and "__invalid_json__" in data:
            return False, {"error": {"code": "invalid_request", "message": f"not valid JSON: {data['__invalid_json__']}", "field": "body"}}
        return quote_or_error(data, policies=policies)
