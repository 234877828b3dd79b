"""Read queries of certifications: who sees which, the clerks' queues, a person's timeline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from medins.parsing import today

from .models import Certification, CertificationRenewal, CertificationSite
from .workflow import QUEUES, CertificationState

S = CertificationState
EXPIRING_DAYS = 30


def incomplete_days() -> int:
    """Applications waiting for documents longer than this are overdue (setting CERTIFICATION_INCOMPLETE_DAYS)."""
    return getattr(settings, "CERTIFICATION_INCOMPLETE_DAYS", 14)


def tenant_of(user) -> tuple[int | None, int | None]:
    """(institution id, school id) the user operates for; (None, None) for agency users."""
    from claims.models import SchoolOperator
    from claims.settlement.selectors import operator_institution_id

    if user is None or not user.is_authenticated:
        return None, None
    cached = getattr(user, "_certification_tenant", None)  # read once per request (the admin asks often)
    if cached is not None:
        return cached
    institution_id = operator_institution_id(user)
    school_id = None if institution_id is not None else (
        SchoolOperator.objects.filter(user=user).values_list("school_id", flat=True).first())
    user._certification_tenant = (institution_id, school_id)
    return institution_id, school_id


def visible_to(user, queryset: QuerySet[Certification] | None = None) -> QuerySet[Certification]:
    """Object-level scoping (DESIGN "Permissions"): an institution operator sees its own
    institution's applications (and the certifications whose benefit is used there: the chronic
    treatment institution treats them); a school operator the files it forwarded; agency users all."""
    qs = Certification.objects.all() if queryset is None else queryset
    institution_id, school_id = tenant_of(user)
    if institution_id is not None:
        return qs.filter(Q(applicant_institution_id=institution_id) | Q(institution_id=institution_id))
    if school_id is not None:
        return qs.filter(school_id=school_id)
    return qs


def renewals_visible_to(user, queryset: QuerySet[CertificationRenewal] | None = None) -> QuerySet[CertificationRenewal]:
    qs = CertificationRenewal.objects.all() if queryset is None else queryset
    institution_id, school_id = tenant_of(user)
    if institution_id is not None:
        return qs.filter(institution_id=institution_id)
    if school_id is not None:
        return qs.none()
    return qs


def queue(name: str, queryset: QuerySet[Certification] | None = None, *, on: dt.date | None = None) -> QuerySet[Certification]:
    """The certifications of a clerk's queue (workflow.QUEUES):

    - review: applied, resubmitted or under review;
    - incomplete_overdue: waiting for documents for more than CERTIFICATION_INCOMPLETE_DAYS days;
    - expiring: in force and ending within 30 days (from `on`, default today);
    - the others by state."""
    qs = Certification.objects.all() if queryset is None else queryset
    if name not in QUEUES:
        return qs.none()
    qs = qs.filter(state__in=QUEUES[name][1])
    if name == "incomplete_overdue":
        qs = qs.filter(state_changed_at__lt=timezone.now() - dt.timedelta(days=incomplete_days()))
    elif name == "expiring":
        day = on or today()
        qs = qs.filter(valid_to__gte=day, valid_to__lte=day + dt.timedelta(days=EXPIRING_DAYS))
    return qs


def person_timeline(person_id: int) -> list[Certification]:
    """A person's certifications, oldest first, with their places of use (two queries)."""
    return list(Certification.objects.filter(person_id=person_id)
                .select_related("item", "institution", "applicant_institution")
                .prefetch_related(Prefetch("sites", queryset=CertificationSite.objects.select_related("institution")))
                .order_by("valid_from", "applied_at", "pk"))


def valid_on(person_id: int, kind: str, day: dt.date) -> QuerySet[Certification]:
    """Certifications of the person and kind whose validity covers the day (whatever their state
    now: one revoked later was valid on earlier days)."""
    return (Certification.objects.filter(person_id=person_id, kind=kind, state__in=(S.APPROVED, S.EXPIRED, S.REVOKED,
                                                                                       S.SUPERSEDED),
                                         valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day)))


# --------------------------------------------------------------------------- applicants (API, portal)


def with_last_change(qs: QuerySet[Certification]) -> QuerySet[Certification]:
    """Annotate `last_change`: when the application entered its current state (or was applied)."""
    return qs.annotate(last_change=Coalesce("state_changed_at", "applied_at"))


def _listed(qs: QuerySet[Certification]) -> QuerySet[Certification]:
    return with_last_change(qs.select_related("person", "item", "institution", "dispensing_institution",
                                                   "applicant_institution", "school"))


def institution_applications(institution_id: int) -> QuerySet[Certification]:
    """The applications a hospital sent (object-level filtering from the record: DESIGN "Permissions").

    Not the certifications used at the institution: the treatment institution a person chose
    reads its patients' certifications elsewhere; an application is its applicant's."""
    return _listed(Certification.objects.filter(applicant_institution_id=institution_id))


def school_applications(school_id: int) -> QuerySet[Certification]:
    """The 门规 files a school forwarded (as school_cases: what it submitted, not its students' others)."""
    return _listed(Certification.objects.filter(school_id=school_id))
