"""The arithmetic shared by the certified outpatient benefits (DOMAIN.md §4.1–4.4).

`chronic`, `special_disease`, `special_drug` and `two_diseases` all run the same steps on one
visit's lines; what differs is data, read once into `Terms` by each benefit's `*_terms`:

1. class C is personal;
2. a first self-pay share is personal: the class-B co-pay (special disease: 10% of B; chronic,
   两病: 0), or the special drug's group rate on the whole drug amount (A + B), which replaces
   the class-B co-pay; eligible = A + B - that share;
3. a once-a-year deductible, carried as an amount (`year_to_date.deductible_paid_amount`; the
   flag `deductible_paid: true` means met in full): this visit pays what is left of it, at most
   its eligible amount;
4. the eligible amount above the deductible is paid in bands counted on the **year's cumulative
   eligible amount** of the benefit (`year_to_date.eligible_counted`; the visit occupies
   [counted, counted + eligible] on that axis, its first `deductible` of it unpaid); a flat
   ratio is one open band;
5. yearly fund caps, in order, each against its own year-to-date figure (the benefit's or the
   disease's own cap, the cap shared with inpatient, the shared outpatient total): the fund is
   the smallest of the banded amount and every cap's room; the excess is personal;
6. personal = total - fund. No catastrophic supplement (it is for 住院费, DOMAIN.md §4.1).

Rounding: the first self-pay share and each band's fund are rounded half-up to the cent once;
every other figure is a sum or difference of rounded figures, so fund + personal == total.

Fast path for batch work (visit ingestion): build the benefit's `Terms` once per service date
(and institution level, person group, disease or drug), then call

    split(terms, class_a, class_b, ytd) -> Split

per visit, where `ytd` is any object with the `year_to_date` attributes the terms' caps name
(`medins.benefits.request.YearToDate` will do: fund_paid, shared_fund_paid, disease_fund_paid,
eligible_counted, deductible_paid_amount, deductible_paid). `split(...).fund` is the figure
`compute` answers; `split(...).first_copay`, `.eligible`, `.deductible_paid` are the ledger's
other inputs (`claims/ledger/keys.entry_figures`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from . import params
from .errors import InvalidParameter, InvalidRequest, MissingParameter, NotEligible
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import FUND, PERSONAL, Line, QuoteResult
from .rounding import ONE, ZERO, money_str, round_money

Band = tuple[Decimal | None, Decimal]  # (upper limit on the cumulative axis or None, ratio)


class Cap(NamedTuple):
    step: str  # the line's step name, e.g. "disease_annual_cap"
    ytd_field: str  # the year_to_date attribute the room is measured against
    amount: Decimal
    parameter: str


class Terms(NamedTuple):
    """Everything one visit's arithmetic needs, read and checked from the policy once."""

    benefit: str
    version: str
    first_rate: Decimal | None  # None: the parameter is missing; refused when the base is not zero
    first_on_class_a: bool  # the first self-pay applies to A + B (special drug), else to B only
    first_step: str
    first_parameter: str
    deductible: Decimal
    deductible_parameter: str
    deductible_detail: dict[str, Any]
    bands: tuple[Band, ...]
    bands_parameter: str
    caps: tuple[Cap, ...]
    first_missing: MissingParameter | None = None
    detail: dict[str, Any] | None = None  # echoed on the fund lines (disease, drug, group, ...)


class BandPart(NamedTuple):
    number: int
    start: Decimal  # on the year's cumulative eligible axis
    end: Decimal
    base: Decimal
    rate: Decimal
    paid: Decimal


class CapCut(NamedTuple):
    cap: Cap
    paid_before: Decimal
    remaining: Decimal
    cut: Decimal


class Split(NamedTuple):
    first_copay: Decimal
    eligible: Decimal
    deductible_before: Decimal
    deductible_paid: Decimal
    bands: tuple[BandPart, ...]
    rated: Decimal  # the banded fund before the caps
    cuts: tuple[CapCut, ...]
    fund: Decimal


def split(terms: Terms, class_a: Decimal, class_b: Decimal, ytd: Any) -> Split:
    """Steps 2-5 on plain values (see the module docstring)."""
    base = class_a + class_b if terms.first_on_class_a else class_b
    if terms.first_rate is None:
        if base:
            raise terms.first_missing
        first = ZERO
    else:
        first = round_money(base * terms.first_rate)
    eligible = class_a + class_b - first

    deductible = terms.deductible
    if ytd.deductible_paid:
        before = deductible
    else:
        before = ytd.deductible_paid_amount if ytd.deductible_paid_amount < deductible else deductible
    left = deductible - before
    due = eligible if eligible < left else left

    counted = ytd.eligible_counted
    start = counted + due
    end = counted + eligible
    parts = []
    rated = ZERO
    lower = ZERO
    for number, (upto, rate) in enumerate(terms.bands, 1):
        s = lower if lower > start else start
        e = end if upto is None or upto > end else upto
        if e > s:
            amount = e - s
            paid = round_money(amount * rate)
            rated += paid
            parts.append(BandPart(number, s, e, amount, rate, paid))
        if upto is None or upto >= end:
            break
        lower = upto

    fund = rated
    cuts = []
    for cap in terms.caps:
        paid_before = getattr(ytd, cap.ytd_field)
        remaining = cap.amount - paid_before
        if remaining < 0:
            remaining = ZERO
        if fund > remaining:
            cuts.append(CapCut(cap, paid_before, remaining, fund - remaining))
            fund = remaining
    return Split(first, eligible, before, due, tuple(parts), rated, tuple(cuts), fund)


