"""Ingesting outpatient-pool visits sent by an institution (API, file upload, command).

For each new visit the fund-payable amount is computed by the engine's `outpatient_pool`
benefit with the person's year-to-date figures from the yearly ledger (claims.ledger), and the
visit is posted to the ledger (one entry per visit) through its service, in the same transaction.

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
  ledger accounts are read without locking them (5 000 row locks a batch would cost more than
  the rest of the batch); the ledger service's post re-checks each account it advances against
  what was read (its entry count), under its row lock (rows locked in key order), and a batch whose figures
  changed meanwhile (another benefit paid for the same person) is refused and rolled back with
  a 409, never saved on stale figures.
- Set-based writes (PostgreSQL; the ORM equivalent elsewhere): the lookups take one array
  parameter each (`= ANY(array)`), visit ids are taken from the sequence in one query (the
  ledger entries name their visit), visits and ledger entries are written with COPY, and the
  ledger accounts advanced with one INSERT … ON CONFLICT DO UPDATE … RETURNING. Visits carry
  no database foreign keys (see Visit). Only the per-visit arithmetic stays in Python: it is
  the engine's `outpatient_pool` benefit (the single implementation of the rule), called in
  service-date order on the running figures of the batch. Its parameters are read once per
  service date (`pool_terms`, or the refusal they give) and each visit is `pool_split` on
  plain values: the same figures as `compute`, without its explanation lines. The duplicate
  check runs after the account lock, so the unique (institution, visit_id) index never refuses
  a row here; if it ever did, the batch is refused and rolled back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.ledger import keys as ledger_keys
from claims.ledger.errors import LedgerChanged
from claims.ledger.models import SourceKind
from claims.ledger.services import Posting, ledger_post, ledger_read
from enrollment.messages import localized
from enrollment.models import CoveragePeriod, CoverageStatus, Person
from enrollment.preview import CategoryAges, category_ages, category_on
from medins.benefits.errors import QuoteError
from medins.benefits.outpatient_pool import PoolTerms, check_category, pool_split, pool_terms
from medins.bulk import among, copy_text, next_ids, without_cyclic_gc
from medins.models import Institution
from medins.parsing import parse_date, parse_money, today
from medins.selectors import PolicyCache

from ..errors import ConcurrentChange, InvalidRequest
from ..imports import COLUMNS
from ..models import PoolAccount, PoolMembership, Visit

MAX_BATCH = 5000
_VISIT_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,40}")
BENEFIT = "outpatient_pool"


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
    batch: a batch has a few hundred distinct dates and amounts, each read once by the shared
    parsers (medins.parsing) and cached here by its text."""
    dates: dict[str, dt.date] = {}
    amounts: dict[str, Decimal] = {}
    fullmatch = _VISIT_ID.fullmatch
    latest = today()  # a visit is never dated in the future (nor before 1900: DATE_MIN)

    def amount(raw: dict, key: str) -> Decimal:
        value = raw.get(key, "0")
        if type(value) is str:  # only strings are cached: True == 1 must not find 1's amount
            parsed = amounts.get(value)
            if parsed is None:
                parsed = parse_money(value.strip(), key)
                if len(amounts) < 10_000:
                    amounts[value] = parsed
            return parsed
        return parse_money(value, key)

    def parse(number: int, raw: dict) -> _Row:
        if not isinstance(raw, dict):
            raise InvalidRequest("row", _("must be an object"))
        visit_id = raw.get("visit_id")
        visit_id = visit_id.strip() if type(visit_id) is str else str(visit_id) if type(visit_id) is int else ""
        if not fullmatch(visit_id):
            raise InvalidRequest("visit_id", _("1-40 letters, digits or _.:/-"))
        id_number = raw.get("id_number")
        id_number = id_number.strip().upper() if type(id_number) is str else ""
        if len(id_number) != 18:
            raise InvalidRequest("id_number", _("an 18-character ID number"))
        text = raw.get("service_date")
        service_date = dates.get(text) if type(text) is str else None
        if service_date is None:
            service_date = parse_date(text.strip() if type(text) is str else text, "service_date", latest=latest)
            if type(text) is str and len(dates) < 10_000:
                dates[text] = service_date
        return _Row(number, visit_id, id_number, service_date, amount(raw, "class_a"), amount(raw, "class_b"),
                    amount(raw, "class_c"))

    return parse


