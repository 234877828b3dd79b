"""Settlement facts for the fund-security rules, read from the database in the shape of the
contract's request (contracts/fund-security.md): persons with their covered periods, date of
death, grey list and certifications; settlements with their lines.

Set-based: whatever the number of settlements, a fixed number of queries per kind (ids joined
as one ``unnest`` array, ``in_ids``; ``.values()`` rows; no server-side cursor: PostgreSQL plans a
``DECLARE … CURSOR`` without the hash join and parallel scan the visit tables need — minutes
instead of a second at 5 million visits, bench/fund_security_nightly.py), never one per
settlement or per person (tests pin it).

Settlement ids are the references of ``refs``: ``case:<pk>`` (reimbursement cases, manual and
school-batch), ``cv:<pk>`` (certified visits), ``pv:<pk>`` (pool visits), ``ltc:<pk>`` (a
resident's line of a monthly care claim). Persons are their primary keys as strings,
institutions their codes (a non-designated institution of a manual case: ``name:<name>``).

Decisions where the records are silent (issue 15 is silent on them):

- A case is a settlement once approved (approved, payment ordered, paid, payment failed); a
  stay's ``admitted``/``discharged`` are its ``service_from``/``service_to``; a maternity case's
  ``birth_date`` is its ``service_from`` (the delivery date); ``via`` is ``manual``; its invoice is
  the first of its invoices (one invoice is claimed by one live case at most: the database
  constraint ``claims_invoice_claimed_once`` already refuses the second claim).
- Visits are ``direct`` settlements on their ``service_date``; a special-drug visit gives
  ``drug``, the other certified visits ``disease`` (the certified item's code).
- A direct inpatient stay (claims.settlement.InpatientStay, ``ip:<pk>``) is a ``direct`` inpatient
  settlement of its hospital, paid the stay's fund and catastrophic supplement; its diagnosis,
  transfer flag and lines are its own (SettlementDetail / SettlementLine of kind ``inpatient_stay``).
- A care-claim line is a ``long_term_care`` settlement of the care home, dated by its first
  payable day, its lines the payable days (kind ``care``, amount = the day's costs); refused
  days were not paid and are left out.
- The diagnosis, the transfer flag and itemised lines come from ``SettlementDetail`` /
  ``SettlementLine`` when provided. A settlement without itemised lines is *not itemised*: it is
  not sent to the line rules (``LINE_RULES``) and is reported undecided under them, rather than
  read as "a stay with no line at all" (every stay day idle).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q

CHUNK = 5000
ONE_DAY = dt.timedelta(days=1)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
STAYS = ("inpatient", "day_surgery")
CERTIFIED = ("chronic", "special_disease", "special_drug", "two_diseases")
OUTPATIENT = ("outpatient_pool", *CERTIFIED)
# The rules that read itemised lines: a settlement without lines is undecided under them.
LINE_RULES = ("bed_holding", "duplicate_charge", "excess_prescription")
# The look-back when the parameters cannot be read (the 2021 values of the contract).
DEFAULT_SPLIT_DAYS = 15
DEFAULT_SUPPLY_WINDOW = 30

PREFIX = {"case": "case", "certified_visit": "cv", "pool_visit": "pv", "care_claim_line": "ltc", "inpatient_stay": "ip"}
KIND_OF_PREFIX = {v: k for k, v in PREFIX.items()}


def ref(kind: str, pk: int) -> str:
    return f"{PREFIX[kind]}:{pk}"


def parse_ref(value: str) -> tuple[str, int]:
    prefix, _colon, pk = value.partition(":")
    return KIND_OF_PREFIX[prefix], int(pk)


def _money(value) -> Decimal:
    return Decimal(value or 0)


def _json(value):
    """A record's value as the contract's JSON (dates ISO, amounts decimal strings)."""
    if value is None or type(value) in (str, int, bool):  # most values: no conversion
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        cents = value.quantize(CENT)
        return str(cents) if value == cents else str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def jsonable(record: dict) -> dict:
    return _json(record)


@contextmanager
def phase(timings: dict[str, list[float]] | None, name: str):
    """Add the block's [wall, CPU] seconds to timings[name] (the nightly benchmark's per-phase figures)."""
    if timings is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        spent = timings.setdefault(name, [0.0, 0.0])
        spent[0] += time.perf_counter() - wall
        spent[1] += time.process_time() - cpu


def _big_chunk() -> int:
    """Ids per in_ids query: on PostgreSQL one array parameter holds them all (a day's 200 000
    settlements in one hash join, not ten scans); elsewhere IN lists stay below bind limits."""
    return 500_000 if connection.vendor == "postgresql" else 20_000


def _chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def in_ids(queryset, column: str, ids: list[int]):
    """Rows whose `column` is one of `ids`: on PostgreSQL a semi-join with ``unnest`` of one array
    parameter, planned as a hash join (no bind-parameter limit). Not ``= ANY(array)``: comparing
    a bigint column with an integer array has no hashed form, so each row was compared with every
    id (25 s instead of 0.4 s for 16 000 persons over a million visits, EXPLAIN ANALYZE in
    bench/fund_security_nightly.py). Elsewhere a plain IN."""
    if connection.vendor == "postgresql":
        table = queryset.model._meta.db_table
        # One text parameter '{1,2,…}': psycopg's list adapter escapes every element with a regex
        # (seconds of CPU for the nightly job's million ids).
        array = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
        return queryset.extra(where=[f'"{table}"."{column}" IN (SELECT unnest(%s::bigint[]))'], params=[array])
    return queryset.filter(**{f"{column}__in": ids})


@dataclass
class Facts:
    """Settlements and persons collected so far (the request is built from them)."""

    region: str
    as_of: dt.date
    settlements: dict[str, dict] = field(default_factory=dict)
    persons: dict[int, dict] = field(default_factory=dict)
    # settlement ref -> (kind, pk, person pk, institution pk, service date, fund) for the findings
    meta: dict[str, tuple] = field(default_factory=dict)
    institution_codes: dict[int, str] = field(default_factory=dict)

    def person_ids(self) -> set[int]:
        return {m[2] for m in self.meta.values()}

    def refs_of(self, kind: str) -> list[int]:
        return [m[1] for m in self.meta.values() if m[0] == kind]

    def request(self, *, refs: Iterable[str] | None = None, itemised_only: bool = False) -> dict:
        """The contract's request; `refs` limits the settlements sent, `itemised_only` sends only
        those with itemised lines (for LINE_RULES)."""
        chosen = self.settlements if refs is None else {r: self.settlements[r] for r in refs if r in self.settlements}
        if itemised_only:
            chosen = {r: s for r, s in chosen.items() if s["lines"]}
        wanted = {int(s["person"]) for s in chosen.values()}
        return {"region": self.region, "as_of": self.as_of.isoformat(),
                "persons": [jsonable(self.persons[pk]) for pk in sorted(wanted) if pk in self.persons],
                "settlements": [jsonable(chosen[r]) for r in sorted(chosen)]}

    def rule_facts(self, *, refs: Iterable[str] | None = None, itemised_only: bool = False):
        """The same as medins.fund_security.Facts, built directly from the records (the nightly
        job's 200 000 settlements skip the JSON round trip and its validation: the records come
        from the database's typed columns)."""
        from medins.fund_security import Certification, Line, Period, Person, Settlement
        from medins.fund_security import Facts as RuleFacts

        chosen = self.settlements if refs is None else {r: self.settlements[r] for r in refs if r in self.settlements}
        if itemised_only:
            chosen = {r: s for r, s in chosen.items() if s["lines"]}
        wanted = {int(s["person"]) for s in chosen.values()}
        persons = []
        for pk in sorted(wanted):
            p = self.persons.get(pk)
            if p is None:
                continue
            persons.append(Person(
                id=p["id"], covered=tuple(Period(a, b) for a, b in p["covered"]), died=p["died"],
                grey_list=tuple(Period(a, b) for a, b in p["grey_list"]),
                certifications=tuple(Certification(
                    benefit=c["benefit"], institution=c["institution"], start=c["from"], end=c["to"],
                    disease=c.get("disease"), drug=c.get("drug"), dispensing=tuple(c.get("dispensing", ())))
                    for c in p["certifications"])))
        settlements = []
        for r in sorted(chosen):
            s = chosen[r]
            invoice = s.get("invoice")
            settlements.append(Settlement(
                id=s["id"], person=s["person"], institution=s["institution"], benefit=s["benefit"], total=s["total"],
                fund=s["fund"], via=s.get("via", "direct"), third_party_paid=s.get("third_party_paid", ZERO),
                invoice=(invoice["issuer"], invoice["number"]) if invoice else None, admitted=s.get("admitted"),
                discharged=s.get("discharged"), diagnosis=s.get("diagnosis"), transfer=s.get("transfer", False),
                service_date=s.get("service_date"), disease=s.get("disease"), drug=s.get("drug"),
                birth_date=s.get("birth_date"),
                lines=tuple(Line(date=x["date"], item=x["item"], kind=x["kind"], quantity=Decimal(x["quantity"]),
                                 amount=x["amount"], drug=x.get("drug"), days_supply=x.get("days_supply"))
                            for x in s["lines"])))
        return RuleFacts(region=self.region, as_of=self.as_of, persons={p.id: p for p in persons},
                         settlements=tuple(settlements))

    def not_itemised(self) -> list[str]:
        return sorted(r for r, s in self.settlements.items() if not s["lines"])


# --------------------------------------------------------------------------- settlements


def _stay_or_date(record: dict, benefit: str, start: dt.date, end: dt.date | None) -> None:
    if benefit in STAYS:
        record["admitted"] = start
        record["discharged"] = end or start
    else:
        record["service_date"] = start


def _institution_code(facts: Facts, pk: int | None, name: str = "") -> str:
    if pk is None:
        return f"name:{name}" if name else "name:?"
    return facts.institution_codes.get(pk, str(pk))


def _load_institutions(facts: Facts, ids: Iterable[int]) -> None:
    from medins.models import Institution

    missing = [pk for pk in set(ids) if pk is not None and pk not in facts.institution_codes]
    for chunk in _chunks(missing):
        facts.institution_codes.update(Institution.objects.filter(pk__in=chunk).values_list("pk", "code"))


def _details_and_lines(kind: str, ids: list[int]) -> tuple[dict[int, tuple], dict[int, list[dict]]]:
    from .models import SettlementDetail, SettlementLine

    details: dict[int, tuple] = {}
    lines: dict[int, list[dict]] = defaultdict(list)
    for chunk in _chunks(ids, _big_chunk()):
        for oid, diagnosis, transfer in (in_ids(SettlementDetail.objects.filter(kind=kind), "object_id", chunk)
                                         .values_list("object_id", "diagnosis", "transfer")):
            details[oid] = (diagnosis, transfer)
        for oid, date, item, line_kind, quantity, amount, drug, days_supply in (
                in_ids(SettlementLine.objects.filter(kind=kind), "object_id", chunk).order_by("object_id", "date", "pk")
                .values_list("object_id", "date", "item", "line_kind", "quantity", "amount", "drug", "days_supply")):
            line = {"date": date, "item": item, "kind": line_kind,
                    "quantity": int(quantity) if quantity == int(quantity) else quantity, "amount": amount}
            if drug:
                line["drug"] = drug
            if days_supply is not None:
                line["days_supply"] = days_supply
            lines[oid].append(line)
    return details, lines


def _add(facts: Facts, kind: str, pk: int, person_id: int, institution_id: int | None, day: dt.date, fund,
         record: dict) -> None:
    key = ref(kind, pk)
    record["id"] = key
    facts.settlements[key] = record
    facts.meta[key] = (kind, pk, person_id, institution_id, day, Decimal(fund or 0))


MONEY_STATES = ("approved", "payment_ordered", "paid", "payment_failed")
CARE_MONEY_STATES = ("approved", "payment_ordered")


def add_cases(facts: Facts, queryset, *, invoices: dict[int, tuple] | None = None) -> None:
    """Reimbursement cases (of any state the caller chose) as settlements."""
    from claims.models import Invoice

    rows = list(queryset.order_by().values("pk", "person_id", "institution_id", "institution_name", "case_type__benefit",
                                "service_from", "service_to", "third_party_paid", "fund_amount"))
    rows = [r for r in rows if ref("case", r["pk"]) not in facts.settlements]
    ids = [r["pk"] for r in rows]
    totals: dict[int, Decimal] = defaultdict(Decimal)
    first_invoice: dict[int, tuple] = dict(invoices or {})
    for chunk in _chunks(ids, _big_chunk()):
        for case_id, issuer, number, a, b, c in (in_ids(Invoice.objects.all(), "case_id", chunk).order_by("case_id", "issued_on", "pk")
                                                 .values_list("case_id", "issuer", "number", "class_a", "class_b", "class_c")):
            totals[case_id] += (a or 0) + (b or 0) + (c or 0)
            first_invoice.setdefault(case_id, (issuer, number))
    details, lines = _details_and_lines("case", ids)
    _load_institutions(facts, (r["institution_id"] for r in rows))
    for r in rows:
        benefit = r["case_type__benefit"]
        if benefit == "external":
            continue
        pk = r["pk"]
        record = {"person": str(r["person_id"]), "institution": _institution_code(facts, r["institution_id"], r["institution_name"]),
                  "benefit": benefit, "via": "manual", "total": _money(totals.get(pk)), "fund": _money(r["fund_amount"]),
                  "third_party_paid": _money(r["third_party_paid"]), "lines": lines.get(pk, [])}
        _stay_or_date(record, benefit, r["service_from"], r["service_to"])
        if pk in first_invoice:
            record["invoice"] = {"issuer": first_invoice[pk][0], "number": first_invoice[pk][1]}
        if benefit == "maternity":
            record["birth_date"] = r["service_from"]
        if pk in details:
            diagnosis, transfer = details[pk]
            if diagnosis:
                record["diagnosis"] = diagnosis
            record["transfer"] = bool(transfer)
        _add(facts, "case", pk, r["person_id"], r["institution_id"], r["service_from"], r["fund_amount"], record)


def _visit_record(facts: Facts, benefit: str, row: dict, lines: list) -> dict:
    record = {"person": str(row["person_id"]), "institution": _institution_code(facts, row["institution_id"]),
              "benefit": benefit, "via": "direct", "service_date": row["service_date"],
              "total": _money(row["total"]), "fund": _money(row["fund"]), "lines": lines}
    return record


def add_certified_visits(facts: Facts, queryset) -> None:
    rows = [r for r in queryset.order_by().values("pk", "person_id", "institution_id", "benefit", "item_code", "service_date", "total",
                                       "fund")
            if ref("certified_visit", r["pk"]) not in facts.settlements]
    _details_lines = _details_and_lines("certified_visit", [r["pk"] for r in rows])[1]
    _load_institutions(facts, (r["institution_id"] for r in rows))
    for r in rows:
        record = _visit_record(facts, r["benefit"], r, _details_lines.get(r["pk"], []))
        record["drug" if r["benefit"] == "special_drug" else "disease"] = r["item_code"]
        _add(facts, "certified_visit", r["pk"], r["person_id"], r["institution_id"], r["service_date"], r["fund"], record)


def add_pool_visits(facts: Facts, queryset) -> None:
    rows = [r for r in queryset.order_by().values("pk", "person_id", "institution_id", "service_date", "total", "fund")
             if ref("pool_visit", r["pk"]) not in facts.settlements]
    lines = _details_and_lines("pool_visit", [r["pk"] for r in rows])[1] if rows else {}
    _load_institutions(facts, (r["institution_id"] for r in rows))
    for r in rows:
        _add(facts, "pool_visit", r["pk"], r["person_id"], r["institution_id"], r["service_date"], r["fund"],
             _visit_record(facts, "outpatient_pool", r, lines.get(r["pk"], [])))


def add_inpatient_stays(facts: Facts, queryset) -> None:
    """Direct inpatient stays (claims.settlement.InpatientStay): paid to the hospital (``direct``)."""
    rows = [r for r in queryset.values("pk", "person_id", "institution_id", "admitted", "discharged", "total", "fund",
                                       "catastrophic")
            if ref("inpatient_stay", r["pk"]) not in facts.settlements]
    if not rows:
        return
    details, lines = _details_and_lines("inpatient_stay", [r["pk"] for r in rows])
    _load_institutions(facts, (r["institution_id"] for r in rows))
    for r in rows:
        fund = _money(r["fund"]) + _money(r["catastrophic"])
        record = {"person": str(r["person_id"]), "institution": _institution_code(facts, r["institution_id"]),
                  "benefit": "inpatient", "via": "direct", "admitted": r["admitted"], "discharged": r["discharged"],
                  "total": _money(r["total"]), "fund": fund, "lines": lines.get(r["pk"], [])}
        if r["pk"] in details:
            diagnosis, transfer = details[r["pk"]]
            if diagnosis:
                record["diagnosis"] = diagnosis
            record["transfer"] = bool(transfer)
        _add(facts, "inpatient_stay", r["pk"], r["person_id"], r["institution_id"], r["admitted"], fund, record)


def care_line_days(days: list[dict]) -> list[dict]:
    """A care-claim line's payable days as the contract's care lines (refused days left out)."""
    out = []
    for d in days:
        if d.get("refused"):
            continue
        amount = sum((Decimal(str(d.get(k) or 0)) for k in ("bed", "nursing", "supplies", "other")), Decimal(0))
        out.append({"date": dt.date.fromisoformat(d["date"]), "item": "LTC", "kind": "care", "quantity": 1, "amount": amount})
    return out


def add_care_lines(facts: Facts, queryset) -> None:
    rows = [r for r in queryset.filter(person__isnull=False)
            .order_by().values("pk", "person_id", "claim__care_home_id", "days", "total", "fund")
            if ref("care_claim_line", r["pk"]) not in facts.settlements]
    _load_institutions(facts, (r["claim__care_home_id"] for r in rows))
    for r in rows:
        lines = care_line_days(r["days"] or [])
        if not lines:
            continue
        first = lines[0]["date"]
        record = {"person": str(r["person_id"]), "institution": _institution_code(facts, r["claim__care_home_id"]),
                  "benefit": "long_term_care", "via": "direct", "service_date": first,
                  "total": _money(r["total"]), "fund": _money(r["fund"]), "lines": lines}
        _add(facts, "care_claim_line", r["pk"], r["person_id"], r["claim__care_home_id"], first, r["fund"], record)


# --------------------------------------------------------------------------- persons


def add_persons(facts: Facts, person_ids: Iterable[int], *, first: dt.date | None = None,
                last: dt.date | None = None) -> None:
    """Covered periods (active coverage overlapping [first, last] when given), the date of death
    (a stop of cover for death), grey-list periods and certifications of the persons."""
    from claims.certifications.models import Certification, CertificationSite, SiteRole
    from claims.certifications.workflow import CertificationState as CS
    from enrollment.models import CoveragePeriod, CoverageStatus, Stop, StopReason

    from .models import GreyListEntry

    ids = [pk for pk in set(person_ids) if pk not in facts.persons]
    for pk in ids:
        facts.persons[pk] = {"id": str(pk), "covered": [], "died": None, "grey_list": [], "certifications": []}
    window = Q()
    if first is not None:
        window &= Q(covered_to__gte=first)
    if last is not None:
        window &= Q(covered_from__lte=last)
    for chunk in _chunks(ids, _big_chunk()):
        for pid, c_from, c_to in (in_ids(CoveragePeriod.objects.filter(window, status=CoverageStatus.ACTIVE), "person_id", chunk)
                                  .order_by("person_id", "covered_from").values_list("person_id", "covered_from", "covered_to")):
            facts.persons[pid]["covered"].append([c_from, c_to])
        for pid, stop_date in (in_ids(Stop.objects.filter(reason=StopReason.DEATH), "person_id", chunk)
                               .order_by("person_id", "stop_date").values_list("person_id", "stop_date")):
            if facts.persons[pid]["died"] is None:
                facts.persons[pid]["died"] = stop_date
        for pid, g_from, g_to in (in_ids(GreyListEntry.objects.all(), "person_id", chunk).order_by("person_id", "from_date")
                                  .values_list("person_id", "from_date", "to_date")):
            facts.persons[pid]["grey_list"].append([g_from, g_to])
        certs = list(in_ids(Certification.objects.filter(state__in=(CS.APPROVED, CS.EXPIRED, CS.REVOKED, CS.SUPERSEDED),
                                                        valid_from__isnull=False), "person_id", chunk)
                     .order_by("person_id", "valid_from", "pk")
                     .values("pk", "person_id", "kind", "item__code", "institution_id", "dispensing_institution_id",
                             "valid_from", "valid_to"))
        sites: dict[int, list[int]] = defaultdict(list)
        cert_ids = [c["pk"] for c in certs]
        for sub in _chunks(cert_ids, _big_chunk()):
            for cid, inst in (in_ids(CertificationSite.objects.filter(role=SiteRole.DISPENSING), "certification_id", sub)
                              .values_list("certification_id", "institution_id")):
                sites[cid].append(inst)
        _load_institutions(facts, [c["institution_id"] for c in certs] + [c["dispensing_institution_id"] for c in certs]
                           + [i for v in sites.values() for i in v])
        for c in certs:
            entry = {"benefit": c["kind"], ("drug" if c["kind"] == "special_drug" else "disease"): c["item__code"],
                     "institution": _institution_code(facts, c["institution_id"]),
                     "from": c["valid_from"], "to": c["valid_to"]}
            dispensing = {_institution_code(facts, i) for i in [c["dispensing_institution_id"], *sites.get(c["pk"], [])] if i}
            if dispensing:
                entry["dispensing"] = sorted(dispensing)
            facts.persons[c["person_id"]]["certifications"].append(entry)


# --------------------------------------------------------------------------- the nightly job's day


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    from django.utils import timezone

    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + ONE_DAY


def day_facts(*, region: str, day: dt.date, look_back_days: int, with_persons: bool = True,
              timings: dict[str, list[float]] | None = None) -> tuple[Facts, set[str]]:
    """The region's settlements of `day` (cases and care claims approved that day, visits received
    that day) and the history the review rules compare them with, within `look_back_days` of the
    day's settlements. Returns the facts and the day's refs.

    The history is what a review rule can pair with a settlement of the day, read with the day's
    persons as one array parameter per query (hashed on PostgreSQL), not a year of everything:
    - every person's stays (split admissions; the stay around a visit or care day of the day);
    - for the persons with a stay or a drug line that day, everything else too (cases, visits,
      care-claim lines: what overlaps the stay, the dispensings of a supply window).
    A history settlement of any other kind could only pair with another history settlement: the
    business of an earlier night. `with_persons` False leaves out the persons' records (cover,
    grey list, certifications), which no review rule reads.
    """
    from carecare.models import CareClaimLine
    from claims.models import Case, CaseTransition
    from claims.settlement.models import CertifiedVisit, InpatientStay, Visit

    start, end = _day_bounds(day)
    facts = Facts(region=region, as_of=day)
    with phase(timings, "read the day's cases"):
        approved = CaseTransition.objects.filter(to_state="approved", at__gte=start, at__lt=end).values("case_id")
        add_cases(facts, Case.objects.filter(case_type__region__code=region, state__in=MONEY_STATES, pk__in=approved))
    with phase(timings, "read the day's certified visits"):
        add_certified_visits(facts, CertifiedVisit.objects.filter(institution__region__code=region, received_at__gte=start,
                                                                  received_at__lt=end))
    with phase(timings, "read the day's pool visits"):
        add_pool_visits(facts, Visit.objects.filter(institution__region__code=region, received_at__gte=start,
                                                    received_at__lt=end))
    with phase(timings, "read the day's care-claim lines"):
        add_care_lines(facts, CareClaimLine.objects.filter(
            claim__care_home__region__code=region, claim__state__in=CARE_MONEY_STATES, claim__transitions__to_state="approved",
            claim__transitions__at__gte=start, claim__transitions__at__lt=end).distinct())
    with phase(timings, "read the day's direct stays"):
        add_inpatient_stays(facts, InpatientStay.objects.filter(institution__region__code=region, received_at__gte=start,
                                                                received_at__lt=end))
    today = set(facts.settlements)
    if not today:
        return facts, today
    lo = min(m[4] for m in facts.meta.values())
    hi = max(s.get("discharged") or s["service_date"] for s in facts.settlements.values())
    for s in facts.settlements.values():
        if s["benefit"] == "long_term_care":
            hi = max(hi, s["lines"][-1]["date"])
    lo, hi = lo - dt.timedelta(days=look_back_days), hi + dt.timedelta(days=look_back_days)
    everyone = sorted(facts.person_ids())
    close = sorted({facts.meta[r][2] for r, s in facts.settlements.items()
                    if s["benefit"] in STAYS or any(line["kind"] == "drug" for line in s["lines"])})
    window = Case.objects.filter(state__in=MONEY_STATES, service_from__lte=hi, service_to__gte=lo)
    with phase(timings, "read history: the day's persons' stays"):
        add_cases(facts, in_ids(window.filter(case_type__benefit__in=STAYS), "person_id", everyone))
        add_inpatient_stays(facts, in_ids(InpatientStay.objects.filter(admitted__lte=hi, discharged__gte=lo),
                                          "person_id", everyone))
    if close:
        with phase(timings, "read history: other cases of persons with a stay or drug"):
            add_cases(facts, in_ids(window.exclude(case_type__benefit__in=STAYS), "person_id", close))
        with phase(timings, "read history: care-claim lines of those persons"):
            add_care_lines(facts, in_ids(CareClaimLine.objects.filter(
                claim__state__in=CARE_MONEY_STATES, claim__month__gte=lo.replace(day=1), claim__month__lte=hi),
                "person_id", close))
        # Visit and CertifiedVisit have no person index (ingestion speed): one hashed scan each.
        with phase(timings, "read history: certified visits of those persons"):
            add_certified_visits(facts, in_ids(CertifiedVisit.objects.filter(service_date__gte=lo, service_date__lte=hi),
                                               "person_id", close))
        with phase(timings, "read history: pool visits of those persons"):
            add_pool_visits(facts, in_ids(Visit.objects.filter(service_date__gte=lo, service_date__lte=hi),
                                          "person_id", close))
    if with_persons:
        with phase(timings, "read persons"):
            add_persons(facts, facts.person_ids(), first=lo, last=hi)
    return facts, today
