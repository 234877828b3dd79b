"""Benchmark of the claims app on PostgreSQL (issue #4). Run by hand, serialised with the other benchmarks:

    createdb -h 127.0.0.1 -U postgres medins_bench_cases   # or let the script create it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_cases \
        flock /tmp/bench.lock .venv/bin/python bench/cases.py [--rows 5000] [--approved 100000]

Creates the database if needed, migrates, loads the reference data and the case types, then:
1. generates --rows college students of one Jinan school, covered in 2021, with COPY (kept
   between runs; only the missing ones are added);
2. a school batch of --rows cases POSTed to /api/v1/school/batches/ through DRF's APIClient with
   the school operator's token (JSON parsing, authentication, the batch service, the response
   with its per-row report): about 1 % of the rows are bad on purpose (an invoice already in the
   batch, a student of another school), every 10th row carries a small attachment; then the same
   batch id again (must change nothing);
3. the nightly payment-order job over --approved approved cases (generated with COPY), then the
   same job again for the same day (must create nothing).
Targets: batch accepted and stored < 10 s for 5 000 cases; payment job < 60 s for 100 000 cases.
Claims data of earlier runs (cases, batches, payment files) is truncated first (bench database only).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")

from bench.common import setup_django  # noqa: E402

SCHOOL_CODE = "BENCH-U1"
AREA = "370102"
BASE = dt.date(1999, 1, 1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
CLAIMS_TABLES = ["claims_attachment", "claims_casematerial", "claims_historicalcasematerial", "claims_invoice",
                 "claims_historicalinvoice", "claims_casetransition", "claims_materialsnotice", "claims_paymentorder",
                 "claims_historicalpaymentorder", "claims_paymentfile", "claims_case", "claims_historicalcase", "claims_batch"]


def student_values(i: int):
    from enrollment.idnumber import make_id_number

    birth = BASE + dt.timedelta(days=i % 1500)
    number = make_id_number(AREA, birth, i // 1500)
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[(i // 500) % len(GIVEN)]
    return number, birth, name


def generate_students(school, total: int) -> float:
    """Students of the bench school with 2021 cover, by COPY; only the missing ones are added."""
    from django.db import connection

    from enrollment.models import Person

    have = Person.objects.filter(school=school).count()
    if have >= total:
        return 0.0
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC).isoformat()
    columns = ("id_number", "id_reversed", "name", "sex", "birth_date", "region_id", "community", "phone", "bank_account",
               "school_id", "assistance", "created_at")
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY enrollment_person ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(have, total):
                number, birth, name = student_values(i)
                copy.write_row((number, number[::-1], name, "M" if int(number[16]) % 2 else "F", birth, school.region_id,
                                "历下区", "13905310000", f"62220301{i:011d}", school.pk, "", now))
        cursor.execute(
            "INSERT INTO enrollment_coverageperiod (person_id, benefit_year, covered_from, covered_to, waiting, status) "
            "SELECT p.id, 2021, DATE '2021-01-01', DATE '2021-12-31', false, 'active' FROM enrollment_person p "
            "WHERE p.school_id = %s AND NOT EXISTS (SELECT 1 FROM enrollment_coverageperiod c WHERE c.person_id = p.id)",
            [school.pk])
        cursor.execute("ANALYZE enrollment_person")
        cursor.execute("ANALYZE enrollment_coverageperiod")
    return time.perf_counter() - started


def batch_rows(students: list, n: int, other_school_student) -> list[dict]:
    attachment = base64.b64encode(b"%PDF-1.4 bench invoice scan " + b"x" * 2000).decode()
    rows = []
    for k in range(n):
        student = students[k % len(students)]
        row = {
            "row_id": str(k + 1), "id_number": student.id_number, "name": student.name, "case_type": "accident",
            "service_from": f"2021-{k % 12 + 1:02d}-{k % 28 + 1:02d}", "institution_name": "校外医院", "institution_level": "secondary",
            "bank_account": f"6222 0303 {k:08d}",
            "invoices": [{"issuer": "济南市第一人民医院", "number": f"BENCH-{k:06d}", "issued_on": f"2021-{k % 12 + 1:02d}-{k % 28 + 1:02d}",
                          "class_a": f"{300 + k % 1700}.00", "class_b": "120.50", "class_c": "0"}],
            "materials": ["invoice", "emergency_outpatient_record", "id_bank_copy"],
        }
        if k % 10 == 3:
            row["attachments"] = [{"material": "invoice", "filename": f"invoice-{k}.pdf", "content_type": "application/pdf",
                                   "content_base64": attachment}]
        if k % 200 == 199:  # the invoice of the previous row again
            row["invoices"][0]["number"] = f"BENCH-{k - 1:06d}"
        if k % 500 == 250:  # a student of another school
            row["id_number"], row["name"] = other_school_student.id_number, other_school_student.name
        rows.append(row)
    return rows


def generate_approved(n: int, *, person_ids: list[int], case_type_id: int, user_id: int) -> float:
    """--approved cases in state approved with a payable amount and the approval digest, by COPY (the
    state the payment job reads)."""
    from decimal import Decimal

    from django.db import connection

    from claims.approval import approval_digest
    from claims.models import Case
    from enrollment.models import Person
    from medins.bulk import next_ids

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC).isoformat()
    names = dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "name"))
    ids = next_ids(Case, n)
    columns = ("id", "approval_digest", "case_type_id", "person_id", "state", "service_from", "service_to", "institution_name", "institution_level",
               "delivery", "third_party_paid", "lost_invoice_promise", "bank_account", "note", "received_at", "received_by_id",
               "reviewed_by_id", "calculated_by_id", "approved_by_id", "state_changed_at", "reason", "policy_version",
               "fund_amount", "catastrophic_amount", "payable_amount")
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY claims_case ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(n):
                day = dt.date(2021, 1, 1) + dt.timedelta(days=i % 360)
                fund = f"{100 + i % 1800}.{i % 100:02d}"
                person, account = person_ids[i % len(person_ids)], f"62220303{i:011d}"
                digest = approval_digest(case_id=ids[i], amount=Decimal(fund), payee=names[person], account=account)
                copy.write_row((ids[i], digest, case_type_id, person, "approved", day, day, "校外医院", "secondary", "",
                                "0", False, account, "", now, user_id, user_id, user_id, user_id, now, "",
                                "370100-2021", fund, "0.00", fund))
        cursor.execute("ANALYZE claims_case")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--approved", type=int, default=100_000)
    args = parser.parse_args()
    setup_django("medins_bench_cases", "claims data is truncated")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from claims.models import Batch, Case, CaseType, PaymentOrder, SchoolOperator
    from claims.services import payment_orders_create, system_user
    from enrollment.models import Person, School
    from medins.models import Region

    print(f"cores: {os.cpu_count()}, database: PostgreSQL {connection.cursor().connection.info.server_version}")
    call_command("load_case_types", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(CLAIMS_TABLES)} RESTART IDENTITY")

    jinan = Region.objects.get(code="370100")
    school, _ = School.objects.get_or_create(code=SCHOOL_CODE, defaults={"region": jinan, "name": "基准测试大学", "kind": "college"})
    other, _ = School.objects.get_or_create(code=SCHOOL_CODE + "-B", defaults={"region": jinan, "name": "另一所大学", "kind": "college"})
    seconds = generate_students(school, args.rows)
    students = list(Person.objects.filter(school=school).order_by("pk")[: args.rows])
    how = f"generated with COPY in {seconds:.1f} s" if seconds else "already there"
    print(f"students: {len(students):,} of one school, covered in 2021 ({how})")
    from enrollment.idnumber import make_id_number

    outsider, _ = Person.objects.get_or_create(id_number=make_id_number(AREA, dt.date(1998, 6, 6), 999),
                                               defaults={"name": "外校学生", "region": jinan, "school": other})

    User = get_user_model()
    operator, _ = User.objects.get_or_create(username="bench_school_operator")
    SchoolOperator.objects.get_or_create(user=operator, defaults={"school": school})
    token, _ = Token.objects.get_or_create(user=operator)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"batch_id": f"bench-{dt.datetime.now():%Y%m%d%H%M%S}", "cases": batch_rows(students, args.rows, outsider)}

    started = time.perf_counter()
    response = api.post("/api/v1/school/batches/", body, format="json")
    first = time.perf_counter() - started
    assert response.status_code == 201, response.content[:2000]
    data = response.json()
    print(f"school batch of {data['total_rows']:,} rows via the REST API: {first:.2f} s ({data['total_rows'] / first:,.0f} rows/s) — "
          f"{data['accepted_rows']:,} accepted, {data['rejected_rows']:,} rejected, {Case.objects.count():,} cases stored "
          f"(target < 10 s)")
    started = time.perf_counter()
    again = api.post("/api/v1/school/batches/", body, format="json")
    second = time.perf_counter() - started
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    print(f"same batch id again: {second:.2f} s — HTTP {again.status_code}, {Batch.objects.count()} batch, "
          f"{Case.objects.count():,} cases (unchanged)")

    clerk, _ = User.objects.get_or_create(username="bench_clerk")
    case_type = CaseType.objects.get(region=jinan, code="accident")
    seconds = generate_approved(args.approved, person_ids=[s.pk for s in students], case_type_id=case_type.pk, user_id=clerk.pk)
    print(f"approved cases: {args.approved:,} generated with COPY in {seconds:.1f} s")
    user = system_user()
    started = time.perf_counter()
    payment_file, created = payment_orders_create(acting_user=user, pay_date=dt.date(2021, 12, 1))
    first = time.perf_counter() - started
    assert created
    print(f"nightly payment-order job: {payment_file.order_count:,} orders, total {payment_file.total_amount:,}, "
          f"{len(payment_file.content.encode()):,} bytes of bank file in {first:.2f} s "
          f"({payment_file.order_count / first:,.0f} orders/s) (target < 60 s)")
    started = time.perf_counter()
    _file, created = payment_orders_create(acting_user=user, pay_date=dt.date(2021, 12, 1))
    second = time.perf_counter() - started
    print(f"same day again: {second:.2f} s — created {created}, {PaymentOrder.objects.count():,} orders (unchanged)")


if __name__ == "__main__":
    main()
