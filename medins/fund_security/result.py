"""Findings and the response of a check (contracts/fund-security.md "Response").

A finding names its rule, severity, the settlements (sorted) and their persons (sorted) and a
line of evidence. One finding per rule and set of settlements: a rule that meets the same set
twice (two matching lines of one pair, a care day on each of three stay days) reports it once,
its evidence the sorted distinct evidence lines joined with "; ".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

BLOCK = "block"
REVIEW = "review"
SEVERITIES = frozenset({BLOCK, REVIEW})


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    settlements: tuple[str, ...]  # sorted
    persons: tuple[str, ...]  # sorted
    evidence: str

    @property
    def sort_key(self) -> tuple:
        return (self.rule, self.settlements)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "settlements": list(self.settlements),
                "persons": list(self.persons), "evidence": self.evidence}


@dataclass
class RuleResult:
    """What one rule found: findings (deduplicated by settlement set) and undecided settlement ids."""

    rule: str
    _found: dict[tuple[str, ...], tuple[str, set[str], set[str]]] = field(default_factory=dict)
    undecided: set[str] = field(default_factory=set)

    def add(self, settlements: Iterable[str], persons: Iterable[str], evidence: str, severity: str) -> None:
        ids = tuple(sorted(set(settlements)))
        entry = self._found.get(ids)
        if entry is None:
            self._found[ids] = (severity, set(persons), {evidence})
        else:
            entry[1].update(persons)
            entry[2].add(evidence)

    def findings(self) -> list[Finding]:
        return [Finding(self.rule, severity, ids, tuple(sorted(persons)), "; ".join(sorted(evidence)))
                for ids, (severity, persons, evidence) in self._found.items()]


@dataclass
class Outcome:
    """All rules' findings, sorted by rule then settlement ids; undecided as rule -> sorted ids."""

    findings: list[Finding]
    undecided: dict[str, list[str]]

    def as_response(self, *, region: str, policy_version: str) -> dict:
        return {"region": region, "policy_version": policy_version,
                "findings": [f.as_dict() for f in self.findings], "undecided": self.undecided}
