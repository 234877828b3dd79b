"""REST API of outpatient-pool settlement (under /api/v1/settlement/)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from medins.api.pagination import page_of
from medins.benefits.errors import InvalidRequest, QuoteError
from medins.models import Institution
from medins.parsing import read_upload

from .errors import ConcurrentChange
from .imports import read_rows
from .models import InpatientStay, PoolMembership, Visit
from .selectors import (
    POOL_DESIGNATION,
    may_act_for,
    operator_institution_id,
    statements,
    visit_is_settled,
    with_account_marks,
)
from .services import pool_signups_import, stays_receive, visits_receive
from .services.stays import stay_rows_group


class CanSubmitVisits(BasePermission):
    """POST needs settlement.add_visit, GET settlement.view_visit."""

    def has_permission(self, request, view):
        perm = "settlement.view_visit" if request.method in ("GET", "HEAD", "OPTIONS") else "settlement.add_visit"
        return bool(request.user and request.user.has_perm(perm))


class CanSubmitSignups(BasePermission):
    def has_permission(self, request, view):
        perm = ("settlement.view_poolmembership" if request.method in ("GET", "HEAD", "OPTIONS")
                else "settlement.add_poolmembership")
        return bool(request.user and request.user.has_perm(perm))


def _institution(request, region: str, code: str, *, pool: bool = True) -> Institution:
    """The pool institution of the URL (pool=False: any active institution, which certified visits
    may come from); an institution operator gets 404 for any other than its own (object-level
    check: it cannot even learn whether another institution's data exists)."""
    qs = Institution.objects.select_related("region").filter(region__code=region, code=code)
    qs = qs.filter(designations__code=POOL_DESIGNATION) if pool else qs.filter(active=True)
    institution = get_object_or_404(qs)
    if not may_act_for(request.user, institution.pk):
        raise Http404
    return institution


def _error(exc: QuoteError) -> dict:
    """The contract's error object; a refused value's message names the field as the reader knows it
    ("就诊记录: …" in Chinese, InvalidRequest.localized) while `field` keeps its machine-readable key."""
    body = exc.as_dict()
    if isinstance(exc, InvalidRequest):
        body["message"] = exc.localized()
    return body


def _rows(request, key: str):
    """The rows of a JSON list (the JSON endpoints) or of an uploaded file (their `file/` twins,
    multipart only), at most UPLOAD_MAX_BYTES and UPLOAD_MAX_ROWS."""
    if request.content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidRequest("file", _("upload a CSV or XLSX file"))
        return read_rows(upload.name, read_upload(upload), kind=key)  # English or Chinese headers
    rows = request.data.get(key)
    if not isinstance(rows, list):
        raise InvalidRequest(key, _("must be a list (or upload a file)"))
    if len(rows) > settings.UPLOAD_MAX_ROWS:
        raise InvalidRequest(key, _("at most %(max)s rows") % {"max": settings.UPLOAD_MAX_ROWS})
    return rows


class VisitSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="person.masked_id_number")
    settled = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = ["visit_id", "id_number", "service_date", "class_a", "class_b", "class_c", "total", "fund", "personal",
                  "received_at", "settled"]

    def get_settled(self, obj) -> bool:
        return visit_is_settled(obj)


class MembershipSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="person.masked_id_number")
    name = serializers.CharField(source="person.name")

    class Meta:
        model = PoolMembership
        fields = ["id_number", "name", "year", "source", "signed_on"]


class CanViewStatements(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("settlement.view_institutionsettlement"))


VISITS_RESPONSES = {
    200: inline_serializer("VisitBatchResult", {
        "created": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
        "fund": serializers.CharField(), "errors": serializers.ListField(child=serializers.DictField())}),
    400: inline_serializer("VisitBatchError", {"error": serializers.DictField()}),
    409: inline_serializer("VisitBatchConflict", {"error": serializers.DictField()}),
}
SIGNUPS_RESPONSES = {
    200: inline_serializer("SignupResult", {
        "created": serializers.IntegerField(), "unchanged": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField())}),
    400: inline_serializer("SignupError", {"error": serializers.DictField()}),
}


