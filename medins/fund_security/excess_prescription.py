"""excess_prescription (review): (a) a `drug` line's `days_supply` above the benefit's maximum;
(b) for each dispensing d of a `drug` to a person, that person's dispensings of that drug dated
from d to d + `supply_window_days` − 1 whose `days_supply` add up to more than
`supply_tolerance` × `supply_window_days`.

Settlements named: (a) the one; (b) the settlements holding those lines (an identical set
reported once; it may be a single settlement holding two dispensings).

Parameters: `fund_security.max_days_supply` ({acute: 7, chronic: 30}; chronic for settlements
of `chronic`, `special_disease`, `special_drug`, `two_diseases`, acute otherwise),
`fund_security.supply_window_days` (30), `fund_security.supply_tolerance` (1.2).

Precise readings (contract "Excess prescriptions", "Undecided"): dispensings of every benefit
count; "more than" is strict (with the 2021 parameters 37 days in 30 fire, 36 do not). A drug
line without `drug` or `days_supply` makes its settlement undecided and is skipped (by both
branches); the settlement's other lines are still judged.

Scale: dispensings grouped by (person, drug) and sorted by date; each window is a bisection and
a difference of prefix sums.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from itertools import accumulate

from ._common import Focus, day, involves, judged
from .facts import CHRONIC_SUPPLY_BENEFITS, Facts
from .params import MAX_DAYS_SUPPLY, SUPPLY_TOLERANCE, SUPPLY_WINDOW_DAYS, Params
from .result import REVIEW, RuleResult

NAME = "excess_prescription"
SEVERITIES = frozenset({REVIEW})
PARAMETERS = (MAX_DAYS_SUPPLY, SUPPLY_WINDOW_DAYS, SUPPLY_TOLERANCE)


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    # (a) one line above the benefit's maximum; undecided lines.
    for s in judged(facts, focus):
        chronic = s.benefit in CHRONIC_SUPPLY_BENEFITS
        limit = params.max_days_supply_chronic if chronic else params.max_days_supply_acute
        over = []
        for line in s.lines:
            if line.kind != "drug":
                continue
            if line.drug is None or line.days_supply is None:
                result.undecided.add(s.id)
            elif line.days_supply > limit:
                over.append(line)
        if over:
            over.sort(key=lambda line: (line.date, line.drug, line.days_supply))
            shown = ", ".join(f"{line.days_supply} days of {line.drug} on {day(line.date)}" for line in over)
            result.add((s.id,), (s.person,),
                       f"{s.id}: {shown}, above the {'chronic' if chronic else 'acute'} maximum of {limit} days",
                       REVIEW)

    # (b) one drug's supplies within a window.
    window = params.supply_window_days
    ceiling = params.supply_tolerance * window
    span = dt.timedelta(days=window - 1)
    wanted = None  # with a focus, only a person's drugs dispensed in a settlement in focus
    if focus is not None:
        wanted = {(s.person, line.drug) for s in judged(facts, focus) for line in s.lines
                  if line.kind == "drug" and line.drug is not None and line.days_supply is not None}
    dispensings: dict[tuple[str, str], list] = defaultdict(list)
    for s in facts.settlements:
        for line in s.lines:
            if line.kind == "drug" and line.drug is not None and line.days_supply is not None:
                key = (s.person, line.drug)
                if wanted is None or key in wanted:
                    dispensings[key].append((line.date, s.id, line.days_supply))
    for (person, drug), rows in dispensings.items():
        if sum(r[2] for r in rows) <= ceiling:
            continue
        rows.sort()
        dates = [r[0] for r in rows]
        prefix = [0, *accumulate(r[2] for r in rows)]
        previous = None
        for i, start in enumerate(dates):
            if start == previous:
                continue  # the window of d includes every dispensing dated d
            previous = start
            j = bisect_right(dates, start + span, lo=i)
            supply = prefix[j] - prefix[i]
            if supply > ceiling:
                ids = sorted({r[1] for r in rows[i:j]})
                if involves(focus, *ids):
                    result.add(ids, (person,),
                               f"{supply} days' supply of {drug} dispensed {day(start)} to {day(start + span)}, "
                               f"above {params.supply_tolerance} × {window} = {ceiling.normalize():f}", REVIEW)
    return result
