"""REST API of outpatient-pool settlement (under /api/v1/settlement/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from medins.benefits.errors import QuoteError
from medins.models import Institution

from .imports import read_rows
from .selectors import statements
from .services import visits_ingest


class CanSubmitVisits(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("settlement.add_visit"))


class CanViewStatements(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("settlement.view_institutionsettlement"))


class VisitsView(APIView):
    """Send a batch of outpatient-pool visits of one institution (JSON `visits` or a CSV/XLSX `file`).

    Idempotent per visit: (institution, visit_id) already received is counted as a duplicate
    and changes nothing. 200 with {created, duplicates, fund, errors: [{row, visit_id, code, message}]}.
    """

    permission_classes = [CanSubmitVisits]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="settlement_visits_create",
        request=inline_serializer("VisitBatch", {"visits": serializers.ListField(child=serializers.DictField()),
                                                 "file": serializers.FileField(required=False)}),
        responses={200: inline_serializer("VisitBatchResult", {
            "created": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
            "fund": serializers.CharField(), "errors": serializers.ListField(child=serializers.DictField())}),
            400: inline_serializer("VisitBatchError", {"error": serializers.DictField()})},
        tags=["settlement"],
    )
    def post(self, request, region: str, code: str):
        institution = get_object_or_404(Institution.objects.select_related("region"), region__code=region, code=code,
                                        designations__code="outpatient_pool")
        try:
            upload = request.FILES.get("file")
            if upload is not None:
                rows = read_rows(upload.name, upload.read())
            else:
                rows = request.data.get("visits")
                if not isinstance(rows, list):
                    return Response({"error": {"code": "invalid_request", "field": "visits",
                                               "message": "visits: must be a list (or upload a file)"}}, status=400)
            result = visits_ingest(acting_user=request.user, institution=institution, rows=rows)
        except QuoteError as exc:
            return Response({"error": exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())


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
        if code := self.request.query_params.get("institution"):
            qs = qs.filter(institution__code=code)
        if (year := self.request.query_params.get("year", "")).isdigit():
            qs = qs.filter(run__year=int(year))
        return qs
