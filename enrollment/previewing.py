"""The one enrollment-preview entry point for the command line, the API, the admin and services.

Hands the pure `preview.preview` a policy lookup (date -> snapshot): the preview asks it for the
policy of the benefit year the payment buys (DOMAIN §1, `preview.benefit_policy`), not for the
version in force on the payment date. Reads policy, writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medins.benefits.errors import QuoteError
from medins.benefits.policy import PolicySnapshot
from medins.selectors import PolicyCache, policy_in_force

from .models import Person
from .preview import PolicyLookup, Preview, PreviewRequest, memo_key, parse_preview_request, preview


def policy_lookup(region: str, policies: PolicyCache | None = None) -> PolicyLookup:
    """date -> the region's policy snapshot in force on that date (MissingParameter when none)."""
    if policies is None:
        return lambda day: policy_in_force(region=region, date=day)
    return lambda day: policies.get(region=region, date=day)


def preview_request(req: PreviewRequest, *, policies: PolicyCache | None = None) -> Preview:
    return preview(req, policy_lookup(req.region, policies))


class Previewer:
    """`preview_request` for many rows (tax files): one benefit-year policy per (region, payment
    date) and one result per `preview.memo_key`, reused. Errors are not memoised (they are rare)."""

    def __init__(self, policies: PolicyCache | None = None):
        self.policies = policies or PolicyCache()
        self._results: dict[tuple, Preview] = {}
        self._resolved: dict[tuple, PolicySnapshot] = {}

    def _lookup(self, region: str) -> PolicyLookup:
        def policy_on(day: dt.date) -> PolicySnapshot:
            snap = self._resolved.get((region, day))
            if snap is None:
                snap = self._resolved[(region, day)] = self.policies.get(region=region, date=day)
            return snap
        return policy_on

    def __call__(self, req: PreviewRequest) -> Preview:
        lookup = self._lookup(req.region)
        key = memo_key(req, lookup)
        if key is None:
            return preview(req, lookup)
        result = self._results.get(key)
        if result is None:
            result = self._results[key] = preview(req, lookup)
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
