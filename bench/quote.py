"""Benchmark of the quote contract (issue #2, item 9). Run by hand:

    .venv/bin/python bench/quote.py [--n 50000]

1. The pure engine in one process: parse + compute + response dict, policy snapshot in memory.
2. `manage.py quote --many` end to end (process start, policy read from a SQLite database
   prepared beforehand, JSON in and out), timed from the outside.
Targets: 10 000 quotes/s in-process on one core, 5 000/s through `quote --many`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEVELS = ["provincial_tertiary", "municipal_tertiary", "secondary", "primary"]
CATEGORIES = ["adult", "minor", "student", "college_student", "newborn"]
FLAGS = [[], [], [], ["long_term_out_of_area"], ["out_of_area_non_emergency"], ["out_of_area_emergency", "direct_settlement_skipped"], ["referral"]]


def requests(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        out.append({
            "region": "220100",
            "benefit": rnd.choice(["inpatient", "inpatient", "inpatient", "day_surgery"]),
            "service_date": f"2021-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "person": {"category": rnd.choice(CATEGORIES)},
            "institution": {"level": rnd.choice(LEVELS)},
            "bill": {k: f"{rnd.uniform(0, 80000):.2f}" for k in ("class_a", "class_b", "class_c")},
            "year_to_date": {
                "fund_paid": f"{rnd.choice([0, 0, 50000, 195000]):.2f}",
                "covered_personal": f"{rnd.choice([0, 5000, 12000, 150000]):.2f}",
                "catastrophic_paid": f"{rnd.choice([0, 0, 290000]):.2f}",
                "deductible_paid": False,
            },
            "flags": rnd.choice(FLAGS),
        })
    return out


def snapshot():
    """The 220100-2021 policy straight from the shipped data files (no database)."""
    from medins.benefits.policy import PolicySnapshot
    from medins.services.reference_data import reference_data_read

    entries = reference_data_read().parameters["220100-2021"]
    params = {key: entry["value"] for key, entry in entries.items()}
    return PolicySnapshot(region="220100", version="220100-2021", date=None, params=params)


def bench_engine(reqs: list[dict]) -> float:
    from medins.benefits import compute, parse_quote_request

    policy = snapshot()
    start = time.perf_counter()
    for data in reqs:
        compute(parse_quote_request(data), policy).as_dict()
    return len(reqs) / (time.perf_counter() - start)


def bench_many(reqs: list[dict]) -> tuple[float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-quote-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "REDIS_URL": ""}
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([py, "manage.py", "load_reference_data", "-v", "0"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    path = tmp / "requests.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in reqs) + "\n", encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run([py, "manage.py", "quote", "--many", str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    lines = proc.stdout.count(b"\n")
    assert lines == len(reqs), f"expected {len(reqs)} responses, got {lines}"
    errors = proc.stdout.count(b'"error"')
    return len(reqs) / elapsed, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
    os.environ.setdefault("DEBUG", "true")  # a development tool: the development secret key
    import django

    django.setup()
    reqs = requests(args.n)
    print(f"machine: {os.cpu_count()} cores; {args.n} mixed Changchun inpatient/day-surgery quotes")
    engine = bench_engine(reqs)
    print(f"engine in-process (parse+compute+dict, 1 core): {engine:,.0f} quotes/s  (target 10,000)")
    many, errors = bench_many(reqs)
    print(f"manage.py quote --many end to end:            {many:,.0f} quotes/s  (target 5,000; {errors} refused)")


if __name__ == "__main__":
    main()
