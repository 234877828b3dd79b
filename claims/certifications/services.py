"""Certification services (DOMAIN.md §5): the application and one service per transition.

Every service is keyword-only, takes the acting user, runs in one transaction, locks the rows it
changes (``select_for_update`` in pk order, evaluated inside the transaction) and moves the state
through medins.workflow.transition with the CERTIFICATIONS table (workflow.py): a service takes
only its own edges, the edge's guard (certification_guard) runs whoever calls, the UPDATE is
conditional on the state read and a CertificationTransition is recorded, with a history row
(simple_history) carrying the author.

What differs between kinds is data (kinds.py). Who may act:

- agency users by their role's permissions (medins.roles): apply (add), work the file (change),
  approve (approve_certification), revoke (revoke_certification);
- an institution operator only on its own institution's applications, and decides (start the
  review, ask for documents, approve, reject) only where kinds.py lets the hospital decide;
- a school operator applies, attaches and resubmits for its own school's students (Jinan 门规);
- scheduled jobs act as the inactive system user (expiry, year end).

Locking: an approval locks the person's row first, then the certifications it reads or changes
(the application, the ones in force for the same person, kind and disease/drug, a 两病
registration a 门规 ends) in pk order. Two clerks approving two applications of the same person
therefore take turns: the second sees the first's approval and supersedes it (special disease,
special drug) or is refused (chronic, 两病). The database's partial unique constraint (one
approved per person, kind and item) backs this up; its violation is reported as AlreadyInForce.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import CoveragePeriod, Person
from enrollment.selectors import is_covered
from medins.benefits.certification import valid_to as certification_valid_to
from medins.benefits.errors import InvalidParameter, MissingParameter
from medins.models import CatalogueItem, Institution
from medins.parsing import today
from medins.selectors import policy_in_force
from medins.workflow import transition

from .errors import (
    AlreadyInForce,
    CertificationError,
    DocumentsMissing,
    FourEyes,
    InvalidApplication,
    MissingPolicy,
    NotEligible,
    NotPermitted,
)
from .kinds import (
    InstitutionRule,
    KindRule,
    level_admitted,
    rule_for,
)
from .models import (
    Certification,
    CertificationAttachment,
    CertificationDocument,
    CertificationKind,
    CertificationNotice,
    CertificationSite,
    CertificationTransition,
    SiteRole,
)
from .workflow import CERTIFICATIONS, OPEN, CertificationState

S = CertificationState
K = CertificationKind

PERM_ADD = "certifications.add_certification"
PERM_CHANGE = "certifications.change_certification"
PERM_APPROVE = "certifications.approve_certification"
PERM_REVOKE = "certifications.revoke_certification"

NUMBER_PREFIX = {K.CHRONIC: "MB", K.SPECIAL_DISEASE: "TB", K.SPECIAL_DRUG: "TY", K.TWO_DISEASES: "LB"}
ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff")
MAX_REASON = 2000


def attachment_max_bytes() -> int:
    return getattr(settings, "CERTIFICATION_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)


# --------------------------------------------------------------------------- who acts


class Actor:
    """The acting user's tenancy: an institution operator's institution, a school operator's
    school, or neither (an agency user, the system user)."""

    def __init__(self, user):
        from claims.models import SchoolOperator
        from claims.settlement.selectors import operator_institution_id

        self.user = user
        self.institution_id = operator_institution_id(user)
        self.school_id = (SchoolOperator.objects.filter(user=user).values_list("school_id", flat=True).first()
                          if user is not None and user.is_authenticated else None)

    @property
    def agency(self) -> bool:
        return self.institution_id is None and self.school_id is None

    def has(self, perm: str) -> bool:
        return self.user is not None and self.user.has_perm(perm)

    def owns(self, cert: Certification) -> bool:
        """The application is this operator's: its hospital applied, or its school forwarded it."""
        if self.institution_id is not None:
            return cert.applicant_institution_id == self.institution_id
        if self.school_id is not None:
            return cert.school_id == self.school_id
        return False


def _refuse_role() -> NotPermitted:
    return NotPermitted(_("Your role may not take this step."))


def _check_applicant_side(actor: Actor, cert: Certification, perm: str = PERM_CHANGE) -> None:
    """Attach, resubmit: the applying hospital or school, or an agency user who may work the file."""
    if actor.agency:
        if not actor.has(perm):
            raise _refuse_role()
        return
    if not actor.owns(cert):
        raise NotPermitted(_("This application is not one of your institution's or school's."))
    if actor.institution_id is not None and not actor.has(perm):
        raise _refuse_role()


