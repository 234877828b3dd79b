"""bed_holding (review): a stay has `idle_days` or more consecutive stay days whose lines are all
of the idle kinds (a stay day with no line at all counts as idle).

Settlements named: the one. Parameters: `fund_security.idle_days` (2),
`fund_security.idle_day_kinds` ([bed, nursing, meal]).

Stay days run from `admitted` to the day before `discharged`; a day surgery has one stay day
(contract "Stays"). Lines dated outside the stay days do not count.

Scale: the idle runs are the gaps between the stay days holding a non-idle line, so a stay costs
its lines, not its days.
"""

from __future__ import annotations

from ._common import Focus, day, judged
from .facts import ONE_DAY, Facts
from .params import IDLE_DAY_KINDS, IDLE_DAYS, Params
from .result import REVIEW, RuleResult

NAME = "bed_holding"
SEVERITIES = frozenset({REVIEW})
PARAMETERS = (IDLE_DAYS, IDLE_DAY_KINDS)


def idle_runs(first, last, busy: set, minimum: int) -> list[tuple]:
    """The runs (start, end, length) of at least `minimum` consecutive days in [first, last] not in `busy`."""
    runs = []
    start = first
    for b in sorted(busy) + [last + ONE_DAY]:
        length = (b - start).days
        if length >= minimum:
            runs.append((start, b - ONE_DAY, length))
        start = b + ONE_DAY
    return runs


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    idle_kinds = params.idle_day_kinds
    minimum = params.idle_days
    kinds_shown = ", ".join(sorted(idle_kinds))
    for s in judged(facts, focus):
        if s.stay_last is None:
            continue
        if s.stay_day_count < minimum:
            continue
        first, last = s.admitted, s.stay_last
        busy = {line.date for line in s.lines if line.kind not in idle_kinds and first <= line.date <= last}
        runs = idle_runs(first, last, busy, minimum)
        if runs:
            shown = "; ".join(f"{day(a)} to {day(b)} ({n} days)" for a, b, n in runs)
            result.add((s.id,), (s.person,),
                       f"{s.id}: stay days {shown} carry only {kinds_shown} lines or none", REVIEW)
    return result
