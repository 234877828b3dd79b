"""Benchmark of outpatient-pool capitation settlement on PostgreSQL (issue #5). Run by hand, in its
own database, under the shared benchmark lock:

    createdb -h 127.0.0.1 -U postgres medins_bench_cap
    flock /tmp/bench.lock env DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_cap \\
        .venv/bin/python -u bench/capitation.py [--scale 1] [--ingest 100000] [--workers 1]

Full size (--scale 1): one region (Jinan, 370100) with 5 000 000 pool members (college students
with cover in 2021), 2 000 outpatient-pool institutions and 20 000 000 visits of 2021. --scale
0.01 / 0.1 run a hundredth / a tenth of every figure.

1. persons with COPY (bench/enrollment.py's generator; kept between runs, only missing ones are
   added); institutions, cover (10 % of it starting later in the year), memberships and the
   visits' yearly ledgers set-wise in SQL; the visits themselves with COPY, with fund amounts
   precomputed at the Jinan rate (65 %, no deductible; the bench does not apply the yearly cap);
2. --ingest further visits through the real ingestion service (`visits_ingest`, batches of
   5 000 of one institution, as the API receives them; --workers processes at once, like API
   workers), then the first batch again (all duplicates). Target ≥ 20 000 visits/s;
3. the twelve monthly runs and the year-end run of 2021, each started with
   `settlement_run_start` and processed to the end (Celery eager). Target: year-end < 5 min.
Everything but the persons is truncated first (bench database only). --reuse keeps what an
earlier run generated at the same size and resets only the settlement state; --no-runs stops
after the ingestion.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from bench.common import setup_django  # noqa: E402
from bench.enrollment import person_values  # noqa: E402

REGION = "370100"
YEAR = 2021
JINAN_AREAS = ["370102", "370103", "370104", "370105", "370112", "370113"]
BIRTHS_FROM = dt.date(1997, 1, 1)
BIRTH_DAYS = 2_900  # 1997-2004: ages 17-24 in 2021
FULL = {"members": 5_000_000, "institutions": 2_000, "visits": 20_000_000}
LATE_COVER = 10  # every 10th member's cover starts on the 1st of a later month
DAYS = [dt.date(YEAR, 1, 1) + dt.timedelta(days=d) for d in range(365)]
FIRST_DAY_OF_MONTH = {m: (dt.date(YEAR, m, 1) - dt.date(YEAR, 1, 1)).days for m in range(1, 13)}
RATE = Decimal("0.65")
# What the runs and the ingestion leave behind; --reuse empties these and keeps the rest.
SETTLEMENT_STATE = ("settlement_institutionsettlement, settlement_historicalinstitutionsettlement, "
                    "settlement_runtransition, settlement_settlementrun, settlement_historicalsettlementrun, "
                    "settlement_yearreopening, settlement_historicalyearreopening, "
                    "settlement_poolaccount, ledger_ledgeraccount, ledger_ledgerentry, "
                    "settlement_certifiedvisit, settlement_feeaccount, settlement_feestatement, "
                    "settlement_historicalfeestatement")
# The yearly ledger as visit ingestion leaves it: one entry per visit, the persons' outpatient-pool
# account and their shared outpatient account (keys.SHARED: fund only) their sums (claims.ledger.keys:
# a pool visit advances no year account).
LEDGERS_FROM_VISITS = """
INSERT INTO ledger_ledgerentry (person_id, year, benefit, item, source_kind, source_id, service_date, fund, cap_fund,
    covered_personal, catastrophic, deductible, eligible, fixed_copay, created_at, note)
SELECT person_id, year, 'outpatient_pool', '', 'pool_visit', id, service_date, fund, 0, 0, 0, deductible,
    class_a + class_b, 0, received_at, '' FROM settlement_visit;
INSERT INTO ledger_ledgeraccount (person_id, year, benefit, item, fund, cap_fund, covered_personal, catastrophic,
    deductible, eligible, fixed_copay, entries)
SELECT person_id, year, 'outpatient_pool', '', sum(fund), 0, 0, 0, sum(deductible), sum(class_a + class_b), 0,
    count(*) FROM settlement_visit GROUP BY person_id, year;
INSERT INTO ledger_ledgeraccount (person_id, year, benefit, item, fund, cap_fund, covered_personal, catastrophic,
    deductible, eligible, fixed_copay, entries)
