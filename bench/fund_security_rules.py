"""Benchmark of the fund-security rules over one day of a 5-million-person city (issue 15, item 7,
the rules' part only). Run by hand:

    .venv/bin/python bench/fund_security_rules.py [--today 200000] [--history-per-person 6]

What it builds (synthetic, seeded; Changchun 220100-2021 parameters straight from the data files,
no database): 200 000 settlements of 2021-12-15 — the day's outpatient pool, chronic,
special-disease, special-drug, 两病 visits, inpatient and day-surgery discharges, long-term-care
monthly claims, maternity and accident claims, with their cost lines (stays ~4 lines a day,
visits 2–6 lines with drug days' supply) — for about 165 000 persons, plus a year of history of
those persons: `--history-per-person` settlements each on average (6 → about 1 million).

Why not more: 20 million visits a year in the city is 4 a person, but the persons who settle on a
given day are the heavier users, hence 6. The nightly job needs no more than these persons'
history, and of the history's cost lines only those a rule compares with the day's: drug lines
of the last 30 days (supply windows) and care days of the last two months (overlapping care).
So history settlements carry only those lines; the day's settlements carry all of theirs
(bed-holding and duplicate bed charges judge the day's stays). Holding every line of a year of
history (~10 million lines) would cost gigabytes and change no finding.

Measured: `parse_request` over 50 000 of the day's settlements as JSON dicts (the cost of going
through `check()` rather than building `Facts` directly); `run_rules(facts, params, focus=<the day's ids>)` — the nightly call — rule by rule
and in one go (wall clock and this process's CPU time: on a shared machine the CPU time is the
figure to compare), and the process's peak memory. Target (issue 15): well under 2 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = dt.date(2021, 12, 15)
YEAR_START = dt.date(2021, 1, 1)
MIX = [  # benefit, share of the day's settlements
    ("outpatient_pool", 0.47), ("chronic", 0.16), ("special_disease", 0.05), ("two_diseases", 0.03),
    ("special_drug", 0.01), ("inpatient", 0.14), ("day_surgery", 0.02), ("long_term_care", 0.02),
    ("maternity", 0.005), ("accident", 0.095),
]
DISEASES = ["diabetes", "hypertension", "coronary_heart_disease", "copd"]
DIAGNOSES = ["I63.9", "I25.1", "J18.0", "K35.8", "N18.5", "C34.1", "Z51.1", "Z49.1", "E11.9", "S72.0"]
INSTITUTIONS = [f"H{i:03d}" for i in range(300)]
PHARMACIES = [f"PH{i:03d}" for i in range(200)]
DRUGS = [f"D{i:03d}" for i in range(400)]
AMOUNTS = [Decimal(f"{a}.00") for a in (5, 12, 18, 25, 40, 60, 85, 120, 300)]
ONE = Decimal(1)


def params():
    """The 220100-2021 fund_security.* parameters straight from the shipped data files."""
    from medins.benefits.policy import PolicySnapshot
    from medins.fund_security import params_from_policy
    from medins.services.reference_data import reference_data_read

    entries = reference_data_read().parameters["220100-2021"]
    values = {key: entry["value"] for key, entry in entries.items()}
    return params_from_policy(PolicySnapshot(region="220100", version="220100-2021", date=TODAY, params=values))


def generate(today_count: int, history_per_person: float, seed: int = 15):
    from medins.fund_security import Certification, Facts, Line, Period, Person, Settlement

    rnd = random.Random(seed)
    dates = {}

    def day(ordinal_offset: int) -> dt.date:  # shared date objects (a million settlements, a few hundred days)
        d = dates.get(ordinal_offset)
        if d is None:
            d = dates[ordinal_offset] = TODAY + dt.timedelta(days=ordinal_offset)
        return d

    persons_count = int(today_count * 0.82)
    person_ids = [f"P{i:07d}" for i in range(persons_count)]
    certs: dict[str, list] = {}
    benefits = [b for b, _ in MIX]
    weights = [w for _, w in MIX]

    usual: dict[str, list] = {}

    def drug_line(on, supply_max, pid):
        """A dispensing of up to supply_max days (1 in 100 above it), mostly of the person's 3 usual drugs."""
        drug = rnd.choice(usual.setdefault(pid, rnd.sample(DRUGS, 3))) if rnd.random() < 0.7 else rnd.choice(DRUGS)
        supply = rnd.randint(1, supply_max) if rnd.random() < 0.99 else supply_max + rnd.randint(1, 10)
        return Line(on, drug, "drug", ONE, rnd.choice(AMOUNTS), drug, supply)

    home = {}

    def settlement(sid, pid, benefit, offset, *, full_lines: bool):
        """offset: days before today of the service date (stays: of the discharge)."""
        inst = home.setdefault(pid, rnd.choice(INSTITUTIONS)) if rnd.random() < 0.6 else rnd.choice(INSTITUTIONS)
        kw = {}
        lines = []
        if benefit in ("inpatient", "day_surgery"):
            length = 0 if benefit == "day_surgery" else rnd.choice([2, 4, 6, 8, 10, 12, 15, 20])
            discharged = day(-offset)
            admitted = day(-offset - length)
            kw.update(admitted=admitted, discharged=discharged, diagnosis=rnd.choice(DIAGNOSES),
                      transfer=rnd.random() < 0.03)
            if full_lines:
                for i in range(max(length, 1)):
                    on = day(-offset - length + i)
                    lines.append(Line(on, "BED01", "bed", ONE, AMOUNTS[4]))
                    lines.append(Line(on, "NUR01", "nursing", ONE, AMOUNTS[2]))
                    if rnd.random() < 0.7:
                        lines.append(Line(on, "TX01", "treatment", ONE, rnd.choice(AMOUNTS)))
                    if rnd.random() < 0.5:
                        lines.append(drug_line(on, 3, pid))
                if rnd.random() < 0.01:
                    lines.append(Line(day(-offset - length), "BED01", "bed", ONE, AMOUNTS[4]))  # a duplicate bed day
        else:
            on = day(-offset)
            kw["service_date"] = on
            if benefit in ("chronic", "special_disease", "two_diseases"):
                disease = rnd.choice(DISEASES)
                kw["disease"] = disease
                held = certs.setdefault(pid, [])
                if rnd.random() < 0.98 and not any(c.disease == disease and c.benefit == benefit for c in held):
                    held.append(Certification(benefit, inst, YEAR_START, None, disease=disease))
                elif held and rnd.random() < 0.9:
                    inst = next((c.institution for c in held if c.disease == disease and c.benefit == benefit), inst)
            elif benefit == "special_drug":
                drug = rnd.choice(DRUGS[:40])
                kw["drug"] = drug
                held = certs.setdefault(pid, [])
                if not any(c.drug == drug for c in held):
                    held.append(Certification("special_drug", inst, YEAR_START, None, drug=drug,
                                              dispensing=(rnd.choice(PHARMACIES),)))
            elif benefit == "maternity":
                kw["birth_date"] = day(-offset - rnd.randint(0, 3))
            if benefit == "long_term_care":
                month_start = on.replace(day=1)
                if full_lines or offset <= 62:
                    span = (on - month_start).days + 1
                    lines = [Line(month_start + dt.timedelta(days=i), "CARE01", "care", ONE, AMOUNTS[5])
                             for i in range(span)]
            elif full_lines:
                chronic = benefit in ("chronic", "special_disease", "two_diseases", "special_drug")
                for _ in range(rnd.randint(2, 6)):
                    if rnd.random() < 0.6:
                        lines.append(drug_line(on, 30 if chronic else 7, pid))
                    else:
                        lines.append(Line(on, rnd.choice(["EX01", "EX02", "TX02"]), "exam", ONE, rnd.choice(AMOUNTS)))
            elif offset < 30 and benefit != "long_term_care":
                chronic = benefit in ("chronic", "special_disease", "two_diseases", "special_drug")
                lines = [drug_line(on, 30 if chronic else 7, pid) for _ in range(rnd.randint(0, 3))]
        invoice = (inst, f"{rnd.randrange(10**9):09d}") if rnd.random() < 0.3 else None
        total = rnd.choice(AMOUNTS) * 10
        return Settlement(id=sid, person=pid, institution=inst, benefit=benefit, total=total, fund=total / 2,
                          lines=tuple(lines), via="direct" if rnd.random() < 0.9 else "manual", invoice=invoice, **kw)

    settlements = []
    focus = []
    for i in range(today_count):
        pid = person_ids[i] if i < persons_count else rnd.choice(person_ids)
        sid = f"T{i:07d}"
        settlements.append(settlement(sid, pid, rnd.choices(benefits, weights)[0], 0, full_lines=True))
        focus.append(sid)
    history_count = int(persons_count * history_per_person)
    for i in range(history_count):
        pid = rnd.choice(person_ids)
        offset = rnd.randint(1, (TODAY - YEAR_START).days)
        if rnd.random() < 0.3:
            offset = rnd.randint(1, 30)  # heavier users come back: more of the history is recent
        settlements.append(settlement(f"H{i:08d}", pid, rnd.choices(benefits, weights)[0], offset, full_lines=False))

    persons = []
    for pid in person_ids:
        grey = (Period(day(-40), day(40)),) if rnd.random() < 0.001 else ()
        died = day(-2) if rnd.random() < 0.0005 else None
        persons.append(Person(pid, (Period(YEAR_START, None),), died, grey, tuple(certs.get(pid, ()))))
    return Facts.build(region="220100", as_of=TODAY, persons=persons, settlements=settlements), frozenset(focus)


