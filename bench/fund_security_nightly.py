"""Benchmark of the nightly fund-security review on PostgreSQL (issue 15 item 7). Run by hand, in its
own database, under the shared benchmark lock:

    flock /tmp/bench.lock env DATABASE_URL=postgres://postgres@127.0.0.1:5432/medins_bench_fs \\
        .venv/bin/python -u bench/fund_security_nightly.py [--persons 5000000] [--day 200000] \\
        [--history-visits 5000000] [--history-cases 400000]

Changchun (220100), one day (2021-10-15) of a city of --persons insured (bench/enrollment.py's
generator, all covered in 2021): --day settlements of that day — 70 % outpatient-pool visits,
20 % certified visits (received that day), 8 % inpatients, 2 % residents' lines of monthly care
claims (approved that day) — against a year of history, written set-wise in SQL.

The inpatients are a quarter inpatient reimbursement cases (approved that day, 60 % of them
itemised: a bed line a day, a treatment line on most days, some stays with idle days) and three
quarters direct inpatient stays (住院直接结算, InpatientStay as claims/settlement/services/stays.py
records it: detail and itemised lines of kind inpatient_stay, the bill the sum of the lines;
discharged that day or the day before after 4–13 days, received that day; a bed and a treatment
line each stay day, a fifth with three days without treatment: bed-holding; one in 25 with a bed
charged twice). Decision: a city's hospitals settle most inpatient care directly; manual
reimbursement is left to care outside the city or outside the network, here kept at a quarter
(more than in reality) so that the case path is still measured at volume.

History: --history-visits pool and certified visits over the year; --history-cases inpatient
cases and three times as many direct stays over the year (lined like the day's). Each of the day's
inpatients has an earlier stay of the same kind ending 5 days before its admission, a third of them
at the same hospital with the same ICD-10 category (split admissions; for direct stays a third of
those are planned chemotherapy cycles, Z51, which the rule leaves alone); a tenth of them also had a
pool visit elsewhere on a stay day (overlapping care).

Then the real job (`claims.supervision.services.nightly_check`) runs once (findings written) and
again (nothing new: idempotent), each timed. Target: under 2 minutes. Printed per run: wall clock,
this process's CPU time and the PostgreSQL backend's (from /proc; parallel workers not counted),
time spent waiting on SQL, each phase (each read, building the rules' facts, each rule, writing the
findings: wall and CPU) and the slowest statements. `--prepare-only` writes the data and stops.

Measured (2026-12-07, the shared 2-core machine at load average 8–12 from other helpers' tests and
benchmarks, so wall clock is inflated 3–4×; compare the CPU figures):

- 1 M persons, 200 000 settlements of the day, 1 M history visits, 100 000 history cases — before
  (commit 135923c): first run 271 s wall, 36.0 s Python CPU + 40.3 s backend CPU, 179 statements;
  103 s reading history visits (`person_id = ANY(int[])` on the bigint column is not hashed: each of
  a million visits compared with 16 000 ids, 25 s per scan in EXPLAIN ANALYZE), 23 s reading the
  persons' cover, grey list and certifications (no review rule reads them), 50 s building the rules'
  facts for 250 000 settlements, 59 s writing 10 517 findings (Django 5.2's bulk_create sends each
  column as an array; psycopg escaped every quote of the JSON facts with a regex, 2.4 M calls).
  After: 82.5 s wall, 22.6 s Python CPU + 5.8 s backend CPU, 52 statements — history visits 0.9 s
  (unnest hash join), no person records, findings by COPY; the rules themselves ~1 s CPU. The
  second (idempotent) run: 62 s wall, 15.7 s Python CPU, nothing written.
- Full scale (the defaults; database medins_bench_fs_h2 left prepared, rerun with --reuse), load
  average 5–8, after the above and after sending split_admission/overlapping_care only the persons
  holding a stay: first run 58.2 s wall, 22.5 s Python CPU + 8.3 s backend CPU, 52 statements, 11.8 s
  waiting on SQL, 10 721 findings; second run 42.2 s wall, 15.1 s + 5.1 s CPU, nothing new. Per phase
  (first run, wall/CPU s): the day's cases 3.4/0.8, certified visits 1.4/0.7, pool visits 4.4/2.0
  (a parallel scan of 5 M visits by received_at, 1.3 s in EXPLAIN ANALYZE: no index on purpose,
  ingestion pays for each), care lines 2.5/1.1; history stays of the day's 200 000 persons 8.0/2.2
  (index on person, 1.7 s in EXPLAIN ANALYZE), visits of the 16 000 persons with a stay 2.6/0.1;
  building the rules' facts 10.1/5.7; the rules 2.3/1.4; writing the findings 20.5/7.2 (COPY).
  The previous figure at this scale was 676 s. On an idle 2-core machine the job should take about
  the CPU time, some 35–45 s: well under the 2-minute target (not yet measured idle).
- idle (load 0.0, 2026-12-07 21:40 UTC, main with direct inpatient stays merged, --reuse of the
  full-scale data): first run 25.3 s (Python 19.3 s CPU, PostgreSQL backend 7.0 s, 54 statements,
  10 721 findings), second run 17.0 s, nothing new. Target (under 2 minutes) met. The day's mix had
  no direct inpatient stays then (all its 16 000 inpatients were reimbursement cases).
- With direct stays (2026-12-08, this generator; the shared machine at load average 2.4–4.6
  from other helpers' tests): 1 M persons scaled with the defaults (--day 40000 --history-visits
  1000000 --history-cases 80000: 800 cases and 2 400 direct stays of the day, 240 000 history
  stays): data written in 68 s; first run 4.2 s wall (Python 2.6 s + backend 0.7 s CPU, 52
  statements), 2 101 findings (split_admission 850, bed_holding 640, overlapping_care 515,
  duplicate_charge 96); second run 4.1 s, nothing new. 1 M persons with the earlier 1 M arguments
  (--day 200000 --history-visits 1000000 --history-cases 100000: 4 000 cases and 12 000 direct
  stays of the day, 300 000 history stays with 4.4 M lines): data written in 80 s; first run
  24.0 s wall (Python 13.9 s + backend 3.0 s CPU, 56 statements, 3.8 s waiting on SQL), 9 841
  findings (split_admission 4 002 of them 2 668 on direct stays, bed_holding 3 200 / 2 400,
  duplicate_charge 480 / 480, overlapping_care 2 159 / 1 511); second run 14.2 s (10.5 s + 2.0 s
  CPU), nothing new. Per phase (first run, wall/CPU s): the day's direct stays 1.1/0.6; history
  stays (cases and direct stays) of the day's 200 000 persons 5.8/2.3; the itemised lines (8 reads
  of supervision_settlementline over the job, cases' and stays') 1.4 s of SQL in all; building the
  rules' facts 6.8/5.0; the rules 1.5/1.1; writing the findings
  3.2/1.7.
- Full scale with direct stays (the defaults, 2026-12-08 00:50 UTC, load ~2.5: nothing else but
  this bench ran): 5 M persons generated in 127 s, the history and the day written in 266 s (day:
  140 000 pool visits, 40 000 certified visits, 4 000 inpatient cases, 12 000 direct stays, 4 000
  care-claim lines; history: 5 M visits, 400 000 cases, 1 200 000 direct stays). First run 20.3 s
  (Python 16.4 s + backend 4.1 s CPU, 58 statements, 3.5 s waiting on SQL), 10 240 findings
  (split_admission 4 001, bed_holding 3 200, overlapping_care 2 559, duplicate_charge 480), 2 700
  bed-holding stays undecided; second run 15.1 s, nothing new. Per phase (first run, wall/CPU s):
  the day's direct stays 0.8/0.6, history stays of the day's persons 4.6/2.6, building the rules'
  facts 6.1/6.1, the rules 1.5, writing the findings 2.5/1.9. Target (under 2 minutes) met.

Everything the bench writes (cases, visits, direct stays, care claims, findings) is truncated first; persons and
their cover are kept between runs.
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

REGION = "220100"
DAY = dt.date(2021, 10, 15)
STATE = ("claims_casetransition, claims_invoice, claims_historicalinvoice, claims_case, claims_historicalcase, "
         "settlement_visit, settlement_certifiedvisit, settlement_inpatientstay, carecare_careclaimtransition, "
         "carecare_careclaimline, carecare_careclaim, carecare_historicalcareclaim, supervision_findingsettlement, supervision_finding_persons, "
         "supervision_historicalfinding, supervision_finding, supervision_checkrun, supervision_settlementline, "
         "supervision_settlementdetail, supervision_greylistentry, supervision_historicalgreylistentry")
HOSPITALS = 200
HOMES = 40


def prepare(*, persons: int, day: int, history_visits: int, history_cases: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from bench.enrollment import generate_persons
    from claims.models import CaseType
    from enrollment.models import Person
    from medins.models import Institution, Region

    call_command("load_case_types", verbosity=0)
    region = Region.objects.get(code=REGION)
    seconds = generate_persons(persons, region=REGION)
    print(f"persons: {Person.objects.filter(region=region).count():,} "
          f"({f'generated with COPY in {seconds:.1f} s' if seconds else 'already there'})", flush=True)
    started = time.perf_counter()
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    have = set(Institution.objects.filter(region=region, code__startswith="BENCH-FS-").values_list("code", flat=True))
    Institution.objects.bulk_create(
        [Institution(region=region, code=f"BENCH-FS-H{k:04d}", name=f"基准医院{k:04d}", kind="hospital",
                     level="secondary") for k in range(HOSPITALS) if f"BENCH-FS-H{k:04d}" not in have]
        + [Institution(region=region, code=f"BENCH-FS-L{k:04d}", name=f"基准照护机构{k:04d}", kind="care_home",
                       level="ungraded") for k in range(HOMES) if f"BENCH-FS-L{k:04d}" not in have])
    hospitals = list(Institution.objects.filter(region=region, code__startswith="BENCH-FS-H").order_by("code")
                     .values_list("pk", flat=True))
    homes = list(Institution.objects.filter(region=region, code__startswith="BENCH-FS-L").order_by("code")
                 .values_list("pk", flat=True))
    case_type = CaseType.objects.filter(region=region, benefit="inpatient").order_by("number").first()
    first = Person.objects.filter(region=region).order_by("pk").values_list("pk", flat=True).first()
    # 8 % inpatients: a quarter reimbursement cases, three quarters direct stays (see the docstring)
    n_pool, n_cv, n_cases, n_stays = day * 70 // 100, day * 20 // 100, day * 2 // 100, day * 6 // 100
    n_care = day - n_pool - n_cv - n_cases - n_stays
    n_history_stays = max(3 * history_cases, n_stays)
    p = {"first": first, "n": persons, "day": DAY, "user": user.pk, "ct": case_type.pk, "h0": hospitals[0],
         "nh": len(hospitals), "l0": homes[0], "nl": len(homes), "region": region.pk}
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STATE} RESTART IDENTITY CASCADE")
        cursor.execute("SELECT 1 FROM enrollment_coverageperiod c JOIN enrollment_person p ON p.id = c.person_id "
                       "WHERE p.region_id = %s AND p.id = %s", [region.pk, first + persons - 1])
        if cursor.fetchone() is None:
            cursor.execute("DELETE FROM enrollment_coverageperiod WHERE person_id IN "
                           "(SELECT id FROM enrollment_person WHERE region_id = %s)", [region.pk])
            cursor.execute("""INSERT INTO enrollment_coverageperiod (person_id, benefit_year, covered_from, covered_to,
                                  waiting, status)
                              SELECT id, 2021, DATE '2021-01-01', DATE '2021-12-31', false, 'active'
                              FROM enrollment_person WHERE region_id = %(region)s""", p)
        # persons of the settlements: spread over the city by a multiplicative hash
        cursor.execute("CREATE TEMP TABLE pick AS SELECT g AS i, %(first)s + ((g::bigint * 7919) %% %(n)s) AS person "
                       "FROM generate_series(0, %(big)s) g", {**p, "big": max(day, history_cases) + 1})
        cursor.execute("CREATE INDEX ON pick (i)")
        # ---------------------------------------------------------------- cases: history, then the day's
        # history case j: person pick(j); j < n_cases: the earlier stay of the day's inpatient j —
        # j % 3 == 0 at the same hospital, discharged 5 days before the day's admission, same I63 category.
        cursor.execute(
            """INSERT INTO claims_case (case_type_id, person_id, state, service_from, service_to, institution_id,
                   institution_name, institution_level, delivery, third_party_paid, lost_invoice_promise, bank_account,
                   note, received_at, received_by_id, reason, policy_version, approval_digest, fund_amount,
                   payable_amount, state_changed_at)
               SELECT %(ct)s, k.person, 'paid',
                      CASE WHEN k.i < %(nc)s THEN %(day)s - 20 ELSE DATE '2021-01-01' + (k.i %% 280) END,
                      CASE WHEN k.i < %(nc)s THEN %(day)s - 11 ELSE DATE '2021-01-01' + (k.i %% 280) + 3 + k.i %% 9 END,
                      %(h0)s + CASE WHEN k.i %% 3 = 0 THEN k.i %% %(nh)s ELSE (k.i + 1) %% %(nh)s END,
                      '', 'secondary', '', 0, false, '6222000000000000', '', now(), %(user)s, '', '220100-2021', '',
                      3000 + k.i %% 5000, 3000 + k.i %% 5000, now()
               FROM pick k WHERE k.i < %(hc)s""", {**p, "nc": n_cases, "hc": history_cases})
        cursor.execute(
            """INSERT INTO claims_case (case_type_id, person_id, state, service_from, service_to, institution_id,
                   institution_name, institution_level, delivery, third_party_paid, lost_invoice_promise, bank_account,
                   note, received_at, received_by_id, reason, policy_version, approval_digest, fund_amount,
                   payable_amount, state_changed_at)
               SELECT %(ct)s, k.person, 'approved', %(day)s - 6, %(day)s - 1, %(h0)s + k.i %% %(nh)s, '', 'secondary', '',
                      0, false, '6222000000000000', '', now(), %(user)s, '', '220100-2021', '', 4000 + k.i %% 3000,
                      4000 + k.i %% 3000, now()
               FROM pick k WHERE k.i < %(nc)s""", {**p, "nc": n_cases})
        cursor.execute(
            """INSERT INTO claims_casetransition (case_id, from_state, to_state, actor_id, at, reason)
               SELECT c.id, 'calculated', 'approved', %(user)s,
                      CASE WHEN c.state = 'approved' THEN (%(day)s + TIME '10:00') AT TIME ZONE 'Asia/Shanghai'
                           ELSE (c.service_to + 3 + TIME '10:00') AT TIME ZONE 'Asia/Shanghai' END, ''
               FROM claims_case c""", p)
        cursor.execute("""INSERT INTO claims_invoice (case_id, issuer, number, issued_on, kind, class_a, class_b, class_c,
                              claimed)
                          SELECT id, 'BENCH', 'FS' || id, service_to, 'original', 6000, 1000, 200, true FROM claims_case""")
        cursor.execute("""INSERT INTO supervision_settlementdetail (kind, object_id, diagnosis, transfer)
                          SELECT 'case', id, CASE WHEN id % 3 = 1 OR state = 'approved' THEN 'I63.' || (id % 10)
                                                  ELSE 'J18.0' END, false
                          FROM claims_case""")
        # itemised lines of 60 % of the day's stays: a bed line each stay day, a treatment line except on
        # days 2–3 of every fifth stay (two idle days: bed-holding)
        cursor.execute(
            """INSERT INTO supervision_settlementline (kind, object_id, date, item, line_kind, quantity, amount, drug,
                   days_supply, cost_class)
               SELECT 'case', c.id, c.service_from + d, 'BED01', 'bed', 1, 40, '', NULL::smallint, ''
               FROM claims_case c CROSS JOIN generate_series(0, 4) d
               WHERE c.state = 'approved' AND c.id % 5 < 3
               UNION ALL
               SELECT 'case', c.id, c.service_from + d, 'TRT01', 'treatment', 1, 260, '', NULL, ''
               FROM claims_case c CROSS JOIN generate_series(0, 4) d
               WHERE c.state = 'approved' AND c.id % 5 < 3 AND NOT (c.id % 5 = 0 AND d IN (2, 3))""")
        # ---------------------------------------------------------------- visits: history, then the day's
        cursor.execute(
            """INSERT INTO settlement_visit (institution_id, visit_id, person_id, service_date, year, month, class_a,
                   class_b, class_c, total, fund, deductible, personal, policy_version, received_at)
               SELECT %(h0)s + g %% %(nh)s, 'H' || g, %(first)s + ((g::bigint * 104729) %% %(n)s), d, 2021,
                      extract(month FROM d), 80, 20, 5, 105, 50, 0, 55, '220100-2021',
                      (d + TIME '12:00') AT TIME ZONE 'Asia/Shanghai'
               FROM generate_series(1, %(hv)s) g, LATERAL (SELECT DATE '2021-01-01' + (g %% 287) AS d) x""",
            {**p, "hv": history_visits * 8 // 10})
        cursor.execute(
            """INSERT INTO settlement_visit (institution_id, visit_id, person_id, service_date, year, month, class_a,
                   class_b, class_c, total, fund, deductible, personal, policy_version, received_at)
               SELECT %(h0)s + k.i %% %(nh)s, 'D' || k.i, k.person, %(day)s, 2021, 10, 80, 20, 5, 105, 50, 0, 55,
                      '220100-2021', (%(day)s + TIME '11:00') AT TIME ZONE 'Asia/Shanghai'
               FROM pick k WHERE k.i >= %(nc)s AND k.i < %(nc)s + %(np)s""", {**p, "nc": n_cases, "np": n_pool})
        cursor.execute(
            """INSERT INTO settlement_certifiedvisit (institution_id, visit_id, person_id, benefit, item_code,
                   certification_id, level, service_date, class_a, class_b, class_c, total, first_copay, eligible,
                   deductible, fund, personal, policy_version, received_at)
               SELECT %(h0)s + g %% %(nh)s, 'CH' || g, %(first)s + ((g::bigint * 15485863) %% %(n)s), 'chronic',
                      'diabetes', 1, 'secondary', d, 200, 100, 0, 300, 0, 300, 0, 180, 120, '220100-2021',
                      (d + TIME '12:00') AT TIME ZONE 'Asia/Shanghai'
               FROM generate_series(1, %(hv)s) g, LATERAL (SELECT DATE '2021-01-01' + (g %% 287) AS d) x""",
            {**p, "hv": history_visits * 2 // 10})
        cursor.execute(
            """INSERT INTO settlement_certifiedvisit (institution_id, visit_id, person_id, benefit, item_code,
                   certification_id, level, service_date, class_a, class_b, class_c, total, first_copay, eligible,
                   deductible, fund, personal, policy_version, received_at)
               SELECT %(h0)s + k.i %% %(nh)s, 'CD' || k.i, k.person, 'chronic', 'diabetes', 1, 'secondary', %(day)s,
                      200, 100, 0, 300, 0, 300, 0, 180, 120, '220100-2021',
                      (%(day)s + TIME '11:00') AT TIME ZONE 'Asia/Shanghai'
               FROM pick k WHERE k.i >= %(a)s AND k.i < %(b)s""",
            {**p, "a": n_cases + n_pool, "b": n_cases + n_pool + n_cv})
        # a tenth of the day's inpatients also had a pool visit elsewhere on a stay day (overlapping care, review)
        cursor.execute(
            """INSERT INTO settlement_visit (institution_id, visit_id, person_id, service_date, year, month, class_a,
                   class_b, class_c, total, fund, deductible, personal, policy_version, received_at)
               SELECT %(h0)s + (k.i + 7) %% %(nh)s, 'O' || k.i, k.person, %(day)s - 4, 2021, 10, 80, 20, 5, 105, 50, 0,
                      55, '220100-2021', (%(day)s - 4 + TIME '12:00') AT TIME ZONE 'Asia/Shanghai'
               FROM pick k WHERE k.i < %(nc)s AND k.i %% 10 = 0""", {**p, "nc": n_cases})
        # ---------------------------------------------------------------- care claims approved that day
        cursor.execute(
            """INSERT INTO carecare_careclaim (care_home_id, month, state, source, content_digest, sends, received_at,
                   received_by_id, rejection_reason, policy_version, residents, days_billed, days_refused, total, fund,
                   personal, refused_amount)
               SELECT %(l0)s + h, DATE '2021-09-01', 'approved', 'api', 'bench', 1, now(), %(user)s, '', '220100-2021',
                      0, 0, 0, 0, 0, 0, 0
               FROM generate_series(0, %(nl)s - 1) h""", p)
        cursor.execute("""INSERT INTO carecare_careclaimtransition (claim_id, from_state, to_state, actor_id, at, reason)
                          SELECT id, 'checked', 'approved', %(user)s,
                                 (%(day)s + TIME '09:00') AT TIME ZONE 'Asia/Shanghai', '' FROM carecare_careclaim""", p)
        cursor.execute(
            """INSERT INTO carecare_careclaimline (claim_id, person_id, id_number, days, groups, line_refusal,
                   days_billed, days_paid, days_refused, total, fund, personal, refused_amount)
               SELECT (SELECT min(id) FROM carecare_careclaim) + k.i %% %(nl)s, k.person, 'B' || k.i,
                      (SELECT jsonb_agg(jsonb_build_object('date', to_char(DATE '2021-09-01' + d, 'YYYY-MM-DD'),
                              'bed', '40.00', 'nursing', '60.00', 'supplies', '15.00', 'other', '0.00'))
                       FROM generate_series(0, 29) d), '[]', '', 30, 30, 0, 3450, 2760, 690, 0
               FROM pick k WHERE k.i >= %(a)s AND k.i < %(b)s""",
            {**p, "a": n_cases + n_pool + n_cv + n_stays, "b": n_cases + n_pool + n_cv + n_stays + n_care})
        _direct_stays(cursor, p, first_index=n_cases + n_pool + n_cv, day_stays=n_stays, history_stays=n_history_stays)
        cursor.execute("VACUUM ANALYZE")
    print(f"history and the day written (SQL): {time.perf_counter() - started:.1f} s — day: {n_pool:,} pool visits, "
          f"{n_cv:,} certified visits, {n_cases:,} inpatient cases, {n_stays:,} direct stays, {n_care:,} care-claim "
          f"lines; history: {history_visits:,} visits, {history_cases:,} inpatient cases, {n_history_stays:,} direct "
          f"stays", flush=True)
    return p


def _direct_stays(cursor, p: dict, *, first_index: int, day_stays: int, history_stays: int) -> None:
    """Direct inpatient stays (claims.settlement InpatientStay) as services/stays.py records them:
    the stay, its SettlementDetail and its itemised SettlementLines (kind inpatient_stay), the
    bill (class A/B) the sum of its lines. The day's stay j (person pick(first_index + j)) was
    discharged that day or the day before after 4–13 days and received that day; its person's
    earlier stay (history stay j) ended 5 days before its admission, at the same hospital when
    j % 3 == 0 (a split admission, unless both are a planned chemotherapy cycle, Z51: j % 9 == 6).
    The other history stays are spread over the city and over the year up to a week before the day."""
    q = {**p, "a": first_index, "ns": day_stays, "nhs": history_stays}
    diagnosis = "CASE WHEN j %% 9 = 6 THEN 'Z51.1' WHEN j %% 3 = 2 THEN 'J18.0' ELSE 'I63.' || (j %% 10) END"
    # idle: no treatment on stay days 1–3 (bed-holding); dup: a second bed line on the first day
    cursor.execute(
        f"""CREATE TEMP TABLE stay_plan AS
            SELECT 'S' || k.i AS stay_id, k.person, %(h0)s + j %% %(nh)s AS institution,
                   %(day)s - 4 - j %% 10 AS admitted, %(day)s - j %% 2 AS discharged, {diagnosis} AS diagnosis,
                   (%(day)s + TIME '11:00') AT TIME ZONE 'Asia/Shanghai' AS received_at,
                   j %% 5 = 0 AS idle, j %% 25 = 7 AS dup, j %% 10 = 0 AS visit
            FROM pick k, LATERAL (SELECT k.i - %(a)s AS j) x WHERE k.i >= %(a)s AND k.i < %(a)s + %(ns)s
            UNION ALL
            SELECT 'SE' || k.i, k.person, %(h0)s + CASE WHEN j %% 3 = 0 THEN j %% %(nh)s ELSE (j + 1) %% %(nh)s END,
                   %(day)s - 18 - j %% 10, %(day)s - 9 - j %% 10, {diagnosis},
                   (%(day)s - 8 - j %% 10 + TIME '10:00') AT TIME ZONE 'Asia/Shanghai', false, false, false
            FROM pick k, LATERAL (SELECT k.i - %(a)s AS j) x WHERE k.i >= %(a)s AND k.i < %(a)s + %(ns)s
            UNION ALL
            SELECT 'SH' || g, %(first)s + ((g::bigint * 104723) %% %(n)s), %(h0)s + g %% %(nh)s, d, d + 3 + g %% 9,
                   CASE WHEN g %% 3 = 1 THEN 'I63.' || (g %% 10) ELSE 'J18.0' END,
                   (d + 4 + g %% 9 + TIME '10:00') AT TIME ZONE 'Asia/Shanghai', false, false, false
            FROM generate_series(%(ns)s, %(nhs)s - 1) g, LATERAL (SELECT DATE '2021-01-01' + g %% 270 AS d) x""", q)
    cursor.execute(
        """INSERT INTO settlement_inpatientstay (institution_id, stay_id, person_id, admitted, discharged, level,
               diagnosis, transfer, class_a, class_b, class_c, total, deductible, fund, catastrophic, personal,
               policy_version, quote, received_at)
           SELECT institution, stay_id, person, admitted, discharged, 'secondary', diagnosis, false, 0, 0, 0, 0, 0, 0,
                  0, 0, '220100-2021', '{}', received_at
           FROM stay_plan""")
    cursor.execute("""INSERT INTO supervision_settlementdetail (kind, object_id, diagnosis, transfer)
                      SELECT 'inpatient_stay', id, diagnosis, transfer FROM settlement_inpatientstay""")
    # a bed line and a treatment line each stay day (admitted to the day before discharge)
    cursor.execute(
        """INSERT INTO supervision_settlementline (kind, object_id, date, item, line_kind, quantity, amount, drug,
               days_supply, cost_class)
           SELECT 'inpatient_stay', s.id, s.admitted + d, 'BED01', 'bed', 1, 40, '', NULL::smallint, 'A'
           FROM settlement_inpatientstay s CROSS JOIN LATERAL generate_series(0, s.discharged - s.admitted - 1) d
           UNION ALL
           SELECT 'inpatient_stay', s.id, s.admitted + d, 'TRT01', 'treatment', 1, 260, '', NULL, 'B'
           FROM settlement_inpatientstay s JOIN stay_plan p USING (stay_id)
                CROSS JOIN LATERAL generate_series(0, s.discharged - s.admitted - 1) d
           WHERE NOT (p.idle AND d BETWEEN 1 AND 3)
           UNION ALL
           SELECT 'inpatient_stay', s.id, s.admitted, 'BED01', 'bed', 1, 40, '', NULL, 'A'
           FROM settlement_inpatientstay s JOIN stay_plan p USING (stay_id) WHERE p.dup""")
    cursor.execute(
        """UPDATE settlement_inpatientstay s SET class_a = l.a, class_b = l.b, total = l.a + l.b,
                  fund = round((l.a + l.b) * 0.75, 2), personal = l.a + l.b - round((l.a + l.b) * 0.75, 2)
           FROM (SELECT object_id, sum(amount) FILTER (WHERE cost_class = 'A') AS a,
                        sum(amount) FILTER (WHERE cost_class = 'B') AS b
                 FROM supervision_settlementline WHERE kind = 'inpatient_stay' GROUP BY object_id) l
           WHERE l.object_id = s.id""")
    # a tenth of the day's stays also had a pool visit elsewhere on a stay day (overlapping care, review)
    cursor.execute(
        """INSERT INTO settlement_visit (institution_id, visit_id, person_id, service_date, year, month, class_a,
               class_b, class_c, total, fund, deductible, personal, policy_version, received_at)
           SELECT %(h0)s + (p.institution - %(h0)s + 7) %% %(nh)s, 'O' || p.stay_id, p.person, p.admitted + 1, 2021, extract(month FROM p.admitted + 1), 80, 20, 5,
                  105, 50, 0, 55, '220100-2021', (p.admitted + 1 + TIME '12:00') AT TIME ZONE 'Asia/Shanghai'
           FROM stay_plan p WHERE p.visit""",
        q)


def _backend_cpu(cursor) -> float:
    """CPU seconds of this connection's PostgreSQL backend (same machine: /proc), or 0 if unreadable."""
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def nightly() -> None:
    from django.db import connection

    from claims.supervision.models import Finding
    from claims.supervision.services import nightly_check

    for attempt in ("first run", "second run (idempotent)"):
        seen: list[tuple[str, float]] = []

        def counter(execute, sql, params, many, context, seen=seen):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                seen.append((sql, time.perf_counter() - t0))

        with connection.cursor() as cursor:
            backend_before = _backend_cpu(cursor)
        cpu_before = time.process_time()
        started = time.perf_counter()
        phases: dict[str, list[float]] = {}
        with connection.execute_wrapper(counter):
            run = nightly_check(region=REGION, day=DAY, timings=phases)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        with connection.cursor() as cursor:
            backend = _backend_cpu(cursor) - backend_before
        sql_time = sum(t for _, t in seen)
        print(f"{attempt}: {elapsed:.1f} s — {run.settlements:,} settlements of the day, {run.history_settlements:,} "
              f"history settlements read, {run.findings_new:,} new findings, {run.findings_known:,} already recorded, "
              f"undecided {run.undecided}; {len(seen):,} SQL statements ({sql_time:.1f} s waiting on SQL); "
              f"CPU: Python {cpu:.1f} s, PostgreSQL backend {backend:.1f} s (parallel workers not counted)", flush=True)
        for name, (wall, cpu_s) in phases.items():
            print(f"    {name:<44} {wall:7.2f} s wall {cpu_s:7.2f} s CPU", flush=True)
        slow: dict[str, list[float]] = {}
        for sql, t in seen:
            entry = slow.setdefault(sql[:110], [0, 0.0])
            entry[0] += 1
            entry[1] += t
        for head, (n, t) in sorted(slow.items(), key=lambda kv: -kv[1][1])[:8]:
            print(f"    SQL {t:7.2f} s ×{n:<4} {head}", flush=True)
    by_rule = {}
    for rule in Finding.objects.values_list("rule", flat=True):
        by_rule[rule] = by_rule.get(rule, 0) + 1
    print(f"findings by rule: {by_rule}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=5_000_000)
    parser.add_argument("--day", type=int, default=200_000, help="settlements of the day")
    parser.add_argument("--history-visits", type=int, default=5_000_000)
    parser.add_argument("--history-cases", type=int, default=400_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run (same arguments)")
    parser.add_argument("--prepare-only", action="store_true", help="write the data, do not run the job")
    args = parser.parse_args()
    setup_django("medins_bench_fs", "its case, visit, care-claim and finding tables are truncated")
    print(f"fund-security nightly benchmark: {args.persons:,} persons, {args.day:,} settlements on {DAY}, "
          f"{args.history_visits:,} history visits, {args.history_cases:,} history cases; os.cpu_count()={os.cpu_count()}",
          flush=True)
    if args.reuse:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE supervision_findingsettlement, supervision_finding_persons, "
                           "supervision_historicalfinding, supervision_finding, supervision_checkrun RESTART IDENTITY CASCADE")
    else:
        prepare(persons=args.persons, day=args.day, history_visits=args.history_visits,
                history_cases=args.history_cases)
    if not args.prepare_only:
        nightly()


if __name__ == "__main__":
    main()
