"""Ingesting certified outpatient visits (chronic, special disease, special drug, 两病; DOMAIN.md
§4.0–4.4, §5) sent by an institution through the same way in as pool visits (API, admin upload).

The institution's batch names each row's benefit (`benefit`: chronic, special_disease,
special_drug, two_diseases; default outpatient_pool) and, for a certified one, the disease or
drug (`item_code`, also accepted as `disease` or `drug`). `visits_receive` splits a batch: pool
rows go to `visits_ingest` (services/visits.py, unchanged), certified rows here, both in one
transaction, with the row numbers of the batch.

Storage — a sibling table, CertifiedVisit, not new columns on Visit:
- the capitation settlement reads Visit by (institution, year, month, id) with an index-only sum
  of `fund` above per-month watermarks (services/runs.py); certified rows there would need a
  `benefit` filter in every such read (the API list, the admin, statement_visits, the runs'
  GROUP BY) and break the watermark argument, which holds only for rows inserted under the
  PoolAccount lock. Certified visits are paid fee-for-service, not by capitation: they share no
  read with pool visits;
- a certified visit carries what a pool visit has not: the benefit, the disease or drug, the
  certification it was paid under, the level paid at (the approving hospital's for a special
  drug), the first self-pay, the eligible amount and the statement that pays it.
Both tables are unique per (institution, visit_id); a certified visit whose id the institution
already used for a pool visit is refused (`visit_id_used`). The reverse check is not made by pool
ingestion (left unchanged): the two ids spaces meet only here.

Checks, set-based — a fixed number of queries per batch whatever its size (tests pin it): the
institution's FeeAccount rows of the batch's years locked (the duplicate check runs under it);
the visit ids already received (certified and pool, two queries); persons; cover; every
certification of the batch's persons and kinds that was ever approved, with its places of use
(one query: Certification LEFT JOIN CertificationSite); the yearly ledger (one read, one post).
A row is refused, with its reason in the active language (zh_Hans by default), when:
- `not_covered`: the person is not covered on the service date (DOMAIN.md §4.0, §9);
- `not_certified`: no certification of this kind and disease/drug was ever approved for the
  person (an unknown ID number gets the same answer: an institution must not learn who is
  insured); for a special drug it reads "the drug is not approved for the person";
- `certification_not_valid`: approved, but its validity window does not cover the service date
  (expired, revoked, superseded, not valid yet);
- `other_institution`: valid on the date, but no place of use at this institution covers the
  date (a chronic treatment institution changed yesterday: the old one is refused today; a
  special drug: the approving hospital or a dispensing pharmacy of the approval);
- the engine's refusal (`not_eligible`: a level the benefit does not admit; `missing_parameter`;
  `invalid_request` for a drug or disease unknown to the catalogue on the date).

Computation: accepted visits in service-date order (then visit id) against the yearly ledger
(claims/ledger), as pool visits: the persons' accounts read once without locking, the running
figures of the batch advanced visit by visit, the entries posted by `ledger_post`, whose re-check
refuses the batch (409, nothing saved) when another writer (a case approval, a batch of another
institution) changed an account meanwhile. The chronic cap also reads the persons' outpatient-pool
accounts (the shared outpatient total, keys.shared_outpatient_fund), which a chronic visit does not
advance; they are read without a lock like the others: a pool visit of the same person committed
meanwhile advanced the shared outpatient account too (keys.SHARED), which the chronic post advances
and re-checks, so the batch is refused (the pool accounts used to be locked and compared as well:
one more statement, and an empty pool account created for every chronic patient, for nothing the
shared account does not already catch). Engine facts:
- `institution.level`: the visit's institution, except a special drug: the approving hospital's
  level (the certification's institution), also when a pharmacy dispenses (DOMAIN.md §4.4);
- chronic `certified_diseases`: every chronic disease of the person certified (approved, window
  covering the date) on the service date, wherever treated;
- `person.category` on the service date (as pool visits); `person.poverty_registered` from the
  person's assistance category (enrollment.models.is_poverty_registered: Jinan 门规 charges a
  registered poor household no deductible), kept on the visit for its re-quotes;
  `institution.township` from the institution; 两病 `insulin_user` from the registration's
  `insulin_since`.
The ledger entry of a visit is posted with the disease or drug as its item, so per-disease and
per-drug figures exist for every certified benefit. Which figure the engine's `fund_paid` is
measured against follows claims/ledger/keys.year_to_date: the year's cap_fund (special disease and
drug; Jinan 门规 diseases without a cap of their own, whose entries are then posted with
`inpatient_cap` and advance the year's cap_fund), the disease's own fund (两病; Jinan 门规
hypertension and diabetes) or the benefit's (Changchun's pooled chronic cap).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.certifications.models import Certification, SiteRole
from claims.certifications.workflow import WAS_APPROVED
from claims.ledger import keys as ledger_keys
from claims.ledger.errors import LedgerChanged
from claims.ledger.models import SourceKind
from claims.ledger.services import Posting, ledger_post, ledger_read
from enrollment.messages import localized
from enrollment.models import CoveragePeriod, CoverageStatus, Person, is_poverty_registered
from enrollment.preview import category_ages, category_on
from medins.benefits.errors import MissingParameter, QuoteError
from medins.bulk import among, copy_text, next_ids, without_cyclic_gc
from medins.models import Institution
from medins.selectors import PolicyCache

from ..errors import ConcurrentChange, InvalidRequest
from ..imports import COLUMNS
from ..models import CertifiedBenefit, CertifiedVisit, FeeAccount, Visit
from . import engine_terms
from .visits import MAX_BATCH, IngestResult, _error, _prefer_index_probes, _row_parser, visits_ingest

POOL = "outpatient_pool"
CERTIFIED = frozenset(CertifiedBenefit.values)
ITEM_KEYS = ("item_code", "disease", "drug")
ZERO = Decimal("0.00")


class _Row(NamedTuple):
    number: int
    visit_id: str
    id_number: str
    service_date: dt.date
    class_a: Decimal
    class_b: Decimal
    class_c: Decimal
    benefit: str
    item: str


class _Person(NamedTuple):
    pk: int
    birth_date: dt.date
    school_kind: str | None
    assistance: str


class _Cert(NamedTuple):
    pk: int
    item: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    level: str  # the certification's institution of use (the approving hospital for a special drug)
    insulin_since: dt.date | None
    sites: list  # [(institution id, from, to)]


def _benefit_of(raw) -> str:
    value = raw.get("benefit") if isinstance(raw, dict) else None
    if value is None or value == "":
        return POOL
    return value.strip().lower() if type(value) is str else "?"


def _visit_key(raw) -> str:
    value = raw.get("visit_id") if isinstance(raw, dict) else None
    return value.strip() if type(value) is str else str(value) if type(value) is int else ""


@without_cyclic_gc
@transaction.atomic
def visits_receive(*, acting_user, institution: Institution, rows: list[dict],
                   policies: PolicyCache | None = None) -> IngestResult:
    """The one way in for visits of an institution (API, upload, command): each row names its
    benefit; pool rows go to visits_ingest, certified rows to certified_visits_ingest, in one
    transaction. Row numbers in the errors are the batch's."""
    if len(rows) > MAX_BATCH:
        raise InvalidRequest("visits", _("at most %(max)s visits per batch") % {"max": MAX_BATCH})
    policies = policies or PolicyCache()
    result = IngestResult()
    pool: list[tuple[int, dict]] = []
    certified: list[tuple[int, dict, str]] = []
    kinds: dict[str, str] = {}  # visit id -> the benefit it was first given in this batch
    for number, raw in enumerate(rows, 1):
        benefit = _benefit_of(raw)
        if benefit != POOL and benefit not in CERTIFIED:
            _error(result, number, _visit_key(raw)[:40], "invalid_request",
                   _("benefit: one of outpatient_pool, chronic, special_disease, special_drug, two_diseases"),
                   "benefit")
            continue
        key = _visit_key(raw)
        if key and kinds.setdefault(key, benefit) != benefit:  # the same id under two benefits
            _error(result, number, key[:40], "invalid_request", _("visit_id given twice in this batch"), "visit_id")
            continue
        if benefit == POOL:
            pool.append((number, raw))
        else:
            certified.append((number, raw, benefit))
    for part, ingest in ((pool, _pool), (certified, certified_visits_ingest)):
        if not part:
            continue
        got = ingest(acting_user=acting_user, institution=institution, rows=part, policies=policies)
        result.created += got.created
        result.duplicates += got.duplicates
        result.fund += got.fund
        result.errors += got.errors
    result.errors.sort(key=lambda e: e["row"])
    return result