def _check_decider(actor: Actor, cert: Certification, rule: KindRule, perm: str = PERM_CHANGE) -> None:
    """Review steps and decisions: the agency where the kind lets it, the applying hospital where
    the kind lets the hospital decide (kinds.py); never a school."""
    if actor.school_id is not None:
        raise NotPermitted(_("A school forwards applications; the agency decides them."))
    if actor.institution_id is not None:
        if not rule.hospital_decides:
            raise NotPermitted(_("The agency decides this kind of application, not the hospital."))
        if cert.applicant_institution_id != actor.institution_id:
            raise NotPermitted(_("This application is not one of your institution's."))
    elif not rule.agency_decides:
        raise NotPermitted(_("The hospital decides this kind of application."))
    if not actor.has(perm):
        raise _refuse_role()


# --------------------------------------------------------------------------- reading and checking


def _rule(cert_or_region, kind: str | None = None) -> KindRule:
    if isinstance(cert_or_region, Certification):
        region_code, kind = cert_or_region.region.code, cert_or_region.kind
    else:
        region_code = cert_or_region
    rule = rule_for(region_code, kind)
    if rule is None:
        raise InvalidApplication(_("The region %(region)s has no %(kind)s.")
                                 % {"region": region_code, "kind": CertificationKind(kind).label if kind in CertificationKind.values
                                    else kind}, field="kind")
    return rule


def _item_in_force(item: CatalogueItem, on: dt.date) -> bool:
    """Active, and inside its validity dates when the catalogue carries them."""
    if not item.active:
        return False
    start, end = getattr(item, "valid_from", None), getattr(item, "valid_to", None)
    return (start is None or start <= on) and (end is None or on <= end)


def _check_item(item: CatalogueItem, rule: KindRule, person: Person, on: dt.date) -> None:
    if item is None:
        raise InvalidApplication(_("The disease or drug is required."), field="item")
    if item.region_id != person.region_id or item.kind != rule.catalogue:
        raise InvalidApplication(_("%(item)s is not in the catalogue of this kind in the person's region.")
                                 % {"item": item.name}, field="item")
    if rule.item_codes is not None and item.code not in rule.item_codes:
        raise InvalidApplication(_("%(item)s is not a disease of this scheme.") % {"item": item.name}, field="item")
    if not _item_in_force(item, on):
        raise InvalidApplication(_("%(item)s is not in the catalogue on %(date)s.") % {"item": item.name, "date": on},
                                 field="item")


def _check_institution(inst: Institution | None, need: InstitutionRule, person: Person, field: str) -> None:
    if inst is None:
        return
    if inst.region_id != person.region_id or not inst.active:
        raise InvalidApplication(_("%(inst)s is not an active designated institution of the person's region.")
                                 % {"inst": inst.name}, field=field)
    if need.designation and not inst.designations.filter(code=need.designation).exists():
        raise NotEligible(_("%(inst)s is not a designated %(what)s.") % {"inst": inst.name, "what": need.label}, field=field)
    if not level_admitted(inst.level, need.levels):
        raise NotEligible(_("%(inst)s (%(level)s) is not admitted: this kind needs a %(what)s.")
                          % {"inst": inst.name, "level": inst.get_level_display(), "what": need.label}, field=field)


def _ever_insured(person: Person) -> bool:
    return CoveragePeriod.objects.filter(person=person, status="active").exists()


def in_force(person_id: int, kind: str, item_id: int, *, exclude: int | None = None):
    qs = Certification.objects.filter(person_id=person_id, kind=kind, item_id=item_id, state=S.APPROVED)
    return qs.exclude(pk=exclude) if exclude else qs


def _exclusion(rule: KindRule, person: Person, item: CatalogueItem) -> None:
    """两病: not while a 门规 certification of the same disease is in force (DOMAIN.md §4.3, §5)."""
    if rule.excluded_by_kind and in_force(person.pk, rule.excluded_by_kind, item.pk).exists():
        raise NotEligible(_("%(item)s: the person holds a chronic-disease (门规) certification of this disease, "
                            "which excludes the 两病 scheme.") % {"item": item.name}, field="item")


def validity_end(rule: KindRule, item: CatalogueItem, region_code: str, start: dt.date) -> dt.date | None:
    """The last valid day of an approval starting on `start` (None: open-ended while insured): the
    policy decides (medins.benefits.certification.valid_to and the certification.* parameters:
    open-ended kinds, the episodic special diseases' days, special drugs to 31 December)."""
    try:
        policy = policy_in_force(region=region_code, date=start)
        return certification_valid_to(policy, kind=rule.kind, valid_from=start,
                                      episodic=bool((item.attributes or {}).get("episodic")))
    except (MissingParameter, InvalidParameter) as exc:
        raise MissingPolicy(_("Missing policy parameter %(key)s for %(region)s on %(date)s.")
                            % {"key": exc.parameter, "region": region_code, "date": start}) from None


