"""The rules' registry and the pure entry point over facts: `run_rules(facts, params, ...)`.

A rule module declares NAME, SEVERITIES (the severities its findings may carry), PARAMETERS
(the `fund_security.*` keys it reads) and `find(facts, params, *, focus)`, returning a
RuleResult. `run_rules` runs the rules asked for, keeps the findings of the severities asked
for, and answers them sorted by rule then settlement ids (contract "Order").

`focus` (a set of settlement ids) serves the nightly job, which passes the day's settlements
together with the history they are compared with: single-settlement rules then judge the
focus only, pair and window rules report only sets holding a focus settlement, and `undecided`
lists focus settlements only. Without it every settlement is judged.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable

from . import (
    bed_holding,
    benefit_twice,
    certification_mismatch,
    duplicate_charge,
    duplicate_invoice,
    excess_prescription,
    grey_list,
    not_covered,
    overlapping_care,
    split_admission,
    third_party_not_deducted,
)
from .facts import Facts
from .params import Params
from .result import SEVERITIES, Outcome

RULES = {m.NAME: m for m in sorted((
    bed_holding, benefit_twice, certification_mismatch, duplicate_charge, duplicate_invoice, excess_prescription,
    grey_list, not_covered, overlapping_care, split_admission, third_party_not_deducted,
), key=lambda m: m.NAME)}


def select_rules(*, severities: Iterable[str] | None = None, rules: Iterable[str] | None = None) -> tuple[str, ...]:
    """The names of the rules to run (sorted): those named in `rules` (default all) that can
    produce a finding of one of `severities` (default both). Unknown names raise ValueError."""
    wanted = set(severities) if severities is not None else set(SEVERITIES)
    if unknown := wanted - SEVERITIES:
        raise ValueError(f"unknown severity {', '.join(sorted(unknown))} (block or review)")
    names = set(rules) if rules is not None else set(RULES)
    if unknown := names - RULES.keys():
        raise ValueError(f"unknown fund-security rule {', '.join(sorted(unknown))}")
    return tuple(n for n in sorted(names) if RULES[n].SEVERITIES & wanted)


def parameters_of(rule_names: Iterable[str]) -> tuple[str, ...]:
    """The `fund_security.*` keys the named rules read."""
    return tuple(dict.fromkeys(key for n in rule_names for key in RULES[n].PARAMETERS))


def run_rules(facts: Facts, params: Params, *, severities: Iterable[str] | None = None,
              rules: Iterable[str] | None = None, focus: Collection[str] | None = None,
              timings: dict[str, list[float]] | None = None) -> Outcome:
    """Findings of the selected rules over the facts (pure: no database, no I/O). `timings`, when
    given, receives each rule's [wall, CPU] seconds under "rule <name>" (the nightly benchmark)."""
    wanted = set(severities) if severities is not None else set(SEVERITIES)
    focus = frozenset(focus) if focus is not None and not isinstance(focus, (set, frozenset)) else focus
    findings = []
    undecided: dict[str, list[str]] = {}
    for name in select_rules(severities=wanted, rules=rules):
        wall, cpu = time.perf_counter(), time.process_time()
        result = RULES[name].find(facts, params, focus=focus)
        if timings is not None:
            spent = timings.setdefault(f"rule {name}", [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
        findings.extend(f for f in result.findings() if f.severity in wanted)
        if result.undecided:
            undecided[name] = sorted(result.undecided)
    findings.sort(key=lambda f: f.sort_key)
    return Outcome(findings=findings, undecided=undecided)
