"""certification_mismatch (block): a `chronic`, `special_disease`, `special_drug` or
`two_diseases` settlement without a certification of that benefit and disease (drug) valid on
the service date at its institution (or a listed dispensing institution).

Settlements named: the one. The settlement's `disease` (its `drug` for a special drug) is
optional: when it is absent the rule cannot decide, adds the settlement to `undecided` and
skips it (contract "Undecided"). Long-term care is not judged (contract "Long-term care dates").
"""

from __future__ import annotations

from ._common import Focus, day, judged
from .facts import CERTIFIED_BENEFITS, Facts
from .params import Params
from .result import BLOCK, RuleResult

NAME = "certification_mismatch"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    persons = facts.persons
    for s in judged(facts, focus):
        if s.benefit not in CERTIFIED_BENEFITS:
            continue
        subject = s.drug if s.benefit == "special_drug" else s.disease
        if subject is None:
            result.undecided.add(s.id)
            continue
        certs = [c for c in persons[s.person].certifications if c.benefit == s.benefit and c.subject == subject]
        if any(c.valid_on(s.day) and c.serves(s.institution) for c in certs):
            continue
        what = "drug" if s.benefit == "special_drug" else "disease"
        if not certs:
            why = "no certification at all"
        elif not any(c.valid_on(s.day) for c in certs):
            why = "no certification valid on that day"
        else:
            why = "the certification valid that day names another institution"
        result.add((s.id,), (s.person,),
                   f"{s.id}: {s.benefit} for {what} {subject} at {s.institution} on {day(s.day)}: {why}", BLOCK)
    return result