class VisitsView(APIView):
    """Send a batch of visits of one institution as JSON `visits`: outpatient-pool visits, and
    certified visits naming their `benefit` (chronic, special_disease, special_drug, two_diseases;
    default outpatient_pool) and `item_code` (the disease or drug). A CSV/XLSX `file` goes to
    `visits/file/`, multipart only: a generated client needs one content type per operation
    (issue #14 item 10).

    Idempotent per visit: (institution, visit_id) already received is counted as a duplicate
    and changes nothing. 200 with {created, duplicates, fund, errors: [{row, visit_id, code, message}]}.
    """

    permission_classes = [CanSubmitVisits]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="settlement_visits_create",
        request=inline_serializer("VisitBatch", {"visits": serializers.ListField(child=serializers.DictField())}),
        responses=VISITS_RESPONSES, tags=["settlement"],
    )
    def post(self, request, region: str, code: str):
        institution = _institution(request, region, code, pool=False)
        try:
            result = visits_receive(acting_user=request.user, institution=institution, rows=_rows(request, "visits"))
        except ConcurrentChange as exc:  # nothing saved; the same batch sent again will go through
            return Response({"error": _error(exc)}, status=status.HTTP_409_CONFLICT)
        except QuoteError as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())

    @extend_schema(operation_id="settlement_visits_list", responses={200: page_of(VisitSerializer)},
                   tags=["settlement"])
    def get(self, request, region: str, code: str):
        """The institution's visits, newest first (paginated); ?year=2021&month=3 to filter."""
        institution = _institution(request, region, code)
        qs = with_account_marks(Visit.objects.filter(institution=institution).select_related("person")
                                .order_by("-service_date", "-pk"))
        if (year := request.query_params.get("year", "")).isdigit():
            qs = qs.filter(year=int(year))
        if (month := request.query_params.get("month", "")).isdigit():
            qs = qs.filter(month=int(month))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(VisitSerializer(page, many=True).data)


