"""School API (token or session auth): batches with a client batch id, cases and notices of the school only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.certifications import api as cert_api
from medins.api.pagination import page_of
from medins.parsing import ParseError, field_label, max_length, parse_text

from .errors import CaseError
from .models import Batch, BatchSource, Case, MaterialsNotice
from .selectors import operator_school_id, school_batches, school_cases, school_notices
from .services import batch_submit
from .workflow import CaseState

MAX_ROWS = 10_000
# A batch body may be far larger than Django's global DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by
# default, kept for every other endpoint): 5 000 cases are about 3 MB of JSON before attachments.
MAX_BATCH_BODY = 64 * 1024 * 1024


class IsSchoolOperator(BasePermission):
    message = "only school operators may use this endpoint"

    def has_permission(self, request, view):
        school_id = operator_school_id(request.user)
        request.school_id = school_id
        return school_id is not None


class BatchSummarySerializer(serializers.ModelSerializer):
    """A batch in the list: counts only (the per-row report is read one batch at a time)."""

    batch_id = serializers.CharField(source="client_batch_id")

    class Meta:
        model = Batch
        fields = ("id", "batch_id", "source", "filename", "submitted_at", "total_rows", "accepted_rows", "rejected_rows")


class BatchSerializer(BatchSummarySerializer):
    report = serializers.ListField(child=serializers.DictField())

    class Meta(BatchSummarySerializer.Meta):
        fields = (*BatchSummarySerializer.Meta.fields, "report")


def _paginated(request, view, queryset, serializer_class, *, extra=None):
    """Every list of the school API is paginated (issue 11 item 4): ?page=N, PAGE_SIZE per page."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True).data
    if extra is not None:
        data = [{**item, **extra(obj)} for item, obj in zip(data, page, strict=True)]
    return paginator.get_paginated_response(data)


def _invalid(field: str, message: str) -> Response:
    return Response({"error": {"code": "invalid", "field": field, "message": message}}, status=status.HTTP_400_BAD_REQUEST)


class NoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialsNotice
        fields = ("id", "issued_at", "missing", "note")


class SchoolNoticeSerializer(NoticeSerializer):
    case = serializers.CharField(source="case.number")
    case_id = serializers.IntegerField()

    class Meta(NoticeSerializer.Meta):
        fields = (*NoticeSerializer.Meta.fields, "case", "case_id")


class CaseSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    case_type = serializers.CharField(source="case_type.code")
    id_number = serializers.CharField(source="person.masked_id_number")
    name = serializers.CharField(source="person.name")
    batch_id = serializers.CharField(source="batch.client_batch_id", default=None)

    class Meta:
        model = Case
        fields = ("id", "number", "batch_id", "case_type", "id_number", "name", "state", "reason", "service_from", "service_to",
                  "payable_amount", "received_at", "state_changed_at")


class CaseDetailSerializer(CaseSerializer):
    notices = NoticeSerializer(many=True)

    class Meta(CaseSerializer.Meta):
        fields = (*CaseSerializer.Meta.fields, "notices")