def _pool(*, acting_user, institution, rows: list[tuple[int, dict]], policies) -> IngestResult:
    got = visits_ingest(acting_user=acting_user, institution=institution, rows=[raw for _n, raw in rows],
                        policies=policies)
    for error in got.errors:
        error["row"] = rows[error["row"] - 1][0]
    return got


def _item_of(raw: dict) -> str:
    for key in ITEM_KEYS:
        value = raw.get(key)
        if type(value) is str and value.strip():
            return value.strip()
    return ""


@without_cyclic_gc
@transaction.atomic
def certified_visits_ingest(*, acting_user, institution: Institution, rows: list[tuple] | list[dict],
                            policies: PolicyCache | None = None) -> IngestResult:
    """Record a batch of certified visits of one institution; rows are (row number, raw row,
    benefit as visits_receive read it) or raw rows (numbered from 1). Returns counts and each
    refused row's reason."""
    if len(rows) > MAX_BATCH:
        raise InvalidRequest("visits", _("at most %(max)s visits per batch") % {"max": MAX_BATCH})
    numbered = rows if not rows or isinstance(rows[0], tuple) else [
        (number, raw, _benefit_of(raw)) for number, raw in enumerate(rows, 1)]
    policies = policies or PolicyCache()
    result = IngestResult()
    parsed: list[_Row] = []
    seen: set[str] = set()
    parse = _row_parser()
    for number, raw, benefit in numbered:
        try:
            row = parse(number, raw)
            if benefit not in CERTIFIED:
                raise InvalidRequest("benefit", _("must be one of %(choices)s") % {
                    "choices": ", ".join(CertifiedBenefit.values)})  # the codes a file or request writes
            item = _item_of(raw)
            if not item or len(item) > 60:
                raise InvalidRequest("item_code", _("the disease or drug code (item_code) is required"))
        except InvalidRequest as exc:
            _error(result, number, _visit_key(raw)[:40], "invalid_request", exc.localized(COLUMNS["visits"]), exc.field)
            continue
        if row.visit_id in seen:
            _error(result, number, row.visit_id, "invalid_request", _("visit_id given twice in this batch"), "visit_id")
            continue
        seen.add(row.visit_id)
        parsed.append(_Row(*row, benefit, item))
    if not parsed:
        return result

    years = sorted({r.service_date.year for r in parsed})
    FeeAccount.objects.bulk_create([FeeAccount(institution=institution, year=y) for y in years], ignore_conflicts=True)
    list(FeeAccount.objects.filter(institution=institution, year__in=years).order_by("pk").select_for_update()
         .values_list("pk", flat=True))
    _prefer_index_probes()

    ids = [r.visit_id for r in parsed]
    existing = set(CertifiedVisit.objects.filter(among(CertifiedVisit, "visit_id", ids), institution=institution)
                   .order_by().values_list("visit_id", flat=True))
    used_by_pool = set(Visit.objects.filter(among(Visit, "visit_id", ids), institution=institution)
                       .order_by().values_list("visit_id", flat=True))
    fresh = [r for r in parsed if r.visit_id not in existing]
    result.duplicates += len(parsed) - len(fresh)
    if not fresh:  # a batch sent again: nothing more to read
        return result
    parsed = fresh
    persons = {number: _Person(*rest) for number, *rest in Person.objects.filter(
        among(Person, "id_number", {r.id_number for r in parsed})).order_by().values_list(
        "id_number", "pk", "birth_date", "school__kind", "assistance")}
    person_ids = sorted({p.pk for p in persons.values()})
    first, last = min(r.service_date for r in parsed), max(r.service_date for r in parsed)
    cover = defaultdict(list)
    for person_id, start, end in CoveragePeriod.objects.filter(
        among(CoveragePeriod, "person_id", person_ids), status=CoverageStatus.ACTIVE, covered_from__lte=last,
        covered_to__gte=first,
    ).order_by().values_list("person_id", "covered_from", "covered_to"):
        cover[person_id].append((start, end))
    certs = _certifications(person_ids, sorted({r.benefit for r in parsed}))
    chronic_held: dict[int, list[_Cert]] = {}  # every chronic certification of a person (certified_diseases)
    for (person_id, kind, _item), held in certs.items():
        if kind == "chronic":
            chronic_held.setdefault(person_id, []).extend(held)

    accepted: list[tuple] = []
    for row in parsed:
        if row.visit_id in used_by_pool:
            _error(result, row.number, row.visit_id, "visit_id_used",
                   _("this visit number was already received as an outpatient-pool visit"), "visit_id")
            continue
        person = persons.get(row.id_number)
        day = row.service_date
        held = certs.get((person.pk, row.benefit, row.item), ()) if person else ()
        if not held:
            _error(result, row.number, row.visit_id, "not_certified", _not_certified(row.benefit), "item_code")
            continue
        if not any(s <= day <= e for s, e in cover[person.pk]):
            _error(result, row.number, row.visit_id, "not_covered", _("not covered on the service date"),
                   "service_date")
            continue
        valid, here = _valid_here(held, day, institution.pk)
        if not valid:
            _error(result, row.number, row.visit_id, "certification_not_valid",
                   _("the certification is not valid on the service date (valid %(window)s)")
                   % {"window": "；".join(_window(c.valid_from, c.valid_to) for c in held)}, "service_date")
            continue
        if here is None:
            _error(result, row.number, row.visit_id, "other_institution",
                   _("on the service date the certification is used at another institution, not here"), "item_code")
            continue
        accepted.append((day, row.visit_id, row, person, here))
    if not accepted:
        return result
    accepted = _fund_security(institution, accepted, cover, result, policies)
    if not accepted:
        return result

    # The persons' ledger accounts each accepted visit reads (and the pool accounts of the shared
    # outpatient total for chronic visits), read once, unlocked; running figures per account.
    reads: set = set()
    by_disease = _chronic_by_disease(policies, institution.region.code, accepted)
    scopes_of: dict[tuple, tuple] = {}  # (benefit, item): the scopes read (pure: keys.scopes, once each)
    for day, _v, row, person, _c in accepted:
        scopes = scopes_of.get((row.benefit, row.item))
        if scopes is None:
            scopes = ledger_keys.scopes(row.benefit, row.item, inpatient_cap=by_disease and row.benefit == "chronic")
            if row.benefit in ledger_keys.SHARED_OUTPATIENT_BENEFITS:
                scopes += tuple((b, "") for b in ledger_keys.SHARED_OUTPATIENT_BENEFITS)
            scopes = scopes_of[(row.benefit, row.item)] = scopes
        pk, year = person.pk, day.year
        reads.update([(pk, year, b, i) for b, i in scopes])
    read = ledger_read(reads)
    # Running figures [fund, cap_fund, deductible, eligible] of every account read, advanced visit by
    # visit as the ledger will (keys.split); the accounts a visit reads and advances are looked up
    # once per (person, year, benefit, item) in `accounts_of`.
    running = {key: [f.fund, f.cap_fund, f.deductible, f.eligible] for key, f in read.items()}
    accounts_of: dict[tuple, tuple] = {}
    shared_benefits = tuple(sorted(ledger_keys.SHARED_OUTPATIENT_BENEFITS))

    region = institution.region.code
    township = bool(getattr(institution, "township", False))
    # Terms depend on the date only through the policy version and the catalogue's era (the
    # entries they read are in force on every day of an era): one read per such situation.
    terms_of: dict[tuple, object] = {}
    day_of: dict[dt.date, tuple] = {}  # (policy, category ages, (policy version, catalogue era)) by service date
    chronic_of: dict[tuple[int, dt.date], tuple[str, ...]] = {}
    visits: list[tuple] = []
    effects: list[tuple] = []
    ytd = engine_terms.YearToDate()
    fee_of: dict[int, list] = {}  # year: [visits, fund] (the institution's FeeAccount of the year)
    # module attributes read once (5 000 iterations)
    visit_split, entry_figures, cap_benefits = engine_terms.split, ledger_keys.entry_figures, ledger_keys.CAP_BENEFITS
    institution_level = institution.level
    accepted.sort(key=lambda a: (a[0], a[1]))
    for day, _visit_id, row, person, cert in accepted:
        benefit, item = row.benefit, row.item
        level = cert.level if benefit == "special_drug" else institution_level
        try:
            facts = day_of.get(day)
            if facts is None:
                policy = policies.get(region=region, date=day)
                catalogue = policy.catalogue
                facts = day_of[day] = (policy, category_ages(policy),
                                       (policy.version, catalogue.era(day) if catalogue is not None else 0))
            policy, ages, era = facts
            category = category_on(birth_date=person.birth_date, day=day, school_kind=person.school_kind, ages=ages)
            diseases = ()
            if benefit == "chronic":
                diseases = chronic_of.get((person.pk, day))
                if diseases is None:
                    diseases = chronic_of[(person.pk, day)] = tuple(sorted(
                        c.item for c in chronic_held.get(person.pk, ()) if _within(day, c.valid_from, c.valid_to)))
            insulin = benefit == "two_diseases" and cert.insulin_since is not None and cert.insulin_since <= day
            poverty = is_poverty_registered(person.assistance)
            key = (era, benefit, level, category, item, diseases, insulin, poverty)
            terms = terms_of.get(key)
            if terms is None:
                try:
                    terms = engine_terms.terms(benefit, policy, level=level,
                                               category=category, item=item, certified_diseases=diseases,
                                               township=township, insulin_user=insulin,
                                               poverty_registered=poverty)
                    terms = (terms, engine_terms.fund_scope(benefit, terms))
                except QuoteError as exc:
                    terms = exc
                terms_of[key] = terms
            if isinstance(terms, QuoteError):
                raise terms
            terms, scope = terms
            year = day.year
            accounts = accounts_of.get((person.pk, year, benefit, item))
            if accounts is None:
                accounts = accounts_of[(person.pk, year, benefit, item)] = (
                    running.setdefault((person.pk, year, benefit, ""), [ZERO, ZERO, ZERO, ZERO]),
                    running.setdefault((person.pk, year, benefit, item), [ZERO, ZERO, ZERO, ZERO]),
                    running.setdefault((person.pk, year, "", ""), [ZERO, ZERO, ZERO, ZERO]),
                    [running.setdefault((person.pk, year, b, ""), [ZERO, ZERO, ZERO, ZERO]) for b in shared_benefits])
            own, per_item, shared_year, sharing = accounts
            ytd.fund_paid = shared_year[1] if scope == "year" else per_item[0] if scope == "item" else own[0]
            ytd.disease_fund_paid = per_item[0]
            ytd.eligible_counted = own[3]
            ytd.deductible_paid_amount = own[2]
            if benefit == "chronic":
                ytd.shared_fund_paid = sharing[0][0] + sharing[1][0]
            split = visit_split(terms, row.class_a, row.class_b, ytd)
        except QuoteError as exc:
            _error(result, row.number, row.visit_id, exc.code, _engine_message(exc, row.item, day))
            continue
        fund, paid, eligible, first_copay = split.fund, split.deductible_paid, split.eligible, split.first_copay
        # advance the batch's running figures as the ledger will (keys.split)
        own[0] += fund
        own[2] += paid
        own[3] += eligible
        per_item[0] += fund
        per_item[2] += paid
        per_item[3] += eligible
        inpatient_cap = benefit == "chronic" and scope == "year"  # Jinan 门规 diseases sharing 250 000 with inpatient
        if inpatient_cap or benefit in cap_benefits:
            shared_year[1] += fund
        total = row.class_a + row.class_b + row.class_c
        visits.append((row.visit_id, person.pk, benefit, item, cert.pk, level, day, row.class_a, row.class_b,
                       row.class_c, total, first_copay, eligible, paid, fund, total - fund, terms.version, poverty))
        effects.append((person.pk, day, benefit, item, entry_figures(
            benefit, fund=fund, deductible=paid, eligible=eligible, inpatient_cap=inpatient_cap)))
        fee = fee_of.get(year)
        if fee is None:
            fee_of[year] = [1, fund]
        else:
            fee[0] += 1
            fee[1] += fund
    if not visits:
        return result
    result.fund += sum((fee[1] for fee in fee_of.values()), ZERO)
    pks = next_ids(CertifiedVisit, len(visits))
    try:
        result.created = _write(institution, visits, pks)
    except IntegrityError:
        raise ConcurrentChange("visits", _("some of these visits were recorded concurrently; send the batch again")) from None
    for year, (count, fund) in sorted(fee_of.items()):
        FeeAccount.objects.filter(institution=institution, year=year).update(visits=F("visits") + count,
                                                                             fund=F("fund") + fund)
    kind = SourceKind.CERTIFIED_VISIT
    # positional: Posting(person, date, benefit, source kind, source id, figures, item)
    postings = [Posting(p, day, b, kind, pk, figures, i) for (p, day, b, i, figures), pk in zip(effects, pks, strict=True)]
    try:
        # The pool accounts read for the shared outpatient total are not locked: a pool visit that
        # paid meanwhile also advanced the shared account (keys.SHARED) this post advances, so the
        # post's re-check refuses the batch.
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
                                   benefit_of=lambda row: row.benefit)
    for _day, visit_id, row, *_rest in accepted:
        if visit_id in refused:
            _error(result, row.number, visit_id, "fund_security", refused[visit_id], "id_number")
    return [a for a in accepted if a[1] not in refused]


