"""Enrollment services: each a transaction, keyword-only, with `acting_user` (DESIGN.md)."""

from .payments import payment_check, payment_record
from .persons import person_register, person_save
from .stops import person_stop, stop_refund
from .tax_files import (
    payment_file_import,
    payment_import_check,
    payment_import_confirm,
    payment_import_prepare,
    payment_import_store,
    payment_imports_expire,
)

__all__ = [
    "payment_check",
    "payment_record",
    "person_register",
    "person_save",
    "person_stop",
    "stop_refund",
    "payment_file_import",
    "payment_import_prepare",
    "payment_import_confirm",
    "payment_import_check",
    "payment_import_store",
    "payment_imports_expire",
]
