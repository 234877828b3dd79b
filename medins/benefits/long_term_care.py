"""Long-term care (照护保险), one claim period of one person in one care home (DOMAIN.md §7,
contracts/quote.md ``long_term_care``; Changchun only).

Per day, the first rule that applies (every figure a parameter of ``long_term_care.*``):

=====  ==============================  ===================  ==================  ==========================
order  condition on that day           items                rate                cap
=====  ==============================  ===================  ==================  ==========================
1      grade severe                    ``covered_items``    ``severe_rate``     covered cost ≤ ``daily_cap``
2      grade moderate                  ``covered_items``    severe × ``moderate_rate_factor``  ``daily_cap``
3      age ≥ ``aged_from``             ``aged_items``       severe × ``aged_rate_factor``  ``aged_daily_cap``
4      ``bed_fee_age_from`` ≤ age <    ``bed_fee_items``    ``bed_fee_rate``    fund ≤ ``bed_fee_daily_cap``
       ``bed_fee_age_to`` (not severe)                                          × days (average)
—      otherwise                       —                    0                   —
=====  ==============================  ===================  ==================  ==========================

- The grade comes from the policy's bands for ``care.adl_score`` (medins/benefits/care_scales.py),
  never from the request; a null score is no grade (rules 3 and 4 still apply).
- Age is in completed years (周岁) on each day: a birthday inside the period moves the days from
  it on to the next age (and maybe to another rule).
- Days are grouped by the rule that paid them; each group's fund is computed on the group's sums
  and rounded half-up to the cent **once**:
  cost cap per day (``daily_cap_basis: day``): fund = round(rate × Σ min(day's covered cost, cap));
  fund cap per period (``bed_fee_cap_basis: period``): fund = min(round(rate × Σ covered), cap × days).
  The other basis of each (``period`` / ``day``) is implemented for a clerk who changes the
  decision: cost cap per period = round(rate × min(Σ covered, cap × days)); fund cap per day =
  round(Σ min(rate × day's covered, cap)).
- The ``other`` item is never covered; items a rule does not name (nursing and supplies under the
  bed-fee rule) are personal on that rule's days. personal = total − fund; there is no
  catastrophic supplement and no yearly cap (year_to_date is accepted and ignored).

Decisions (DOMAIN.md §7 and the contract leave these open):
- Jinan (370100) has no long-term-care parameters (its seed says nothing about long-term care):
  the quote is refused as ``missing_parameter`` naming ``long_term_care.adl_grades`` — the
  refusal the design asks for when the policy does not say, and the one a clerk can lift by
  adding the parameters. ``not_eligible`` would assert a fact the seed does not state.
- Every day must carry every item the policy names (``covered_items`` ∪ ``aged_items`` ∪
  ``bed_fee_items``) and ``other`` ("0.00" for none); an unknown item is refused naming it, so a
  misspelt item can never silently count as zero.
- One request is one claim period inside one calendar month (the request parser checks it), so
  one policy version (the one in force on ``service_date``) applies to every day.
- A Barthel total the items cannot add up to (not a multiple of 5, above 100) is refused.
- Age on 29 February birthdays: in a non-leap year the year is completed on 1 March.
- Rates of rules 2 and 3 are exact products (0.80 × 0.70 = 0.56), never rounded themselves.
- Settlement names: ``inscp_scp_amt`` = the covered cost of the days a rule paid (before the
  caps), ``fulamt_ownpay_amt`` = everything else (``other``, items outside the rule, days no rule
  paid); no co-pay, no deductible.

Batch callers (the carecare monthly claim, bench/care_quote.py) read the parameters once with
`care_terms` and compute each resident with `care_split` on plain values, skipping JSON;
`claim_periods` splits a month's days into requests by the assessment valid on each day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from . import care_scales, params
from .errors import InvalidParameter, InvalidRequest
from .policy import PolicySnapshot
from .request import CareQuoteRequest, QuoteRequest
from .result import FUND, PERSONAL, Line, QuoteResult
from .rounding import ZERO, money_str, round_money

P = "long_term_care."
ADL_GRADES = P + "adl_grades"
COVERED_ITEMS = P + "covered_items"
DAILY_CAP = P + "daily_cap"
DAILY_CAP_BASIS = P + "daily_cap_basis"
SEVERE_RATE = P + "severe_rate"
MODERATE_RATE_FACTOR = P + "moderate_rate_factor"
AGED_FROM = P + "aged_from"
AGED_RATE_FACTOR = P + "aged_rate_factor"
AGED_ITEMS = P + "aged_items"
AGED_DAILY_CAP = P + "aged_daily_cap"
BED_FEE_AGE_FROM = P + "bed_fee_age_from"
BED_FEE_AGE_TO = P + "bed_fee_age_to"
BED_FEE_ITEMS = P + "bed_fee_items"
BED_FEE_RATE = P + "bed_fee_rate"
BED_FEE_DAILY_CAP = P + "bed_fee_daily_cap"
BED_FEE_CAP_BASIS = P + "bed_fee_cap_basis"

OTHER = "other"  # the day's costs outside every covered item: never covered
SEVERE, MODERATE, AGED, AGED_BED_FEE = "severe", "moderate", "aged", "aged_bed_fee"
RULE_ORDER = (SEVERE, MODERATE, AGED, AGED_BED_FEE)
NO_RULE = "none"
_BASES = ("day", "period")


class Rule(NamedTuple):
    name: str
    items: tuple[str, ...]
    items_parameter: str
    rate: Decimal
    rate_parameter: str
    cap: Decimal
    cap_parameter: str
    cap_on: str  # "cost": the day's covered cost is capped; "fund": the fund is capped
    cap_basis: str  # "day" or "period" (the cap × the group's days)
    cap_basis_parameter: str


class CareTerms(NamedTuple):
    """Every parameter of the benefit for one policy version, read and checked once."""

    version: str
    bands: tuple[care_scales.Band, ...]
    day_items: frozenset[str]  # the items each day must carry (every rule's items and `other`)
    severe: Rule
    moderate: Rule
    aged: Rule
    bed_fee: Rule
    aged_from: int
    bed_fee_age_from: int
    bed_fee_age_to: int


class Group(NamedTuple):
    """The days one rule paid (rule None: the days no rule paid)."""

    rule: Rule | None
    dates: tuple[dt.date, ...]
    cost: Decimal  # every item but `other` on these days
    other: Decimal  # the `other` item on these days
    covered: Decimal  # the rule's items, before its cap
    eligible: Decimal  # after a cost cap (= covered under a fund cap)
    fund: Decimal  # rounded once

    @property
    def name(self) -> str:
        return self.rule.name if self.rule is not None else NO_RULE


def _items(policy: PolicySnapshot, key: str) -> tuple[str, ...]:
    value = policy.get(key)
    if type(value) is not list or not value or not all(type(v) is str and v for v in value) or OTHER in value:
        raise InvalidParameter(key, policy.region, policy.date, f"expected a non-empty list of item names without '{OTHER}'")
    return tuple(value)


def _basis(policy: PolicySnapshot, key: str) -> str:
    value = policy.get(key)
    if value not in _BASES:
        raise InvalidParameter(key, policy.region, policy.date, f"expected one of {', '.join(_BASES)}, got {value!r}")
    return value


def _age(policy: PolicySnapshot, key: str) -> int:
    return params.whole_number(policy, key)


def care_terms(policy: PolicySnapshot) -> CareTerms:
    """The benefit's parameters, all read first so a missing one is named whatever the days."""

    def build() -> CareTerms:
        bands = care_scales.bands(policy, ADL_GRADES)  # first: a region without the benefit is named here
        covered = _items(policy, COVERED_ITEMS)
        aged_items = _items(policy, AGED_ITEMS)
        bed_items = _items(policy, BED_FEE_ITEMS)
        severe_rate = params.rate(policy, SEVERE_RATE)
        moderate_rate = severe_rate * params.rate(policy, MODERATE_RATE_FACTOR)
        aged_rate = severe_rate * params.rate(policy, AGED_RATE_FACTOR)
        daily_cap = params.amount(policy, DAILY_CAP)
        daily_basis = _basis(policy, DAILY_CAP_BASIS)
        bed_basis = _basis(policy, BED_FEE_CAP_BASIS)
        return CareTerms(
            version=policy.version,
            bands=bands,
            day_items=frozenset((*covered, *aged_items, *bed_items, OTHER)),
            severe=Rule(SEVERE, covered, COVERED_ITEMS, severe_rate, SEVERE_RATE, daily_cap, DAILY_CAP,
                        "cost", daily_basis, DAILY_CAP_BASIS),
            moderate=Rule(MODERATE, covered, COVERED_ITEMS, moderate_rate, MODERATE_RATE_FACTOR, daily_cap, DAILY_CAP,
                          "cost", daily_basis, DAILY_CAP_BASIS),
            aged=Rule(AGED, aged_items, AGED_ITEMS, aged_rate, AGED_RATE_FACTOR, params.amount(policy, AGED_DAILY_CAP),
                      AGED_DAILY_CAP, "cost", daily_basis, DAILY_CAP_BASIS),
            bed_fee=Rule(AGED_BED_FEE, bed_items, BED_FEE_ITEMS, params.rate(policy, BED_FEE_RATE), BED_FEE_RATE,
                         params.amount(policy, BED_FEE_DAILY_CAP), BED_FEE_DAILY_CAP, "fund", bed_basis,
                         BED_FEE_CAP_BASIS),
            aged_from=_age(policy, AGED_FROM),
            bed_fee_age_from=_age(policy, BED_FEE_AGE_FROM),
            bed_fee_age_to=_age(policy, BED_FEE_AGE_TO),
        )

    return policy.memo(("long_term_care",), build)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years (周岁) on `day`: the birthday itself counts; 29 Feb is completed on 1 Mar."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def rule_for(terms: CareTerms, grade: str | None, age: int) -> Rule | None:
    """The first rule that applies on a day (DOMAIN.md §7), None when none does."""
    if grade == care_scales.SEVERE:
        return terms.severe
    if grade == care_scales.MODERATE:
        return terms.moderate
    if age >= terms.aged_from:
        return terms.aged
    if terms.bed_fee_age_from <= age < terms.bed_fee_age_to:
        return terms.bed_fee
    return None