SELECT person_id, year, 'outpatient_shared', '', sum(fund), 0, 0, 0, 0, 0, 0, count(*)
FROM settlement_visit GROUP BY person_id, year
"""


def student(i: int):
    return person_values(i, areas=JINAN_AREAS, base=BIRTHS_FROM, days=BIRTH_DAYS)


def cover_start_month(p: int) -> int:
    return 2 + p // LATE_COVER % 11 if p % LATE_COVER == 0 else 1


def cents(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}"


def visit_figures(v: int, members: int, institutions: int):
    """Deterministic visit v: (member index, institution index, day, class A/B/C cents, fund cents)."""
    p = (v * 2_654_435_761) % members
    first = FIRST_DAY_OF_MONTH[cover_start_month(p)]
    day = first + (v * 40_503) % (365 - first)
    # Small visits (fund ≈ 8 a visit, ≈ 33 a member a year against a quota of 60): most
    # institutions stay under quota, so the year-end pays the surplus share.
    a, b, c = 200 + (v * 7_919) % 1_800, (v * 104_729) % 500, (v * 31) % 2_000
    fund = int((Decimal(a + b) * RATE).quantize(Decimal(1), ROUND_HALF_UP))
    return p, p % institutions, day, a, b, c, fund


def prepare(*, members: int, institutions: int, visits: int, ingest: int) -> dict:
    from django.db import connection

    from bench.enrollment import generate_persons
    from enrollment.models import Person, School, SchoolKind
    from medins.models import Designation, Institution, Region

    region = Region.objects.get(code=REGION)
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {SETTLEMENT_STATE}, settlement_visit, settlement_poolmembership, enrollment_coverageperiod, "
            "enrollment_historicalcoverageperiod RESTART IDENTITY")
    school, _ = School.objects.get_or_create(code="BENCH-COLLEGE", defaults={
        "region": region, "name": "基准测试大学", "kind": SchoolKind.COLLEGE})
    seconds = generate_persons(members, region=REGION, values=student, school_id=school.pk, community="历下区")
    print(f"persons: {Person.objects.filter(region=region).count():,} "
          f"({f'generated with COPY in {seconds:.1f} s' if seconds else 'already there'})")

    started = time.perf_counter()
    pool = Designation.objects.get(code="outpatient_pool")
    have = {i.code for i in Institution.objects.filter(region=region, code__startswith="BENCH-")}
    Institution.objects.bulk_create([
        Institution(region=region, code=f"BENCH-{k:05d}", name=f"基准门诊统筹机构{k:05d}", kind="clinic", level="primary")
        for k in range(institutions) if f"BENCH-{k:05d}" not in have])
    Institution.objects.filter(region=region).exclude(code__startswith="BENCH-").update(active=False)
    Institution.objects.filter(region=region, code__startswith="BENCH-").update(active=False)
    inst_ids = list(Institution.objects.filter(region=region, code__startswith="BENCH-").order_by("code")
                    .values_list("pk", flat=True)[:institutions])
    Institution.objects.filter(pk__in=inst_ids).update(active=True)
    through = Institution.designations.through
    through.objects.bulk_create([through(institution_id=i, designation_id=pool.pk) for i in inst_ids],
                                ignore_conflicts=True)
    first_person = Person.objects.filter(region=region).order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_inst (k int PRIMARY KEY, id int)")
        cursor.executemany("INSERT INTO bench_inst VALUES (%s, %s)", list(enumerate(inst_ids)))
        # Cover: from the 1st of January, every 10th member from the 1st of a later month.
        cursor.execute(
            """INSERT INTO enrollment_coverageperiod (person_id, benefit_year, covered_from, covered_to, waiting, status)
               SELECT p.id, %(year)s,
                      CASE WHEN (p.id - %(first)s) %% %(late)s = 0
                           THEN make_date(%(year)s, (2 + ((p.id - %(first)s) / %(late)s) %% 11)::int, 1)
                           ELSE make_date(%(year)s, 1, 1) END,
                      make_date(%(year)s, 12, 31), false, 'active'
               FROM enrollment_person p WHERE p.region_id = %(region)s AND p.id < %(first)s + %(members)s""",
            {"year": YEAR, "first": first_person, "late": LATE_COVER, "region": region.pk, "members": members})
        cursor.execute(
            """INSERT INTO settlement_poolmembership (person_id, institution_id, year, source, created_at)
               SELECT p.id, i.id, %(year)s, 'signup', now() FROM enrollment_person p
               JOIN bench_inst i ON i.k = (p.id - %(first)s) %% %(n)s
               WHERE p.region_id = %(region)s AND p.id < %(first)s + %(members)s""",
            {"year": YEAR, "first": first_person, "n": institutions, "region": region.pk, "members": members})
    print(f"institutions, cover and memberships (SQL): {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC).isoformat()
    columns = ("institution_id", "visit_id", "person_id", "service_date", "year", "month", "class_a", "class_b",
               "class_c", "total", "fund", "deductible", "personal", "policy_version", "received_at")
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY settlement_visit ({', '.join(columns)}) FROM STDIN") as copy:
            for v in range(visits):
                p, k, day, a, b, c, fund = visit_figures(v, members, institutions)
                date = DAYS[day]
                copy.write_row((inst_ids[k], f"V{v:09d}", first_person + p, date, YEAR, date.month, cents(a),
                                cents(b), cents(c), cents(a + b + c), cents(fund), "0.00", cents(a + b + c - fund),
                                "370100-2021", now))
        copied = time.perf_counter() - started
        cursor.execute(LEDGERS_FROM_VISITS)
        # as autovacuum leaves these insert-only tables in production: visibility maps set, statistics fresh
        cursor.execute("VACUUM ANALYZE")
    checkpoint()
    print(f"visits: {visits:,} with COPY in {copied:.1f} s ({visits / max(copied, 1e-9):,.0f} rows/s), "
          f"ledgers and VACUUM ANALYZE {time.perf_counter() - started - copied:.1f} s")
    return {"first_person": first_person, "inst_ids": inst_ids}


def checkpoint() -> None:
    """Write out what generating left dirty now, so the measurements do not pay for it."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:  # needs superuser or pg_checkpoint
        print(f"(no CHECKPOINT before measuring: {exc})")


