"""The block rules where money is committed (issue 15 item 2): each money service asks here, on
what it is about to pay plus the facts the rules need, and refuses with the rule's reason in
the active language (services.block_message) in its own error shape.

- case approval (claims.services.cases._approve): the case, the person's other approved cases and
  paid care-claim days around it, the person's cover, death, grey list and certifications —
  every block rule (a manual case is never refused for the grey list: the rule is for direct
  settlements);
- school batches (claims.services.batches): each live row as an unpaid case (fund 0) against the
  persons' approved cases and care days and the batch's other rows, set-based per chunk;
- pool and certified visits (claims.settlement.services): the hot path. Coverage and
  certification are the ingestion's own checks (same records, their own codes); what they do not
  check is the grey list (and, for certified visits, 两病 and 门规 for one disease on one date).
  One query per batch finds the grey-listed persons; only their visits (and the 两病/门规 pairs of
  the batch) go through ``check`` — no query per visit, nothing at all when nobody is listed;
- care claims (carecare): the grey-list periods are read with the claim's facts
  (carecare.selectors.claim_facts, ``grey_listed_periods``) and a day inside one is refused by the
  day checks, so a suspension ending mid-month refuses only its days;
- direct inpatient stays (claims.settlement.services.stays): a few hundred a batch, each with its
  lines, against the persons' cases, care days and direct stays around them — every block rule,
  as a case approval (cover is checked by the ingestion first, with its own code).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from . import facts as F
from .models import GreyListEntry
from .services import block_message, block_refusals, look_back_days


def _history(facts: F.Facts, person_ids: list[int], lo: dt.date, hi: dt.date, *, exclude_case: int | None = None) -> None:
    from carecare.models import CareClaimLine
    from claims.models import Case
    from claims.settlement.models import InpatientStay

    for chunk in F._chunks(person_ids):
        cases = Case.objects.filter(person_id__in=chunk, state__in=F.MONEY_STATES, service_from__lte=hi, service_to__gte=lo)
        if exclude_case is not None:
            cases = cases.exclude(pk=exclude_case)
        F.add_cases(facts, cases)
        F.add_care_lines(facts, CareClaimLine.objects.filter(
            person_id__in=chunk, claim__state__in=("approved", "payment_ordered"),
            claim__month__gte=lo.replace(day=1), claim__month__lte=hi))
        F.add_inpatient_stays(facts, InpatientStay.objects.filter(person_id__in=chunk, admitted__lte=hi,
                                                                  discharged__gte=lo))


def case_refusal(case, *, fund: Decimal, policies=None) -> str | None:
    """Why the fund may not pay this case (the first block finding naming it), or None.
    `policies`: the approval's PolicyCache (the look-back and the rules' parameters read from it)."""
    region = case.case_type.region.code
    day = case.service_from
    window = dt.timedelta(days=look_back_days(region, day, policies))
    facts = F.Facts(region=region, as_of=day)
    F.add_cases(facts, type(case).objects.filter(pk=case.pk))
    new = F.ref("case", case.pk)
    if new not in facts.settlements:  # a case type paid by the contracted insurer: not the fund's
        return None
    facts.settlements[new]["fund"] = F._money(fund)
    _history(facts, [case.person_id], day - window, case.service_to + window, exclude_case=case.pk)
    F.add_persons(facts, [case.person_id])
    refused = block_refusals(facts, [new], policies=policies)
    return block_message(refused[new]) if new in refused else None


def batch_refusals(rows: list[tuple[str, object, list]], *, region: str, policies=None) -> dict[str, str]:
    """Block rules over the live rows of a school-batch chunk: [(key, unsaved case, its invoices)]
    → {key: refusal}. Rows are unpaid (fund 0): the rules that need the payment (third party)
    judge them again at approval."""
    if not rows:
        return {}
    cases = [c for _k, c, _i in rows]
    lo = min(c.service_from for c in cases)
    hi = max(c.service_to or c.service_from for c in cases)
    window = dt.timedelta(days=look_back_days(region, lo, policies))
    facts = F.Facts(region=region, as_of=hi)
    persons = sorted({c.person_id for c in cases})
    _history(facts, persons, lo - window, hi + window)
    F._load_institutions(facts, [c.institution_id for c in cases])
    keys = []
    for key, case, invoices in rows:
        benefit = case.case_type.benefit
        if benefit == "external":
            continue
        total = sum((inv.class_a or 0) + (inv.class_b or 0) + (inv.class_c or 0) for inv in invoices)
        record = {"id": key, "person": str(case.person_id), "institution": F._institution_code(facts, case.institution_id,
                                                                                              case.institution_name),
                  "benefit": benefit, "via": "manual", "total": F._money(total), "fund": F.ZERO,
                  "third_party_paid": F._money(case.third_party_paid), "lines": []}
        F._stay_or_date(record, benefit, case.service_from, case.service_to)
        if invoices:
            record["invoice"] = {"issuer": invoices[0].issuer, "number": invoices[0].number}
        if benefit == "maternity":
            record["birth_date"] = case.service_from
        facts.settlements[key] = record
        facts.meta[key] = ("new", 0, case.person_id, case.institution_id, case.service_from, Decimal(0))
        keys.append(key)
    F.add_persons(facts, persons)
    return {key: block_message(f) for key, f in block_refusals(facts, keys, policies=policies).items()}


def stay_batch_refusals(*, institution, stays: list[tuple[str, object, object]], policies=None) -> dict[str, str]:
    """Block rules over a batch of direct stays the ingestion accepted: [(stay id, parsed stay with
    admitted, discharged, diagnosis, transfer, class_a/b/c and lines, person)] → {stay id: refusal}.
    The stays are not paid yet (fund 0): the rules that need the payment do not apply to them."""
    if not stays:
        return {}
    region = institution.region.code
    lo = min(s.admitted for _k, s, _p in stays)
    hi = max(s.discharged for _k, s, _p in stays)
    window = dt.timedelta(days=look_back_days(region, lo, policies))
    facts = F.Facts(region=region, as_of=hi)
    persons = sorted({p.pk for _k, _s, p in stays})
    _history(facts, persons, lo - window, hi + window)
    facts.institution_codes[institution.pk] = institution.code
    keys = []
    for stay_id, s, person in stays:
        key = f"new:{stay_id}"
        facts.settlements[key] = {
            "id": key, "person": str(person.pk), "institution": institution.code, "benefit": "inpatient",
            "via": "direct", "admitted": s.admitted, "discharged": s.discharged, "diagnosis": s.diagnosis,
            "transfer": s.transfer, "total": F._money(s.class_a + s.class_b + s.class_c), "fund": F.ZERO,
            "lines": [{k: x[k] for k in ("date", "item", "kind", "quantity", "amount")} for x in s.lines]}
        facts.meta[key] = ("new", 0, person.pk, institution.pk, s.admitted, Decimal(0))
        keys.append(key)
    F.add_persons(facts, persons)
    return {key[4:]: block_message(f) for key, f in block_refusals(facts, keys, policies=policies).items()}


def grey_listed_periods(person_ids: Iterable[int], first: dt.date, last: dt.date) -> dict[int, list[list[str]]]:
    """Grey-list periods overlapping [first, last] of the persons (one query per 30 000 ids)."""
    out: dict[int, list[list[str]]] = defaultdict(list)
    for chunk in F._chunks(person_ids, 30_000):
        for pid, a, b in (F.in_ids(GreyListEntry.objects.filter(from_date__lte=last, to_date__gte=first), "person_id", chunk)
                          .order_by().values_list("person_id", "from_date", "to_date")):
            out[pid].append([a, b])
    return out


def visit_refusals(*, region: str, visits: list[dict], cover: dict[int, list[tuple]], grey: dict[int, list],
                   certifications: dict[int, list[dict]] | None = None, policies=None) -> dict[str, str]:
    """Block rules over a batch's visits already accepted by the ingestion's own checks.

    `visits`: {"id", "person" (pk), "benefit", "service_date" (date), "total", "fund", optional
    "disease"/"drug"}; `cover`: the cover the ingestion read ({person: [(from, to)]}); `grey`:
    grey_listed_periods of the batch's persons. Only the visits of grey-listed persons and the
    candidates of benefit_twice (两病 and 门规 of one person, disease and date in the batch) are
    sent to the rules; returns {visit id: refusal}."""
    pairs: dict[tuple, set[str]] = defaultdict(set)
    for v in visits:
        if v["benefit"] in ("two_diseases", "chronic") and v.get("disease"):
            pairs[(v["person"], v["service_date"], v["disease"])].add(v["benefit"])
    twice = {k for k, benefits in pairs.items() if len(benefits) > 1}
    chosen = [v for v in visits if v["person"] in grey or (v["person"], v["service_date"], v.get("disease")) in twice]
    if not chosen:
        return {}
    as_of = max(v["service_date"] for v in chosen)
    facts = F.Facts(region=region, as_of=as_of)
    for v in chosen:
        record = {"id": v["id"], "person": str(v["person"]), "institution": v.get("institution", "?"),
                  "benefit": v["benefit"], "via": "direct", "service_date": v["service_date"],
                  "total": F._money(v["total"]), "fund": F._money(v["fund"]), "lines": []}
        for key in ("disease", "drug"):
            if v.get(key):
                record[key] = v[key]
        facts.settlements[v["id"]] = record
        facts.meta[v["id"]] = ("new", 0, v["person"], None, v["service_date"], Decimal(v["fund"] or 0))
        pid = v["person"]
        facts.persons.setdefault(pid, {
            "id": str(pid), "covered": [[a, b] for a, b in cover.get(pid, ())], "died": None,
            "grey_list": grey.get(pid, []), "certifications": (certifications or {}).get(pid, [])})
    refused = block_refusals(facts, [v["id"] for v in chosen], rules=["grey_list", "benefit_twice"], policies=policies)
    return {r: block_message(finding) for r, finding in refused.items()}


def visit_batch_refusals(*, institution, accepted: list, cover: dict[int, list[tuple]], policies,
                         benefit_of) -> dict[str, str]:
    """The block rules over a visit batch the ingestion accepted (pool and certified visits alike):
    `accepted` holds its (service date, visit id, row, person, …) tuples, `benefit_of(row)` the
    row's benefit (a certified row's `item` is its disease, or its drug for a special drug). One
    grey-list query; the rules run only when someone is grey-listed or 两病 and 门规 meet in the
    batch. Returns {visit id: refusal}."""
    days = [a[0] for a in accepted]
    grey = grey_listed_periods({a[3].pk for a in accepted}, min(days), max(days))
    if not grey and not {"two_diseases", "chronic"} <= {benefit_of(a[2]) for a in accepted}:
        return {}
    visits = []
    for day, visit_id, row, person, *_rest in accepted:
        benefit = benefit_of(row)
        visit = {"id": visit_id, "person": person.pk, "benefit": benefit, "service_date": day,
                 "institution": institution.code, "total": row.class_a + row.class_b + row.class_c, "fund": 0}
        if benefit in F.CERTIFIED:
            visit["drug" if benefit == "special_drug" else "disease"] = row.item
        visits.append(visit)
    return visit_refusals(region=institution.region.code, visits=visits, cover=cover, grey=grey, policies=policies)
