"""Ingesting outpatient-pool visits sent by an institution (API, file upload, command).

For each new visit the fund-payable amount is computed by the engine's `outpatient_pool`
benefit with the person's yearly accumulators (PoolLedger), then the ledger is advanced.

Decisions:
- (institution, visit_id) is unique: a visit sent again is reported as `duplicate` and
  changes nothing, even if its amounts differ (corrections are not part of this flow).
- Order: within one batch visits are computed in service-date order (then visit id); across
  batches in arrival order. A late visit dated before visits already processed is computed
  against the accumulators as they stand when it arrives; visits already computed are never
  recomputed (their fund amount may already be settled and paid).
- A visit is refused (row error, nothing written for it) when: the person is unknown, not a
  member of this institution's pool in the visit's year, not covered on the service date
  (DOMAIN §9), the engine refuses it (not eligible, missing parameter), or the institution's
  year is closed by its year-end settlement.
- One lock: the institution's PoolAccount rows for the years in the batch (the same lock the
  settlement takes, so a visit never slips in while its institution is settled). The persons'
  ledgers are read without locking them: a person belongs to one pool institution a year
  (unique person + year; the admin neither changes nor deletes memberships), so a (person,
  year) ledger is only advanced by batches of that institution, which that lock serialises.
  The ledgers advance by increments (rows locked in (person, year) order), and the
  write returns each ledger's new totals: if any differs from what this batch computed (a
  writer this reasoning missed), the batch is refused and rolled back, never saved on stale
  accumulators.
- Set-based writes (PostgreSQL; the ORM equivalent elsewhere): the lookups take one array
  parameter each (`= ANY(array)`), the visits are written with one INSERT … SELECT FROM
  unnest(arrays) ON CONFLICT (institution, visit_id) DO NOTHING, and the ledgers are created
  or advanced with one INSERT … ON CONFLICT DO UPDATE … RETURNING. Visits carry no database
  foreign keys (see Visit). Only the per-visit arithmetic stays in Python: it is the engine's
  `outpatient_pool` benefit (the single implementation of the rule), called in service-date
  order on the running accumulators of the chunk. Its parameters are read once per service
  date (`pool_terms`, or the refusal they give) and each visit is `pool_split` on plain
  values: the same figures as `compute`, without its explanation lines. The duplicate check
  runs after the account lock, so ON CONFLICT never skips a row here; if it ever did, the
  batch is refused and rolled back rather than leaving a ledger advanced by a visit that was
  not written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DecimalField, F, IntegerField, QuerySet, Value, When
from django.utils import timezone

from enrollment.models import CoveragePeriod, CoverageStatus, Person
from enrollment.preview import category_on
from medins.benefits.errors import QuoteError
from medins.benefits.outpatient_pool import PoolTerms, check_category, pool_split, pool_terms
from medins.benefits.request import parse_amount
from medins.bulk import among, pg_array
from medins.models import Institution
from medins.selectors import PolicyCache

from ..errors import ConcurrentChange, InvalidRequest
from ..models import PoolAccount, PoolLedger, PoolMembership, Visit

MAX_BATCH = 5000
_VISIT_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,40}")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    fund: Decimal = Decimal("0.00")
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "fund": str(self.fund), "errors": self.errors}


class _Row(NamedTuple):
    number: int
    visit_id: str
    id_number: str
    service_date: dt.date
    class_a: Decimal
    class_b: Decimal
    class_c: Decimal


def _row_parser():
    """parse(row number, raw) -> _Row, raising InvalidRequest naming the field. Built once per
    batch: a batch has a few hundred distinct dates and amounts, each parsed once."""
    dates: dict[str, dt.date] = {}
    amounts: dict[str, Decimal] = {}
    fullmatch = _VISIT_ID.fullmatch

    def amount(raw: dict, key: str) -> Decimal:
        value = raw.get(key, "0")
        if type(value) is str:  # only strings are cached: True == 1 must not find 1's amount
            parsed = amounts.get(value)
            if parsed is None:
                parsed = parse_amount(value.strip(), key)
                if len(amounts) < 10_000:
                    amounts[value] = parsed
            return parsed
        return parse_amount(value, key)

    def parse(number: int, raw: dict) -> _Row:
        if not isinstance(raw, dict):
            raise InvalidRequest("row", "must be an object")
        visit_id = str(raw.get("visit_id") or "").strip()
        if not fullmatch(visit_id):
            raise InvalidRequest("visit_id", "1-40 letters, digits or _.:/-")
        id_number = str(raw.get("id_number") or "").strip().upper()
        if len(id_number) != 18:
            raise InvalidRequest("id_number", "an 18-character ID number")
        text = str(raw.get("service_date") or "").strip()
        service_date = dates.get(text)
        if service_date is None:
            try:
                service_date = dt.date.fromisoformat(text)
            except ValueError:
                raise InvalidRequest("service_date", "a date YYYY-MM-DD") from None
            if len(dates) < 10_000:
                dates[text] = service_date
        return _Row(number, visit_id, id_number, service_date, amount(raw, "class_a"), amount(raw, "class_b"),
                    amount(raw, "class_c"))

    return parse


def _error(result: IngestResult, number: int, visit_id: str, code: str, message: str, field_name: str = "") -> None:
    entry = {"row": number, "visit_id": visit_id, "code": code, "message": message}
    if field_name:
        entry["field"] = field_name
    result.errors.append(entry)


@transaction.atomic
def visits_ingest(*, acting_user, institution: Institution, rows: list[dict],
                  policies: PolicyCache | None = None) -> IngestResult:
    """Record a batch of visits of one institution; returns counts and each refused row's reason."""
    if len(rows) > MAX_BATCH:
        raise InvalidRequest("visits", f"at most {MAX_BATCH} visits per batch")
    policies = policies or PolicyCache()
    result = IngestResult()
    parsed: list[_Row] = []
    seen: set[str] = set()
    parse = _row_parser()
    for number, raw in enumerate(rows, 1):
        try:
            row = parse(number, raw)
        except InvalidRequest as exc:
            _error(result, number, str(raw.get("visit_id", "")) if isinstance(raw, dict) else "", "invalid_request",
                   str(exc), exc.field)
            continue
        if row.visit_id in seen:
            _error(result, number, row.visit_id, "invalid_request", "visit_id given twice in this batch", "visit_id")
            continue
        seen.add(row.visit_id)
        parsed.append(row)
    if not parsed:
        return result

    years = sorted({r.service_date.year for r in parsed})
    for year in years:
        PoolAccount.objects.get_or_create(institution=institution, year=year)
    closed = set(PoolAccount.objects.filter(institution=institution, year__in=years).order_by("pk")
                 .select_for_update().values_list("year", "closed"))
    closed = {year for year, is_closed in closed if is_closed}
    _prefer_index_probes()

    # Read after the account lock: a visit committed by another batch of this institution is seen here.
    existing = set(Visit.objects.filter(among(Visit, "visit_id", [r.visit_id for r in parsed]),
                                        institution=institution).order_by().values_list("visit_id", flat=True))
    persons = {number: _Person(*rest) for number, *rest in Person.objects.filter(
        among(Person, "id_number", {r.id_number for r in parsed})).order_by().values_list("id_number", "pk", "birth_date",
                                                                                 "school__kind")}
    person_ids = [p.pk for p in persons.values()]
    members = set(PoolMembership.objects.filter(among(PoolMembership, "person_id", person_ids), year__in=years,
                                                institution=institution).order_by().values_list("person_id", "year"))
    first, last = min(r.service_date for r in parsed), max(r.service_date for r in parsed)
    cover = defaultdict(list)
    for person_id, start, end in CoveragePeriod.objects.filter(
        among(CoveragePeriod, "person_id", person_ids), status=CoverageStatus.ACTIVE, covered_from__lte=last,
        covered_to__gte=first,
    ).order_by().values_list("person_id", "covered_from", "covered_to"):
        cover[person_id].append((start, end))

    # (service date, visit id, row, person): sorted as plain tuples; visit ids are unique, so the
    # comparison never reaches the row.
    accepted: list[tuple[dt.date, str, _Row, _Person]] = []
    for row in parsed:
        if row.visit_id in existing:
            result.duplicates += 1
            continue
        person = persons.get(row.id_number)
        year = row.service_date.year
        if person is None:
            _error(result, row.number, row.visit_id, "unknown_person", "no insured person with this ID number", "id_number")
        elif year in closed:
            _error(result, row.number, row.visit_id, "year_closed", f"{year} is closed by the year-end settlement",
                   "service_date")
        elif (person.pk, year) not in members:
            _error(result, row.number, row.visit_id, "not_member",
                   f"not a member of this institution's outpatient pool in {year}", "id_number")
        elif not any(s <= row.service_date <= e for s, e in cover[person.pk]):
            _error(result, row.number, row.visit_id, "not_covered", "not covered on the service date", "service_date")
        else:
            accepted.append((row.service_date, row.visit_id, row, person))
    if not accepted:
        return result

    running = _read_ledgers({(p.pk, day.year) for day, _v, _r, p in accepted})
    delta: dict[tuple[int, int], list] = {}

    visits: list[tuple] = []
    region = institution.region.code
    level = institution.level
    # The policy's parameters are read once per service date (PoolTerms, or the refusal they give);
    # each visit is then the engine's arithmetic (pool_split) on plain values.
    terms_of: dict[dt.date, PoolTerms | QuoteError] = {}
    zero = Decimal("0.00")
    accepted.sort()
    for day, _visit_id, row, person in accepted:
        key = (person.pk, day.year)
        fund_paid, deductible_paid = running[key]
        terms = terms_of.get(day)
        if terms is None:
            try:
                terms = pool_terms(policies.get(region=region, date=day), level)
            except QuoteError as exc:
                terms = exc
            terms_of[day] = terms
        try:
            if isinstance(terms, QuoteError):
                raise terms
            if terms.categories is not None:
                check_category(terms, category_on(birth_date=person.birth_date, day=day,
                                                  school_kind=person.school_kind))
        except QuoteError as exc:
            _error(result, row.number, row.visit_id, exc.code, str(exc))
            continue
        split = pool_split(terms, row.class_a + row.class_b, fund_paid, deductible_paid)
        fund, paid = split.fund, split.deductible_paid
        running[key] = [fund_paid + fund, deductible_paid + paid]
        d = delta.get(key)
        if d is None:
            d = delta[key] = [zero, zero, 0]
        d[0] += fund
        d[1] += paid
        d[2] += 1
        total = row.class_a + row.class_b + row.class_c
        visits.append((
            row.visit_id, person.pk, day, row.class_a, row.class_b, row.class_c,
            total, fund, paid, total - fund, terms.version,
        ))
        result.fund += fund
    inserted = _insert_visits(institution, visits)
    if inserted != len(visits):  # only possible without the account lock; never advance ledgers for them
        raise _recorded_concurrently()
    result.created = inserted
    if _advance_ledgers(delta) != {key: tuple(running[key]) for key in delta}:
        raise ConcurrentChange("visits", "the persons' yearly totals changed while this batch was computed; "
                                         "send the batch again")
    return result