def _text(value, field: str, *, required: bool = False, limit: int = MAX_REASON) -> str:
    text = (value or "").strip() if isinstance(value, str) else ("" if value is None else None)
    if text is None:
        raise InvalidApplication(_("%(field)s: must be text.") % {"field": field}, field=field)
    if required and not text:
        raise InvalidApplication(_("%(field)s: required.") % {"field": field}, field=field)
    if len(text) > limit:
        raise InvalidApplication(_("%(field)s: at most %(n)d characters.") % {"field": field, "n": limit}, field=field)
    return text


# --------------------------------------------------------------------------- locking and moving


def certification_lock(pk: int) -> Certification:
    rows = list(Certification.objects.filter(pk=pk).order_by("pk").select_for_update())
    if not rows:
        raise InvalidApplication(_("Certification %(pk)s does not exist.") % {"pk": pk})
    return rows[0]


def _move(cert: Certification, to: str, *, acting_user, reason: str = "", fields: dict | None = None) -> Certification:
    frm = cert.state
    changes = {"state_changed_at": timezone.now(), **(fields or {})}
    transition(CERTIFICATIONS, cert, to, acting_user=acting_user, reason=reason, fields=changes)
    cert._history_user = acting_user
    cert._change_reason = f"{frm} → {to}"
    cert.save(update_fields=["state", *changes])
    return cert


def _missing_documents(cert: Certification) -> list[tuple[str, str]]:
    return list(cert.documents.filter(received=False).order_by("pk").values_list("code", "name"))


def certification_guard(cert: Certification, frm: str, to: str, changes: dict, acting_user) -> None:
    """The guard of each edge (run by medins.workflow.transition for every move):

    - into review and into approved: every document of the checklist received;
    - approved: a reviewer is recorded and, where kinds.py says four eyes, the approver is not
      the reviewer (Jinan 门规: the reviewer checks, a second clerk confirms);
    - incomplete: something is actually missing.
    """
    if to in (S.UNDER_REVIEW, S.APPROVED):
        missing = _missing_documents(cert)
        if missing:
            raise DocumentsMissing(_("Documents missing; send the one-time notice first: %(names)s")
                                   % {"names": "；".join(name for _code, name in missing)})
    if to == S.APPROVED:
        if cert.reviewer_id is None:
            raise InvalidApplication(_("No reviewer is recorded; start the review first."))
        rule = _rule(cert)
        if rule.four_eyes and acting_user is not None and acting_user.pk == cert.reviewer_id:
            raise FourEyes(_("Four eyes: the clerk who reviewed this application may not approve it."))
    if to == S.INCOMPLETE and not _missing_documents(cert):
        raise InvalidApplication(_("No document is missing: start the review instead."))


def _end_sites(cert: Certification, last_day: dt.date | None) -> None:
    """Sites of a certification that ends: none runs past its last day."""
    if last_day is None:
        return
    CertificationSite.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=last_day),
                                     certification=cert).update(valid_to=last_day)


def _earlier(a: dt.date | None, b: dt.date) -> dt.date:
    return b if a is None else min(a, b)


# --------------------------------------------------------------------------- applying


def _new_number(kind: str, pk: int) -> str:
    return f"{NUMBER_PREFIX.get(kind, 'RD')}{pk:08d}"


