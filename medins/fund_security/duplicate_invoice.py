"""duplicate_invoice (block): two settlements carry the same `invoice` issuer and number.

Settlements named: the pair. Every pair is reported: three settlements sharing one invoice give
three findings (contract "Pairs").

Decision (the contract is silent): a settlement without an `invoice` has nothing to duplicate;
it is not undecided (the contract's undecided list does not name `invoice`).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

from ._common import Focus, involves, judged
from .facts import Facts
from .params import Params
from .result import BLOCK, RuleResult

NAME = "duplicate_invoice"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    if focus is None:
        for s in facts.settlements:
            if s.invoice is not None:
                groups[s.invoice].append(s)
    else:  # only the invoices of the settlements in focus can make a reported pair
        wanted = {s.invoice for s in judged(facts, focus) if s.invoice is not None}
        for s in facts.settlements:
            if s.invoice in wanted:
                groups[s.invoice].append(s)
    for (issuer, number), group in groups.items():
        if len(group) < 2:
            continue
        group.sort(key=lambda s: s.id)
        for a, b in combinations(group, 2):
            if involves(focus, a.id, b.id):
                result.add((a.id, b.id), (a.person, b.person),
                           f"{a.id} and {b.id} carry invoice {number} of issuer {issuer}", BLOCK)
    return result
