"""duplicate_charge (review): in one stay, `bed` lines of one date with total quantity above 1,
or `bed` quantity in all above the number of stay days (`discharged` − `admitted`).

Settlements named: the one.

Decision: a day surgery (`admitted` equal to `discharged`) has one stay day (contract "Stays"),
so one bed day there is no duplicate; every other stay has `discharged` − `admitted` days.
Bed lines count on every date, inside the stay days or not.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ._common import Focus, day, judged
from .facts import Facts
from .params import Params
from .result import REVIEW, RuleResult

NAME = "duplicate_charge"
SEVERITIES = frozenset({REVIEW})
PARAMETERS: tuple[str, ...] = ()
ONE = Decimal(1)


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    for s in judged(facts, focus):
        if s.stay_last is None:
            continue
        per_day: dict = defaultdict(Decimal)
        for line in s.lines:
            if line.kind == "bed":
                per_day[line.date] += line.quantity
        if not per_day:
            continue
        reasons = [f"{q.normalize():f} bed days charged on {day(d)}" for d, q in sorted(per_day.items()) if q > ONE]
        total = sum(per_day.values())
        if total > s.stay_day_count:
            reasons.append(f"{total.normalize():f} bed days charged for {s.stay_day_count} stay days")
        if reasons:
            result.add((s.id,), (s.person,), f"{s.id}: " + ", ".join(reasons), REVIEW)
    return result