def reuse(*, members: int, institutions: int, visits: int) -> dict | None:
    """The region an earlier run generated at this size, with its settlement state reset (runs,
    statements, accounts, every visit but the generated ones, ledgers rebuilt from the visits);
    None when there is none. Saves the generation (most of the time at full size)."""
    from django.db import connection

    from claims.settlement.models import Visit
    from enrollment.models import Person
    from medins.models import Institution

    inst_ids = list(Institution.objects.filter(region__code=REGION, code__startswith="BENCH-", active=True)
                    .order_by("code").values_list("pk", flat=True))
    if len(inst_ids) != institutions or Person.objects.filter(region__code=REGION).count() < members:
        return None
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM settlement_visit WHERE visit_id NOT LIKE 'V%%'")  # all but the generated ones
        if Visit.objects.count() != visits:
            return None
        cursor.execute(f"TRUNCATE {SETTLEMENT_STATE}")
        cursor.execute(LEDGERS_FROM_VISITS)
        cursor.execute("VACUUM ANALYZE settlement_visit, ledger_ledgerentry, ledger_ledgeraccount, settlement_poolaccount")
    checkpoint()
    first_person = Person.objects.filter(region__code=REGION).order_by("pk").values_list("pk", flat=True).first()
    print(f"reusing the generated region; settlement state reset in {time.perf_counter() - started:.1f} s")
    return {"first_person": first_person, "inst_ids": inst_ids}


_BATCHES: list = []


def _ingest_share(worker: int, workers: int) -> tuple[int, int, int]:
    """Send every `workers`-th batch through the service (in a forked process: its own connection)."""
    from claims.settlement.services import visits_ingest
    from medins.models import Institution
    from medins.selectors import PolicyCache

    policies = PolicyCache()
    created = duplicates = refused = 0
    for institution_id, rows in _BATCHES[worker::workers]:
        institution = Institution.objects.select_related("region").get(pk=institution_id)
        result = visits_ingest(acting_user=None, institution=institution, rows=rows, policies=policies)
        created += result.created
        duplicates += result.duplicates
        refused += len(result.errors)
    return created, duplicates, refused


