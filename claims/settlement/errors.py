"""Errors of the settlement services; each carries the contract-style error object."""

from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible, QuoteError


class SettlementError(QuoteError):
    code = "settlement_error"


class RunRefused(SettlementError):
    code = "run_refused"


class ReleaseRefused(SettlementError):
    code = "release_refused"


__all__ = ["InvalidRequest", "MissingParameter", "NotEligible", "QuoteError", "ReleaseRefused", "RunRefused",
           "SettlementError"]
