"""split_admission (review): stays A then B of one person at the same institution, B `admitted`
0–15 days after A `discharged`, same first three characters of `diagnosis`, neither diagnosis's
first three characters in the planned-cycle list, B not a `transfer`.

Settlements named: the pair. Parameters: `fund_security.split_admission_days` (15),
`fund_security.planned_cycle_diagnoses` ([Z49, Z51]).

Precise readings (contract "Stays", "Undecided"): day surgery counts as a stay; "0–15 days
after" means 0 ≤ B.`admitted` − A.`discharged` ≤ 15 calendar days; only B's `transfer` matters.
Every stay without a `diagnosis` is undecided (whether or not a counterpart exists) and skipped.
Diagnoses compare by their first three characters, upper-cased (ICD-10 categories).

Scale: stays grouped by (person, institution, category), sorted by discharge; each B finds its
As by bisecting the discharge dates.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict

from ._common import Focus, involves
from .facts import Facts, Settlement
from .params import PLANNED_CYCLE_DIAGNOSES, SPLIT_ADMISSION_DAYS, Params
from .result import REVIEW, RuleResult

NAME = "split_admission"
SEVERITIES = frozenset({REVIEW})
PARAMETERS = (SPLIT_ADMISSION_DAYS, PLANNED_CYCLE_DIAGNOSES)


def category(diagnosis: str) -> str:
    return diagnosis.strip()[:3].upper()


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    window = dt.timedelta(days=params.split_admission_days)
    planned = params.planned_cycle_diagnoses
    groups: dict[tuple, list[Settlement]] = defaultdict(list)
    for stays in facts.stays_by_person().values():
        if focus is not None and not any(s.id in focus for s in stays):
            continue  # no stay of this person in focus: no pair to report, nothing undecided
        for s in stays:
            if s.diagnosis is None:
                if focus is None or s.id in focus:
                    result.undecided.add(s.id)
                continue
            cat = category(s.diagnosis)
            if cat not in planned:
                groups[(s.person, s.institution, cat)].append(s)
    for (person, _institution, cat), stays in groups.items():
        if len(stays) < 2:
            continue
        stays.sort(key=lambda s: (s.discharged, s.id))
        discharges = [s.discharged for s in stays]
        for b in stays:
            if b.transfer:
                continue
            lo = bisect_left(discharges, b.admitted - window)
            hi = bisect_right(discharges, b.admitted)
            for a in stays[lo:hi]:
                if a is b or not involves(focus, a.id, b.id):
                    continue
                gap = (b.admitted - a.discharged).days
                result.add((a.id, b.id), (person,),
                           f"{b.id} admitted {gap} days after {a.id}'s discharge, same institution, {cat}", REVIEW)
    return result
