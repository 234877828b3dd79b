"""`check(request)`: the contract's request dict in, its response dict out (contracts/fund-security.md).

The one entry point shared by the `fund_security_check` command and the services that commit
money (block rules) or run the nightly review. It reads the policy in force for the request's
region on `as_of` (through medins.selectors, imported here only, so the rules stay pure) and
writes nothing. Refusals are the quote engine's errors: `InvalidRequest` (field named) and
`MissingParameter` (parameter, region and date named), both with `as_dict()`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from .engine import parameters_of, run_rules, select_rules
from .params import params_from_policy
from .request import parse_request


def check(request: Any, *, severities: Iterable[str] | None = None, rules: Iterable[str] | None = None,
          policies=None, focus: Collection[str] | None = None) -> dict:
    """The contract's response for one request.

    - `severities`: e.g. {"block"} keeps the rules, and of overlapping_care the findings, of
      those severities (default both);
    - `rules`: rule names to run (default all);
    - `policies`: a medins.selectors.PolicyCache for batch callers (default: one lookup);
    - `focus`: settlement ids to judge, the others being history (see engine.run_rules).

    Raises InvalidRequest or MissingParameter (medins.benefits.errors).
    """
    facts = parse_request(request)
    selected = select_rules(severities=severities, rules=rules)
    if policies is None:
        from ..selectors import policy_in_force

        policy = policy_in_force(region=facts.region, date=facts.as_of)
    else:
        policy = policies.get(region=facts.region, date=facts.as_of)
    params = params_from_policy(policy, parameters_of(selected))
    outcome = run_rules(facts, params, severities=severities, rules=selected, focus=focus)
    return outcome.as_response(region=facts.region, policy_version=policy.version)


def check_or_error(request: Any, *, policies=None) -> tuple[bool, dict]:
    """(ok, body): the response, or {"error": {...}} for a refused request (as quote_or_error)."""
    from ..benefits.errors import QuoteError

    try:
        return True, check(request, policies=policies)
    except QuoteError as exc:
        return False, {"error": exc.as_dict()}
