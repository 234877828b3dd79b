"""Refusals of the claims services: each has a stable code (tests, API) and a clerk-readable message."""

from __future__ import annotations

from django.utils.translation import gettext as _


class CaseError(Exception):
    code = "case_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": str(self)}
        if self.field:
            out["field"] = self.field
        return out


class InvalidCase(CaseError):
    code = "invalid"


class InvalidTransition(CaseError):
    code = "invalid_transition"

    def __init__(self, case, to_state: str, *, why: str = ""):
        from .workflow import CaseState

        to_label = CaseState(to_state).label if to_state in CaseState.values else to_state
        super().__init__(_("Case %(case)s is %(state)s: it cannot become %(to)s.")
                         % {"case": case.number, "state": case.get_state_display(), "to": to_label})
        self.from_state = case.state
        self.to_state = to_state
        self.why = why  # which table rule refused it (logs, tests)


class GuardFailed(CaseError):
    """An edge of the case workflow whose condition does not hold (no reviewer, materials missing,
    not covered)."""

    code = "guard_failed"


class ConcurrentChange(CaseError):
    code = "concurrent_change"


class DuplicateInvoice(CaseError):
    code = "duplicate_invoice"

    def __init__(self, issuer: str, number: str, earlier_case: str | None, *, name_case: bool = True):
        if earlier_case and not name_case:
            # Shown to a school: another school's case number is not its business (issue #11, finding 13).
            message = _("Invoice %(issuer)s %(number)s is already claimed by another case.") % {
                "issuer": issuer, "number": number}
            earlier_case = None
        elif earlier_case:
            message = _("Invoice %(issuer)s %(number)s is already claimed in case %(case)s.") % {
                "issuer": issuer, "number": number, "case": earlier_case}
        else:
            message = _("Invoice %(issuer)s %(number)s appears twice.") % {"issuer": issuer, "number": number}
        super().__init__(message, field="invoices")
        self.issuer, self.number = issuer, number
        self.earlier_case = earlier_case


class DuplicateMaternity(CaseError):
    """DOMAIN §4 maternity: the lump sum is not paid twice for the same birth/pregnancy."""

    code = "duplicate_maternity"

    def __init__(self, earlier_case: str, *, name_case: bool = True):
        if name_case:
            message = _("A maternity lump sum for the same birth is already claimed in case %(case)s; add the invoices "
                        "to that case instead.") % {"case": earlier_case}
        else:  # shown to a school: another school's case is not named (issue #11, finding 13)
            message = _("A maternity lump sum for the same birth is already claimed by another case.")
            earlier_case = None
        super().__init__(message, field="case_type")
        self.earlier_case = earlier_case


class FourEyes(CaseError):
    code = "four_eyes"


class FundSecurityBlocked(CaseError):
    """A block rule of fund security (DOMAIN.md §9, contracts/fund-security.md) refuses the payment;
    the message is the rule's reason in Chinese and its evidence (claims.supervision.blocks)."""

    code = "fund_security"


class Recalculated(CaseError):
    """Approval refused because the person's year-to-date figures changed since the case was
    calculated: the case was recalculated on the figures now in force (and stays calculated)."""

    code = "recalculated"


class NotPermitted(CaseError):
    """The acting user's role may not take this step (medins.roles: the permission matrix)."""

    code = "not_permitted"


class MaterialsMissing(CaseError):
    code = "materials_missing"


class NotComputable(CaseError):
    code = "not_computable"

    def __init__(self, message: str, *, detail: dict | None = None):
        super().__init__(message)
        self.detail = detail or {}

    def as_dict(self) -> dict:
        return {**super().as_dict(), "detail": self.detail}
