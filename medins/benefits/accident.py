"""Accidental injury (意外伤害) outpatient/emergency benefit (DOMAIN.md §4).

- Changchun (handbook Q18): minors and students, yearly compliant cost above 100 (exclusive)
  up to 5000 (inclusive) paid at 80%.
- Jinan (seed "04 意外伤害"): deductible 200, 80%, compliant cost counted up to 2000, the cap
  including the personal part.

Both read the same parameters: ``accident.eligible_categories``, ``accident.deductible``,
``accident.eligible_cost_cap``, ``accident.rate``.

Decisions:
- Compliant cost = class A + class B; class C is personal. The accident rule has its own
  ratio, so there is no class-B co-pay step.
- The deductible and the cap count on the person's *yearly* compliant cost (Q18 says 年度内;
  the Jinan seed is silent and is read the same way): the caller passes the compliant cost
  already counted this year in ``year_to_date.eligible_counted``; this bill fills the window
  [deductible, cap] from there. With nothing counted before, it is the per-claim rule.
- A person outside ``accident.eligible_categories`` (Changchun adults) is refused as
  ``not_eligible``, never paid zero silently.
"""

from __future__ import annotations

from . import params
from .errors import InvalidParameter, NotEligible
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import FUND, PERSONAL, Line, QuoteResult
from .rounding import ONE, ZERO, money_str, round_money

CATEGORIES = "accident.eligible_categories"
DEDUCTIBLE = "accident.deductible"
CAP = "accident.eligible_cost_cap"
RATE = "accident.rate"


def compute_accident(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    categories = policy.get(CATEGORIES)
    if type(categories) is not list:
        raise InvalidParameter(CATEGORIES, policy.region, policy.date, "expected a list of person categories")
    deductible = params.amount(policy, DEDUCTIBLE)
    cap = params.amount(policy, CAP)
    rate = params.rate(policy, RATE)
    if req.category not in categories:
        raise NotEligible(
            f"accident benefit of policy {policy.version} covers {', '.join(categories)}, not {req.category}"
        )

    bill = req.bill
    compliant = bill.class_a + bill.class_b
    before = req.year_to_date.eligible_counted
    after = before + compliant
    start = before if before > deductible else deductible
    end = after if after < cap else cap
    base = end - start if end > start else ZERO
    below = ZERO  # part of this bill under the yearly deductible
    if before < deductible:
        below = (after if after < deductible else deductible) - before
    above_cap = ZERO  # part of this bill over the yearly cap
    if after > cap:
        above_cap = after - (before if before > cap else cap)
    fund = round_money(base * rate)
    window = {"counted_before": money_str(before), "deductible": money_str(deductible), "cap": money_str(cap)}
    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line("accident_deductible", below, PERSONAL, DEDUCTIBLE, None, window),
        Line("accident_above_cap", above_cap, PERSONAL, CAP, None, {"cap": money_str(cap)}),
        Line("accident_fund", fund, FUND, RATE, rate, {"base": money_str(base), "from": money_str(start),
                                                       "to": money_str(end if end > start else start)}),
        Line("accident_personal", base - fund, PERSONAL, RATE, ONE - rate, {"base": money_str(base)}),
    ]
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
        eligible=compliant,
        deductible_paid=below,
    )
