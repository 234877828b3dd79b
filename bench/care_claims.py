"""Benchmark: a month of long-term care claims through the carecare services on PostgreSQL (issue
13, item 7). Run by hand, in a database of its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_care \\
        flock /tmp/bench.lock .venv/bin/python bench/care_claims.py [--homes 105] [--residents 100]

Set-up (not timed, made once and kept): 105 designated care homes (the 2 of the seeds and 103
more), 100 residents each with 2021 cover and a stay, approved assessments of every grade (none
for some), residents aged 85–89 and 90+, birthdays inside June, re-assessments approved mid-June,
hospital absences, known inpatient cases, a few deaths and a few residents of another home.

Measured: each home's June 2021 claim (30 days × 100 residents, costs by item) received by
``care_claim_receive`` — read (medins.parsing), every day checked on facts read set-based,
every resident computed by the engine per assessment period, lines written — then checked again
by ``care_claim_check``, as the clerk's button does. Target: the month (105 claims) checked and
computed in under 10 s. The claims of the month are deleted first, so it can be run again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import setup_django  # noqa: E402

D = dt.date
JUNE = D(2021, 6, 1)
AREA = "220104"


def _homes(n: int):
    from carecare.models import CARE_HOME_DESIGNATION
    from medins.models import Designation, Institution, Region

    region = Region.objects.get(code="220100")
    template = Institution.objects.get(region=region, code="CC-L-001")
    designation = Designation.objects.get(code=CARE_HOME_DESIGNATION)
    for i in range(3, n + 1):
        home, created = Institution.objects.get_or_create(
            region=region, code=f"CC-L-{i:03d}",
            defaults={"name": f"长春市第{i}照护中心", "kind": template.kind, "level": template.level})
        if created:
            home.designations.add(designation)
    return list(Institution.objects.filter(region=region, code__startswith="CC-L-").order_by("code")[:n])


def generate(homes, residents: int, seed: int = 13) -> dict[int, list[dict]]:
    """Residents, cover, stays, assessments and the other facts (once); the claims to send."""
    from carecare.models import Assessment, CareStay, StayAbsence
    from claims.models import Case, CaseType
    from claims.services.cases import system_user
    from enrollment.idnumber import make_id_number
    from enrollment.models import CoveragePeriod, Person, Stop

    rnd = random.Random(seed)
    user = system_user()
    region = homes[0].region
    claims: dict[int, list[dict]] = {}
    fresh = not Person.objects.filter(id_number__startswith=AREA).exists()
    people, stays, covers = [], [], []
    plan = []
    used: set[str] = set()
    for h, home in enumerate(homes):
        for r in range(residents):
            age = rnd.choice([70, 78, 84, 85, 87, 89, 89, 90, 92, 96])
            birth = D(2021 - age, rnd.randint(1, 12), rnd.randint(1, 28))
            seq = (h * residents + r) % 1000
            number = make_id_number(AREA, birth, seq)
            while number in used:
                seq = (seq + 1) % 1000
                number = make_id_number(AREA, birth, seq)
            used.add(number)
            plan.append((home, number, birth, rnd.random(), rnd.choice([None, None, 20, 35, 40, 45, 55, 60, 65, 80, 100])))
    if fresh:
        for _home, number, _birth, _x, _score in plan:
            p = Person(id_number=number, name="照护" + number[-4:], region=region)
            p.derive_from_id_number()
            people.append(p)
        Person.objects.bulk_create(people, batch_size=2000, ignore_conflicts=True)
    by_number = dict(Person.objects.filter(id_number__in=[p[1] for p in plan]).values_list("id_number", "pk"))
    if fresh:
        case_type, _created = CaseType.objects.get_or_create(region=region, code="BENCH-INPATIENT",
                                                             defaults={"name": "住院", "benefit": "inpatient"})
        assessments, absences, cases, stops = [], [], [], []
        for i, (home, number, _birth, x, score) in enumerate(plan):
            pid = by_number[number]
            covers.append(CoveragePeriod(person_id=pid, benefit_year=2021, covered_from=D(2021, 1, 1),
                                         covered_to=D(2021, 6, 20) if x < 0.01 else D(2021, 12, 31)))
            other = homes[(homes.index(home) + 1) % len(homes)] if 0.01 <= x < 0.02 else home
            stays.append(CareStay(person_id=pid, care_home=other, admitted_on=D(2021, 6, 11) if x > 0.97 else D(2021, 3, 1),
                                  created_by=user))
            if score is not None:
                grade = "severe" if score <= 40 else "moderate" if score <= 60 else "none"
                superseded = 0.02 <= x < 0.07
                assessments.append(Assessment(person_id=pid, requested_by="care_home", care_home=home,
                                              requested_on=D(2021, 1, 2), requested_by_user=user,
                                              state="superseded" if superseded else "approved",
                                              scale_version="barthel_changchun_2015", score=score, grade=grade,
                                              valid_from=D(2021, 1, 5), valid_to=D(2023, 1, 5)))
                if superseded:  # a re-assessment approved mid-June
                    assessments.append(Assessment(person_id=pid, requested_by="care_home", care_home=home,
                                                  requested_on=D(2021, 6, 1), requested_by_user=user, state="approved",
                                                  scale_version="barthel_changchun_2015", score=35, grade="severe",
                                                  valid_from=D(2021, 6, 2 + i % 27), valid_to=D(2023, 6, 2)))
            if 0.07 <= x < 0.12:
                cases.append(Case(case_type=case_type, person_id=pid, state="approved", service_from=D(2021, 6, 10),
                                  service_to=D(2021, 6, 15), institution_name="吉林大学第一医院",
                                  institution_level="provincial_tertiary", bank_account="6222020200112345678",
                                  received_by=user))
            if 0.12 <= x < 0.13:
                stops.append(Stop(person_id=pid, reason="death", stop_date=D(2021, 6, 21), created_by=user))
            if 0.13 <= x < 0.18:
                absences.append(i)
        CoveragePeriod.objects.bulk_create(covers, batch_size=2000)
        CareStay.objects.bulk_create(stays, batch_size=2000)
        Assessment.objects.bulk_create(assessments, batch_size=2000)
        Case.objects.bulk_create(cases, batch_size=2000)
        Stop.objects.bulk_create(stops, batch_size=2000)
        stay_of = dict(CareStay.objects.filter(person_id__in=list(by_number.values())).values_list("person_id", "pk"))
        StayAbsence.objects.bulk_create([StayAbsence(stay_id=stay_of[by_number[plan[i][1]]], from_date=D(2021, 6, 3),
                                                     to_date=D(2021, 6, 6), created_by=user) for i in absences])
    for home, number, _birth, x, _score in plan:
        bed, nursing, supplies = (f"{rnd.choice(v)}.00" for v in ([30, 40, 50, 60], [30, 45, 60, 80], [5, 10, 15]))
        other = "0.00" if x < 0.9 else "12.50"
        claims.setdefault(home.pk, []).append({"id_number": number, "days": [
            {"date": D(2021, 6, d).isoformat(), "bed": bed, "nursing": nursing, "supplies": supplies, "other": other}
            for d in range(1, 31)]})
    return claims


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=105)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes receiving the homes' claims at once (homes send independently, like API "
                             "workers); 1 skips the parallel run")
    args = parser.parse_args()
    setup_django("medins_bench_care", "it creates 10 500 persons with their stays and June claims")
    from django.contrib.auth.models import Group
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from carecare.models import CareClaim
    from carecare.services.claims import care_claim_check, care_claim_receive
    from enrollment.models import Person
    from medins.roles import roles_sync
    from medins.selectors import PolicyCache
    from tests.enrollment.factories import UserFactory

    roles_sync()
    clerk = UserFactory(username="bench_care_intake")
    clerk.groups.add(Group.objects.get(name="intake_clerk"))
    checker = UserFactory(username="bench_care_reviewer")
    checker.groups.add(Group.objects.get(name="reviewer"))
    started = time.perf_counter()
    homes = _homes(args.homes)
    claims = generate(homes, args.residents)
    print(f"set-up: {len(homes)} homes, {Person.objects.filter(id_number__startswith=AREA).count():,} residents "
          f"({time.perf_counter() - started:.1f} s, kept for the next run)")
    CareClaim.objects.filter(month=JUNE).delete()
    days = sum(len(r["days"]) for rs in claims.values() for r in rs)
    policies = PolicyCache()

    if args.workers > 1:
        from django.db import connections

        _JOB.update(clerk=clerk, homes=homes, claims=claims, workers=args.workers)
        connections.close_all()  # each forked process opens its own connection
        t = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            count = sum(pool.map(_receive_share, range(args.workers)))
        print(f"0. received by {args.workers} processes ({count} claims: read, every day checked, computed, lines "
              f"written): {time.perf_counter() - t:6.2f} s wall (target < 10 s)")
        CareClaim.objects.filter(month=JUNE).delete()

    reset_queries()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    received = []
    with CaptureQueriesContext(connection) as ctx:
        for home in homes:
            claim, _outcome = care_claim_receive(acting_user=clerk, care_home=home, month=JUNE, residents=claims[home.pk],
                                                 policies=policies)
            received.append(claim)
    receive = time.perf_counter() - t0
    receive_cpu = time.process_time() - cpu0
    receive_queries = len(ctx)
    cpu1 = time.process_time()
    t1 = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        for claim in received:
            care_claim_check(acting_user=checker, claim=claim, policies=policies)
    check = time.perf_counter() - t1
    check_cpu = time.process_time() - cpu1
    totals = CareClaim.objects.filter(month=JUNE).values_list("days_billed", "days_refused", "fund")
    refused = sum(t[1] for t in totals)
    fund = sum(t[2] for t in totals)
    print(f"June 2021: {len(received)} claims, {days:,} days billed, {refused:,} refused, fund {fund:,}")
    print(f"1. received (read, every day checked, computed, lines written): {receive:6.2f} s wall, "
          f"{receive_cpu:6.2f} s CPU of this process ({receive_queries / len(received):.0f} queries a claim)")
    print(f"2. checked again by the clerk (facts read again, computed, lines rewritten): {check:6.2f} s wall, "
          f"{check_cpu:6.2f} s CPU ({len(ctx) / len(received):.0f} queries a claim)")
    print(f"month checked and computed (1): {receive:.2f} s wall, {receive_cpu:.2f} s CPU (target < 10 s); "
          "wall times swell on a shared machine (see `uptime`)")
    t2 = time.perf_counter()
    again = [care_claim_receive(acting_user=clerk, care_home=home, month=JUNE, residents=claims[home.pk],
                                policies=policies)[1] for home in homes]
    print(f"3. the same month sent again: {time.perf_counter() - t2:.2f} s, outcomes {sorted(set(again))}")


_JOB: dict = {}


def _receive_share(worker: int) -> int:
    """One process's share of the homes (every workers-th), received as the API would."""
    from carecare.services.claims import care_claim_receive
    from medins.selectors import PolicyCache

    policies, done = PolicyCache(), 0
    for home in _JOB["homes"][worker::_JOB["workers"]]:
        care_claim_receive(acting_user=_JOB["clerk"], care_home=home, month=JUNE, residents=_JOB["claims"][home.pk],
                           policies=policies)
        done += 1
    return done


if __name__ == "__main__":
    main()