def _chronic_by_disease(policies: PolicyCache, region: str, accepted: list) -> bool:
    """Whether the region's chronic benefit pays by disease (Jinan 门规): some of its diseases then
    share the yearly cap with inpatient, so chronic visits read the person's year account too."""
    days = [a[0] for a in accepted if a[2].benefit == "chronic"]
    if not days:
        return False
    try:
        return policies.get(region=region, date=min(days)).get("chronic.rule") == "inpatient_ratio_by_disease"
    except QuoteError:
        return False


def _valid_here(held: list[_Cert], day: dt.date, institution_id: int) -> tuple[bool, _Cert | None]:
    """(whether one of the certifications is valid on the day, the first valid one with a place of
    use at this institution on the day, or None)."""
    valid = False
    for cert in held:
        if (cert.valid_from is None or cert.valid_from <= day) and (cert.valid_to is None or day <= cert.valid_to):
            valid = True
            for site, start, end in cert.sites:
                if site == institution_id and (start is None or start <= day) and (end is None or day <= end):
                    return True, cert
    return valid, None


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


def _window(start: dt.date | None, end: dt.date | None) -> str:
    return f"{start or '…'} – {end or '…'}"


def _not_certified(benefit: str) -> str:
    if benefit == "special_drug":
        return _("this special drug is not approved for the person (no special-drug approval)")
    if benefit == "special_disease":
        return _("no special-disease certification of this disease for the person")
    if benefit == "two_diseases":
        return _("no hypertension/diabetes (两病) registration of this disease for the person")
    return _("no chronic-disease certification of this disease for the person")


