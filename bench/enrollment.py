"""Benchmark of the enrollment app on PostgreSQL (issue #3, item 8). Run by hand:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench .venv/bin/python bench/enrollment.py \
        [--persons 1000000] [--payments 100000]

Creates the database if needed, migrates, loads the reference data, then:
1. generates the persons with COPY (kept between runs; only the missing ones are added);
2. imports a payment file of --payments rows end to end (parse, validate, duplicate check,
   persons, policy, insert payments, coverage periods and their history), then the same file
   again (everything is a duplicate: must change nothing);
3. is_covered lookups per second;
4. covered_person_ids, the batch form, in persons per second (and the same answers);
5. person search and the category filter through the admin changelist (server time,
   in-process test client).
Targets: import < 30 s for 100 000 rows; changelist search and filter < 100 ms at 1 000 000 persons.
Run it under the shared lock: flock /tmp/bench.lock .venv/bin/python bench/enrollment.py
Payments, coverage periods and imports of earlier runs are truncated first (bench database only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")

from bench.common import setup_django  # noqa: E402

AREAS = ["220102", "220103", "220104", "220105", "220106", "220112"]
DAYS = 29_000  # birth dates from 1941 on
BASE = dt.date(1941, 1, 1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def person_values(i: int, areas=AREAS, base: dt.date = BASE, days: int = DAYS):
    """(ID number, birth date, name) of the i-th generated person: unique for i < len(areas) × days × 1000."""
    from enrollment.idnumber import make_id_number

    area = areas[i % len(areas)]
    birth = base + dt.timedelta(days=(i // len(areas)) % days)
    seq = i // (len(areas) * days)
    number = make_id_number(area, birth, seq)
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[(i // 500) % len(GIVEN)]
    return number, birth, name


def generate_persons(total: int, *, region: str = "220100", values=person_values, school_id: int | None = None,
                     community: str = "南关区永吉街道") -> float:
    """Add persons 0..total-1 of `values` with COPY (those already there are kept); returns the seconds taken."""
    from django.db import connection

    from enrollment.models import Person
    from medins.models import Region

    region_id = Region.objects.get(code=region).pk
    have = Person.objects.filter(region_id=region_id).count()
    if have >= total:
        return 0.0
    started = time.perf_counter()
    columns = ("id_number", "id_reversed", "name", "sex", "birth_date", "region_id", "community", "phone",
               "bank_account", "assistance", "created_at", "school_id")
    now = dt.datetime.now(dt.UTC).isoformat()
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY enrollment_person ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(have, total):
                number, birth, name = values(i)
                copy.write_row((number, number[::-1], name, "M" if int(number[16]) % 2 else "F", birth, region_id,
                                community, "13904310000", f"62220202{i:011d}", "", now, school_id))
        cursor.execute("ANALYZE enrollment_person")
    return time.perf_counter() - started


def payment_file(n: int, persons: int, seed: int = 11) -> bytes:
    from enrollment.preview import CategoryAges, category_on

    ages = CategoryAges(newborn_months=12, adult_age=18)  # the shipped 220100-2021 category.* parameters

    rnd = random.Random(seed)
    picked = rnd.sample(range(persons), n)
    out = io.StringIO()
    out.write("receipt_number,id_number,name,paid_on,amount,newborn_registration\n")
    for k, i in enumerate(picked):
        number, birth, name = person_values(i)
        # the October 2020 window and 2021's late payments: all priced by the 2021 policy (DOMAIN §1)
        paid = dt.date(2020, 10, 1) + dt.timedelta(days=rnd.randrange(365))
        if paid < birth:
            paid = dt.date(2021, 9, 1)
        amount = "320.00" if category_on(birth_date=birth, day=paid, ages=ages) == "adult" else "200.00"
        if k % 500 == 7:
            number = number[:17] + ("0" if number[17] != "0" else "1")  # 0.2 % bad check digits
        out.write(f"B{k:08d},{number},{name},{paid.isoformat()},{amount},\n")
    return out.getvalue().encode()


def timed(fn, repeat: int):
    """(median, p95) wall time in ms, and the median CPU time of this process (Django's share of
    the request, without the database and without waiting for a core on a shared machine)."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1], statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=100_000)
    args = parser.parse_args()
    setup_django("medins_bench", "payments are truncated")
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from enrollment.models import CoveragePeriod, Payment, Person
    from enrollment.selectors import covered_person_ids, is_covered
    from enrollment.services import payment_file_import

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE enrollment_coverageperiod, enrollment_historicalcoverageperiod, enrollment_payment, "
                       "enrollment_historicalpayment, enrollment_paymentimport, enrollment_stop, "
                       "enrollment_historicalstop RESTART IDENTITY")

    seconds = generate_persons(args.persons)
    total = Person.objects.count()
    how = f"generated with COPY in {seconds:.1f} s" if seconds else "already there"
    print(f"persons: {total:,} ({how})")

    content = payment_file(args.payments, min(total, args.persons))
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    started = time.perf_counter()
    _imp, report = payment_file_import(acting_user=user, filename="bench.csv", content=content)
    first = time.perf_counter() - started
    print(f"import {report.total:,} rows: {first:.1f} s ({report.total / first:,.0f} rows/s) — {report.ok:,} imported, "
          f"{len(report.errors):,} rows with errors, {Payment.objects.count():,} payments, "
          f"{CoveragePeriod.objects.count():,} coverage periods")
    started = time.perf_counter()
    _imp, again = payment_file_import(acting_user=user, filename="bench.csv", content=content)
    second = time.perf_counter() - started
    print(f"same file again: {second:.1f} s — {again.ok} imported, {again.duplicates:,} duplicates skipped")

    rnd = random.Random(3)
    low = Person.objects.order_by("pk").values_list("pk", flat=True).first()
    lookups = [(low + rnd.randrange(total), dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randrange(730)))
               for _ in range(20_000)]
    started = time.perf_counter()
    hits = sum(is_covered(pk, day) for pk, day in lookups)
    elapsed = time.perf_counter() - started
    print(f"is_covered: {len(lookups) / elapsed:,.0f} lookups/s ({hits:,} covered of {len(lookups):,})")
    days: dict = {}
    for pk, day in lookups:
        days.setdefault(day, []).append(pk)
    batches = [(day, pks) for day, pks in days.items()]
    rnd.shuffle(batches)
    batch_ids = [low + rnd.randrange(total) for _ in range(100_000)]
    started = time.perf_counter()
    batch_hits = sum(len(covered_person_ids(batch_ids[k:k + 1000], dt.date(2021, 9, 1))) for k in range(0, 100_000, 1000))
    elapsed = time.perf_counter() - started
    same = sum(len(covered_person_ids(pks, day)) for day, pks in batches) == hits
    print(f"covered_person_ids: {100_000 / elapsed:,.0f} persons/s in batches of 1 000 ({batch_hits:,} covered); "
          f"same answers as is_covered on the {len(lookups):,} lookups: {same}")

    client = Client()
    client.force_login(user)
    wanted = Person.objects.get(pk=low + total // 2)
    url = "/admin/enrollment/person/"
    for label, params in [
        ("full ID number", {"q": wanted.id_number}),
        ("last 6 digits", {"q": wanted.id_number[-6:]}),
        ("start of name", {"q": wanted.name}),
        ("no search (first page)", {}),
        *((f"category filter {c}", {"category": c}) for c in ("minor", "adult", "newborn", "student", "college_student")),
    ]:
        assert client.get(url, params).status_code == 200
        median, p95, cpu = timed(lambda params=params: client.get(url, params), 30)
        print(f"admin changelist, {label}: median {median:.1f} ms, p95 {p95:.1f} ms (Django CPU median {cpu:.1f} ms)")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT id FROM enrollment_person WHERE id_number = %s", [wanted.id_number])
        print("plan, full ID:", " / ".join(r[0].strip() for r in cursor.fetchall()[:2]))
        cursor.execute("EXPLAIN SELECT id FROM enrollment_person WHERE id_reversed LIKE %s OR id_number LIKE %s",
                       [wanted.id_number[::-1][:6] + "%", wanted.id_number[-6:] + "%"])
        print("plan, last digits:", " / ".join(r[0].strip() for r in cursor.fetchall()[:4]))


if __name__ == "__main__":
    main()
