"""The one quote entry point shared by the command line, the REST API, the admin and jobs.

Reads policy, writes nothing (quote contract). Returns the contract's response dict or raises
a QuoteError whose ``as_dict()`` is the contract's error object.
"""

from __future__ import annotations

from typing import Any

from .benefits import compute, parse_quote_request
from .benefits.errors import QuoteError
from .selectors import PolicyCache, policy_in_force


def quote(data: Any, *, policies: PolicyCache | None = None) -> dict:
    req = parse_quote_request(data)
    if policies is None:
        policy = policy_in_force(region=req.region, date=req.service_date)
    else:
        policy = policies.get(region=req.region, date=req.service_date)
    return compute(req, policy).as_dict()


def quote_or_error(data: Any, *, policies: PolicyCache | None = None) -> tuple[bool, dict]:
    """(ok, body): body is the response, or {"error": {...}} for a refused request."""
    try:
        return True, quote(data, policies=policies)
    except QuoteError as exc:
        return False, {"error": exc.as_dict()}