class SignupsView(APIView):
    """Sign-up list of residents of one pool institution for a year (JSON `signups` [{id_number,
    signed_on}] with `year`; a CSV/XLSX `file` with `year` goes to `signups/file/`, multipart
    only); GET lists the institution's members."""

    permission_classes = [CanSubmitSignups]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="settlement_signups_create",
        request=inline_serializer("SignupList", {"year": serializers.IntegerField(),
                                                 "signups": serializers.ListField(child=serializers.DictField())}),
        responses=SIGNUPS_RESPONSES, tags=["settlement"],
    )
    def post(self, request, region: str, code: str):
        institution = _institution(request, region, code)
        try:
            year = request.data.get("year")
            if type(year) not in (int, str) or not str(year).isascii() or not str(year).isdigit() \
                    or not 2000 <= int(year) <= 2100:
                raise InvalidRequest("year", _("a year such as 2021"))
            result = pool_signups_import(acting_user=request.user, institution=institution, year=int(year),
                                         rows=_rows(request, "signups"))
        except QuoteError as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": result.created, "unchanged": result.unchanged, "errors": result.errors})

    @extend_schema(operation_id="settlement_signups_list", responses={200: page_of(MembershipSerializer)},
                   tags=["settlement"])
    def get(self, request, region: str, code: str):
        institution = _institution(request, region, code)
        qs = PoolMembership.objects.filter(institution=institution).select_related("person").order_by("-year", "pk")
        if (year := request.query_params.get("year", "")).isdigit():
            qs = qs.filter(year=int(year))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(MembershipSerializer(page, many=True).data)


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file in a multipart body: `format: binary` in the schema (a generator sends the bytes)."""


class VisitsFileView(VisitsView):
    """A CSV/XLSX file of outpatient-pool visits (multipart `file`); the same checks and answer
    as `visits/`."""

    parser_classes = [MultiPartParser]
    http_method_names = ["post", "options"]

    @extend_schema(operation_id="settlement_visits_file_create",
                   request=inline_serializer("VisitFile", {"file": UploadField()}),
                   responses=VISITS_RESPONSES, tags=["settlement"])
    def post(self, request, region: str, code: str):
        return super().post(request, region, code)


class SignupsFileView(SignupsView):
    """A CSV/XLSX sign-up list (multipart `file` and `year`); the same checks and answer as `signups/`."""

    parser_classes = [MultiPartParser]
    http_method_names = ["post", "options"]

    @extend_schema(operation_id="settlement_signups_file_create",
                   request=inline_serializer("SignupFile", {"year": serializers.IntegerField(), "file": UploadField()}),
                   responses=SIGNUPS_RESPONSES, tags=["settlement"])
    def post(self, request, region: str, code: str):
        return super().post(request, region, code)


class StatementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    institution = serializers.CharField(source="institution.code")
    institution_name = serializers.CharField(source="institution.name")
    region = serializers.CharField(source="run.region.code")
    kind = serializers.CharField(source="run.kind")
    period = serializers.CharField(source="run.period")
    headcount = serializers.IntegerField()
    quota = serializers.DecimalField(max_digits=14, decimal_places=2)
    actual = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    adjustment = serializers.DecimalField(max_digits=14, decimal_places=2)
    settled_before = serializers.DecimalField(max_digits=14, decimal_places=2)
    payable = serializers.DecimalField(max_digits=14, decimal_places=2)
    state = serializers.CharField()


class StatementListView(generics.ListAPIView):
    """Capitation statements, newest first; filter with ?institution=CODE&year=2021."""

    permission_classes = [CanViewStatements]
    serializer_class = StatementSerializer
    filter_backends = []

    def get_queryset(self):
        qs = statements().order_by("-run__year", "-run__month", "institution__code", "pk")
        if (own := operator_institution_id(self.request.user)) is not None:
            qs = qs.filter(institution_id=own)
        if code := self.request.query_params.get("institution"):
            qs = qs.filter(institution__code=code)
        if (year := self.request.query_params.get("year", "")).isdigit():
            qs = qs.filter(run__year=int(year))
        return qs


class StaySerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="person.masked_id_number")
    statement = serializers.IntegerField(source="statement_id", allow_null=True)

    class Meta:
        model = InpatientStay
        fields = ["stay_id", "id_number", "admitted", "discharged", "level", "diagnosis", "transfer", "class_a",
                  "class_b", "class_c", "total", "deductible", "fund", "catastrophic", "personal", "policy_version",
                  "received_at", "statement"]


STAYS_RESPONSES = {
    200: inline_serializer("StayBatchResult", {
        "created": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
        "fund": serializers.CharField(), "errors": serializers.ListField(child=serializers.DictField())}),
    400: inline_serializer("StayBatchError", {"error": serializers.DictField()}),
    409: inline_serializer("StayBatchConflict", {"error": serializers.DictField()}),
}


class StaysView(APIView):
    """Direct inpatient settlement (住院直接结算): a hospital sends its discharged stays as JSON
    `stays` [{stay_id, id_number, admitted, discharged, diagnosis (ICD-10), level?, transfer?,
    lines: [{date, item, kind, quantity, amount, class (A/B/C)}]}]; a CSV/XLSX `file` (one row per
    line, the stay's columns repeated) goes to `stays/file/`. Idempotent per stay: (institution,
    stay_id) already received is a duplicate and changes nothing. 200 with {created, duplicates,
    fund, errors: [{row, stay_id, code, message}]} (`fund`: the fund and catastrophic supplement
    the hospital will be paid on its monthly statement). Sent under the visit permissions."""

    permission_classes = [CanSubmitVisits]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="settlement_stays_create",
        request=inline_serializer("StayBatch", {"stays": serializers.ListField(child=serializers.DictField())}),
        responses=STAYS_RESPONSES, tags=["settlement"],
    )
    def post(self, request, region: str, code: str):
        institution = _institution(request, region, code, pool=False)
        first_rows = None
        try:
            if request.content_type.startswith("multipart/"):
                stays, first_rows = stay_rows_group(_rows(request, "stays"))
            else:
                stays = request.data.get("stays")
                if not isinstance(stays, list):
                    raise InvalidRequest("stays", _("must be a list (or upload a file)"))
            result = stays_receive(acting_user=request.user, institution=institution, stays=stays)
        except ConcurrentChange as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_409_CONFLICT)
        except QuoteError as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = result.as_dict()
        if first_rows is not None:  # a file: the row of the stay's first line
            body["errors"] = [{**e, "row": first_rows[e["row"] - 1]} for e in body["errors"]]
        return Response(body)

    @extend_schema(operation_id="settlement_stays_list", responses={200: page_of(StaySerializer)},
                   tags=["settlement"])
    def get(self, request, region: str, code: str):
        """The hospital's direct stays, latest discharge first (paginated); ?year=2021 to filter."""
        institution = _institution(request, region, code, pool=False)
        qs = InpatientStay.objects.filter(institution=institution).select_related("person").order_by("-discharged", "-pk")
        if (year := request.query_params.get("year", "")).isdigit():
            qs = qs.filter(discharged__year=int(year))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(StaySerializer(page, many=True).data)


class StaysFileView(StaysView):
    """A CSV/XLSX file of stays (multipart `file`, one row per itemised line); the same checks and
    answer as `stays/`, each error naming the row of its stay's first line."""

    parser_classes = [MultiPartParser]
    http_method_names = ["post", "options"]

    @extend_schema(operation_id="settlement_stays_file_create",
                   request=inline_serializer("StayFile", {"file": UploadField()}),
                   responses=STAYS_RESPONSES, tags=["settlement"])
    def post(self, request, region: str, code: str):
        return super().post(request, region, code)