def _error(result: IngestResult, number: int, visit_id: str, code: str, message: str, field_name: str = "", *,
           id_key: str = "visit_id") -> None:
    """A refused row: its number, its id under `id_key` (a stay's is stay_id), code, message, field."""
    entry = {"row": number, id_key: visit_id, "code": code, "message": message}
    if field_name:
        entry["field"] = field_name
    result.errors.append(entry)


@without_cyclic_gc
@transaction.atomic
def visits_ingest(*, acting_user, institution: Institution, rows: list[dict],
                  policies: PolicyCache | None = None) -> IngestResult:
    """Record a batch of visits of one institution; returns counts and each refused row's reason."""
    if len(rows) > MAX_BATCH:
        raise InvalidRequest("visits", _("at most %(max)s visits per batch") % {"max": MAX_BATCH})
    policies = policies or PolicyCache()
    result = IngestResult()
    parsed: list[_Row] = []
    seen: set[str] = set()
    parse = _row_parser()
    for number, raw in enumerate(rows, 1):
        try:
            row = parse(number, raw)
        except InvalidRequest as exc:
            _error(result, number, str(raw.get("visit_id", ""))[:40] if isinstance(raw, dict) else "", "invalid_request",
                   exc.localized(COLUMNS["visits"]), exc.field)  # the field by the file's header
            continue
        if row.visit_id in seen:
            _error(result, number, row.visit_id, "invalid_request", _("visit_id given twice in this batch"), "visit_id")
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
        if person is None or (person.pk, year) not in members:
            # One code and message whether or not the ID number is insured at all: an institution
            # must not learn who is insured elsewhere (issue #11, finding 13).
            _error(result, row.number, row.visit_id, "not_member",
                   _("not a member of this institution's outpatient pool in %(year)s") % {"year": year}, "id_number")
        elif year in closed:
            _error(result, row.number, row.visit_id, "year_closed",
                   _("%(year)s is closed by the year-end settlement") % {"year": year},
                   "service_date")
        elif not any(s <= row.service_date <= e for s, e in cover[person.pk]):
            _error(result, row.number, row.visit_id, "not_covered", _("not covered on the service date"), "service_date")
        else:
            accepted.append((row.service_date, row.visit_id, row, person))
    if not accepted:
        return result
    accepted = _fund_security(institution, accepted, cover, result, policies)
    if not accepted:
        return result

    # read_scopes: the pool's accounts and the chronic one, for the shared outpatient total (§4.2).
    scopes = ledger_keys.read_scopes(BENEFIT)
    read = ledger_read([(p.pk, day.year, b, i) for day, _v, _r, p in accepted for b, i in scopes])
    running: dict[tuple[int, int], list] = {}

    visits: list[tuple] = []
    effects: list[tuple] = []
    region = institution.region.code
    level = institution.level
    # The policy's parameters are read once per service date (PoolTerms, or the refusal they give);
    # each visit is then the engine's arithmetic (pool_split) on plain values.
    terms_of: dict[dt.date, PoolTerms | QuoteError] = {}
    ages_of: dict[dt.date, CategoryAges] = {}  # the category boundaries, read with the terms
    accepted.sort()
    for day, _visit_id, row, person in accepted:
        key = (person.pk, day.year)
        figures = running.get(key)
        if figures is None:
            ytd = ledger_keys.year_to_date(BENEFIT, {s: read[(person.pk, day.year, *s)] for s in scopes})
            figures = running[key] = [ytd["fund_paid"], ytd["deductible_paid_amount"], ytd["shared_fund_paid"]]
        fund_paid, deductible_paid, shared_paid = figures
        terms = terms_of.get(day)
        if terms is None:
            try:
                policy = policies.get(region=region, date=day)
                terms = pool_terms(policy, level)
                if terms.categories is not None:
                    ages_of[day] = category_ages(policy)
            except QuoteError as exc:
                terms = exc
            terms_of[day] = terms
        try:
            if isinstance(terms, QuoteError):
                raise terms
            if terms.categories is not None:
                check_category(terms, category_on(birth_date=person.birth_date, day=day,
                                                  school_kind=person.school_kind, ages=ages_of[day]))
        except QuoteError as exc:
            _error(result, row.number, row.visit_id, exc.code, localized(exc))
            continue
        eligible = row.class_a + row.class_b
        split = pool_split(terms, eligible, fund_paid, deductible_paid, shared_fund_paid=shared_paid)
        fund, paid = split.fund, split.deductible_paid
        figures[0] = fund_paid + fund
        figures[1] = deductible_paid + paid
        figures[2] = shared_paid + fund
        total = eligible + row.class_c
        visits.append((
            row.visit_id, person.pk, day, row.class_a, row.class_b, row.class_c,
            total, fund, paid, total - fund, terms.version,
        ))
        effects.append((person.pk, day, ledger_keys.entry_figures(BENEFIT, fund=fund, deductible=paid, eligible=eligible)))
        result.fund += fund
    if not visits:
        return result
    ids = next_ids(Visit, len(visits))
    result.created = _insert_visits(institution, visits, ids)
    postings = [Posting(person_id=person_id, service_date=day, benefit=BENEFIT, source_kind=SourceKind.POOL_VISIT,
                        source_id=visit_pk, figures=figures)
                for (person_id, day, figures), visit_pk in zip(effects, ids, strict=True)]
    try:
        ledger_post(acting_user=acting_user, read=read, postings=postings)
    except LedgerChanged:
        raise ConcurrentChange("visits", _("the persons' year-to-date figures changed while this batch was computed; "
                                           "send the batch again")) from None
    return result


