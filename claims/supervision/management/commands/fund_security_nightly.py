"""Run the nightly fund-security review for a day (default: yesterday), now, in this process."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Run the review rules over a day's settlements and record new findings (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the settlements' day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--region", help="one region code (default: every region)")

    def handle(self, *args, **options):
        from medins.models import Region

        from ...services import nightly_check

        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else timezone.localdate() - dt.timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from None
        codes = [options["region"]] if options["region"] else list(Region.objects.order_by("code").values_list("code", flat=True))
        out = []
        for code in codes:
            run = nightly_check(region=code, day=day)
            out.append({"region": code, "day": day.isoformat(), "settlements": run.settlements,
                        "history": run.history_settlements, "new_findings": run.findings_new,
                        "known_findings": run.findings_known, "undecided": run.undecided})
        self.stdout.write(json.dumps(out, ensure_ascii=False))