@transaction.atomic
def certification_apply(*, acting_user, person, kind, item, applicant_institution=None, school=None, institution=None,
                        dispensing_institution=None, insulin_since=None, assessment=None) -> Certification:
    """A new application (state applied) with its documents checklist from kinds.py.

    Checks: the kind exists in the person's region; the person is insured (has cover recorded —
    cover on the approval date is checked at approval); the disease or drug is in the kind's
    catalogue and in force; the applying hospital and the institution of use hold the designation
    and the level the kind admits (special disease: secondary and above; 两病: below secondary);
    a school forwards only its own students' 门规 files; 两病 is refused while a 门规 of the same
    disease is in force; a chronic certification or 两病 registration already in force is not
    applied for twice (a special-disease or special-drug application may replace the one in
    force: the move or renewal of DOMAIN.md §5).
    """
    actor = Actor(acting_user)
    if person is None:
        raise InvalidApplication(_("The insured person is required."), field="person")
    person = Person.objects.select_related("region").get(pk=person.pk)
    region = person.region.code
    if kind not in CertificationKind.values:
        raise InvalidApplication(_("Unknown kind %(kind)s.") % {"kind": kind}, field="kind")
    rule = _rule(region, kind)
    day = today()

    # who applies
    if actor.institution_id is not None:
        if not actor.has(PERM_ADD):
            raise _refuse_role()
        if applicant_institution is not None and applicant_institution.pk != actor.institution_id:
            raise NotPermitted(_("An institution applies only in its own name."), field="applicant_institution")
        applicant_institution = Institution.objects.get(pk=actor.institution_id)
        if school is not None:
            raise NotPermitted(_("Only a school forwards a student's file."), field="school")
    elif actor.school_id is not None:
        if school is None:
            school = person.school
        if school is None or school.pk != actor.school_id:
            raise NotPermitted(_("A school forwards only its own students' files."), field="school")
    elif not actor.has(PERM_ADD):
        raise _refuse_role()
    if school is not None:
        if not rule.school_forwards:
            raise InvalidApplication(_("Schools do not forward this kind of application."), field="school")
        if person.school_id != school.pk:
            raise InvalidApplication(_("The person is not a student of this school."), field="school")

    if not _ever_insured(person):
        raise NotEligible(_("The person has no cover recorded: only insured persons are certified."), field="person")
    _check_item(item, rule, person, day)

    # the institutions
    if rule.applicant is not None:
        _check_institution(applicant_institution, rule.applicant, person, "applicant_institution")
    elif applicant_institution is not None:
        _check_institution(applicant_institution, InstitutionRule(), person, "applicant_institution")
    if rule.applicant_required and applicant_institution is None:
        raise InvalidApplication(_("The applying hospital is required for this kind."), field="applicant_institution")
    if rule.use_is_applicant:
        if institution is not None and applicant_institution is not None and institution.pk != applicant_institution.pk:
            raise InvalidApplication(_("This benefit is used where it is certified: the institution of use is the "
                                       "applying institution."), field="institution")
        institution = institution or applicant_institution
    if institution is None:
        raise InvalidApplication(_("The institution where the benefit is used is required."), field="institution")
    _check_institution(institution, rule.use, person, "institution")
    if dispensing_institution is not None:
        if rule.dispensing is None:
            raise InvalidApplication(_("Only a special-drug approval names a dispensing pharmacy."),
                                     field="dispensing_institution")
        _check_institution(dispensing_institution, rule.dispensing, person, "dispensing_institution")

    if insulin_since is not None and (kind != K.TWO_DISEASES or item.code != "diabetes"):
        raise InvalidApplication(_("Only a 两病 diabetes registration records insulin use."), field="insulin_since")
    if assessment is None:
        assessment = {}
    if not isinstance(assessment, dict):
        raise InvalidApplication(_("The assessment form must be an object."), field="assessment")

    _exclusion(rule, person, item)
    if not rule.supersedes_on_approval and in_force(person.pk, kind, item.pk).exists():
        raise AlreadyInForce(_("%(item)s: a certification of this kind is already in force for the person.")
                             % {"item": item.name}, field="item")

    cert = Certification(number=f"tmp{uuid.uuid4().hex[:17]}", region=person.region, person=person, kind=kind, item=item,
                         applicant_institution=applicant_institution, school=school, institution=institution,
                         dispensing_institution=dispensing_institution, insulin_since=insulin_since,
                         assessment=assessment, state=S.APPLIED, applied_by=acting_user, state_changed_at=timezone.now())
    cert._history_user = acting_user
    cert.save()
    cert.number = _new_number(kind, cert.pk)
    cert._history_user = acting_user
    cert.save(update_fields=["number"])
    CertificationDocument.objects.bulk_create(
        [CertificationDocument(certification=cert, code=d.code, name=d.name) for d in rule.documents])
    CertificationTransition.objects.create(certification=cert, from_state="", to_state=S.APPLIED, actor=acting_user,
                                           reason=_("application received"))
    return cert


