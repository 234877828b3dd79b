"""Refusals of the certification services: a stable code (tests, API), a clerk-readable message
(English source, zh_Hans in claims/certifications/locale) and, where one input is at fault, its field."""

from __future__ import annotations

from django.utils.translation import gettext as _


class CertificationError(Exception):
    code = "certification_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": str(self)}
        if self.field:
            out["field"] = self.field
        return out


class InvalidApplication(CertificationError):
    """An input is wrong: the person, the disease or drug, an institution, a document."""

    code = "invalid"


class NotEligible(CertificationError):
    """The person or the institution may not have this kind (not insured, wrong level, a 门规 for
    the same disease excludes 两病 …)."""

    code = "not_eligible"


class InvalidTransition(CertificationError):
    code = "invalid_transition"
    http_status = 409

    def __init__(self, certification, to_state: str, *, why: str = ""):
        from .workflow import CertificationState

        to_label = CertificationState(to_state).label if to_state in CertificationState.values else to_state
        super().__init__(_("Certification %(number)s is %(state)s: it cannot become %(to)s.")
                         % {"number": certification.number, "state": certification.get_state_display(), "to": to_label})
        self.from_state = certification.state
        self.to_state = to_state
        self.why = why


class DocumentsMissing(CertificationError):
    code = "documents_missing"


class FourEyes(CertificationError):
    code = "four_eyes"
    http_status = 403


class NotPermitted(CertificationError):
    """The acting user may not take this step: its role, or it is not this application's hospital or school."""

    code = "not_permitted"
    http_status = 403


class AlreadyInForce(CertificationError):
    """Another certification of the same person, kind and disease/drug is in force (DOMAIN.md §5:
    never two)."""

    code = "already_in_force"
    http_status = 409


class ConcurrentChange(CertificationError):
    code = "concurrent_change"
    http_status = 409


class MissingPolicy(CertificationError):
    """A policy parameter the validity needs is missing for the region and date (named)."""

    code = "missing_parameter"
