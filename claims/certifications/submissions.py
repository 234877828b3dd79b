"""Applications sent by hospitals (API) and schools (API, portal): idempotent submission, documents
added after a notice, the hospital's decision (DOMAIN.md §5). Each is one transaction over the
lifecycle's own services (services.py); nothing here changes a state by itself.

Idempotency (DESIGN "Idempotency"): the applicant's own application id (the API's
`application_id` or `Idempotency-Key`, the portal form's id) is stored on the certification,
unique per applying hospital and per school (the database refuses a second). The same id sent
again returns the first application unchanged, whatever the second body says, as school batches
do; two requests racing with the same id: the loser's transaction rolls back and it returns the
winner's application.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from .errors import CertificationError
from .intake import Upload
from .models import Certification
from .services import (
    certification_apply,
    certification_approve,
    certification_attach,
    certification_reject,
    certification_resubmit,
    certification_start_review,
)
from .workflow import CertificationState

S = CertificationState


def _attach_all(acting_user, certification, attachments: Iterable[Upload], *, field: str) -> None:
    """certification_attach for each; a refusal names the attachment it is about (attachments[2].document_code)."""
    for i, upload in enumerate(attachments):
        try:
            certification_attach(acting_user=acting_user, certification=certification, **upload.as_kwargs())
        except CertificationError as exc:
            if field == "attachments":
                exc.field = f"attachments[{i}].{exc.field}" if exc.field else f"attachments[{i}]"
            elif exc.field in ("content", "content_type", "filename"):
                exc.field = field
            raise


def _existing(*, client_id: str, applicant_institution=None, school=None) -> Certification | None:
    qs = Certification.objects.filter(client_id=client_id)
    qs = qs.filter(school=school) if school is not None else qs.filter(applicant_institution=applicant_institution)
    return qs.first()


def certification_submit(*, acting_user, client_id: str, application: dict,
                         attachments: Iterable[Upload] = ()) -> tuple[Certification, bool]:
    """Apply (certification_apply) and attach the documents sent with it, at most once per client id.

    `application`: certification_apply's arguments (intake.read_application). (certification, created)."""
    owner = {"applicant_institution": application.get("applicant_institution"), "school": application.get("school")}
    existing = _existing(client_id=client_id, **owner)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            certification = certification_apply(acting_user=acting_user, **application)
            # Claims the id; a concurrent request with the same id fails here and rolls back its application.
            Certification.objects.filter(pk=certification.pk).update(client_id=client_id)
            certification.client_id = client_id
            _attach_all(acting_user, certification, attachments, field="attachments")
    except IntegrityError:
        existing = _existing(client_id=client_id, **owner)
        if existing is None:
            raise
        return existing, False
    return certification, True


def certification_add_documents(*, acting_user, certification: Certification, attachments: Iterable[Upload],
                                resubmit: bool = False, note: str = "") -> Certification:
    """Attach documents and, when asked (after a notice), resubmit the application, in one transaction."""
    with transaction.atomic():
        _attach_all(acting_user, certification, attachments, field="file")
        if resubmit:
            certification_resubmit(acting_user=acting_user, certification=certification, note=note)
    certification.refresh_from_db()
    return certification


DECISIONS = ("approve", "reject")


def certification_decide(*, acting_user, certification: Certification, decision: str, reason: str = "") -> Certification:
    """A hospital's decision on an application it received (the kinds where the hospital decides).

    The hospital examines and decides in one step: an application not under review yet is taken
    into review by the same user first (certification_start_review), then approved or rejected;
    whether this user may decide this kind is the lifecycle's rule (services, kinds)."""
    with transaction.atomic():
        if decision == "approve":
            if certification.state in (S.APPLIED, S.RESUBMITTED):
                certification_start_review(acting_user=acting_user, certification=certification)
                certification.refresh_from_db()
            certification_approve(acting_user=acting_user, certification=certification)
        else:
            certification_reject(acting_user=acting_user, certification=certification, reason=reason)
    certification.refresh_from_db()
    return certification