@transaction.atomic
def certification_attach(*, acting_user, certification, document_code, filename, content_type, content: bytes
                         ) -> CertificationAttachment:
    """A scanned document of an open application; the document is marked received.

    Limits: CERTIFICATION_ATTACHMENT_MAX_BYTES (default 5 MB), PDF/JPEG/PNG/TIFF only, a
    document of the application's checklist."""
    cert = certification_lock(certification.pk)
    _check_applicant_side(Actor(acting_user), cert)
    if cert.state not in OPEN:
        raise InvalidApplication(_("Certification %(number)s is %(state)s: documents can no longer be added.")
                                 % {"number": cert.number, "state": cert.get_state_display()})
    document = cert.documents.filter(code=document_code).select_for_update().first()
    if document is None:
        raise InvalidApplication(_("%(code)s is not a document of this application.") % {"code": document_code},
                                 field="document_code")
    filename = _text(filename, "filename", required=True, limit=200)
    content_type = _text(content_type, "content_type", required=True, limit=100).lower()
    if content_type not in ATTACHMENT_TYPES:
        raise InvalidApplication(_("Only PDF, JPEG, PNG or TIFF scans are accepted."), field="content_type")
    if not isinstance(content, (bytes, bytearray, memoryview)) or not len(content):
        raise InvalidApplication(_("The file is empty."), field="content")
    if len(content) > attachment_max_bytes():
        raise InvalidApplication(_("The file is larger than %(mb)s MB.") % {"mb": attachment_max_bytes() // (1024 * 1024)},
                                 field="content")
    attachment = CertificationAttachment.objects.create(
        certification=cert, document_code=document.code, filename=filename, content_type=content_type,
        content=bytes(content), size=len(content), uploaded_by=acting_user)
    if not document.received:
        document.received = True
        document.save(update_fields=["received"])
    return attachment


@transaction.atomic
def certification_document_mark(*, acting_user, certification, code: str, received: bool, note: str = "") -> None:
    """A clerk ticks (or unticks) a document handed in on paper (the admin's checklist)."""
    cert = certification_lock(certification.pk)
    _check_applicant_side(Actor(acting_user), cert)
    if cert.state not in OPEN:
        raise InvalidApplication(_("Certification %(number)s is %(state)s: documents can no longer change.")
                                 % {"number": cert.number, "state": cert.get_state_display()})
    if cert.documents.filter(code=code).update(received=bool(received), note=_text(note, "note", limit=200)) != 1:
        raise InvalidApplication(_("%(code)s is not a document of this application.") % {"code": code}, field="code")


# --------------------------------------------------------------------------- transitions


@CERTIFICATIONS.service
@transaction.atomic
def certification_request_documents(*, acting_user, certification, missing: Iterable[str] = (), note: str = ""
                                    ) -> CertificationNotice:
    """applied/resubmitted/under review → incomplete, with ONE notice listing every missing document.

    `missing`: codes of documents found wanting (unticked first); the notice lists them with every
    other document not received yet."""
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.INCOMPLETE, obj=cert)
    _check_decider(Actor(acting_user), cert, _rule(cert))
    codes = list(missing or ())
    known = set(cert.documents.values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidApplication(_("Not documents of this application: %(codes)s") % {"codes": ", ".join(map(str, unknown))},
                                 field="missing")
    if codes:
        cert.documents.filter(code__in=codes).update(received=False)
    wanting = _missing_documents(cert)
    note = _text(note, "note")
    _move(cert, S.INCOMPLETE, acting_user=acting_user, reason="缺少材料：" + "；".join(n for _c, n in wanting))
    return CertificationNotice.objects.create(certification=cert, issued_by=acting_user, note=note,
                                              missing=[{"code": c, "name": n} for c, n in wanting])


@CERTIFICATIONS.service
@transaction.atomic
def certification_resubmit(*, acting_user, certification, note: str = "") -> Certification:
    """incomplete → resubmitted (the applicant handed in what the notice asked for)."""
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.RESUBMITTED, obj=cert)
    _check_applicant_side(Actor(acting_user), cert)
    return _move(cert, S.RESUBMITTED, acting_user=acting_user, reason=_text(note, "note"))


@CERTIFICATIONS.service
@transaction.atomic
def certification_start_review(*, acting_user, certification) -> Certification:
    """applied/resubmitted → under review, by a decider; the documents must be complete."""
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.UNDER_REVIEW, obj=cert)
    _check_decider(Actor(acting_user), cert, _rule(cert))
    return _move(cert, S.UNDER_REVIEW, acting_user=acting_user, fields={"reviewer": acting_user})


@CERTIFICATIONS.service
def certification_supersede(*, acting_user, certification, by: Certification | None = None, last_day: dt.date,
                            reason: str = "") -> Certification:
    """approved → superseded: ends on `last_day` (the day before its replacement starts), its sites
    too. Called by certification_approve with the rows already locked."""
    with transaction.atomic():
        cert = certification_lock(certification.pk)
        valid_to = _earlier(cert.valid_to, last_day)
        _move(cert, S.SUPERSEDED, acting_user=acting_user, reason=reason,
              fields={"valid_to": valid_to, "superseded_by": by, "end_reason": reason})
        _end_sites(cert, valid_to)
        return cert


@CERTIFICATIONS.service
def certification_approve(*, acting_user, certification, on: dt.date | None = None) -> Certification:
    """under review → approved, valid from `on` (default today, the approval date).

    Sets valid_from/valid_to (kinds.py: open-ended, the episodic days parameter, 31 December for
    special drugs) and the places of use; supersedes the special-disease or special-drug approval
    in force for the same person and item (ending it the day before), ends the same disease's
    两病 registration the day before a 门规 starts, and refuses a second chronic or 两病 in force.
    The person must be covered on `on`, the item in force, the institutions still designated.
    """
    try:
        return _approve(acting_user=acting_user, cert_id=certification.pk, on=on or today())
    except IntegrityError:
        raise AlreadyInForce(_("Another certification of the same person, kind and disease or drug was approved at "
                               "the same time; reload the application.")) from None


