"""Errors the enrollment services raise; `as_dict()` is the API's {"error": {...}} object.

They extend the engine's error family so one handler serves the preview and the services.
"""

from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible, QuoteError

__all__ = ["EnrollmentError", "InvalidRequest", "MissingParameter", "NotEligible", "DuplicateReceipt", "RefundRefused"]

EnrollmentError = QuoteError


class DuplicateReceipt(InvalidRequest):
    code = "duplicate_receipt"

    def __init__(self, receipt_number: str):
        super().__init__("receipt_number", f"receipt {receipt_number} is already recorded")
        self.receipt_number = receipt_number


class RefundRefused(QuoteError):
    code = "refund_refused"
