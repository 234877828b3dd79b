"""Errors the enrollment services raise; `as_dict()` is the API's {"error": {...}} object.

They extend the engine's error family so one handler serves the preview and the services.
"""

from django.utils.translation import gettext_noop

from medins.benefits.errors import InvalidRequest, MissingParameter, NotEligible, QuoteError

from .messages import Msg

__all__ = ["EnrollmentError", "InvalidRequest", "FieldInvalid", "MissingParameter", "NotEligible", "DuplicateReceipt",
           "RefundRefused"]

EnrollmentError = QuoteError


class FieldInvalid(InvalidRequest):
    """InvalidRequest whose message (without the field prefix) is kept as `detail` for the admin."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.detail = message


class DuplicateReceipt(FieldInvalid):
    code = "duplicate_receipt"

    def __init__(self, receipt_number: str):
        message = Msg(gettext_noop("receipt %(receipt)s is already recorded"), receipt=receipt_number)
        super().__init__("receipt_number", message)
        self.receipt_number = receipt_number


class RefundRefused(QuoteError):
    code = "refund_refused"