@transaction.atomic
def _approve(*, acting_user, cert_id: int, on: dt.date) -> Certification:
    head = Certification.objects.filter(pk=cert_id).values("person_id", "kind", "item_id").first()
    if head is None:
        raise InvalidApplication(_("Certification %(pk)s does not exist.") % {"pk": cert_id})
    # the person first, then the certifications in pk order (the module's locking order)
    list(Person.objects.filter(pk=head["person_id"]).order_by("pk").select_for_update())
    related = Q(pk=cert_id) | Q(person_id=head["person_id"], kind=head["kind"], item_id=head["item_id"], state=S.APPROVED)
    if head["kind"] == K.CHRONIC:
        related |= Q(person_id=head["person_id"], kind=K.TWO_DISEASES, item_id=head["item_id"], state=S.APPROVED)
    locked = {c.pk: c for c in Certification.objects.filter(related).order_by("pk").select_for_update()}
    cert = locked[cert_id]
    CERTIFICATIONS.check(cert.state, S.APPROVED, obj=cert)
    cert = Certification.objects.select_related("region", "person", "item", "institution", "applicant_institution",
                                                "dispensing_institution").get(pk=cert_id)
    rule = _rule(cert)
    _check_decider(Actor(acting_user), cert, rule, perm=PERM_APPROVE)
    person, item = cert.person, cert.item
    if not is_covered(person.pk, on):
        raise NotEligible(_("The person is not covered on %(date)s.") % {"date": on}, field="person")
    _check_item(item, rule, person, on)
    if cert.applicant_institution is not None and rule.applicant is not None:
        _check_institution(cert.applicant_institution, rule.applicant, person, "applicant_institution")
    _check_institution(cert.institution, rule.use, person, "institution")
    if cert.dispensing_institution is not None and rule.dispensing is not None:
        _check_institution(cert.dispensing_institution, rule.dispensing, person, "dispensing_institution")
    _exclusion(rule, person, item)
    valid_to = validity_end(rule, item, cert.region.code, on)
    if valid_to is not None and valid_to < on:
        raise InvalidApplication(_("The approval would end before it starts."))

    current = [c for c in locked.values() if c.pk != cert_id and c.kind == cert.kind and c.state == S.APPROVED]
    if current and not rule.supersedes_on_approval:
        raise AlreadyInForce(_("%(item)s: certification %(number)s of this kind is already in force; change its "
                               "institution instead.") % {"item": item.name, "number": current[0].number}, field="item")
    day_before = on - dt.timedelta(days=1)
    for old in current:
        certification_supersede(acting_user=acting_user, certification=old, by=cert, last_day=day_before,
                                reason=_("replaced by %(number)s from %(date)s") % {"number": cert.number, "date": on})
    if rule.ends_two_diseases:
        for old in (c for c in locked.values() if c.kind == K.TWO_DISEASES and c.state == S.APPROVED):
            certification_supersede(acting_user=acting_user, certification=old, by=cert, last_day=day_before,
                                    reason=_("the chronic-disease (门规) certification %(number)s of the same disease "
                                             "starts on %(date)s") % {"number": cert.number, "date": on})
    with transaction.atomic():  # the partial unique constraint: a concurrent approval is reported, not raised
        _move(cert, S.APPROVED, acting_user=acting_user,
              fields={"approver": acting_user, "decided_at": timezone.now(), "valid_from": on, "valid_to": valid_to})
    sites = [CertificationSite(certification=cert, institution=cert.institution, role=rule.use_role, valid_from=on,
                               valid_to=valid_to)]
    if cert.dispensing_institution is not None:
        sites.append(CertificationSite(certification=cert, institution=cert.dispensing_institution, role=SiteRole.DISPENSING,
                                       valid_from=on, valid_to=valid_to))
    CertificationSite.objects.bulk_create(sites)
    return cert


@CERTIFICATIONS.service
@transaction.atomic
def certification_reject(*, acting_user, certification, reason) -> Certification:
    """An open application → rejected, with its reason."""
    reason = _text(reason, "reason", required=True)
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.REJECTED, obj=cert)
    _check_decider(Actor(acting_user), cert, _rule(cert))
    return _move(cert, S.REJECTED, acting_user=acting_user, reason=reason,
                 fields={"end_reason": reason, "decided_at": timezone.now()})


