"""grey_list (block): a `direct` settlement whose service date (`admitted` for stays) lies in a
`grey_list` period.

Settlements named: the one. A manual claim is never refused by this rule (the grey list
suspends direct settlement only); `via` absent is direct. A long-term-care settlement is dated
by its `service_date` (contract "Long-term care dates").
"""

from __future__ import annotations

from ._common import Focus, day, judged
from .facts import Facts
from .params import Params
from .result import BLOCK, RuleResult

NAME = "grey_list"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    persons = facts.persons
    for s in judged(facts, focus):
        if s.via != "direct":
            continue
        person = persons[s.person]
        if not person.grey_list:
            continue
        periods = sorted((p for p in person.grey_list if p.contains(s.day)),
                         key=lambda p: (p.start, p.end is None, p.end))
        if periods:
            period = periods[0]
            end = day(period.end) if period.end else "open end"
            result.add((s.id,), (s.person,),
                       f"{s.id}: settled directly on {day(s.day)}, in the grey-list period "
                       f"{day(period.start)} to {end}", BLOCK)
    return result