def _group(rule: Rule | None, dates: list, cost: Decimal, other: Decimal, covered: Decimal,
           capped_sum: Decimal) -> Group:
    if rule is None:
        return Group(None, tuple(dates), cost, other, ZERO, ZERO, ZERO)
    n = len(dates)
    if rule.cap_on == "cost":
        if rule.cap_basis == "day":
            eligible = capped_sum  # Σ min(day's covered, cap)
        else:
            period_cap = rule.cap * n
            eligible = covered if covered <= period_cap else period_cap
        fund = round_money(rule.rate * eligible)
    else:
        eligible = covered
        if rule.cap_basis == "period":
            fund = round_money(rule.rate * covered)
            period_cap = rule.cap * n
            if fund > period_cap:
                fund = period_cap
        else:
            fund = round_money(capped_sum)  # Σ min(rate × day's covered, cap)
    return Group(rule, tuple(dates), cost, other, covered, eligible, fund)


def care_split(terms: CareTerms, *, birth_date: dt.date, grade: str | None,
               days: Iterable[tuple[dt.date, Mapping[str, Decimal]]]) -> list[Group]:
    """The arithmetic on plain values: `days` are (date, {item: amount}) with every item of
    ``terms.day_items`` (checked by the caller). Groups in rule order, the unpaid days last."""
    acc: dict[str, list] = {}
    rules = (terms.severe, terms.moderate, terms.aged, terms.bed_fee)
    for day, items in days:
        rule = rule_for(terms, grade, age_on(birth_date, day))
        key = rule.name if rule is not None else NO_RULE
        slot = acc.get(key)
        if slot is None:
            slot = acc[key] = [rule, [], ZERO, ZERO, ZERO, ZERO]
        other = items[OTHER]
        cost = sum(items.values()) - other
        slot[1].append(day)
        slot[2] += cost
        slot[3] += other
        if rule is not None:
            names = rule.items
            covered = items[names[0]] if len(names) == 1 else sum([items[i] for i in names])
            slot[4] += covered
            if rule.cap_basis == "day":
                if rule.cap_on == "cost":
                    slot[5] += covered if covered <= rule.cap else rule.cap
                else:
                    share = rule.rate * covered
                    slot[5] += share if share <= rule.cap else rule.cap
    order = [r.name for r in rules] + [NO_RULE]
    return [_group(*acc[name]) for name in order if name in acc]