@CERTIFICATIONS.service
@transaction.atomic
def certification_revoke(*, acting_user, certification, reason, on: dt.date | None = None) -> Certification:
    """approved → revoked by the agency (audit: misdiagnosis, fraud, death …), no longer valid from
    `on` (default today): valid_to becomes the day before; `on` = valid_from voids it entirely."""
    reason = _text(reason, "reason", required=True)
    actor = Actor(acting_user)
    if not actor.agency:
        raise NotPermitted(_("Only the agency revokes a certification."))
    if not actor.has(PERM_REVOKE):
        raise _refuse_role()
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.REVOKED, obj=cert)
    on = on or today()
    valid_to = _earlier(cert.valid_to, on - dt.timedelta(days=1))
    _move(cert, S.REVOKED, acting_user=acting_user, reason=reason,
          fields={"valid_to": valid_to, "end_reason": reason, "decided_at": timezone.now()})
    _end_sites(cert, valid_to)
    return cert


@CERTIFICATIONS.service
@transaction.atomic
def certification_expire(*, acting_user, certification, on: dt.date | None = None, reason: str = "") -> Certification:
    """approved → expired, no longer valid from `on` (default today).

    One whose valid_to is set must have run out before `on` (a special drug after 31 December, an
    episodic special disease after its days); an open-ended one (a person not insured in the new
    year) ends the day before `on`. Jobs call it as the system user; an agency user needs the
    revoke permission."""
    actor = Actor(acting_user)
    if acting_user is not None and acting_user.is_active and not (actor.agency and actor.has(PERM_REVOKE)):
        raise _refuse_role()
    cert = certification_lock(certification.pk)
    CERTIFICATIONS.check(cert.state, S.EXPIRED, obj=cert)
    on = on or today()
    if cert.valid_to is not None and cert.valid_to >= on:
        raise InvalidApplication(_("Certification %(number)s is valid until %(date)s: it does not expire yet "
                                   "(revoke it instead).") % {"number": cert.number, "date": cert.valid_to})
    valid_to = cert.valid_to if cert.valid_to is not None else on - dt.timedelta(days=1)
    reason = _text(reason, "reason") or _("validity ended on %(date)s") % {"date": valid_to}
    _move(cert, S.EXPIRED, acting_user=acting_user, reason=reason, fields={"valid_to": valid_to, "end_reason": reason})
    _end_sites(cert, valid_to)
    return cert


@transaction.atomic
def certification_change_institution(*, acting_user, certification, institution, on: dt.date | None = None
                                     ) -> Certification:
    """A chronic certification's new treatment institution, effective the day after `on` (default
    today): the current place of use ends on `on`, the new one starts the next day; the history
    is kept (the sites, and the certification's history row).

    By an agency user who may work certifications, or by the operator of the new (or the current)
    treatment institution (the seed: the change is made directly at a treatment institution)."""
    cert = certification_lock(certification.pk)
    cert = Certification.objects.select_related("region", "person", "institution").get(pk=cert.pk)
    rule = _rule(cert)
    actor = Actor(acting_user)
    if actor.school_id is not None:
        raise NotPermitted(_("Your role may not take this step."))
    if actor.institution_id is not None and actor.institution_id not in (institution.pk, cert.institution_id):
        raise NotPermitted(_("Only the current or the new treatment institution changes it."))
    if not actor.has(PERM_CHANGE):
        raise _refuse_role()
    if not rule.institution_changeable:
        raise InvalidApplication(_("Only a chronic-disease certification changes its treatment institution; apply "
                                   "at the new hospital instead."), field="institution")
    if cert.state != S.APPROVED:
        raise InvalidApplication(_("Certification %(number)s is %(state)s: only one in force changes institution.")
                                 % {"number": cert.number, "state": cert.get_state_display()})
    if institution.pk == cert.institution_id:
        raise InvalidApplication(_("That is already the treatment institution."), field="institution")
    _check_institution(institution, rule.use, cert.person, "institution")
    on = on or today()
    start = on + dt.timedelta(days=1)
    if cert.valid_to is not None and start > cert.valid_to:
        raise InvalidApplication(_("The certification ends before the change would take effect."), field="on")
    sites = list(CertificationSite.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on), certification=cert,
                                                  role=rule.use_role).order_by("pk").select_for_update())
    if any(site.valid_from > on for site in sites):
        raise InvalidApplication(_("A change of institution already takes effect after %(date)s.") % {"date": on},
                                 field="on")
    CertificationSite.objects.filter(pk__in=[s.pk for s in sites]).update(valid_to=on)
    CertificationSite.objects.create(certification=cert, institution=institution, role=rule.use_role, valid_from=start,
                                     valid_to=cert.valid_to)
    old = cert.institution
    cert.institution = institution
    cert._history_user = acting_user
    cert._change_reason = f"treatment institution {old} → {institution} from {start}"
    cert.save(update_fields=["institution"])
    return cert