def _engine_message(exc: QuoteError, item: str, day: dt.date) -> str:
    """The engine's refusal of a visit in the reader's language. Terms are shared by the days of a
    policy version and catalogue era: a refusal read from them names this visit's code and date."""
    if exc.code == "invalid_request" and getattr(exc, "field", "") in ("drug", "disease"):
        return _("%(code)s is not in the region's catalogue, or not in force on the service date") % {"code": item}
    if exc.code == "not_eligible":
        return _("the benefit is not paid at this level of institution: %(detail)s") % {"detail": exc}
    if isinstance(exc, MissingParameter):
        return _("the policy has no parameter for this visit: %(detail)s") % {
            "detail": localized(MissingParameter(exc.parameter, exc.region, day.isoformat()))}
    return localized(exc)


def _certifications(person_ids: list[int], kinds: list[str]) -> dict:
    """{(person id, kind, item code): [_Cert]} of every certification of these persons and kinds
    that was ever approved (also expired or ended: "not valid on the date" is then the reason),
    with its places of use: one query (certification LEFT JOIN its sites, its institution, its
    item). A person holds a handful, so reading them all costs less than filtering by dates."""
    out: dict[tuple, list[_Cert]] = {}
    by_pk: dict[int, _Cert] = {}
    if not person_ids:
        return out
    qs = (Certification.objects.filter(among(Certification, "person_id", person_ids), kind__in=kinds,
                                       state__in=list(WAS_APPROVED))
          .order_by()
          .values_list("pk", "person_id", "kind", "item__code", "valid_from", "valid_to", "institution__level",
                       "insulin_since", "sites__institution_id", "sites__valid_from", "sites__valid_to", "sites__role",
                       "sites__institution__level"))
    for pk, person_id, kind, item, start, end, level, insulin, site, site_from, site_to, role, site_level in qs:
        cert = by_pk.get(pk)
        if cert is None:
            cert = by_pk[pk] = _Cert(pk, item, start, end, level or "", insulin, [])
            out.setdefault((person_id, kind, item), []).append(cert)
        if site is not None:
            cert.sites.append((site, site_from, site_to))
            if not cert.level and role == SiteRole.APPROVING:  # no institution of use recorded: the approving site's
                by_pk[pk] = cert = cert._replace(level=site_level or "")
                out[(person_id, kind, item)] = [cert if c.pk == pk else c for c in out[(person_id, kind, item)]]
    return out


