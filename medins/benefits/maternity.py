"""Maternity (生育) lump sums (DOMAIN.md §4).

- Changchun: vaginal 2250, with episiotomy 2350, caesarean 2750, caesarean with other surgery
  2850 — the provincial-level amounts (``maternity.lump_sum``); the levels they apply to are
  ``maternity.lump_sum_levels``: any other level is a missing parameter, never a guess.
- Jinan: vaginal 1100, assisted vaginal 1350, caesarean 2300 at every level; college students
  also abortion 150 and induced labour 1100 (``maternity.college_student_lump_sum``, from the
  2021 medical year).

The request names the kind of delivery in ``delivery`` (a key of those tables).

Decisions:
- The fund pays the lump sum, but never more than the compliant cost (class A + B): a
  fixed-sum payment does not pay out more than was spent. Class C and the rest are personal.
- The student lump sums apply to the ``college_student`` category only.
- "Not payable twice" (e.g. also through a spouse's employee maternity insurance) is the
  caller's check (the claims app), not the engine's. Two maternity claims of one person are the
  same birth/pregnancy when their service periods overlap or lie less than
  ``maternity.same_pregnancy_days`` apart (42: the puerperium, 产褥期); the claims app reads it
  here (`same_pregnancy_days`), from the policy in force on the new claim's service date.
"""

from __future__ import annotations

from . import params
from .errors import InvalidParameter, InvalidRequest, MissingParameter
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import FUND, PERSONAL, Line, QuoteResult
from .rounding import ZERO, money_str

LUMP_SUM = "maternity.lump_sum"
LEVELS = "maternity.lump_sum_levels"
STUDENT_LUMP_SUM = "maternity.college_student_lump_sum"
SAME_PREGNANCY_DAYS = "maternity.same_pregnancy_days"


def same_pregnancy_days(policy: PolicySnapshot) -> int:
    """The window of the "not payable twice" check, in days (see the decisions above)."""
    return params.whole_number(policy, SAME_PREGNANCY_DAYS)


def _table(policy: PolicySnapshot, key: str) -> dict:
    value = policy.get(key)
    if type(value) is not dict:
        raise InvalidParameter(key, policy.region, policy.date, "expected a mapping of delivery kind to amount")
    return value


def compute_maternity(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    delivery = req.delivery
    tables = [LUMP_SUM]
    if req.category == "college_student" and policy.has(STUDENT_LUMP_SUM):
        tables.append(STUDENT_LUMP_SUM)
    key = next((k for k in tables if delivery in _table(policy, k)), None)
    if key is None:
        known = sorted({d for k in tables for d in _table(policy, k)})
        if policy.has(STUDENT_LUMP_SUM) and delivery in _table(policy, STUDENT_LUMP_SUM):
            raise InvalidRequest("delivery", f"'{delivery}' is paid to college students only")
        raise InvalidRequest("delivery", f"'{delivery}' is not a delivery kind of policy {policy.version} (known: {', '.join(known)})")
    if key == LUMP_SUM and policy.has(LEVELS):
        levels = policy.get(LEVELS)
        if type(levels) is not list:
            raise InvalidParameter(LEVELS, policy.region, policy.date, "expected a list of institution levels")
        if req.level not in levels:
            raise MissingParameter(f"{LUMP_SUM}.{req.level}", policy.region, policy.date)
    lump = params.to_cents(params.check_amount(policy, f"{key}.{delivery}", _table(policy, key)[delivery]))

    bill = req.bill
    compliant = bill.class_a + bill.class_b
    fund = lump if lump < compliant else compliant
    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line("maternity_lump_sum", fund, FUND, key, None,
             {"delivery": delivery, "lump_sum": money_str(lump), "compliant": money_str(compliant)}),
        Line("maternity_personal", compliant - fund, PERSONAL, key),
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
        deductible_paid=ZERO,
    )
