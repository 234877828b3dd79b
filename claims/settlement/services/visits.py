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
- Locks, in order: the institution's PoolAccount rows for the years in the batch (the same
  lock the settlement takes, so a visit never slips in while its institution is settled),
  then the persons' PoolLedger rows by pk. Ledgers advance with F() increments.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, IntegerField, Value, When

from enrollment.models import CoveragePeriod, CoverageStatus, Person
from enrollment.preview import category_on
from medins.benefits import compute
from medins.benefits.errors import QuoteError
from medins.benefits.request import Bill, QuoteRequest, YearToDate
from medins.benefits.request import _amount as parse_amount
from medins.models import Institution
from medins.selectors import PolicyCache

from ..errors import InvalidRequest
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


@dataclass
class _Row:
    number: int
    visit_id: str
    id_number: str
    service_date: dt.date
    bill: Bill


def _parse(number: int, raw: dict) -> _Row:
    if not isinstance(raw, dict):
        raise InvalidRequest("row", "must be an object")
    visit_id = str(raw.get("visit_id") or "").strip()
    if not _VISIT_ID.fullmatch(visit_id):
        raise InvalidRequest("visit_id", "1-40 letters, digits or _.:/-")
    id_number = str(raw.get("id_number") or "").strip().upper()
    if len(id_number) != 18:
        raise InvalidRequest("id_number", "an 18-character ID number")
    try:
        service_date = dt.date.fromisoformat(str(raw.get("service_date") or "").strip())
    except ValueError:
        raise InvalidRequest("service_date", "a date YYYY-MM-DD") from None
    amounts = []
    for key in ("class_a", "class_b", "class_c"):
        value = raw.get(key, "0")
        amounts.append(parse_amount(value.strip() if isinstance(value, str) else value, key))
    return _Row(number, visit_id, id_number, service_date, Bill(*amounts))


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
    for number, raw in enumerate(rows, 1):
        try:
            row = _parse(number, raw)
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

    existing = set(Visit.objects.filter(institution=institution, visit_id__in=[r.visit_id for r in parsed])
                   .values_list("visit_id", flat=True))
    persons = {p.id_number: p for p in Person.objects.filter(id_number__in={r.id_number for r in parsed})
               .select_related("school").only("pk", "id_number", "birth_date", "school__kind")}
    person_ids = [p.pk for p in persons.values()]
    members = set(PoolMembership.objects.filter(person_id__in=person_ids, year__in=years, institution=institution)
                  .values_list("person_id", "year"))
    first, last = min(r.service_date for r in parsed), max(r.service_date for r in parsed)
    cover = defaultdict(list)
    for person_id, start, end in CoveragePeriod.objects.filter(
        person_id__in=person_ids, status=CoverageStatus.ACTIVE, covered_from__lte=last, covered_to__gte=first
    ).values_list("person_id", "covered_from", "covered_to"):
        cover[person_id].append((start, end))

    accepted: list[tuple[_Row, Person]] = []
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
            accepted.append((row, person))
    if not accepted:
        return result

    keys = {(p.pk, r.service_date.year) for r, p in accepted}
    PoolLedger.objects.bulk_create([PoolLedger(person_id=pid, year=y) for pid, y in keys], ignore_conflicts=True)
    ledger_q = PoolLedger.objects.filter(person_id__in={pid for pid, _ in keys}, year__in=years)
    ledgers = {(lg.person_id, lg.year): lg for lg in ledger_q.order_by("pk").select_for_update()}
    running = {k: [lg.fund_paid, lg.deductible_paid] for k, lg in ledgers.items()}
    delta: dict[int, list] = {}

    visits = []
    region = institution.region.code
    accepted.sort(key=lambda item: (item[0].service_date, item[0].visit_id))
    for row, person in accepted:
        key = (person.pk, row.service_date.year)
        fund_paid, deductible_paid = running[key]
        req = QuoteRequest(
            region=region, benefit="outpatient_pool", service_date=row.service_date,
            category=category_on(birth_date=person.birth_date, day=row.service_date,
                                 school_kind=person.school.kind if person.school_id else None),
            level=institution.level, bill=row.bill,
            year_to_date=YearToDate(fund_paid=fund_paid, deductible_paid_amount=deductible_paid),
        )
        try:
            quote = compute(req, policies.get(region=region, date=row.service_date))
        except QuoteError as exc:
            _error(result, row.number, row.visit_id, exc.code, str(exc))
            continue
        running[key] = [fund_paid + quote.fund, deductible_paid + quote.deductible_paid]
        d = delta.setdefault(ledgers[key].pk, [Decimal("0.00"), Decimal("0.00"), 0])
        d[0] += quote.fund
        d[1] += quote.deductible_paid
        d[2] += 1
        visits.append(Visit(
            institution=institution, visit_id=row.visit_id, person_id=person.pk, service_date=row.service_date,
            year=row.service_date.year, month=row.service_date.month, class_a=row.bill.class_a,
            class_b=row.bill.class_b, class_c=row.bill.class_c, total=quote.total, fund=quote.fund,
            deductible=quote.deductible_paid, personal=quote.personal, policy_version=quote.policy_version,
        ))
        result.fund += quote.fund
    Visit.objects.bulk_create(visits, batch_size=1000)
    result.created = len(visits)
    if delta:
        def case(i):
            return Case(*[When(pk=pk, then=Value(d[i])) for pk, d in delta.items()],
                        output_field=IntegerField() if i == 2 else _MONEY)
        PoolLedger.objects.filter(pk__in=list(delta)).update(
            fund_paid=F("fund_paid") + case(0), deductible_paid=F("deductible_paid") + case(1),
            visits=F("visits") + case(2),
        )
    return result