_COLUMNS = ("visit_id", "person_id", "benefit", "item_code", "certification_id", "level", "service_date", "class_a",
            "class_b", "class_c", "total", "first_copay", "eligible", "deductible", "fund", "personal", "policy_version",
            "poverty_registered")


def _write(institution: Institution, visits: list[tuple], pks: list[int]) -> int:
    if connection.vendor != "postgresql":
        objs = [CertifiedVisit(pk=pk, institution=institution, **dict(zip(_COLUMNS, v, strict=True)))
                for v, pk in zip(visits, pks, strict=True)]
        return len(CertifiedVisit.objects.bulk_create(objs, batch_size=1000))
    head = f"\t{institution.pk}\t"
    tail = f"\t{timezone.now().isoformat()}\n"
    texts: dict[str, str] = {}

    def text(value: str) -> str:
        out = texts.get(value)
        if out is None:
            out = texts[value] = copy_text(value)
        return out

    lines = []
    for pk, (visit_id, person_id, benefit, item, cert, level, day, a, b, c, total, first, eligible, deductible, fund,
             personal, version, poverty) in zip(pks, visits, strict=True):
        lines.append(f"{pk}{head}{visit_id}\t{person_id}\t{benefit}\t{text(item)}\t{cert}\t{level}\t{day}\t{a}\t{b}\t"
                     f"{c}\t{total}\t{first}\t{eligible}\t{deductible}\t{fund}\t{personal}\t{text(version)}\t"
                     f"{'t' if poverty else 'f'}{tail}")
    columns = ", ".join(("id", "institution_id", *_COLUMNS, "received_at"))
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.copy(f"COPY {CertifiedVisit._meta.db_table} ({columns}) FROM STDIN") as copy:
        copy.write("".join(lines))
    return len(visits)
