"""Benchmark of a month of long-term-care claims through the engine (issue 13, item 7). Run by hand:

    .venv/bin/python bench/care_quote.py [--homes 105] [--residents 100]

A generated June 2021 for 105 homes × 100 residents × 30 days (Changchun 220100-2021 policy read
straight from the data files, no database), with residents of every rule (severe, moderate, 85–89,
90+, a birthday inside the month, no assessment, hospital days, a re-assessment mid-month):

1. the per-day checks a claim gets, on in-memory facts (covered that day, in this home, not an
   inpatient, not after death) and the split into requests by assessment (`claim_periods`) —
   the same pure steps the carecare claim service runs after reading its facts with a few
   set-based queries (that database part is not measured here);
2. the engine through the contract (request dict → parse_quote_request → compute → response
   dict), one request per resident and period, as `quote --many` or the API would;
3. the engine's batch path (`care_terms` once, `care_split` per resident on plain values).

Target (issue 13): the whole month checked and computed in under 10 s; the engine a small part of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

JUNE = [dt.date(2021, 6, d) for d in range(1, 31)]
SCORES = [None, None, 0, 20, 35, 40, 45, 55, 60, 65, 80, 100]


def snapshot():
    """The 220100-2021 policy straight from the shipped data files (no database)."""
    from medins.benefits.policy import PolicySnapshot
    from medins.services.reference_data import reference_data_read

    entries = reference_data_read().parameters["220100-2021"]
    params = {key: entry["value"] for key, entry in entries.items()}
    return PolicySnapshot(region="220100", version="220100-2021", date=dt.date(2021, 6, 1), params=params)


def generate(homes: int, residents: int, seed: int = 13) -> list[dict]:
    """One claim line per resident: billed days with costs, and the facts the checks need."""
    rnd = random.Random(seed)
    out = []
    for h in range(homes):
        for r in range(residents):
            age = rnd.choice([70, 78, 84, 85, 87, 89, 89, 90, 92, 96])
            birth = dt.date(2021 - age, rnd.randint(1, 12), rnd.randint(1, 28))
            score = rnd.choice(SCORES)
            assessments = []
            if score is not None:
                assessments.append(("A", dt.date(2020, 1, 1), dt.date(2021, 12, 31), score))
                if rnd.random() < 0.05:  # re-assessed mid-month
                    assessments.append(("B", dt.date(2021, 6, rnd.randint(2, 29)), None, rnd.choice(SCORES[2:])))
            hospital = set()
            if rnd.random() < 0.08:
                start = rnd.randint(1, 25)
                hospital = {dt.date(2021, 6, d) for d in range(start, start + rnd.randint(1, 5))}
            died = dt.date(2021, 6, rnd.randint(2, 30)) if rnd.random() < 0.01 else None
            bed, nursing, supplies = (f"{rnd.choice(v)}.00" for v in ([30, 40, 50, 60], [30, 45, 60, 80], [5, 10, 15]))
            days = [{"date": d, "bed": bed, "nursing": nursing, "supplies": supplies,
                     "other": "0.00" if rnd.random() < 0.9 else "12.50"} for d in JUNE]
            out.append({"home": h, "resident": f"{h}-{r}", "birth": birth, "assessments": assessments,
                        "hospital": hospital, "died": died, "covered_until": dt.date(2021, 12, 31),
                        "home_of": {d: h for d in JUNE}, "days": days})
    return out


def check_and_split(claims: list[dict]):
    """Per day: covered, in this home, not an inpatient, not after death; then one request per
    assessment period (claim_periods). Returns (requests, refused day count)."""
    from medins.benefits.long_term_care import AssessmentWindow, claim_periods

    requests, refused = [], 0
    for c in claims:
        payable = []
        for d in c["days"]:
            day = d["date"]
            if (day > c["covered_until"] or c["home_of"].get(day) != c["home"] or day in c["hospital"]
                    or (c["died"] is not None and day >= c["died"])):
                refused += 1
                continue
            payable.append(d)
        if not payable:
            continue
        by_date = {d["date"]: d for d in payable}
        windows = [AssessmentWindow(score, start, end) for _, start, end, score in c["assessments"]]
        for period in claim_periods(by_date, windows):
            requests.append({
                "region": "220100", "benefit": "long_term_care", "service_date": period.days[0].isoformat(),
                "person": {"category": "adult", "birth_date": c["birth"].isoformat()},
                "institution": {"level": "care_home"},
                "care": {"adl_score": period.assessment,
                         "days": [{**by_date[day], "date": day.isoformat()} for day in period.days]},
            })
    return requests, refused


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=105)
    parser.add_argument("--residents", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
    os.environ.setdefault("DEBUG", "true")  # a development tool: the development secret key
    import django

    django.setup()
    from medins.benefits import compute, parse_quote_request
    from medins.benefits.care_scales import grade_for_score
    from medins.benefits.long_term_care import care_split, care_terms

    policy = snapshot()
    claims = generate(args.homes, args.residents)
    n_days = sum(len(c["days"]) for c in claims)
    print(f"machine: {os.cpu_count()} cores; June 2021: {args.homes} homes × {args.residents} residents, {n_days:,} billed days")

    cpu0 = time.process_time()
    start = time.perf_counter()
    requests, refused = check_and_split(claims)
    checked = time.perf_counter() - start
    print(f"1. checks + split into requests (pure):      {checked:6.2f} s  ({len(requests):,} requests, {refused:,} days refused)")

    start = time.perf_counter()
    fund = Decimal("0.00")
    for data in requests:
        body = compute(parse_quote_request(data), policy).as_dict()
        fund += Decimal(body["fund"])
    contract = time.perf_counter() - start
    print(f"2. engine through the contract (parse+compute+dict): {contract:6.2f} s  (fund {fund:,})")

    start = time.perf_counter()
    terms = care_terms(policy)
    batch_fund = Decimal("0.00")
    for data in requests:
        care = data["care"]
        days = [(dt.date.fromisoformat(d["date"]),
                 {k: Decimal(v) for k, v in d.items() if k != "date"}) for d in care["days"]]
        score = care["adl_score"]
        grade = grade_for_score(terms.bands, score) if score is not None else None
        groups = care_split(terms, birth_date=dt.date.fromisoformat(data["person"]["birth_date"]), grade=grade, days=days)
        batch_fund += sum(g.fund for g in groups)
    batch = time.perf_counter() - start
    assert batch_fund == fund, (batch_fund, fund)
    print(f"3. engine batch path (care_terms + care_split):      {batch:6.2f} s")
    cpu = time.process_time() - cpu0
    print(f"month checked + computed (1 + 2): {checked + contract:.2f} s wall  (target < 10 s); "
          f"CPU time of 1 + 2 + 3: {cpu:.2f} s (wall times swell on a shared machine)")


if __name__ == "__main__":
    main()