def result(req: QuoteRequest, terms: Terms, s: Split) -> QuoteResult:
    """The contract response of one visit from its split, with a line per step."""
    bill = req.bill
    detail = terms.detail or {}
    first_base = bill.class_a + bill.class_b if terms.first_on_class_a else bill.class_b
    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line(terms.first_step, s.first_copay, PERSONAL, terms.first_parameter, terms.first_rate,
             {"base": money_str(first_base)}),
        Line("deductible", s.deductible_paid, PERSONAL, terms.deductible_parameter, None,
             {"deductible": money_str(terms.deductible), "per": "year", "paid_before": money_str(s.deductible_before),
              **terms.deductible_detail}),
    ]
    for part in s.bands:
        band = {"band": part.number, "from": money_str(part.start), "to": money_str(part.end),
                "base": money_str(part.base), **detail}
        lines.append(Line("band_fund", part.paid, FUND, terms.bands_parameter, part.rate, band))
        lines.append(Line("band_personal", part.base - part.paid, PERSONAL, terms.bands_parameter, ONE - part.rate,
                          {"band": part.number}))
    for cut in s.cuts:
        lines.append(Line(cut.cap.step, cut.cut, PERSONAL, cut.cap.parameter, None,
                          {"cap": money_str(cut.cap.amount), "paid_before": money_str(cut.paid_before),
                           "remaining": money_str(cut.remaining)}))
    total = bill.total
    return QuoteResult(
        region=req.region,
        benefit=req.benefit,
        policy_version=terms.version,
        total=total,
        fund=s.fund,
        catastrophic=ZERO,
        personal=total - s.fund,
        lines=lines,
        class_c=bill.class_c,
        class_b_copay=s.first_copay,
        eligible=s.eligible,
        deductible_paid=s.deductible_paid,
    )


# --------------------------------------------------------------------------- parameter reads


def choices(policy: PolicySnapshot, key: str) -> tuple[str, ...]:
    """A list-of-codes parameter (levels, disease codes)."""
    def build():
        value = policy.get(key)
        if type(value) is not list or not all(type(v) is str for v in value):
            raise InvalidParameter(key, policy.region, policy.date, "expected a list of codes")
        return tuple(value)

    return policy.memo(("choices", key), build)


def check_level(policy: PolicySnapshot, key: str, level: str, what: str) -> None:
    """A level the benefit does not admit is `not_eligible` (DOMAIN.md §4)."""
    levels = choices(policy, key)
    if level not in levels:
        raise NotEligible(f"institution.level: {what} of policy {policy.version} is paid at {', '.join(levels)}, "
                          f"not at {level} ({key})")


def flag(policy: PolicySnapshot, key: str) -> bool:
    value = policy.get(key)
    if type(value) is not bool:
        raise InvalidParameter(key, policy.region, policy.date, "expected true or false")
    return value


def rate_group(policy: PolicySnapshot, category: str) -> str:
    group = policy.lookup("inpatient.category_group", category)
    if type(group) is not str:
        raise InvalidParameter(f"inpatient.category_group.{category}", policy.region, policy.date,
                               "expected a group name")
    return group


def inpatient_deductible(policy: PolicySnapshot, level: str, group: str) -> Decimal:
    key = "inpatient.deductible"

    def build():
        policy.lookup(key, level)
        return params.to_cents(params.check_amount(policy, f"{key}.{level}.{group}", policy.lookup(key, level, group)))

    return policy.memo((key, level, group), build)


def inpatient_bands(policy: PolicySnapshot, level: str, group: str) -> tuple[Band, ...]:
    key = "inpatient.bands"
    return policy.memo(("certified_bands", level, group),
                       lambda: params.bands(policy, f"{key}.{level}", policy.lookup(key, level), group))


def amount_at(policy: PolicySnapshot, key: str, *path: str) -> Decimal:
    """A nested amount parameter (e.g. a cap by disease), named by its full path when missing or malformed."""
    return policy.memo(("amount_at", key, *path), lambda: params.to_cents(
        params.check_amount(policy, ".".join((key, *path)), policy.lookup(key, *path))))


def catalogue_entry(policy: PolicySnapshot, kind: str, code: str, field: str, what: str):
    entry = policy.catalogue_item(kind, code)
    if entry is None:
        raise InvalidRequest(field, f"'{code}' is not {what} of the {policy.region} catalogue on {policy.date}")
    return entry
