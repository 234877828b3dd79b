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
- Changchun's shared 6500 chronic + outpatient-pool cap is not applied here: the chronic
  benefit does not exist yet and the request carries no chronic accumulator; the 1000 pool
  cap is always the binding one unless chronic use passed 5500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from . import params
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


class PoolSplit(NamedTuple):
    already: Decimal  # deductible counted as paid before this visit
    deductible_paid: Decimal  # this visit's share of the deductible
    base: Decimal  # compliant cost after the deductible
    rated: Decimal  # base x rate, rounded (before the annual cap)
    remaining: Decimal  # what the annual cap still allows
    fund: Decimal  # fund-payable after the cap


def pool_terms(policy: PolicySnapshot, level: str) -> PoolTerms:
    """Every parameter the benefit reads, so a missing one is reported whatever the amounts."""
    categories = _eligible_categories(policy)
    rate = params.rate(policy, RATE)
    cap = params.amount(policy, ANNUAL_CAP)
    deductible, once_per_year = _deductible(policy, level)
    return PoolTerms(policy.version, categories, rate, cap, deductible, once_per_year)


def check_category(terms: PoolTerms, category: str) -> None:
    if terms.categories is not None and category not in terms.categories:
        raise NotEligible(
            f"person.category: the outpatient pool of policy {terms.version} covers "
            f"{', '.join(terms.categories)}, not {category}"
        )


def pool_split(terms: PoolTerms, eligible: Decimal, fund_paid: Decimal, deductible_paid_amount: Decimal,
               deductible_met: bool = False) -> PoolSplit:
    """The rule's arithmetic on plain values: `eligible` is class A + class B, the other two are
    the person's year-to-date accumulators."""
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
    return PoolSplit(already, deductible_paid, base, rated, remaining, rated if rated <= remaining else remaining)


def compute_outpatient_pool(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    # Read every parameter first, so a missing one is reported whatever the amounts.
    terms = pool_terms(policy, req.level)
    check_category(terms, req.category)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the outpatient pool")

    bill = req.bill
    ytd = req.year_to_date
    eligible = bill.class_a + bill.class_b
    split = pool_split(terms, eligible, ytd.fund_paid, ytd.deductible_paid_amount, ytd.deductible_paid)
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
