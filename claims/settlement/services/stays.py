"""Direct inpatient settlement (住院直接结算, DOMAIN.md §3, §9): a hospital sends its discharged
stays through the same way in as visits (API with an institution operator's token, the admin's
upload with preview); each stay is quoted with the engine's `inpatient` benefit against the
yearly ledger, posted to it, and paid to the hospital on its monthly fee-for-service statement
of benefit `inpatient` (services/statements.py).

A stay: `stay_id`, `id_number`, `admitted`, `discharged`, `diagnosis` (ICD-10), optional `level`
(must be the institution's recorded level: the engine pays at it) and `transfer` (an approved
transfer from another hospital), and its itemised `lines` [{date, item, kind, quantity, amount,
class}] (class A/B/C, 甲/乙/丙 also read). The bill is the sum of the lines by class: the lines are
the bill, so a correction that removes lines re-derives the bill from what is left.
A file has one row per line, the stay's columns repeated on each (`stay_rows_group`).

Decisions:
- Idempotent per (institution, stay_id): a stay sent again is a duplicate and changes nothing.
- A stay belongs to the month of its discharge (it is settled at discharge); its statement is
  the hospital's `inpatient` statement of that month, or the next one produced if it arrives late.
- Refused rows (the stay named, reason in the active language, zh_Hans by default): unreadable
  fields; `not_covered` (unknown ID number or not covered on the admission day: the same answer,
  an institution must not learn who is insured); a level other than the institution's; the
  engine's refusal; `fund_security`: a block rule of the contract (the grey list, overlapping
  long-term care, not covered …) on the stay against the person's other settlements
  (claims.supervision.blocks.stay_batch_refusals, a fixed number of queries per batch).
- Ledger: the batch's persons' inpatient accounts are read locked (as case approval does: a few
  hundred stays a batch, not thousands of visits), stays are computed in admission order (then
  stay id) on the batch's running figures, and posted once; the post's re-check guards the rest.
- Planned treatment cycles (dialysis, chemotherapy) are recognised by the split-admission rule
  from the diagnosis (fund_security.planned_cycle_diagnoses), so no flag is taken for them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from claims.ledger import keys as ledger_keys
from claims.ledger.errors import LedgerChanged
from claims.ledger.keys import EMPTY
from claims.ledger.services import Posting, ledger_post, ledger_read
from enrollment.messages import error_text, localized
from enrollment.models import CoveragePeriod, CoverageStatus, Person
from enrollment.preview import category_ages, category_on
from medins.benefits.errors import QuoteError
from medins.benefits.rounding import money_str
from medins.models import Institution
from medins.parsing import parse_bool, parse_date, parse_money, today
from medins.selectors import PolicyCache

from ..errors import ConcurrentChange, InvalidRequest
from ..imports import COLUMNS
from ..models import FeeAccount, InpatientStay
from .visits import IngestResult
from .visits import _error as _row_error

BENEFIT = "inpatient"
SOURCE_KIND = "inpatient_stay"  # the ledger's and the supervision records' kind
MAX_STAYS = 1000
_STAY_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,40}")
_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
LINE_KINDS = ("bed", "nursing", "meal", "drug", "exam", "treatment", "material", "other")
# A hospital's file may name the kinds in Chinese.
KIND_NAMES = {"床位": "bed", "床位费": "bed", "护理": "nursing", "护理费": "nursing", "伙食": "meal", "伙食费": "meal",
              "药品": "drug", "药费": "drug", "检查": "exam", "检查费": "exam", "治疗": "treatment", "治疗费": "treatment",
              "材料": "material", "材料费": "material", "其他": "other"}
CLASSES = {"A": "A", "B": "B", "C": "C", "甲": "A", "乙": "B", "丙": "C", "甲类": "A", "乙类": "B", "丙类": "C"}
BILL_KEY = {"A": "class_a", "B": "class_b", "C": "class_c"}
ZERO = Decimal("0.00")
STAY_COLUMNS = ("stay_id", "id_number", "admitted", "discharged", "level", "diagnosis", "transfer")


class _Stay(NamedTuple):
    number: int
    stay_id: str
    id_number: str
    admitted: dt.date
    discharged: dt.date
    level: str
    diagnosis: str
    transfer: bool
    class_a: Decimal
    class_b: Decimal
    class_c: Decimal
    lines: tuple  # ({date, item, kind, quantity, amount, class}, ...)


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    return value.strip() if type(value) is str else str(value) if type(value) is int else ""


def _quantity(value) -> Decimal:
    try:
        quantity = Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        raise InvalidRequest("line_quantity", _("must be a positive number")) from None
    if not quantity.is_finite() or quantity <= 0 or quantity != quantity.quantize(Decimal("0.01")) or quantity >= 10**8:
        raise InvalidRequest("line_quantity", _("must be a positive number"))
    return quantity


def _line(raw, admitted: dt.date, discharged: dt.date) -> dict:
    if not isinstance(raw, dict):
        raise InvalidRequest("lines", _("each line must be an object"))
    day = parse_date(raw.get("date"), "line_date", latest=discharged)
    if day < admitted:
        raise InvalidRequest("line_date", _("a line is dated before the admission"))
    item = _text(raw, "item")
    if not item or len(item) > 40:
        raise InvalidRequest("line_item", _("the catalogue code of the line (1-40 characters)"))
    kind = _text(raw, "kind").lower()
    kind = KIND_NAMES.get(kind, kind)
    if kind not in LINE_KINDS:
        raise InvalidRequest("line_kind", _("must be one of bed, nursing, meal, drug, exam, treatment, material, other"))
    cost_class = CLASSES.get(_text(raw, "class").upper())
    if cost_class is None:
        raise InvalidRequest("line_class", _("must be A, B or C (甲, 乙 or 丙)"))
    quantity = raw.get("quantity")
    return {"date": day, "item": item, "kind": kind, "quantity": _quantity("1" if quantity in (None, "") else quantity),
            "amount": parse_money(raw.get("amount"), "line_amount"), "class": cost_class}


def _parse(number: int, raw, latest: dt.date) -> _Stay:
    if not isinstance(raw, dict):
        raise InvalidRequest("stay", _("each stay must be an object"))
    stay_id = _text(raw, "stay_id")
    if not _STAY_ID.fullmatch(stay_id):
        raise InvalidRequest("stay_id", _("1-40 letters, digits or _.:/-"))
    id_number = _text(raw, "id_number").upper()
    if len(id_number) != 18:
        raise InvalidRequest("id_number", _("an 18-character ID number"))
    admitted = parse_date(raw.get("admitted"), "admitted", latest=latest)
    discharged = parse_date(raw.get("discharged"), "discharged", latest=latest)
    if discharged < admitted:
        raise InvalidRequest("discharged", _("the discharge is before the admission"))
    diagnosis = _text(raw, "diagnosis").upper()
    if not _ICD10.fullmatch(diagnosis):
        raise InvalidRequest("diagnosis", _("an ICD-10 code such as I63.9"))
    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise InvalidRequest("lines", _("a stay needs its itemised lines"))
    lines = tuple(_line(x, admitted, discharged) for x in raw_lines)
    bill = bill_of_lines(lines)
    return _Stay(number, stay_id, id_number, admitted, discharged, _text(raw, "level"), diagnosis,
                 parse_bool(raw.get("transfer"), "transfer"), bill["class_a"], bill["class_b"], bill["class_c"], lines)


def bill_of_lines(lines) -> dict[str, Decimal]:
    """A stay's bill: the sum of its lines by their class (A/B/C); also a recovery's corrected bill
    from the lines left (claims.supervision.requote.StaySettlement)."""
    bill = dict.fromkeys(BILL_KEY.values(), ZERO)
    for line in lines:
        bill[BILL_KEY[line["class"]]] += Decimal(line["amount"])
    return bill


_error = functools.partial(_row_error, id_key="stay_id")  # a refused stay, as a refused visit row


def stay_rows_group(rows: list[dict]) -> tuple[list[dict], list[int]]:
    """A file's rows (one per line, the stay's columns repeated) as stays; returns the stays and,
    for each, the file row of its first line (the row its errors name)."""
    stays: dict[str, dict] = {}
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, 1):
        key = _text(row, "stay_id") or f"?{number}"
        stay = stays.get(key)
        if stay is None:
            stay = stays[key] = {k: row.get(k) for k in STAY_COLUMNS if row.get(k) not in (None, "")}
            stay["lines"] = []
            first_row[key] = number
        stay["lines"].append({k: row.get(f"line_{k}") for k in ("date", "item", "kind", "quantity", "amount", "class")})
    return list(stays.values()), [first_row[k] for k in stays]


@transaction.atomic
def stays_receive(*, acting_user, institution: Institution, stays: list[dict],
                  policies: PolicyCache | None = None) -> IngestResult:
    """Record a batch of discharged stays of one hospital; returns counts and each refused stay's
    reason (`row`: its place in the batch)."""
    if len(stays) > MAX_STAYS:
        raise InvalidRequest("stays", _("at most %(max)s stays per batch") % {"max": MAX_STAYS})
    result = IngestResult()
    _receive(acting_user, institution, stays, policies or PolicyCache(), result)
    result.errors.sort(key=lambda e: e["row"])
    return result


def _receive(acting_user, institution: Institution, stays: list[dict], policies: PolicyCache,
             result: IngestResult) -> None:
    parsed: list[_Stay] = []
    seen: set[str] = set()
    latest = today()
    for number, raw in enumerate(stays, 1):
        try:
            stay = _parse(number, raw, latest)
        except InvalidRequest as exc:
            _error(result, number, _text(raw, "stay_id")[:40] if isinstance(raw, dict) else "", "invalid_request",
                   exc.localized(COLUMNS["stays"]), exc.field)  # the field by the file's header
            continue
        if stay.stay_id in seen:
            _error(result, number, stay.stay_id, "invalid_request", _("stay_id given twice in this batch"), "stay_id")
            continue
        if stay.level and stay.level != institution.level:
            _error(result, number, stay.stay_id, "invalid_request",
                   _("the level is not the institution's recorded level (%(level)s)") % {"level": institution.level},
                   "level")
            continue
        seen.add(stay.stay_id)
        parsed.append(stay)
    if not parsed:
        return

    # The institution's intake accounts of the stays' years: the lock under which the duplicate check runs.
    years = sorted({s.discharged.year for s in parsed})
    FeeAccount.objects.bulk_create([FeeAccount(institution=institution, year=y) for y in years], ignore_conflicts=True)
    list(FeeAccount.objects.filter(institution=institution, year__in=years).order_by("pk").select_for_update()
         .values_list("pk", flat=True))
    existing = set(InpatientStay.objects.filter(institution=institution, stay_id__in=[s.stay_id for s in parsed])
                   .values_list("stay_id", flat=True))
    fresh = [s for s in parsed if s.stay_id not in existing]
    result.duplicates += len(parsed) - len(fresh)
    if not fresh:
        return
    persons = {p.id_number: p for p in Person.objects.filter(id_number__in={s.id_number for s in fresh})
               .select_related("school")}
    cover = defaultdict(list)
    for person_id, start, end in CoveragePeriod.objects.filter(
            person_id__in=[p.pk for p in persons.values()], status=CoverageStatus.ACTIVE,
            covered_from__lte=max(s.discharged for s in fresh), covered_to__gte=min(s.admitted for s in fresh),
    ).values_list("person_id", "covered_from", "covered_to"):
        cover[person_id].append((start, end))
    accepted = []
    for stay in fresh:
        person = persons.get(stay.id_number)
        if person is None or not any(a <= stay.admitted <= b for a, b in cover[person.pk]):
            _error(result, stay.number, stay.stay_id, "not_covered", _("not covered on the day of admission"),
                   "admitted")
            continue
        accepted.append((stay, person))
    if accepted:
        accepted = _fund_security(institution, accepted, result, policies)
    if not accepted:
        return
    _settle(acting_user, institution, accepted, result, policies)


def _fund_security(institution: Institution, accepted: list, result: IngestResult, policies: PolicyCache) -> list:
    from claims.supervision.blocks import stay_batch_refusals

    refused = stay_batch_refusals(institution=institution, stays=[(s.stay_id, s, p) for s, p in accepted],
                                  policies=policies)
    for stay, _person in accepted:
        if stay.stay_id in refused:
            _error(result, stay.number, stay.stay_id, "fund_security", refused[stay.stay_id], "id_number")
    return [(s, p) for s, p in accepted if s.stay_id not in refused]


def stay_request(institution: Institution, *, admitted: dt.date, bill: dict, category: str, ytd: dict) -> dict:
    """The engine's request for a direct stay (contracts/quote.md), also used by a recovery's re-quote."""
    return {"region": institution.region.code, "benefit": BENEFIT, "service_date": admitted.isoformat(),
            "person": {"category": category}, "institution": {"level": institution.level},
            "bill": {k: money_str(Decimal(bill.get(k, ZERO))) for k in ("class_a", "class_b", "class_c")},
            "year_to_date": {k: (v if isinstance(v, bool) else money_str(v)) for k, v in ytd.items()}, "flags": []}


def _settle(acting_user, institution: Institution, accepted: list, result: IngestResult, policies: PolicyCache) -> None:
    from claims.supervision.models import SettlementDetail, SettlementLine
    from medins.quoting import quote_or_error

    keys = {(p.pk, s.admitted.year, b, i) for s, p in accepted for b, i in ledger_keys.read_scopes(BENEFIT)}
    read = ledger_read(keys, lock=True)
    running = dict(read)
    region = institution.region.code
    rows, effects = [], []
    for stay, person in sorted(accepted, key=lambda a: (a[0].admitted, a[0].stay_id)):
        year = stay.admitted.year
        try:
            policy = policies.get(region=region, date=stay.admitted)
            category = category_on(birth_date=person.birth_date, day=stay.admitted, school_kind=person.school_kind,
                                   ages=category_ages(policy))
        except QuoteError as exc:
            _error(result, stay.number, stay.stay_id, exc.code, localized(exc))
            continue
        accounts = {(b, i): running.get((person.pk, year, b, i), EMPTY) for b, i in ledger_keys.read_scopes(BENEFIT)}
        bill = {"class_a": stay.class_a, "class_b": stay.class_b, "class_c": stay.class_c}
        ok, body = quote_or_error(stay_request(institution, admitted=stay.admitted, bill=bill, category=category,
                                               ytd=ledger_keys.year_to_date(BENEFIT, accounts)))
        if not ok:
            _error(result, stay.number, stay.stay_id, body["error"]["code"],
                   _("the stay cannot be computed: %(detail)s") % {"detail": error_text(body["error"])})
            continue
        figures = ledger_keys.effect(BENEFIT, body)
        posting = Posting(person_id=person.pk, service_date=stay.admitted, benefit=BENEFIT, source_kind=SOURCE_KIND,
                          source_id=0, figures=figures)
        for key, delta in posting.accounts().items():
            running[key] = running.get(key, EMPTY) + delta
        settlement = body.get("settlement") or {}
        rows.append((stay, InpatientStay(
            institution=institution, stay_id=stay.stay_id, person=person, admitted=stay.admitted,
            discharged=stay.discharged, level=institution.level, diagnosis=stay.diagnosis, transfer=stay.transfer,
            class_a=stay.class_a, class_b=stay.class_b, class_c=stay.class_c, total=Decimal(body["total"]),
            deductible=Decimal(settlement.get("act_pay_dedc", "0")), fund=Decimal(body["fund"]),
            catastrophic=Decimal(body["catastrophic"]), personal=Decimal(body["personal"]),
            policy_version=body["policy_version"], quote=body)))
        effects.append(posting)
    if not rows:
        return
    try:
        with transaction.atomic():
            made = InpatientStay.objects.bulk_create([r for _s, r in rows])
    except IntegrityError:
        raise ConcurrentChange("stays", _("some of these stays were recorded concurrently; send the batch again")) from None
    SettlementDetail.objects.bulk_create([
        SettlementDetail(kind=SOURCE_KIND, object_id=r.pk, diagnosis=r.diagnosis, transfer=r.transfer) for r in made])
    SettlementLine.objects.bulk_create([
        SettlementLine(kind=SOURCE_KIND, object_id=r.pk, date=x["date"], item=x["item"], line_kind=x["kind"],
                       quantity=x["quantity"], amount=x["amount"], cost_class=x["class"])
        for (stay, _r), r in zip(rows, made, strict=True) for x in stay.lines])
    postings = [Posting(person_id=p.person_id, service_date=p.service_date, benefit=BENEFIT, source_kind=SOURCE_KIND,
                        source_id=r.pk, figures=p.figures) for p, r in zip(effects, made, strict=True)]
    try:
        ledger_post(acting_user=acting_user, read=read, postings=postings)
    except LedgerChanged:
        raise ConcurrentChange("stays", _("the persons' year-to-date figures changed while this batch was computed; "
                                          "send the batch again")) from None
    result.created += len(made)
    result.fund += sum((r.fund + r.catastrophic for r in made), ZERO)
