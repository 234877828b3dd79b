"""Errors of the settlement services; each carries the contract-style error object."""

from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible, QuoteError


class SettlementError(QuoteError):
    code = "settlement_error"


class RunRefused(SettlementError):
    code = "run_refused"


class ReleaseRefused(SettlementError):
    code = "release_refused"


class ConcurrentChange(InvalidRequest):
    """Something this batch read changed before it was written: nothing was saved, send it again
    (HTTP 409)."""

    code = "concurrent_change"


__all__ = ["ConcurrentChange", "InvalidRequest", "MissingParameter", "NotEligible", "QuoteError", "ReleaseRefused", "RunRefused",
           "SettlementError"]
