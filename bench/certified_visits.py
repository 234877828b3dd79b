"""Benchmark of certified-visit ingestion on PostgreSQL (issue 12 item 8). Run by hand, in its own
database, under the shared benchmark lock:

    flock /tmp/bench.lock env DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_ffs \\
        .venv/bin/python -u bench/certified_visits.py [--persons 200000] [--institutions 200] \\
        [--ingest 100000] [--workers 2]

Changchun (220100): --persons residents covered in 2021 (bench/enrollment.py's generator), each
holding one approved certification at one of --institutions bench institutions (even ones
secondary: chronic 糖尿病 or a special disease; odd ones municipal tertiary: a special drug),
written set-wise in SQL with its place of use. Then --ingest certified visits go through the real
service (`visits_receive`, the API's way in: batches of 5 000 rows of one institution naming
their benefit and disease/drug; --workers processes at once, like API workers), then the first
batch again (all duplicates). Before them, unless --no-pool, the same persons, dates and amounts
go in as outpatient-pool visits (no benefit named) at their pool institutions (one community
institution each, memberships written in SQL), so that pool and certified are compared in the
same run, on the same load; the visit and ledger tables are emptied before each. Each phase
prints its visits/s and the CPU time per batch of 5 000 of the worker processes and of their own
PostgreSQL backends (the machine is shared: wall-clock figures are inflated by the others' load,
CPU time much less). Target: ≥ 20 000 visits/s with two processes, certified at least as fast as
pool.

Measured (2026-12-07, 2-core machine, PostgreSQL on it):
- idle, before this bench compared both: certified 14 940/s; pool 16 171/s (bench/capitation.py,
  Jinan). Not met.
- shared machine (load 7-9), before the changes of h-perf12: pool 3 281/s, certified 2 391/s
  (0.73; that run printed 0.85, a bug since fixed: it divided by the duplicate re-run's time);
  CPU per batch: pool Python 444 ms + its backend 248 ms, certified 694 + 291 ms.
- shared machine (load ~10), one batch at a time in a rolled-back transaction (so without the
  commit), CPU per batch after h-perf12 (ledger_post sums postings per account before splitting,
  Posting a named tuple, the cyclic GC paused during a batch, the certified loop's accounts
  looked up once, ledger entries' reverses/created_by indexes partial and no deferred FK
  trigger): certified Python 509 ms (was 610-650) + backend 305-330 ms; pool Python 323 ms +
  backend 215-230 ms; the same batches committed: certified 517 + 340 ms, pool 332 + 250 ms
  (accounts already there).
- shared machine (load ~10), the full bench after h-perf12 (100 000 visits each, 2 workers):
  pool 5 514/s, certified 3 902/s (0.71); CPU per batch: pool Python 326 ms + backend 219 ms
  (−21 % from 692 ms), certified 481 + 268 ms (−24 % from 985 ms). Certified still costs
  1.4-1.45× pool's CPU: three ledger accounts a visit (benefit, disease/drug, year or shared
  total) against pool's two, the certification checks,
  and the per-visit engine terms. Neither target is shown met; 20 000/s needs about 0.5 CPU-s per
  batch in all (Python and PostgreSQL), certified is at ~0.75 on the loaded machine
  (scaling the idle 14 940/s by the CPU saved suggests ~19 000-20 000/s idle: an estimate, not a
  measurement).
- idle (load 0.0), after h-perf12, on main (2026-12-07 21:42 UTC), 100 000 visits each, 2 workers:
  pool 18 874/s (Python 268 ms + backend 196 ms per batch), certified 15 342/s (391 + 226 ms);
  certified / pool 0.81. Neither target is met: the estimate above was optimistic.
- 2026-12-08, another (faster) 2-core machine, same bench. At the start of the session (main at
  302d4e0, load ~0.5): pool 39 543/s (Python 125 ms + backend 96 ms per batch), certified 30 520/s
  (171 + 117 ms), 0.77. After this session's changes — the ledger re-check by entry count (one
  integer back per account instead of seven amounts), bulk text arrays joined without per-element
  escaping, entry figures and postings built positionally, certified terms keyed by policy
  version and catalogue era (RegionCatalogue.era) instead of each entry's validity per date, the
  benefit read once per row — at load ~1.5 (one helper's tests running): pool 53 332/s (91 + 76 ms),
  certified 40 612/s (131 + 92 ms), 0.76.
  Idle (load ~1, nothing else running, main at d512f95), three runs in a row: pool 52 466, 48 868
  and 46 552/s; certified 37 356, 39 701 and 36 272/s (Python 137-157 ms + backend 92-106 ms per
  batch); certified / pool 0.71, 0.81, 0.78. Again after the review fixes (main at 537f080: the bulk
  arrays' no-escape path now really taken, a flag more per certified visit row), idle, three runs:
  pool 49 568, 48 384, 48 852/s; certified 37 417, 38 353, 37 534/s (Python 142-148 ms + backend
  94-97 ms); 0.75, 0.79, 0.77.
  Both are over the 20 000/s target (README: "≥ 20 000 visits/s, as pool visits", the pool
  ingestion's target of bench/capitation.py). Certified stays at about 0.75-0.8 of pool on the same
  machine: per visit it does what pool does plus three ledger accounts instead of two (benefit,
  disease/drug, year cap or shared total), the certifications read (one query, joined to their
  places of use), a wider visit row and the benefit's banded engine split; the optimisations
  above are shared and speed both.

The certification check adds no per-visit query: the bench counts the SQL statements of one
batch of 5 000 and of one of 50 (the same number; tests/settlement/test_certified_visits.py pins
it too). Everything the ingestion writes (visits, ledgers, intake accounts) is truncated first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from bench.common import setup_django  # noqa: E402
from bench.enrollment import person_values  # noqa: E402

REGION = "220100"
YEAR = 2021
DAYS = [dt.date(YEAR, 1, 1) + dt.timedelta(days=d) for d in range(365)]
STATE = ("settlement_certifiedvisit, settlement_feeaccount, settlement_feestatement, "
         "settlement_historicalfeestatement, ledger_ledgeraccount, ledger_ledgerentry, settlement_visit, "
         "settlement_poolaccount, settlement_inpatientstay")
DISEASES = ["SPD-001", "SPD-002", "SPD-004", "SPD-027"]
DRUGS = ["CC-D-001", "CC-D-002", "CC-D-003", "CC-D-004"]


def plan(p: int, institutions: int) -> tuple[int, str, str]:
    """Person p: (institution index, benefit, item code) of its one certification."""
    k = p % institutions
    if k % 2:
        return k, "special_drug", DRUGS[(p // institutions) % len(DRUGS)]
    if (p // institutions) % 2:
        return k, "special_disease", DISEASES[(p // institutions) % len(DISEASES)]
    return k, "chronic", "diabetes"


def prepare(*, persons: int, institutions: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.enrollment import generate_persons
    from enrollment.models import Person
    from medins.models import CatalogueItem, Institution, Region

    region = Region.objects.get(code=REGION)
    seconds = generate_persons(persons, region=REGION)
    print(f"persons: {Person.objects.filter(region=region).count():,} "
          f"({f'generated with COPY in {seconds:.1f} s' if seconds else 'already there'})")
    started = time.perf_counter()
    have = set(Institution.objects.filter(region=region, code__startswith="BENCH-CV-").values_list("code", flat=True))
    Institution.objects.bulk_create([
        Institution(region=region, code=f"BENCH-CV-{k:05d}", name=f"基准认定门诊机构{k:05d}", kind="hospital",
                    level="municipal_tertiary" if k % 2 else "secondary", bank_account=f"6216{k:015d}",
                    bank_account_name=f"基准认定门诊机构{k:05d}")
        for k in range(institutions) if f"BENCH-CV-{k:05d}" not in have])
    have = set(Institution.objects.filter(region=region, code__startswith="BENCH-PV-").values_list("code", flat=True))
    Institution.objects.bulk_create([  # the same persons' outpatient-pool institutions (community level)
        Institution(region=region, code=f"BENCH-PV-{k:05d}", name=f"基准门诊统筹机构{k:05d}", kind="clinic",
                    level="primary", bank_account=f"6217{k:015d}", bank_account_name=f"基准门诊统筹机构{k:05d}")
        for k in range(institutions) if f"BENCH-PV-{k:05d}" not in have])
    inst_ids = list(Institution.objects.filter(region=region, code__startswith="BENCH-CV-").order_by("code")
                    .values_list("pk", flat=True)[:institutions])
    pool_ids = list(Institution.objects.filter(region=region, code__startswith="BENCH-PV-").order_by("code")
                    .values_list("pk", flat=True)[:institutions])
    items = dict(((kind, code), pk) for kind, code, pk in CatalogueItem.objects.filter(region=region).values_list(
        "kind", "code", "pk"))
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    first_person = Person.objects.filter(region=region).order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STATE} RESTART IDENTITY")
        cursor.execute("TRUNCATE certifications_certificationsite, certifications_certification, "
                       "certifications_historicalcertification RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM enrollment_coverageperiod WHERE person_id IN "
                       "(SELECT id FROM enrollment_person WHERE region_id = %s)", [region.pk])
        cursor.execute(
            """INSERT INTO enrollment_coverageperiod (person_id, benefit_year, covered_from, covered_to, waiting, status)
               SELECT p.id, %(year)s, make_date(%(year)s, 1, 1), make_date(%(year)s, 12, 31), false, 'active'
               FROM enrollment_person p WHERE p.region_id = %(region)s AND p.id < %(first)s + %(n)s""",
            {"year": YEAR, "region": region.pk, "first": first_person, "n": persons})
        cursor.execute("DELETE FROM settlement_poolmembership WHERE person_id IN "
                       "(SELECT id FROM enrollment_person WHERE region_id = %s)", [region.pk])
        cursor.execute(  # person p is a pool member of pool institution p % institutions
            """INSERT INTO settlement_poolmembership (person_id, institution_id, year, source, created_at)
               SELECT %(first)s + p, (%(ids)s::bigint[])[1 + p %% %(k)s], %(year)s, 'signup', now()
               FROM generate_series(0, %(n)s - 1) p""",
            {"first": first_person, "ids": pool_ids, "k": institutions, "year": YEAR, "n": persons})
        cursor.execute("CREATE TEMP TABLE bench_cert (p int PRIMARY KEY, inst int, kind text, item int)")
        rows = []
        for p in range(persons):
            k, benefit, code = plan(p, institutions)
            catalogue = {"chronic": "chronic_disease", "special_disease": "special_disease",
                         "special_drug": "special_drug"}[benefit]
            rows.append(f"{p}\t{inst_ids[k]}\t{benefit}\t{items[(catalogue, code)]}\n")
        with cursor.copy("COPY bench_cert (p, inst, kind, item) FROM STDIN") as copy:
            copy.write("".join(rows))
        cursor.execute(
            """INSERT INTO certifications_certification (number, region_id, person_id, kind, item_id, institution_id,
                   assessment, state, applied_at, applied_by_id, decided_at, valid_from, valid_to, end_reason,
                   client_id)
               SELECT 'BENCH' || b.p, %(region)s, %(first)s + b.p, b.kind, b.item, b.inst, '{}', 'approved', now(),
                      %(user)s, now(), make_date(%(year)s, 1, 1),
                      CASE WHEN b.kind = 'special_drug' THEN make_date(%(year)s, 12, 31) END, '', ''
               FROM bench_cert b""",
            {"region": region.pk, "first": first_person, "user": user.pk, "year": YEAR})
        cursor.execute(
            """INSERT INTO certifications_certificationsite (certification_id, institution_id, role, valid_from,
                   valid_to, created_at)
               SELECT c.id, c.institution_id, CASE c.kind WHEN 'chronic' THEN 'treatment' WHEN 'special_drug'
                      THEN 'approving' ELSE 'certifying' END, c.valid_from, c.valid_to, now()
               FROM certifications_certification c""")
        cursor.execute("VACUUM ANALYZE")
    print(f"institutions, cover, {persons:,} certifications and their sites (SQL): {time.perf_counter() - started:.1f} s")
    return {"first_person": first_person, "inst_ids": inst_ids, "pool_ids": pool_ids, "user": user}


_BATCHES: list = []


def _ingest_share(worker: int, workers: int) -> tuple[int, int, int, float, float]:
    """Send every `workers`-th batch; returns counts and the CPU seconds of this process and of its
    PostgreSQL backend."""
    from claims.settlement.services import visits_receive
    from medins.models import Institution
    from medins.selectors import PolicyCache

    policies = PolicyCache()
    python, postgres = time.process_time(), _backend_cpu()
    created = duplicates = refused = 0
    for institution_id, rows in _BATCHES[worker::workers]:
        institution = Institution.objects.select_related("region").get(pk=institution_id)
        result = visits_receive(acting_user=None, institution=institution, rows=rows, policies=policies)
        created += result.created
        duplicates += result.duplicates
        refused += len(result.errors)
        if result.errors and refused == len(result.errors):
            print("   first refusal:", result.errors[0])
    return created, duplicates, refused, time.process_time() - python, _backend_cpu() - postgres


def batches(*, persons: int, inst_ids: list[int], n: int, start: int = 0, size: int = 5_000,
            pool: bool = False) -> list:
    """Batches of one institution each; pool=True: the same persons, dates and amounts as outpatient-pool
    visits (no benefit named) at their pool institutions."""
    institutions = len(inst_ids)
    out = []
    v = start
    k = 0
    while v < start + n:
        count = min(size, start + n - v)
        rows = []
        j = 0
        while len(rows) < count:  # persons certified at institution k, round robin
            p = k + institutions * (j % max(1, (persons - k) // institutions))
            j += 1
            if p >= persons:
                continue
            _k, benefit, code = plan(p, institutions)
            a = 1_000 + (v * 37) % 9_000
            row = {"visit_id": f"{'PV' if pool else 'CV'}{v:09d}", "id_number": person_values(p)[0],
                   "service_date": DAYS[(v * 7) % 365].isoformat(), "benefit": benefit, "item_code": code,
                   "class_a": f"{a // 100}.{a % 100:02d}", "class_b": "112.50", "class_c": "3.00"}
            if pool:
                del row["benefit"], row["item_code"]
            rows.append(row)
            v += 1
        out.append((inst_ids[k], rows))
        k = (k + 1) % institutions
    return out


def count_queries(*, persons: int, inst_ids: list[int]) -> None:
    """SQL statements of one batch of 5 000 and of one of 50 (fresh visits): the same."""
    from django.db import connection, transaction

    from claims.settlement.services import visits_receive
    from medins.models import Institution

    for size, start in ((5_000, 90_000_000), (50, 91_000_000)):
        institution_id, rows = batches(persons=persons, inst_ids=inst_ids, n=size, start=start, size=size)[0]
        institution = Institution.objects.select_related("region").get(pk=institution_id)
        seen = []

        def counter(execute, sql, params, many, context, seen=seen):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            try:
                with transaction.atomic():
                    result = visits_receive(acting_user=None, institution=institution, rows=rows)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
        print(f"queries for one batch of {size:,} certified visits: {len(seen)} "
              f"({result.created:,} accepted, {len(result.errors)} refused; rolled back)")


def ingestion(*, persons: int, inst_ids: list[int], n: int, workers: int, pool: bool = False) -> float:
    """Ingest n visits (certified, or pool=True outpatient-pool ones) on empty visit and ledger
    tables; returns visits/s."""
    from django.db import connection

    from claims.settlement.services import visits_receive
    from medins.models import Institution
    from medins.selectors import PolicyCache

    global _BATCHES
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STATE} RESTART IDENTITY")
    _BATCHES = batches(persons=persons, inst_ids=inst_ids, n=n, pool=pool)
    kind = "outpatient-pool" if pool else "certified"
    started = time.perf_counter()
    if workers == 1:
        totals = [_ingest_share(0, 1)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from django.db import connections

        connections.close_all()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            totals = list(pool.map(_ingest_share, range(workers), [workers] * workers))
    elapsed = time.perf_counter() - started
    rate = n / elapsed
    created, duplicates, refused, python, postgres = (sum(t[i] for t in totals) for i in range(5))
    print(f"ingest {n:,} {kind} visits through visits_receive in {len(_BATCHES)} batches, {workers} process(es): "
          f"{elapsed:.1f} s ({n / elapsed:,.0f} visits/s) — {created:,} created, {duplicates:,} duplicates, "
          f"{refused:,} refused; CPU per batch of 5 000: Python {python * 5_000 / n * 1000:.0f} ms, "
          f"its PostgreSQL backend {postgres * 5_000 / n * 1000:.0f} ms")
    institution_id, rows = _BATCHES[0]
    institution = Institution.objects.select_related("region").get(pk=institution_id)
    started = time.perf_counter()
    again = visits_receive(acting_user=None, institution=institution, rows=rows, policies=PolicyCache())
    elapsed = time.perf_counter() - started
    print(f"same batch of {len(rows):,} again: {elapsed * 1000:.0f} ms ({len(rows) / elapsed:,.0f} visits/s) — "
          f"{again.created} created, {again.duplicates:,} duplicates")
    return rate


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine): the server
    is shared with other databases, so only our own backends are counted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--institutions", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=100_000, help="visits sent through the ingestion service")
    parser.add_argument("--workers", type=int, default=2, help="processes sending batches at once")
    parser.add_argument("--no-pool", action="store_true", help="skip the outpatient-pool ingestion measured first")
    args = parser.parse_args()
    setup_django("medins_bench_ffs", "its certification and visit tables are truncated")
    print(f"certified-visit benchmark: {args.persons:,} certified persons at {args.institutions:,} institutions, "
          f"{args.ingest:,} visits, {args.workers} process(es); os.cpu_count()={os.cpu_count()}")
    ids = prepare(persons=args.persons, institutions=args.institutions)
    count_queries(persons=args.persons, inst_ids=ids["inst_ids"])
    pool = None
    if not args.no_pool:
        pool = ingestion(persons=args.persons, inst_ids=ids["pool_ids"], n=args.ingest, workers=args.workers, pool=True)
    certified = ingestion(persons=args.persons, inst_ids=ids["inst_ids"], n=args.ingest, workers=args.workers)
    if pool:
        print(f"certified / pool: {certified / pool:.2f}")


if __name__ == "__main__":
    main()
