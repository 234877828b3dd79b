"""third_party_not_deducted (block): `third_party_paid` > 0 and `fund` > `total` − `third_party_paid`.

Settlements named: the one. An absent `third_party_paid` is 0 (contract "Optional fields").
"""

from __future__ import annotations

from ._common import Focus, judged
from .facts import Facts
from .params import Params
from .result import BLOCK, RuleResult

NAME = "third_party_not_deducted"
SEVERITIES = frozenset({BLOCK})
PARAMETERS: tuple[str, ...] = ()


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    for s in judged(facts, focus):
        paid = s.third_party_paid
        if paid > 0 and s.fund > s.total - paid:
            result.add((s.id,), (s.person,),
                       f"{s.id}: fund {s.fund} exceeds total {s.total} less third-party payment {paid} "
                       f"({s.total - paid})", BLOCK)
    return result
