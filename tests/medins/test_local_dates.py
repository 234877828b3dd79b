"""Issue #10 item 5: "today" is the agency's date (Asia/Shanghai, `timezone.localdate()`), never the
process clock's `date.today()` — near midnight UTC they differ by a day, and at a year end by a year."""

import ast
import datetime as dt
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("medins", "enrollment", "claims", "carecare")
NAIVE = {("date", "today"), ("datetime", "today"), ("datetime", "now"), ("datetime", "utcnow")}


def naive_today_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (owner_name, node.func.attr) in NAIVE and not node.args and not node.keywords:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_app_code_never_reads_the_process_clock_for_today():
    found = [hit for app in APPS if (ROOT / app).is_dir() for path in sorted((ROOT / app).rglob("*.py"))
             if "migrations" not in path.parts for hit in naive_today_calls(path)]
    assert found == []


@pytest.fixture
def new_year_in_shanghai(monkeypatch):
    """2021-12-31 17:00 UTC is 2022-01-01 01:00 in Asia/Shanghai."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2021, 12, 31, 17, 0, tzinfo=dt.UTC))


def test_scheduled_settlements_take_the_agency_date(new_year_in_shanghai, monkeypatch):
    """DOMAIN §8: just after midnight on 1 January (Beijing time) the monthly job settles December and
    the year-end job the year just ended."""
    from claims.settlement import tasks

    started = []
    monkeypatch.setattr(tasks, "_start_all", lambda kind, year, month: started.append((kind, year, month)) or [])

    tasks.capitation_monthly()
    tasks.capitation_year_end()

    assert started == [("monthly", 2021, 12), ("year_end", 2021, None)]