def _prefer_index_probes() -> None:
    """Tell PostgreSQL, for this transaction, that reading a page is nearly as cheap at random as in
    sequence (the tables are in memory). With the default random_page_cost of 4, the planner
    scans a whole table in parallel rather than probe its index 5 000 times for a batch's persons
    — three times slower at 500 000 members (bench/capitation.py)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")


class _Person(NamedTuple):
    pk: int
    birth_date: dt.date
    school_kind: str | None


_VISIT_COLUMNS = ("visit_id", "person_id", "service_date", "class_a", "class_b", "class_c", "total", "fund",
                  "deductible", "personal", "policy_version")


def _plain_array(values) -> str:
    """Array literal of dates or Decimals (their text has no quotes, commas or braces)."""
    return "{" + ",".join(map(str, values)) + "}"


def _ledgers_of(keys) -> QuerySet[PoolLedger]:
    """The ledgers of these persons in these years (a superset of the (person, year) keys)."""
    return PoolLedger.objects.filter(among(PoolLedger, "person_id", sorted({p for p, _ in keys})),
                                     year__in=sorted({y for _, y in keys})).order_by()


def _read_ledgers(keys: set[tuple[int, int]]) -> dict[tuple[int, int], list]:
    """{(person, year): [fund paid, deductible paid]} for every key, zeros where no ledger exists yet."""
    zero = Decimal("0.00")
    running = {key: [zero, zero] for key in keys}
    for person_id, year, fund_paid, deductible_paid in _ledgers_of(keys).values_list("person_id", "year", "fund_paid",
                                                                                     "deductible_paid"):
        if (person_id, year) in running:
            running[person_id, year] = [fund_paid, deductible_paid]
    return running


def _insert_visits(institution: Institution, visits: list[tuple]) -> int:
    """Insert the computed visits; returns how many rows were inserted. On PostgreSQL with COPY: the
    duplicate check ran under the institution's account lock, so no row can conflict; if one ever
    did, the unique (institution, visit_id) index refuses the COPY and the batch is rolled back."""
    if not visits:
        return 0
    try:  # no query follows a refusal: visits_ingest's atomic block rolls the batch back
        return _write_visits(institution, visits)
    except IntegrityError:
        raise _recorded_concurrently() from None


def _recorded_concurrently() -> ConcurrentChange:
    return ConcurrentChange("visits", "some of these visits were recorded concurrently; send the batch again")


def _write_visits(institution: Institution, visits: list[tuple]) -> int:
    if connection.vendor != "postgresql":
        objs = [Visit(institution=institution, year=v[2].year, month=v[2].month,
                      **dict(zip(_VISIT_COLUMNS, v, strict=True))) for v in visits]
        return len(Visit.objects.bulk_create(objs, batch_size=1000))
    head = f"{institution.pk}\t"
    tail = f"\t{timezone.now().isoformat()}\n"
    versions = {}
    lines = []
    for visit_id, person_id, day, a, b, c, total, fund, deductible, personal, version in visits:
        text = versions.get(version)
        if text is None:
            text = versions[version] = _copy_text(version)
        # visit ids match _VISIT_ID: nothing in them needs escaping in COPY's text format
        lines.append(f"{head}{visit_id}\t{person_id}\t{day}\t{day.year}\t{day.month}\t{a}\t{b}\t{c}\t{total}\t"
                     f"{fund}\t{deductible}\t{personal}\t{text}{tail}")
    columns = ", ".join(("institution_id", "visit_id", "person_id", "service_date", "year", "month", *_VISIT_COLUMNS[3:],
                         "received_at"))
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.copy(f"COPY {Visit._meta.db_table} ({columns}) FROM STDIN") as copy:
        copy.write("".join(lines))
    return len(visits)


def _copy_text(value: str) -> str:
    """A text value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _advance_ledgers(delta: dict[tuple[int, int], list]) -> dict[tuple[int, int], tuple]:
    """Create or advance each (person, year) ledger by its increments [fund, deductible, visits];
    returns the new {(person, year): (fund paid, deductible paid)}. PostgreSQL: one INSERT … SELECT
    FROM unnest(arrays) ON CONFLICT DO UPDATE … RETURNING; elsewhere the ORM (F() + CASE)."""
    if not delta:
        return {}
    keys = sorted(delta)  # rows locked in key order: two writers never wait on each other crosswise
    if connection.vendor == "postgresql":
        table = PoolLedger._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS l (person_id, year, fund_paid, deductible_paid, visits) "
                "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::numeric[], %s::numeric[], %s::int[]) "
                "ON CONFLICT (person_id, year) DO UPDATE SET fund_paid = l.fund_paid + EXCLUDED.fund_paid, "
                "deductible_paid = l.deductible_paid + EXCLUDED.deductible_paid, visits = l.visits + EXCLUDED.visits "
                "RETURNING person_id, year, fund_paid, deductible_paid",
                [pg_array([p for p, _ in keys])[0], pg_array([y for _, y in keys])[0],
                 _plain_array(delta[k][0] for k in keys), _plain_array(delta[k][1] for k in keys),
                 pg_array([delta[k][2] for k in keys])[0]])
            return {(person_id, year): (fund, ded) for person_id, year, fund, ded in cursor.fetchall()}

    PoolLedger.objects.bulk_create([PoolLedger(person_id=p, year=y) for p, y in keys], ignore_conflicts=True)
    ledgers = _ledgers_of(keys)
    pks = {(p, y): pk for p, y, pk in ledgers.values_list("person_id", "year", "pk") if (p, y) in delta}

    def case(i):
        return Case(*[When(pk=pks[key], then=Value(d[i])) for key, d in delta.items()],
                    output_field=IntegerField() if i == 2 else _MONEY)

    PoolLedger.objects.filter(pk__in=list(pks.values())).update(
        fund_paid=F("fund_paid") + case(0), deductible_paid=F("deductible_paid") + case(1),
        visits=F("visits") + case(2),
    )
    return {(p, y): (fund, ded) for p, y, fund, ded in ledgers.values_list("person_id", "year", "fund_paid",
                                                                           "deductible_paid") if (p, y) in delta}
