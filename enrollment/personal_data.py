"""Full ID numbers and bank accounts only for roles with `enrollment.reveal_personal_data`
(DESIGN "Personal data"; issue #11 finding 9): helpers for the admin pages that show them."""

from __future__ import annotations

import csv
import io

from simple_history.template_utils import HistoricalRecordContextHelper

from .idnumber import mask

REVEAL = "enrollment.reveal_personal_data"
# Fields holding personal data, whatever the model: masked in history diffs and files.
PERSONAL_FIELDS = frozenset({"id_number", "bank_account"})


def may_reveal(user) -> bool:
    return bool(user and user.has_perm(REVEAL))


def mask_csv_columns(content: str, columns=PERSONAL_FIELDS) -> str:
    """A CSV text with the values of the personal-data columns masked (header kept)."""
    rows = list(csv.reader(io.StringIO(content)))
    if not rows:
        return content
    masked = {i for i, name in enumerate(rows[0]) if name.strip() in columns}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([mask(v) if i in masked else v for i, v in enumerate(row)])
    return out.getvalue()


class _MaskingContextHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        if change.field in PERSONAL_FIELDS and isinstance(value, str):
            return mask(value)
        return super().prepare_delta_change_value(change, value)


class MaskedHistoryMixin:
    """For a SimpleHistoryAdmin: the history list's diffs mask personal data for a user without
    the reveal permission (a past version's page shows the fields the change page shows)."""

    def get_historical_record_context_helper(self, request, historical_record):
        if may_reveal(request.user):
            return super().get_historical_record_context_helper(request, historical_record)
        return _MaskingContextHelper(self.model, historical_record)
