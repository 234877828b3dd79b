"""benefit_twice (block): two `maternity` settlements of one person with the same
`birth_date`; a `two_diseases` and a `chronic` settlement of one person for the same disease on
the same date; two settlements of one person under different benefits, each with a line of the
same date, item and amount.

Settlements named: the pair (every pair, contract "Pairs").

Precise readings (contract "Benefit twice"): "the same date" is equal `service_date`; disease
codes compare as equal strings (两病 and 门规 share `hypertension` and `diabetes`); line amounts
compare as decimals, quantities are not compared.

Undecided: a maternity settlement without `birth_date`, and a `chronic` or `two_diseases`
settlement without `disease`, whether or not a counterpart exists; only that settlement is
added, and it is skipped by the branch that needs the field (the line branch still judges it).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

from ._common import Focus, day, involves
from .facts import Facts, Settlement
from .params import Params
from .result import BLOCK, RuleResult

NAME = "benefit_twice"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def _sorted_pair(a: Settlement, b: Settlement) -> tuple[Settlement, Settlement]:
    return (a, b) if a.id < b.id else (b, a)


def _person(result: RuleResult, settlements: list[Settlement], focus: Focus) -> None:
    births: dict = defaultdict(list)
    by_disease: dict = defaultdict(lambda: ([], []))  # (disease, date) -> (two_diseases, chronic)
    benefits = set()
    for s in settlements:
        benefits.add(s.benefit)
        if s.benefit == "maternity":
            if s.birth_date is None:
                if focus is None or s.id in focus:
                    result.undecided.add(s.id)
            else:
                births[s.birth_date].append(s)
        elif s.benefit in ("two_diseases", "chronic"):
            if s.disease is None:
                if focus is None or s.id in focus:
                    result.undecided.add(s.id)
            else:
                by_disease[(s.disease, s.day)][0 if s.benefit == "two_diseases" else 1].append(s)

    for birth, group in births.items():
        group.sort(key=lambda s: s.id)
        for a, b in combinations(group, 2):
            if involves(focus, a.id, b.id):
                result.add((a.id, b.id), (a.person,),
                           f"{a.id} and {b.id} are maternity settlements for one birth on {day(birth)}", BLOCK)

    for (disease, on), (two, chronic) in by_disease.items():
        for t in two:
            for c in chronic:
                if involves(focus, t.id, c.id):
                    a, b = _sorted_pair(t, c)
                    result.add((a.id, b.id), (a.person,),
                               f"{t.id} (two_diseases) and {c.id} (chronic) both pay {disease} on {day(on)}", BLOCK)

    if len(benefits) < 2:
        return
    lines: dict = defaultdict(lambda: defaultdict(dict))  # (date, item, amount) -> benefit -> {id: settlement}
    if focus is None:
        for s in settlements:
            for line in s.lines:
                lines[(line.date, line.item, line.amount)][s.benefit][s.id] = s
    else:  # only lines matching a line of a settlement in focus can make a reported pair
        wanted = {(line.date, line.item, line.amount) for s in settlements if s.id in focus for line in s.lines}
        for s in settlements:
            for line in s.lines:
                key = (line.date, line.item, line.amount)
                if key in wanted:
                    lines[key][s.benefit][s.id] = s
    for (on, item, amount), per_benefit in lines.items():
        if len(per_benefit) < 2:
            continue
        for (_, group1), (_, group2) in combinations(sorted(per_benefit.items()), 2):
            for x in group1.values():
                for y in group2.values():
                    if involves(focus, x.id, y.id):
                        a, b = _sorted_pair(x, y)
                        result.add((a.id, b.id), (a.person,),
                                   f"{a.id} ({a.benefit}) and {b.id} ({b.benefit}) both carry {item} "
                                   f"of {amount} on {day(on)}", BLOCK)


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    for settlements in facts.by_person().values():
        if focus is not None and not any(s.id in focus for s in settlements):
            continue
        _person(result, settlements, focus)
    return result
