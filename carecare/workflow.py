"""The long-term care assessment workflow (DOMAIN.md §7): the one transitions table.

requested → assessed (initial assessment, 初评) → reassessed (on-site re-assessment, 现场复评)
→ under_review → approved | rejected; an approved assessment becomes superseded when a later one
of the same person is approved. Every change goes through one service of
``carecare.services.assessments`` which may take only the edges this table gives to its name
(medins.workflow); the admin's buttons come from the same table.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from medins.workflow import Record, Workflow

from .models import AssessmentState

S = AssessmentState
OPEN = (S.REQUESTED, S.ASSESSED, S.REASSESSED, S.UNDER_REVIEW)

TRANSITIONS: dict[tuple[str, str], str] = {
    ("", S.REQUESTED): "assessment_request",
    (S.REQUESTED, S.ASSESSED): "assessment_assess",
    (S.ASSESSED, S.REASSESSED): "assessment_reassess",
    (S.REASSESSED, S.UNDER_REVIEW): "assessment_review_start",
    (S.UNDER_REVIEW, S.APPROVED): "assessment_approve",
    # the person's previous approved assessment, superseded by the one being approved
    (S.APPROVED, S.SUPERSEDED): "assessment_approve",
    **{(state, S.REJECTED): "assessment_reject" for state in OPEN},
}

TERMINAL = frozenset({S.REJECTED, S.SUPERSEDED})


def _refuse(assessment, to_state: str, why: str) -> Exception:
    from .errors import InvalidTransition

    return InvalidTransition(assessment, to_state, why=why)


def _stale(assessment, to_state: str) -> Exception:
    from .errors import ConcurrentChange

    return ConcurrentChange(_("The assessment was changed by someone else; reload it."))


ASSESSMENTS = Workflow(
    name="care assessment", transitions=TRANSITIONS,
    record=Record(model="carecare.AssessmentTransition", subject="assessment", actor="actor", reason="reason"),
    refuse=_refuse, stale=_stale, guard="carecare.services.assessments.assessment_guard",
)

# Work queues of the admin: name -> (label, states).
QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "to_assess": (_("To assess (initial)"), (S.REQUESTED,)),
    "to_reassess": (_("To re-assess on site"), (S.ASSESSED,)),
    "to_review": (_("To review"), (S.REASSESSED,)),
    "to_approve": (_("To approve"), (S.UNDER_REVIEW,)),
    "closed": (_("Decided"), (S.APPROVED, S.REJECTED, S.SUPERSEDED)),
}


# ------------------------------------------------------------------------------ monthly care claims

from .models import CareClaimState  # noqa: E402  (kept beside its table)

C = CareClaimState

# received → checked (a clerk) → approved (a second clerk: four eyes) → payment ordered | rejected.
# A corrected resend before checking, and a resend after rejection, receive the claim again
# (received → received, rejected → received): one claim per home and month, every send recorded.
CLAIM_TRANSITIONS: dict[tuple[str, str], str] = {
    ("", C.RECEIVED): "care_claim_receive",
    (C.RECEIVED, C.RECEIVED): "care_claim_receive",
    (C.REJECTED, C.RECEIVED): "care_claim_receive",
    (C.RECEIVED, C.CHECKED): "care_claim_check",
    (C.CHECKED, C.APPROVED): "care_claim_approve",
    (C.APPROVED, C.PAYMENT_ORDERED): "care_claim_order_payment",
    (C.RECEIVED, C.REJECTED): "care_claim_reject",
    (C.CHECKED, C.REJECTED): "care_claim_reject",
}


def _claim_refuse(claim, to_state: str, why: str) -> Exception:
    from .errors import InvalidClaimTransition

    return InvalidClaimTransition(claim, to_state, why=why)


def _claim_stale(claim, to_state: str) -> Exception:
    from .errors import ConcurrentChange

    return ConcurrentChange(_("The claim was changed by someone else; reload it."))


CARE_CLAIMS = Workflow(
    name="care claim", transitions=CLAIM_TRANSITIONS,
    record=Record(model="carecare.CareClaimTransition", subject="claim", actor="actor", reason="reason"),
    refuse=_claim_refuse, stale=_claim_stale, guard="carecare.services.claims.care_claim_guard",
)

CLAIM_QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "to_check": (_("To check"), (C.RECEIVED,)),
    "to_approve": (_("To approve"), (C.CHECKED,)),
    "to_pay": (_("Approved, payment not ordered"), (C.APPROVED,)),
    "closed": (_("Decided"), (C.PAYMENT_ORDERED, C.REJECTED)),
}
