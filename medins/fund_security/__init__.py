"""The fund-security rules (DOMAIN.md §9, contracts/fund-security.md): plain facts in, findings out.

One module per rule, named after it, its contract definition as its docstring. Entry points:

- `check(request, *, severities=None, rules=None)`: the contract's request dict (as decoded
  from JSON) to its response dict, reading the region's `fund_security.*` parameters in force on
  `as_of`; raises `InvalidRequest(field, message)` or `MissingParameter`.
- `parse_request(request) -> Facts` and `run_rules(facts, params, *, severities, rules, focus)`
  for callers holding facts built from the database (`Facts.build(...)`, `params_from_policy`).
  `focus` (settlement ids) judges those only, against the rest as history (the nightly job).

Decisions where the contract is silent (each written in its module too):
- a settlement without `invoice` is not undecided under duplicate_invoice (nothing to duplicate);
- a `chronic` or `two_diseases` settlement without `disease` is undecided under benefit_twice as
  well as certification_mismatch (both need it);
- duplicate_charge: a day surgery has one stay day, so one bed day is its limit;
- excess_prescription: a drug line without `drug` or `days_supply` is skipped by both branches;
- ICD-10 categories compare upper-cased; request keys the contract does not name are ignored;
- only the parameters of the rules that run are read (a block-only check needs none).
"""

from ..benefits.errors import InvalidParameter, InvalidRequest, MissingParameter
from .checking import check, check_or_error
from .engine import RULES, parameters_of, run_rules, select_rules
from .facts import Certification, Facts, Line, Period, Person, Settlement
from .params import Params, params_from_policy
from .request import parse_request
from .result import BLOCK, REVIEW, Finding, Outcome, RuleResult

__all__ = [
    "BLOCK", "REVIEW", "RULES", "Certification", "Facts", "Finding", "InvalidParameter", "InvalidRequest", "Line",
    "MissingParameter", "Outcome", "Params", "Period", "Person", "RuleResult", "Settlement", "check",
    "check_or_error", "parameters_of", "params_from_policy", "parse_request", "run_rules", "select_rules",
]
