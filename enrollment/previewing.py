"""The one enrollment-preview entry point for the command line, the API, the admin and services.

Loads the policy in force on the payment date (decision, issue #3) and calls the pure
`preview.preview`. Reads policy, writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medins.benefits.errors import QuoteError
from medins.selectors import PolicyCache, policy_in_force

from .models import Person
from .preview import Preview, PreviewRequest, memo_key, parse_preview_request, preview


def _policy(region: str, day: dt.date, policies: PolicyCache | None):
    return policy_in_force(region=region, date=day) if policies is None else policies.get(region=region, date=day)


def preview_request(req: PreviewRequest, *, policies: PolicyCache | None = None) -> Preview:
    return preview(req, _policy(req.region, req.payment_date, policies))


class Previewer:
    """`preview_request` for many rows (tax files): one policy snapshot per (region, date) and
    one result per `preview.memo_key`, reused. Errors are not memoised (they are rare)."""

    def __init__(self, policies: PolicyCache | None = None):
        self.policies = policies or PolicyCache()
        self._results: dict[tuple, Preview] = {}

    def __call__(self, req: PreviewRequest) -> Preview:
        policy = _policy(req.region, req.payment_date, self.policies)
        key = memo_key(req, policy)
        if key is None:
            return preview(req, policy)
        result = self._results.get(key)
        if result is None:
            result = self._results[key] = preview(req, policy)
        return result


def preview_contract(data: Any, *, policies: PolicyCache | None = None) -> dict:
    return preview_request(parse_preview_request(data), policies=policies).as_dict()


def preview_or_error(data: Any, *, policies: PolicyCache | None = None) -> tuple[bool, dict]:
    """(ok, body): body is the response, or {"error": {...}} for a refused request."""
    try:
        return True, preview_contract(data, policies=policies)
    except QuoteError as exc:
        return False, {"error": exc.as_dict()}


def person_preview_request(person: Person, *, paid_on: dt.date, newborn_registration: bool = False) -> PreviewRequest:
    """The preview request for a registered person: region, birth date and school from the record."""
    return PreviewRequest(
        region=person.region.code,
        birth_date=person.birth_date,
        payment_date=paid_on,
        school_kind=person.school.kind if person.school_id else None,
        newborn_registration=newborn_registration,
    )
