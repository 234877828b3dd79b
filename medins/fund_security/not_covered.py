"""not_covered (block): the service date (`admitted` for stays; every line date for long-term
care) is in no `covered` period, or after `died`.

Settlements named: the one. A long-term-care settlement's care days are its lines: each line's
date is checked (contract "Long-term care dates"); one with no lines has no day to check.
"""

from __future__ import annotations

from ._common import Focus, day, judged
from .facts import Facts, Person
from .params import Params
from .result import BLOCK, RuleResult

NAME = "not_covered"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def _why(person: Person, d) -> str:
    if person.died is not None and d > person.died:
        return f"after the person's death on {day(person.died)}"
    return "in no coverage period"


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    persons = facts.persons
    for s in judged(facts, focus):
        person = persons[s.person]
        if s.benefit == "long_term_care":
            dates = sorted({line.date for line in s.lines})
            bad = [d for d in dates if not person.covered_on(d)]
            if bad:
                shown = ", ".join(day(d) for d in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
                result.add((s.id,), (s.person,), f"{s.id}: care days {shown} {_why(person, bad[0])}", BLOCK)
        elif not person.covered_on(s.day):
            what = "admitted" if s.is_stay else "service date"
            result.add((s.id,), (s.person,), f"{s.id}: {what} {day(s.day)} {_why(person, s.day)}", BLOCK)
    return result