def as_request(facts, settlements) -> dict:
    """The contract's request JSON (as decoded) for these settlements: what check() parses."""
    def period(p):
        return [p.start.isoformat(), p.end.isoformat() if p.end else None]

    def cert(c):
        out = {"benefit": c.benefit, "institution": c.institution, "from": c.start.isoformat(),
               "to": c.end.isoformat() if c.end else None}
        out["drug" if c.benefit == "special_drug" else "disease"] = c.subject
        if c.dispensing:
            out["dispensing"] = list(c.dispensing)
        return out

    def line(x):
        out = {"date": x.date.isoformat(), "item": x.item, "kind": x.kind, "quantity": int(x.quantity),
               "amount": str(x.amount)}
        if x.drug is not None:
            out.update(drug=x.drug, days_supply=x.days_supply)
        return out

    def settlement(s):
        out = {"id": s.id, "person": s.person, "institution": s.institution, "benefit": s.benefit, "via": s.via,
               "total": str(s.total), "fund": str(s.fund), "lines": [line(x) for x in s.lines]}
        if s.is_stay:
            out.update(admitted=s.admitted.isoformat(), discharged=s.discharged.isoformat(), diagnosis=s.diagnosis,
                       transfer=s.transfer)
        else:
            out["service_date"] = s.service_date.isoformat()
        for key in ("disease", "drug", "birth_date"):
            value = getattr(s, key)
            if value is not None:
                out[key] = value.isoformat() if key == "birth_date" else value
        if s.invoice:
            out["invoice"] = {"issuer": s.invoice[0], "number": s.invoice[1]}
        return out

    chosen = list(settlements)
    wanted = {s.person for s in chosen}
    persons = [{"id": p.id, "covered": [period(x) for x in p.covered], "died": p.died.isoformat() if p.died else None,
                "grey_list": [period(x) for x in p.grey_list], "certifications": [cert(c) for c in p.certifications]}
               for p in facts.persons.values() if p.id in wanted]
    return {"region": facts.region, "as_of": facts.as_of.isoformat(), "persons": persons,
            "settlements": [settlement(s) for s in chosen]}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--today", type=int, default=200_000)
    parser.add_argument("--history-per-person", type=float, default=6)
    parser.add_argument("--parse", type=int, default=50_000,
                        help="also time parse_request (the JSON path of check()) over this many of the day's settlements")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
    os.environ.setdefault("DEBUG", "true")  # a development tool: the development secret key
    import django

    django.setup()
    from medins.fund_security import RULES, parse_request, run_rules

    p = params()
    started = time.perf_counter()
    facts, focus = generate(args.today, args.history_per_person)
    lines = sum(len(s.lines) for s in facts.settlements)
    print(f"generated {len(facts.settlements):,} settlements ({len(focus):,} of {TODAY}, "
          f"{len(facts.settlements) - len(focus):,} history), {lines:,} lines, {len(facts.persons):,} persons "
          f"in {time.perf_counter() - started:.1f} s; peak memory {peak_mb():,.0f} MB", flush=True)

    if args.parse:
        request = as_request(facts, facts.settlements[:args.parse])
        lines = sum(len(s["lines"]) for s in request["settlements"])
        t, c = time.perf_counter(), time.process_time()
        parse_request(request)
        print(f"parse_request of {args.parse:,} settlements ({lines:,} lines) as JSON dicts: "
              f"{time.perf_counter() - t:.1f} s ({time.process_time() - c:.1f} s CPU)", flush=True)
        del request

    for name in RULES:
        fresh = type(facts)(region=facts.region, as_of=facts.as_of, persons=facts.persons,
                            settlements=facts.settlements)  # no shared indexes: each rule pays its own
        t, c = time.perf_counter(), time.process_time()
        outcome = run_rules(fresh, p, rules={name}, focus=focus)
        undecided = sum(len(v) for v in outcome.undecided.values())
        print(f"  {name:<26} {time.perf_counter() - t:6.2f} s ({time.process_time() - c:6.2f} s CPU)"
              f"  {len(outcome.findings):>7,} findings  {undecided:>7,} undecided", flush=True)

    fresh = type(facts)(region=facts.region, as_of=facts.as_of, persons=facts.persons, settlements=facts.settlements)
    t, c = time.perf_counter(), time.process_time()
    outcome = run_rules(fresh, p, focus=focus)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"run_rules, all eleven rules, focus on the day: {elapsed:.1f} s ({cpu:.1f} s CPU), "
          f"{len(outcome.findings):,} findings; peak memory {peak_mb():,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
