"""Outpatient pool (门诊统筹), per visit (DOMAIN.md §4).

- Changchun (handbook Q11, Q12; guide table): fund pays 50%, at most 1000 a year; yearly
  deductible by level: 200 secondary (the five district hospitals), 100 primary (community
  centres, township health centres), 0 village clinics. Tertiary hospitals are not
  outpatient-pool institutions: their level has no deductible row, so the quote is refused as
  a missing parameter naming ``outpatient_pool.deductible.<level>``.
- Jinan (seed "03 门诊统筹"): college students at their school clinic, 65%, no deductible,
  at most 500 a year; anyone outside ``outpatient_pool.eligible_categories`` is refused as
  ``not_eligible``.

Parameters: ``outpatient_pool.rate``, ``outpatient_pool.annual_cap``,
``outpatient_pool.deductible`` (by level), ``outpatient_pool.deductible_once_per_year``
(read only when the level's deductible is above zero: Jinan has none and does not define it),
``outpatient_pool.eligible_categories`` (optional: a region that does not restrict the
benefit — Changchun, "参保居民" — does not define it and every category is eligible).

Decisions:
- Class C is personal (fully self-paid). Class A and class B are both compliant cost: no
  class-B co-pay (乙类先行自付) step. Neither seed names one for the outpatient pool; the
  co-pay is an inpatient rule (DOMAIN §3 step 2) and the Changchun pool works on the basic
  drug list ("按照基本药品目录和价格").
- The yearly deductible is carried as an amount: the caller passes what the person already
  paid towards it this year in ``year_to_date.deductible_paid_amount`` (the settlement
  ledger keeps it), and this visit takes at most what is left, at most its compliant cost.
  ``year_to_date.deductible_paid: true`` still means "met in full". A first visit of 60 at a
  secondary hospital therefore pays 60 towards the 200 and the next visit the other 140.
- With ``deductible_once_per_year: false`` the full deductible applies to every visit.
- The cap counts fund payments (``year_to_date.fund_paid``); the excess is personal.
- The catastrophic supplement does not apply (it accumulates inpatient personal payments).
- Out-of-area flags do not apply: the pool is used at the person's local pool institution.
- Rounding: the fund line is rounded half-up to the cent once; personal = total - fund.
- Changchun's shared outpatient total (DOMAIN.md §4.2, 6 500 for chronic + outpatient pool):
  when `chronic.shared_cap_benefits` lists `outpatient_pool`, the fund is also at most
  `chronic.shared_annual_cap` less `year_to_date.shared_fund_paid` (the fund of every sharing
  benefit this year, this one included); the pool's own cap is applied first. A region that
  does not define the shared parameters (Jinan) has no shared total. `pool_split` takes the
  shared figure as an optional keyword (zero when the caller does not pass it, which leaves
  the 1 000 pool cap binding as before).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from . import params
from .chronic import shared_cap
from .errors import InvalidParameter, InvalidRequest, NotEligible
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import FUND, PERSONAL, Line, QuoteResult
from .rounding import ONE, ZERO, money_str, round_money

RATE = "outpatient_pool.rate"
ANNUAL_CAP = "outpatient_pool.annual_cap"
DEDUCTIBLE = "outpatient_pool.deductible"
DEDUCTIBLE_ONCE = "outpatient_pool.deductible_once_per_year"
CATEGORIES = "outpatient_pool.eligible_categories"


def _eligible_categories(policy: PolicySnapshot) -> tuple[str, ...] | None:
    if not policy.has(CATEGORIES):
        return None
    value = policy.get(CATEGORIES)
    if type(value) is not list or not all(type(v) is str for v in value):
        raise InvalidParameter(CATEGORIES, policy.region, policy.date, "expected a list of person categories")
    return tuple(value)


def _deductible(policy: PolicySnapshot, level: str) -> tuple[Decimal, bool]:
    """(the level's deductible, charged once a year?)"""

    def build():
        value = policy.lookup(DEDUCTIBLE, level)
        amount = params.to_cents(params.check_amount(policy, f"{DEDUCTIBLE}.{level}", value))
        once = True
        if amount > 0:
            once = policy.get(DEDUCTIBLE_ONCE)
            if type(once) is not bool:
                raise InvalidParameter(DEDUCTIBLE_ONCE, policy.region, policy.date, "expected true or false")
        return amount, once

    return policy.memo((DEDUCTIBLE, level), build)


class PoolTerms(NamedTuple):
    """The parameters of one policy version for one institution level, read and checked once:
    a batch of visits computes each visit with `pool_split` on these plain values."""

    version: str
    categories: tuple[str, ...] | None
    rate: Decimal
    cap: Decimal
    deductible: Decimal
    once_per_year: bool
    shared_cap: Decimal | None = None  # the shared outpatient total (Changchun 6 500), if the pool shares one


class PoolSplit(NamedTuple):
    already: Decimal  # deductible counted as paid before this visit
    deductible_paid: Decimal  # this visit's share of the deductible
    base: Decimal  # compliant cost after the deductible
    rated: Decimal  # base x rate, rounded (before the annual cap)
    remaining: Decimal  # what the annual cap still allows
    fund: Decimal  # fund-payable after the caps
    shared_remaining: Decimal | None = None  # what the shared outpatient total still allows


def pool_terms(policy: PolicySnapshot, level: str) -> PoolTerms:
    """Every parameter the benefit reads, so a missing one is reported whatever the amounts."""
    categories = _eligible_categories(policy)
    rate = params.rate(policy, RATE)
    cap = params.amount(policy, ANNUAL_CAP)
    deductible, once_per_year = _deductible(policy, level)
    shared = shared_cap(policy, "outpatient_pool")
    return PoolTerms(policy.version, categories, rate, cap, deductible, once_per_year,
                     shared.amount if shared is not None else None)


def check_category(terms: PoolTerms, category: str) -> None:
    if terms.categories is not None and category not in terms.categories:
        raise NotEligible(
            f"person.category: the outpatient pool of policy {terms.version} covers "
            f"{', '.join(terms.categories)}, not {category}"
        )


def pool_split(terms: PoolTerms, eligible: Decimal, fund_paid: Decimal, deductible_paid_amount: Decimal,
               deductible_met: bool = False, *, shared_fund_paid: Decimal = ZERO) -> PoolSplit:
    """The rule's arithmetic on plain values: `eligible` is class A + class B, the others are
    the person's year-to-date accumulators (`shared_fund_paid`: the shared outpatient total's
    fund this year, chronic + pool, read only when the terms have a shared cap)."""
    deductible = terms.deductible
    if not terms.once_per_year:
        already = ZERO
    elif deductible_met:
        already = deductible
    else:
        already = deductible_paid_amount if deductible_paid_amount < deductible else deductible
    left = deductible - already
    deductible_paid = eligible if eligible < left else left
    base = eligible - deductible_paid
    rated = round_money(base * terms.rate)
    remaining = terms.cap - fund_paid
    if remaining < 0:
        remaining = ZERO
    fund = rated if rated <= remaining else remaining
    if terms.shared_cap is None:
        return PoolSplit(already, deductible_paid, base, rated, remaining, fund)
    shared_remaining = terms.shared_cap - shared_fund_paid
    if shared_remaining < 0:
        shared_remaining = ZERO
    if fund > shared_remaining:
        fund = shared_remaining
    return PoolSplit(already, deductible_paid, base, rated, remaining, fund, shared_remaining)


def compute_outpatient_pool(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    # Read every parameter first, so a missing one is reported whatever the amounts.
    terms = pool_terms(policy, req.level)
    check_category(terms, req.category)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the outpatient pool")

    bill = req.bill
    ytd = req.year_to_date
    eligible = bill.class_a + bill.class_b
    split = pool_split(terms, eligible, ytd.fund_paid, ytd.deductible_paid_amount, ytd.deductible_paid,
                       shared_fund_paid=ytd.shared_fund_paid)
    deductible, once_per_year, rate, cap = terms.deductible, terms.once_per_year, terms.rate, terms.cap
    already, deductible_paid, base, fund, remaining = (split.already, split.deductible_paid, split.base,
                                                       split.rated, split.remaining)

    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line(
            "deductible",
            deductible_paid,
            PERSONAL,
            DEDUCTIBLE,
            None,
            {
                "deductible": money_str(deductible),
                "level": req.level,
                "per": "year" if once_per_year else "visit",
                "paid_before": money_str(already),
            },
        ),
        Line("pool_fund", fund, FUND, RATE, rate, {"base": money_str(base)}),
        Line("pool_personal", base - fund, PERSONAL, RATE, ONE - rate, {"base": money_str(base)}),
    ]
    if fund > remaining:
        lines.append(
            Line(
                "fund_annual_cap",
                fund - remaining,
                PERSONAL,
                ANNUAL_CAP,
                None,
                {"cap": money_str(cap), "paid_before": money_str(ytd.fund_paid), "remaining": money_str(remaining)},
            )
        )
        fund = remaining
    if fund > split.fund:
        lines.append(
            Line(
                "shared_annual_cap",
                fund - split.fund,
                PERSONAL,
                "chronic.shared_annual_cap",
                None,
                {"cap": money_str(terms.shared_cap), "paid_before": money_str(ytd.shared_fund_paid),
                 "remaining": money_str(split.shared_remaining)},
            )
        )
        fund = split.fund

    total = bill.total
    return QuoteResult(
        region=req.region,
        benefit=req.benefit,
        policy_version=policy.version,
        total=total,
        fund=fund,
        catastrophic=ZERO,
        personal=total - fund,
        lines=lines,
        class_c=bill.class_c,
        class_b_copay=ZERO,
        eligible=eligible,
        deductible_paid=deductible_paid,
    )