def _fund_security(institution: Institution, accepted: list, cover: dict, result: IngestResult, policies) -> list:
    """The block rules the checks above do not cover (claims.supervision.blocks.visit_batch_refusals):
    a refused visit is reported on its row and left out of the batch."""
    from claims.supervision.blocks import visit_batch_refusals

    refused = visit_batch_refusals(institution=institution, accepted=accepted, cover=cover, policies=policies,
                                   benefit_of=lambda _row: BENEFIT)
    for _day, visit_id, row, *_rest in accepted:
        if visit_id in refused:
            _error(result, row.number, visit_id, "fund_security", refused[visit_id], "id_number")
    return [a for a in accepted if a[1] not in refused]


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


def _insert_visits(institution: Institution, visits: list[tuple], ids: list[int]) -> int:
    """Insert the computed visits; returns how many rows were inserted. On PostgreSQL with COPY: the
    duplicate check ran under the institution's account lock, so no row can conflict; if one ever
    did, the unique (institution, visit_id) index refuses the COPY and the batch is rolled back."""
    if not visits:
        return 0
    try:  # no query follows a refusal: visits_ingest's atomic block rolls the batch back
        return _write_visits(institution, visits, ids)
    except IntegrityError:
        raise _recorded_concurrently() from None


def _recorded_concurrently() -> ConcurrentChange:
    return ConcurrentChange("visits", _("some of these visits were recorded concurrently; send the batch again"))


def _write_visits(institution: Institution, visits: list[tuple], ids: list[int]) -> int:
    if connection.vendor != "postgresql":
        objs = [Visit(pk=pk, institution=institution, year=v[2].year, month=v[2].month,
                      **dict(zip(_VISIT_COLUMNS, v, strict=True))) for v, pk in zip(visits, ids, strict=True)]
        return len(Visit.objects.bulk_create(objs, batch_size=1000))
    head = f"\t{institution.pk}\t"
    tail = f"\t{timezone.now().isoformat()}\n"
    versions = {}
    lines = []
    for pk, (visit_id, person_id, day, a, b, c, total, fund, deductible, personal, version) in zip(ids, visits, strict=True):
        text = versions.get(version)
        if text is None:
            text = versions[version] = copy_text(version)
        # visit ids match _VISIT_ID: nothing in them needs escaping in COPY's text format
        lines.append(f"{pk}{head}{visit_id}\t{person_id}\t{day}\t{day.year}\t{day.month}\t{a}\t{b}\t{c}\t{total}\t"
                     f"{fund}\t{deductible}\t{personal}\t{text}{tail}")
    columns = ", ".join(("id", "institution_id", "visit_id", "person_id", "service_date", "year", "month", *_VISIT_COLUMNS[3:],
                         "received_at"))
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.copy(f"COPY {Visit._meta.db_table} ({columns}) FROM STDIN") as copy:
        copy.write("".join(lines))
    return len(visits)
