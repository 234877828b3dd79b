"""REST API of certifications (DOMAIN.md §5) for the applicants: hospitals under
/api/v1/certifications/ (an institution operator's token: its own applications only) and Jinan
schools under /api/v1/school/certifications/ (claims/api.py: a school operator, its own 门规
files only). Both share the views below; a tenant decides which applications a user reads and in
whose name it applies. Another tenant's application answers 404, as one that does not exist.

Every refusal is {"error": {code, message, field}} (medins/api/errors.py), the message in the
reader's language (Chinese by default).
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from medins.messages import Msg
from medins.models import Institution
from medins.parsing import ParseError, gettext_noop, parse_text

from . import intake
from .errors import CertificationError
from .models import (
    Certification,
    CertificationAttachment,
    CertificationDocument,
    CertificationKind,
    CertificationNotice,
    CertificationSite,
    CertificationTransition,
)
from .selectors import institution_applications, school_applications
from .submissions import DECISIONS, certification_add_documents, certification_decide, certification_submit
from .workflow import CertificationState

HOSPITAL_VIEW = "certifications.view_certification"
HOSPITAL_APPLY = "certifications.add_certification"
HOSPITAL_ATTACH = "certifications.add_certificationattachment"
HOSPITAL_WORK = "certifications.change_certification"  # resubmit, decide (approving also needs approve_certification)


def error_body(exc: Exception) -> dict:
    if isinstance(exc, ParseError):
        return {"error": {"code": "invalid", "message": exc.localized(), "field": exc.field}}
    return {"error": exc.as_dict()}


def refused(exc: Exception) -> Response:
    """400 for bad input, 403 not this user's step, 409 the application's state or another in force."""
    return Response(error_body(exc), status=getattr(exc, "http_status", status.HTTP_400_BAD_REQUEST))


# --------------------------------------------------------------------------- tenants


class Tenant:
    """Whose applications a request reads and in whose name it applies."""

    def applications(self, request):
        raise NotImplementedError

    def owner(self, request) -> dict:
        raise NotImplementedError


class HospitalTenant(Tenant):
    def applications(self, request):
        return institution_applications(request.institution_id)

    def owner(self, request) -> dict:
        return {"applicant_institution": Institution.objects.select_related("region").get(pk=request.institution_id)}


class SchoolTenant(Tenant):
    def applications(self, request):
        return school_applications(request.school_id)

    def owner(self, request) -> dict:
        from enrollment.models import School

        return {"school": School.objects.select_related("region").get(pk=request.school_id)}


class IsHospitalOperator(BasePermission):
    """An institution operator's user (its institution in request.institution_id), with the
    permission of the method: reading, applying, attaching, deciding (medins/roles.py)."""

    message = "only the operators of a designated institution may use this endpoint"

    def has_permission(self, request, view):
        from claims.settlement.selectors import operator_institution_id

        request.institution_id = operator_institution_id(request.user)
        if request.institution_id is None:
            return False
        needed = HOSPITAL_VIEW if request.method in ("GET", "HEAD", "OPTIONS") else view.hospital_permission
        return request.user.has_perm(needed)


# --------------------------------------------------------------------------- serializers


class CertificationSerializer(serializers.ModelSerializer):
    application_id = serializers.CharField(source="client_id")
    id_number = serializers.CharField(source="person.masked_id_number")
    name = serializers.CharField(source="person.name")
    item = serializers.CharField(source="item.code")
    item_name = serializers.CharField(source="item.name")
    institution = serializers.CharField(source="institution.code", default=None, allow_null=True)
    dispensing_institution = serializers.CharField(source="dispensing_institution.code", default=None, allow_null=True)
    state_changed_at = serializers.DateTimeField(source="last_change")

    class Meta:
        model = Certification
        fields = ("id", "number", "application_id", "kind", "item", "item_name", "id_number", "name", "state",
                  "institution", "dispensing_institution", "applied_at", "state_changed_at", "decided_at", "valid_from",
                  "valid_to", "end_reason")


class CertificationDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CertificationDocument
        fields = ("code", "name", "received", "note")


class CertificationAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CertificationAttachment
        fields = ("id", "document_code", "filename", "content_type", "size", "uploaded_at")


class CertificationNoticeSerializer(serializers.ModelSerializer):
    missing = serializers.ListField(child=serializers.JSONField())

    class Meta:
        model = CertificationNotice
        fields = ("id", "issued_at", "missing", "note")


class CertificationTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CertificationTransition
        fields = ("from_state", "to_state", "at", "reason")


class CertificationSiteSerializer(serializers.ModelSerializer):
    institution = serializers.CharField(source="institution.code")

    class Meta:
        model = CertificationSite
        fields = ("institution", "role", "valid_from", "valid_to")


class CertificationDetailSerializer(CertificationSerializer):
    assessment = serializers.DictField()
    documents = CertificationDocumentSerializer(many=True)
    attachments = CertificationAttachmentSerializer(many=True)
    notices = CertificationNoticeSerializer(many=True)
    transitions = CertificationTransitionSerializer(many=True)
    sites = CertificationSiteSerializer(many=True)

    class Meta(CertificationSerializer.Meta):
        fields = (*CertificationSerializer.Meta.fields, "insulin_since", "assessment", "documents", "attachments", "notices",
                  "transitions", "sites")


def detail_of(queryset, pk) -> Certification:
    certification = queryset.prefetch_related(
        "documents", "notices", "transitions", "sites__institution",
        _attachments_without_content()).filter(pk=pk).first()
    if certification is None:
        raise Http404
    return certification


def _attachments_without_content():
    from django.db.models import Prefetch

    return Prefetch("attachments", queryset=CertificationAttachment.objects.defer("content"))


_AttachmentIn = inline_serializer("CertificationAttachmentInline", {
    "document_code": serializers.CharField(help_text="code of the document of the application's checklist"),
    "filename": serializers.CharField(),
    "content_base64": serializers.CharField(help_text="PDF, JPEG, PNG or TIFF, at most 5 MB"),
}).__class__  # one component, a fresh instance per request schema


def application_request(*, school: bool):
    fields = {
        "application_id": serializers.CharField(required=False, help_text="your own id of the application (or send the "
                                                                          "Idempotency-Key header); required"),
        "id_number": serializers.CharField(help_text="the insured person's ID number"),
        "item": serializers.CharField(help_text="catalogue code of the disease (or drug)"),
        "attachments": serializers.ListField(child=_AttachmentIn(), required=False),
        "institution": serializers.CharField(required=False, help_text="code of the institution where the benefit is "
                                                                       "used (the chosen treatment institution)"),
    }
    if school:
        return inline_serializer("SchoolCertificationApplicationRequest", {
            **fields, "kind": serializers.ChoiceField([CertificationKind.CHRONIC.value], required=False,
                                                      help_text="always chronic (门规)")})
    return inline_serializer("CertificationApplicationRequest", {
        **fields,
        "kind": serializers.ChoiceField(CertificationKind.values),
        "dispensing_institution": serializers.CharField(required=False, help_text="special drugs: the pharmacy's code"),
        "insulin_since": serializers.DateField(required=False, help_text="两病 diabetes: insulin user since"),
        "assessment": serializers.DictField(required=False, help_text="special drugs: the assessment form (特药申请评估表)"),
    })


class ApplicationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=CertificationState.choices)
    kind = django_filters.ChoiceFilter(choices=CertificationKind.choices)
    updated_since = django_filters.IsoDateTimeFilter(field_name="last_change", lookup_expr="gte",
                                                     help_text="only applications applied or changed state since "
                                                               "(ISO 8601 date-time)")

    class Meta:
        model = Certification
        fields = ["state", "kind", "updated_since"]


# --------------------------------------------------------------------------- views


class ApplicationListCreateBase(generics.ListCreateAPIView):
    """GET: the tenant's applications, newest first (filters: state, kind, updated_since).
    POST: one application; its `application_id` (or the Idempotency-Key header) makes a retry a no-op."""

    tenant: Tenant
    serializer_class = CertificationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApplicationFilter
    hospital_permission = HOSPITAL_APPLY

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's request has no tenant
            return Certification.objects.none()
        return self.tenant.applications(self.request).order_by("-applied_at", "-pk")

    def list(self, request, *args, **kwargs):
        filterset = ApplicationFilter(request.query_params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            field, problems = next(iter(filterset.errors.items()))
            return Response({"error": {"code": "invalid", "message": f"{field}: {problems[0]}", "field": field}},
                            status=status.HTTP_400_BAD_REQUEST)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(CertificationSerializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        body = request.data if isinstance(request.data, dict) else None
        owner = self.tenant.owner(request)
        try:
            if body is None:
                raise ParseError("body", "must be a JSON object")
            client_id = intake.read_client_id(request.headers.get("Idempotency-Key"), body.get("application_id"))
            application = intake.read_application(body, **owner)
            attachments = intake.read_inline_attachments(body.get("attachments"))
            certification, created = certification_submit(acting_user=request.user, client_id=client_id,
                                                          application=application, attachments=attachments)
        except (ParseError, CertificationError) as exc:
            return refused(exc)
        data = CertificationDetailSerializer(detail_of(self.get_queryset(), certification.pk)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ApplicationDetailBase(APIView):
    tenant: Tenant

    def get(self, request, pk):
        return Response(CertificationDetailSerializer(detail_of(self.tenant.applications(request), pk)).data)


class ApplicationAttachmentsBase(APIView):
    """Upload documents of the application (multipart: one or more `file`, and `document_code`, the code of
    the document of the application's checklist they are; PDF, JPEG, PNG or TIFF, at most 5 MB each). `resubmit=true` resubmits
    the application after a notice in the same request."""

    tenant: Tenant
    parser_classes = [MultiPartParser, FormParser]
    hospital_permission = HOSPITAL_ATTACH

    def post(self, request, pk):
        certification = detail_of(self.tenant.applications(request), pk)
        try:
            files = request.FILES.getlist("file")
            if not files:
                raise ParseError("file", Msg(gettext_noop("is required")))
            uploads = intake.read_uploaded_files(files, request.data.get("document_code"))
            resubmit = str(request.data.get("resubmit", "")).strip().lower() in ("1", "true", "yes")
            note = parse_text(request.data.get("note"), "note", max_length=500, multiline=True)
            certification_add_documents(acting_user=request.user, certification=certification, attachments=uploads,
                                        resubmit=resubmit, note=note)
        except (ParseError, CertificationError) as exc:
            return refused(exc)
        return Response(CertificationDetailSerializer(detail_of(self.tenant.applications(request), pk)).data,
                        status=status.HTTP_201_CREATED)


class ApplicationResubmitBase(APIView):
    """Resubmit the application after the agency's notice of missing documents (attach them first)."""

    tenant: Tenant
    hospital_permission = HOSPITAL_WORK

    def post(self, request, pk):
        certification = detail_of(self.tenant.applications(request), pk)
        try:
            note = parse_text(request.data.get("note") if isinstance(request.data, dict) else None, "note",
                              max_length=500, multiline=True)
            certification_add_documents(acting_user=request.user, certification=certification, attachments=(),
                                        resubmit=True, note=note)
        except (ParseError, CertificationError) as exc:
            return refused(exc)
        return Response(CertificationDetailSerializer(detail_of(self.tenant.applications(request), pk)).data)


# A URL with a negative id matches no route (Django's HTML 404): the schema says ids are positive.
ID = OpenApiParameter("id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)
_ERROR = inline_serializer("CertificationRefusal", {"error": serializers.DictField()})


def _create_doc(*, school: bool):
    return dict(request=application_request(school=school),
                responses={201: CertificationDetailSerializer, 200: CertificationDetailSerializer, 400: _ERROR, 409: _ERROR},
                tags=["certifications"],
                description="201 created; 200 when the application id was already received (the first application is "
                            "returned unchanged). Attachments inline as base64, or later with .../attachments/.")


_ATTACH_DOC = dict(parameters=[ID], request={"multipart/form-data": inline_serializer("CertificationUpload", {
    "file": serializers.ListField(child=serializers.FileField()),
    "document_code": serializers.CharField(), "resubmit": serializers.BooleanField(required=False),
    "note": serializers.CharField(required=False)})},
    responses={201: CertificationDetailSerializer, 400: _ERROR, 409: _ERROR}, tags=["certifications"])
_RESUBMIT_DOC = dict(parameters=[ID], request=inline_serializer("CertificationResubmit", {"note": serializers.CharField(required=False)}),
                     responses={200: CertificationDetailSerializer, 400: _ERROR, 409: _ERROR}, tags=["certifications"])


# The hospital's endpoints (/api/v1/certifications/...).


class HospitalApplicationListCreateView(ApplicationListCreateBase):
    tenant = HospitalTenant()
    permission_classes = [IsHospitalOperator]

    @extend_schema(operation_id="v1_certifications_list", tags=["certifications"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="v1_certifications_create", **_create_doc(school=False))
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class HospitalApplicationDetailView(ApplicationDetailBase):
    tenant = HospitalTenant()
    permission_classes = [IsHospitalOperator]

    @extend_schema(operation_id="v1_certifications_retrieve", parameters=[ID], responses=CertificationDetailSerializer,
                   tags=["certifications"])
    def get(self, request, pk):
        return super().get(request, pk)


class HospitalApplicationAttachmentsView(ApplicationAttachmentsBase):
    tenant = HospitalTenant()
    permission_classes = [IsHospitalOperator]

    @extend_schema(operation_id="v1_certifications_attachments_create", **_ATTACH_DOC)
    def post(self, request, pk):
        return super().post(request, pk)


class HospitalApplicationResubmitView(ApplicationResubmitBase):
    tenant = HospitalTenant()
    permission_classes = [IsHospitalOperator]

    @extend_schema(operation_id="v1_certifications_resubmit", **_RESUBMIT_DOC)
    def post(self, request, pk):
        return super().post(request, pk)


class HospitalApplicationDecisionView(APIView):
    """The hospital's decision on an application it received: approve or reject (with a reason), where the
    kind lets the hospital decide (chronic: the exam hospital; special disease: the certifying hospital;
    special drug: the approving hospital)."""

    tenant = HospitalTenant()
    permission_classes = [IsHospitalOperator]
    hospital_permission = HOSPITAL_WORK

    @extend_schema(operation_id="v1_certifications_decision", parameters=[ID],
                   request=inline_serializer("CertificationDecision", {
                       "decision": serializers.ChoiceField(DECISIONS),
                       "reason": serializers.CharField(required=False, help_text="required to reject")}),
                   responses={200: CertificationDetailSerializer, 400: _ERROR, 409: _ERROR}, tags=["certifications"])
    def post(self, request, pk):
        certification = detail_of(self.tenant.applications(request), pk)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            decision = parse_text(data.get("decision"), "decision", max_length=20, required=True)
            if decision not in DECISIONS:
                raise ParseError("decision", Msg(gettext_noop("must be one of %(choices)s"),
                                                        choices=list(DECISIONS)))
            reason = parse_text(data.get("reason"), "reason", max_length=500, multiline=True,
                                required=decision == "reject")
            certification_decide(acting_user=request.user, certification=certification, decision=decision, reason=reason)
        except (ParseError, CertificationError) as exc:
            return refused(exc)
        return Response(CertificationDetailSerializer(detail_of(self.tenant.applications(request), pk)).data)
