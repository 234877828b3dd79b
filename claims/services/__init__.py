"""Claims services (DESIGN.md: `<entity>_<action>`, keyword-only, one transaction each)."""

from .batches import BatchFileError, batch_submit, rows_from_file
from .case_types import case_types_load
from .cases import (
    case_approve,
    case_calculate,
    case_details_update,
    case_invoice_add,
    case_invoice_change,
    case_invoice_remove,
    case_lock,
    case_material_mark,
    case_materials_send,
    case_payee_change,
    case_payment_reorder,
    case_receive,
    case_reject,
    case_request_materials,
    case_resubmit,
    case_return_for_review,
    case_start_review,
    case_withdraw,
    service_date_window,
    system_user,
)
from .payments import payment_orders_create, payment_result_import

__all__ = [
    "BatchFileError", "batch_submit", "case_approve", "case_calculate", "case_details_update", "case_invoice_add",
    "case_invoice_change", "case_invoice_remove", "case_lock", "case_material_mark", "case_materials_send", "case_payee_change",
    "case_payment_reorder", "case_receive", "case_reject", "case_request_materials",
    "case_resubmit", "case_return_for_review", "case_start_review", "case_types_load", "case_withdraw",
    "payment_orders_create", "payment_result_import", "rows_from_file", "service_date_window", "system_user",
]