class BatchListCreateView(APIView):
    """GET: this school's batches. POST: a batch; `batch_id` or the Idempotency-Key header makes a retry a no-op."""

    permission_classes = [IsSchoolOperator]

    def initialize_request(self, request, *args, **kwargs):
        """Read a POST body up to this endpoint's own limit (MAX_BATCH_BODY) instead of the global one."""
        if request.method == "POST" and not hasattr(request, "_body"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length <= MAX_BATCH_BODY:
                # HttpRequest.body returns _body when it is set; the global size check is only for bodies not read yet.
                request._body = request.read(length) if length else b""
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(operation_id="v1_school_batches_list", responses=page_of(BatchSummarySerializer), tags=["claims"])
    def get(self, request):
        return _paginated(request, self, school_batches(request.school_id).order_by("-submitted_at", "-pk"),
                          BatchSummarySerializer)

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={201: BatchSerializer, 200: BatchSerializer}, tags=["claims"],
        description="Body: {batch_id, cases: [{row_id, id_number, name, case_type, service_from, service_to, institution_code | "
                    "institution_name + institution_level, delivery, third_party_paid, bank_account, materials: [codes], "
                    "lost_invoice_promise, invoices: [{issuer, number, issued_on, kind, class_a, class_b, class_c}], "
                    "attachments: [{material, filename, content_type, content_base64}]}]}. 201 created; 200 when the batch id "
                    "was already received (the first batch is returned unchanged). Each row is accepted or rejected with its reasons. "
                    f"At most {MAX_ROWS} cases and {MAX_BATCH_BODY // (1024 * 1024)} MB per request.")
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        try:
            batch_id = parse_text(request.headers.get("Idempotency-Key") or body.get("batch_id"), "batch_id",
                                  max_length=max_length(Batch, "client_batch_id"), numbers=True)
        except ParseError as exc:
            return _invalid(exc.field, exc.localized())
        rows = body.get("cases")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return _invalid("cases", f'{field_label("cases")}: {gettext("a list of objects is required")}')
        if len(rows) > MAX_ROWS:
            return _invalid("cases", f'{field_label("cases")}: {gettext("at most %(max)s cases") % {"max": MAX_ROWS}}')
        from enrollment.models import School

        try:
            batch, created = batch_submit(acting_user=request.user, school=School.objects.get(pk=request.school_id),
                                          client_batch_id=str(batch_id), rows=rows, source=BatchSource.API)
        except CaseError as exc:
            return Response({"error": exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BatchSerializer(batch).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class BatchDetailView(APIView):
    permission_classes = [IsSchoolOperator]

    @extend_schema(responses=BatchSerializer, tags=["claims"])
    def get(self, request, pk):
        return Response(BatchSerializer(get_object_or_404(school_batches(request.school_id), pk=pk)).data)


class CaseListView(APIView):
    permission_classes = [IsSchoolOperator]

    @extend_schema(operation_id="v1_school_cases_list", responses=page_of(CaseSerializer), tags=["claims"], parameters=[
        OpenApiParameter("state", str, description="only cases in this state"),
        OpenApiParameter("batch", int, description="only cases of this batch (its id)")])
    def get(self, request):
        cases = school_cases(request.school_id).select_related("case_type", "person", "batch").order_by("-pk")
        if state := request.query_params.get("state"):
            if state not in CaseState.values:
                return _invalid("state", f"state: one of {', '.join(CaseState.values)}")
            cases = cases.filter(state=state)
        if batch := request.query_params.get("batch"):
            if not batch.isascii() or not batch.isdigit():
                return _invalid("batch", "batch: the id of a batch")
            cases = cases.filter(batch_id=int(batch))
        return _paginated(request, self, cases, CaseSerializer)


class CaseDetailView(APIView):
    permission_classes = [IsSchoolOperator]

    @extend_schema(responses=CaseDetailSerializer, tags=["claims"])
    def get(self, request, pk):
        case = get_object_or_404(school_cases(request.school_id).prefetch_related("notices"), pk=pk)
        return Response(CaseDetailSerializer(case).data)


class NoticeListView(APIView):
    permission_classes = [IsSchoolOperator]

    @extend_schema(responses=page_of(SchoolNoticeSerializer), tags=["claims"])
    def get(self, request):
        notices = school_notices(request.school_id).select_related("case").order_by("-issued_at", "-pk")
        return _paginated(request, self, notices, SchoolNoticeSerializer)


# --------------------------------------------------------------------------- 门规 files (certifications)
# A Jinan school forwards a college student's chronic-disease (门规) file (DOMAIN.md §4.2, §5): a chronic
# certification of the student, region 370100, the school set, with its scanned documents. The school
# reads each application's state and the agency's notices of missing documents, adds documents and
# resubmits; it reads only the files it forwarded (another school's: 404).


class SchoolCertificationListCreateView(cert_api.ApplicationListCreateBase):
    tenant = cert_api.SchoolTenant()
    permission_classes = [IsSchoolOperator]

    @extend_schema(operation_id="v1_school_certifications_list", tags=["claims"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="v1_school_certifications_create", **cert_api._create_doc(school=True))
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class SchoolCertificationDetailView(cert_api.ApplicationDetailBase):
    tenant = cert_api.SchoolTenant()
    permission_classes = [IsSchoolOperator]

    @extend_schema(operation_id="v1_school_certifications_retrieve", parameters=[cert_api.ID],
                   responses=cert_api.CertificationDetailSerializer,
                   tags=["claims"])
    def get(self, request, pk):
        return super().get(request, pk)


class SchoolCertificationAttachmentsView(cert_api.ApplicationAttachmentsBase):
    tenant = cert_api.SchoolTenant()
    permission_classes = [IsSchoolOperator]

    @extend_schema(operation_id="v1_school_certifications_attachments_create", **cert_api._ATTACH_DOC)
    def post(self, request, pk):
        return super().post(request, pk)


class SchoolCertificationResubmitView(cert_api.ApplicationResubmitBase):
    tenant = cert_api.SchoolTenant()
    permission_classes = [IsSchoolOperator]

    @extend_schema(operation_id="v1_school_certifications_resubmit", **cert_api._RESUBMIT_DOC)
    def post(self, request, pk):
        return super().post(request, pk)