def _ranges(dates: Sequence[dt.date]) -> list[list[str]]:
    """Consecutive dates as [[first, last], ...] (ISO strings) for the lines."""
    out: list[list[str]] = []
    start = prev = dates[0]
    for day in dates[1:]:
        if (day - prev).days != 1:
            out.append([start.isoformat(), prev.isoformat()])
            start = day
        prev = day
    out.append([start.isoformat(), prev.isoformat()])
    return out


def _rate_text(rate: Decimal) -> Decimal:
    """0.80 × 0.70 shown as 0.56 (not 0.5600), 0.5 as 0.50."""
    rate = rate.normalize()
    return rate if rate.as_tuple().exponent <= -2 else rate.quantize(Decimal("0.01"))


def compute_long_term_care(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    terms = care_terms(policy)
    if not isinstance(req, CareQuoteRequest) or req.care is None or req.birth_date is None:
        raise InvalidRequest("care", "is required for long_term_care")  # the request parser guarantees it
    care = req.care
    score = care.adl_score
    if score is not None:
        care_scales.BARTHEL.check_score(score, "care.adl_score")
    grade = care_scales.grade_for_score(terms.bands, score) if score is not None else None
    expected = terms.day_items
    for i, day in enumerate(care.days):
        if day.items.keys() != expected:
            unknown = sorted(day.items.keys() - expected)
            if unknown:
                raise InvalidRequest(f"care.days[{i}].{unknown[0]}",
                                     f"is not an item of policy {terms.version} (items: {', '.join(sorted(expected))})")
            missing = sorted(expected - day.items.keys())[0]
            raise InvalidRequest(f"care.days[{i}].{missing}", 'is required (use "0.00" for none)')
    groups = care_split(terms, birth_date=req.birth_date, grade=grade, days=((d.date, d.items) for d in care.days))

    lines: list[Line] = []
    fund = eligible = other = ZERO
    total = ZERO
    for g in groups:
        total += g.cost + g.other
        other += g.other
        detail: dict[str, Any] = {"rule": g.name, "days": len(g.dates), "dates": _ranges(g.dates)}
        if g.rule is None:
            detail["grade"] = grade
            lines.append(Line("ltc_no_rule", g.cost, PERSONAL, None, None, detail))
            continue
        r = g.rule
        fund += g.fund
        eligible += g.covered
        detail.update({
            "items": list(r.items),
            "covered": money_str(g.covered),
            "eligible": money_str(g.eligible),
            "cap": money_str(r.cap),
            "cap_parameter": r.cap_parameter,
            "cap_on": r.cap_on,
            "cap_basis": r.cap_basis,
        })
        lines.append(Line(f"ltc_{r.name}", g.fund, FUND, r.rate_parameter, _rate_text(r.rate), detail))
        lines.append(Line(f"ltc_{r.name}_personal", g.cost - g.fund, PERSONAL, r.rate_parameter, None,
                          {"rule": g.name, "days": len(g.dates)}))
    lines.append(Line("other_not_covered", other, PERSONAL, None, None, {"item": OTHER}))
    return QuoteResult(
        region=req.region,
        benefit=req.benefit,
        policy_version=policy.version,
        total=total,
        fund=fund,
        catastrophic=ZERO,
        personal=total - fund,
        lines=lines,
        class_c=total - eligible,
        class_b_copay=ZERO,
        eligible=eligible,
        deductible_paid=ZERO,
    )


# --------------------------------------------------------------------------- periods for the caller


class AssessmentWindow(NamedTuple):
    """An approved assessment as the caller knows it: its handle (an id, a score — anything),
    first and last valid day (inclusive; None = open)."""

    key: Any
    valid_from: dt.date
    valid_to: dt.date | None


class ClaimPeriod(NamedTuple):
    assessment: Any  # the window's key, None for the days without a valid assessment
    days: tuple[dt.date, ...]


def claim_periods(days: Iterable[dt.date], assessments: Iterable[AssessmentWindow]) -> list[ClaimPeriod]:
    """Which days go in which request (contracts/quote.md: one request holds one assessment and
    one month). Each day takes the assessment valid on it that started last (a re-assessment
    supersedes); days with none form their own period (age-only rules); days are grouped by
    calendar month and assessment — not by contiguity, so one assessment's days of a month stay
    one request whatever lies between them. Periods are ordered by their first day."""
    windows = sorted(assessments, key=lambda w: w.valid_from)
    groups: dict[tuple, list[dt.date]] = {}
    for day in sorted(set(days)):
        chosen = None
        for w in windows:
            if w.valid_from <= day and (w.valid_to is None or day <= w.valid_to):
                chosen = w  # later valid_from wins (sorted), a later window of equal start too
        key = (day.year, day.month, id(chosen) if chosen is not None else None)
        slot = groups.get(key)
        if slot is None:
            slot = groups[key] = [chosen, []]
        slot[1].append(day)
    periods = [ClaimPeriod(w.key if w is not None else None, tuple(ds)) for w, ds in groups.values()]
    periods.sort(key=lambda p: p.days[0])
    return periods