def ingestion(*, user, members: int, inst_ids: list[int], n: int, workers: int = 1) -> None:
    from claims.settlement.services import visits_ingest
    from medins.models import Institution
    from medins.selectors import PolicyCache

    institutions = len(inst_ids)
    by_pk = Institution.objects.select_related("region").in_bulk(inst_ids)
    batches = []
    v = 0
    k = 0
    while v < n:  # one institution per batch, its members, service dates within their cover
        size = min(5_000, n - v)
        rows = []
        j = 0
        per_inst = (members - k) // institutions + 1
        while len(rows) < size:
            p = k + institutions * (j % per_inst)
            j += 1
            if p >= members:
                continue
            number = student(p)[0]
            a = 1_000 + (v * 37) % 9_000
            day = max((v * 7) % 365, FIRST_DAY_OF_MONTH[cover_start_month(p)])  # within the member's cover
            rows.append({"visit_id": f"I{v:09d}", "id_number": number, "service_date": DAYS[day].isoformat(),
                         "class_a": cents(a), "class_b": "12.50", "class_c": "3.00"})
            v += 1
        batches.append((by_pk[inst_ids[k]], rows))
        k = (k + 1) % institutions
    global _BATCHES
    _BATCHES = [(institution.pk, rows) for institution, rows in batches]
    started = time.perf_counter()
    if workers == 1:
        totals = [_ingest_share(0, 1)]
    else:  # like API workers: each process its own connection, batches of different institutions
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from django.db import connections

        connections.close_all()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            totals = list(pool.map(_ingest_share, range(workers), [workers] * workers))
    elapsed = time.perf_counter() - started
    created, duplicates, refused = (sum(t[i] for t in totals) for i in range(3))
    print(f"ingest {n:,} visits through visits_ingest in {len(batches)} batches, {workers} process(es): {elapsed:.1f} s "
          f"({n / elapsed:,.0f} visits/s) — {created:,} created, {duplicates:,} duplicates, {refused:,} refused")
    policies = PolicyCache()
    institution, rows = batches[0]
    started = time.perf_counter()
    again = visits_ingest(acting_user=user, institution=institution, rows=rows, policies=policies)
    elapsed = time.perf_counter() - started
    print(f"same batch of {len(rows):,} again: {elapsed * 1000:.0f} ms ({len(rows) / elapsed:,.0f} visits/s) — "
          f"{again.created} created, {again.duplicates:,} duplicates")


def runs(*, user) -> None:
    from django.db.models import Sum

    from claims.settlement.models import InstitutionSettlement, RunKind, SettlementRun, Visit
    from claims.settlement.services import settlement_run_start
    from medins.models import Region

    region = Region.objects.get(code=REGION)
    total = 0.0
    for kind, month in [*((RunKind.MONTHLY, m) for m in range(1, 13)), (RunKind.YEAR_END, None)]:
        started = time.perf_counter()
        run = settlement_run_start(acting_user=user, region=region, kind=kind, year=YEAR, month=month)
        elapsed = time.perf_counter() - started
        total += elapsed
        run = SettlementRun.objects.get(pk=run.pk)
        label = "year-end" if kind == RunKind.YEAR_END else f"monthly {YEAR}-{month:02d}"
        print(f"run {label:16s} {elapsed:7.1f} s  state={run.state} institutions {run.institutions_done:,}/"
              f"{run.institutions_total:,} visits {run.visits_count:,} payable {run.amount_total:,}")
        if run.errors:
            print("   errors:", run.errors[-1])
    settled = InstitutionSettlement.objects.filter(run__year=YEAR).aggregate(n=Sum("visits_count"))["n"] or 0
    print(f"all 13 runs: {total:.1f} s; visits left unsettled: "
          f"{Visit.objects.filter(year=YEAR).count() - settled:,}; "
          f"year-end statements: {InstitutionSettlement.objects.filter(run__kind=RunKind.YEAR_END).count():,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (0.01, 0.1, 1)")
    parser.add_argument("--ingest", type=int, default=100_000, help="visits sent through the ingestion service")
    parser.add_argument("--workers", type=int, default=1, help="processes sending ingestion batches at once")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the persons, memberships and visits an earlier run generated at this size")
    parser.add_argument("--runs", action=argparse.BooleanOptionalAction, default=True,
                        help="time the 13 settlement runs (--no-runs: ingestion only)")
    args = parser.parse_args()
    sizes = {key: max(1, round(value * args.scale)) for key, value in FULL.items()}
    setup_django("medins_bench_cap", "its tables are truncated")
    from django.contrib.auth import get_user_model

    print(f"capitation benchmark, scale {args.scale:g}: {sizes['members']:,} members, {sizes['institutions']:,} "
          f"institutions, {sizes['visits']:,} visits; os.cpu_count()={os.cpu_count()}")
    ids = (args.reuse and reuse(**sizes)) or prepare(**sizes, ingest=args.ingest)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    ingestion(user=user, members=sizes["members"], inst_ids=ids["inst_ids"], n=args.ingest, workers=args.workers)
    if args.runs:
        runs(user=user)


if __name__ == "__main__":
    main()
