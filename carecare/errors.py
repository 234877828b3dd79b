"""Refusals of the long-term care services: a stable code (tests, API), a clerk-readable message
and, for a bad value, the field (an assessment item names itself)."""

from __future__ import annotations

from django.utils.translation import gettext as _


class CareError(Exception):
    code = "care_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": str(self)}
        if self.field:
            out["field"] = self.field
        return out


class InvalidAssessment(CareError):
    code = "invalid"


class InvalidTransition(CareError):
    code = "invalid_transition"

    def __init__(self, assessment, to_state: str, *, why: str = ""):
        from .models import AssessmentState

        to_label = AssessmentState(to_state).label if to_state in AssessmentState.values else to_state
        super().__init__(_("Assessment %(pk)s is %(state)s: it cannot become %(to)s.")
                         % {"pk": assessment.pk, "state": assessment.get_state_display(), "to": to_label})
        self.from_state = assessment.state
        self.to_state = to_state
        self.why = why


class GuardFailed(CareError):
    code = "guard_failed"


class FourEyes(CareError):
    code = "four_eyes"


class NotPermitted(CareError):
    code = "not_permitted"


class ConcurrentChange(CareError):
    code = "concurrent_change"


class InvalidStay(CareError):
    code = "invalid_stay"


class InvalidClaim(CareError):
    """A claim that cannot be read (bad values, days outside the month): nothing is written; the
    `errors` list every problem with its row (resident / file line) and field."""

    code = "invalid_claim"

    def __init__(self, message: str, *, field: str | None = None, errors: list | None = None):
        super().__init__(message, field=field)
        self.errors = errors or []

    def as_dict(self) -> dict:
        out = super().as_dict()
        if self.errors:
            out["errors"] = self.errors
        return out


class ClaimConflict(CareError):
    """Another claim for a home and month that is already checked or decided."""

    code = "claim_conflict"


class InvalidClaimTransition(CareError):
    code = "invalid_transition"

    def __init__(self, claim, to_state: str, *, why: str = ""):
        from .models import CareClaimState

        to_label = CareClaimState(to_state).label if to_state in CareClaimState.values else to_state
        super().__init__(_("Claim %(number)s is %(state)s: it cannot become %(to)s.")
                         % {"number": claim.number, "state": claim.get_state_display(), "to": to_label})
        self.from_state = claim.state
        self.to_state = to_state
        self.why = why


class Recalculated(CareError):
    """At approval the claim's facts or figures had changed: the new figures are saved, the claim
    stays checked, and the approver looks again."""

    code = "recalculated"