# --------------------------------------------------------------------------- jobs


def system_user():
    from claims.services import system_user as claims_system_user

    return claims_system_user()


def certifications_expire_due(*, acting_user, on: dt.date | None = None, batch: int = 500) -> int:
    """Expire every approval whose validity ended before `on` (episodic special diseases, special
    drugs after 31 December), in batches, each certification in its own transaction."""
    on = on or today()
    done, after = 0, 0
    while True:
        ids = list(Certification.objects.filter(state=S.APPROVED, valid_to__lt=on, pk__gt=after).order_by("pk")
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        after = ids[-1]
        for pk in ids:
            try:
                certification_expire(acting_user=acting_user, certification=Certification(pk=pk), on=on)
                done += 1
            except CertificationError:
                continue  # changed meanwhile (revoked, superseded): nothing to expire


def certifications_year_end(*, acting_user, year: int, batch: int = 500) -> dict:
    """The year-end job for the year that ends (DOMAIN.md §5 "Year end"), run on or after 1 January:

    1. special-drug approvals expire (valid_to is already 31 December) and each is listed for
       renewal at its approving hospital (CertificationRenewal: the hospital and the clerks see
       the list; a new assessment is a new application);
    2. certifications open-ended while insured (chronic, special disease, 门规, 两病) carry over
       for persons insured in the new year — cover recorded for the new benefit year — and expire
       on 31 December for the others (**decision**: a person enrolling later in the year applies
       again; the job says how many it expired);
    3. yearly accumulators restart by themselves: the ledger is kept per person and year.

    Idempotent: the run row is per year, expired certifications are not approved any more, a
    renewal row is per certification. Each certification moves in its own transaction, in pk
    order, in batches.
    """
    from .models import CertificationRenewal, CertificationYearEnd

    run, _created = CertificationYearEnd.objects.get_or_create(year=year)
    first_day = dt.date(year + 1, 1, 1)
    counts = {"special_drugs_expired": 0, "renewals_listed": 0, "not_insured_expired": 0, "carried_over": 0}
    after = 0
    while True:  # 1. special drugs of the year expire (the nightly expiry may have done it already)
        ids = list(Certification.objects.filter(kind=K.SPECIAL_DRUG, state=S.APPROVED, valid_to__lt=first_day, pk__gt=after)
                   .order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        after = ids[-1]
        for pk in ids:
            try:
                certification_expire(acting_user=acting_user, certification=Certification(pk=pk), on=first_day,
                                     reason=_("special-drug approval ends on 31 December; renew with a new assessment"))
                counts["special_drugs_expired"] += 1
            except CertificationError:
                continue
    # ... and every one that expired on 31 December is listed at its hospital, once
    expired = (Certification.objects.filter(kind=K.SPECIAL_DRUG, state=S.EXPIRED, valid_to=dt.date(year, 12, 31),
                                            renewal__isnull=True).order_by("pk")
               .values_list("pk", "institution_id", "person_id", "item_id"))
    while True:
        chunk = list(expired[:batch])
        if not chunk:
            break
        made = CertificationRenewal.objects.bulk_create(
            [CertificationRenewal(year=year + 1, certification_id=pk, institution_id=inst, person_id=person, item_id=item)
             for pk, inst, person, item in chunk], ignore_conflicts=True)
        counts["renewals_listed"] += len(made)
    insured = CoveragePeriod.objects.filter(benefit_year=year + 1, status="active").values("person_id")
    open_ended = Certification.objects.filter(state=S.APPROVED, valid_to__isnull=True, valid_from__lt=first_day)
    counts["carried_over"] = open_ended.filter(person_id__in=insured).count()
    after = 0
    while True:  # 2. persons not insured in the new year
        ids = list(open_ended.exclude(person_id__in=insured).filter(pk__gt=after).order_by("pk")
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            break
        after = ids[-1]
        for pk in ids:
            try:
                certification_expire(acting_user=acting_user, certification=Certification(pk=pk), on=first_day,
                                     reason=_("not insured in %(year)s") % {"year": year + 1})
                counts["not_insured_expired"] += 1
            except CertificationError:
                continue
    previous = run.counts or {}
    run.counts = {k: v + (previous.get(k, 0) if k != "carried_over" else 0) for k, v in counts.items()}
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "finished_at"])
    return counts


__all__ = [
    "certification_apply", "certification_approve", "certification_attach", "certification_change_institution",
    "certification_document_mark", "certification_expire", "certification_guard", "certification_lock",
    "certification_reject", "certification_request_documents", "certification_resubmit", "certification_revoke",
    "certification_start_review", "certification_supersede", "certifications_expire_due", "certifications_year_end", "in_force", "validity_end",
]
