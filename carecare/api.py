"""REST API of long-term care (under /api/v1/care/): care homes request assessments.

A care home authenticates as its institution operator (settlement.InstitutionOperator, token or
session, like the outpatient-pool institutions): it requests assessments for its own home only
and lists its own home's requests and residents' assessments (object-level: another home's
assessment is a 404). Agency users with the permissions name the home in the body.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.idnumber import normalize
from enrollment.selectors import persons_by_id_number
from medins.api.pagination import page_of
from medins.benefits.errors import InvalidRequest, QuoteError
from medins.parsing import max_length, parse_date, parse_text, today

from . import selectors
from .errors import CareError, NotPermitted
from .models import Assessment, CareClaim, CareClaimLine, RequestedBy
from .services.assessments import assessment_request


class CanRequestAssessments(BasePermission):
    """POST needs carecare.add_assessment, GET carecare.view_assessment."""

    def has_permission(self, request, view):
        perm = "carecare.view_assessment" if request.method in ("GET", "HEAD", "OPTIONS") else "carecare.add_assessment"
        return bool(request.user and request.user.has_perm(perm))


class AssessmentSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="person.masked_id_number")
    name = serializers.CharField(source="person.name")
    care_home = serializers.CharField(source="care_home.code", allow_null=True, default=None)

    class Meta:
        model = Assessment
        fields = ["id", "id_number", "name", "care_home", "requested_by", "requested_on", "state", "scale_version",
                  "score", "grade", "valid_from", "valid_to", "rejection_reason"]


def _visible(user):
    return selectors.assessments_for(user).select_related("person", "care_home").order_by("-requested_on", "-pk")


def _home(request):
    """The requesting home: an operator's own institution; for agency users care_home {region, code}."""
    own = selectors.operator_home_id(request.user)
    homes = selectors.care_homes()
    if own is not None:
        home = homes.filter(pk=own).first()
        if home is None:
            raise NotPermitted(_("this account does not operate a designated care home"))
        return home
    ref = request.data.get("care_home")
    if ref in (None, ""):
        return None
    if not isinstance(ref, dict):
        raise InvalidRequest("care_home", _("must be {region, code}"))
    home = homes.filter(region__code=str(ref.get("region", "")), code=str(ref.get("code", ""))).first()
    if home is None:
        raise InvalidRequest("care_home", _("not a designated care home"))
    return home


def _error(exc) -> dict:
    """The error object; a refused value names its field as the reader knows it (照护机构: …) while
    `field` keeps its machine-readable key (InvalidRequest.localized)."""
    body = exc.as_dict()
    if isinstance(exc, InvalidRequest):
        body["message"] = exc.localized()
    return body


class AssessmentsView(APIView):
    permission_classes = [CanRequestAssessments]

    @extend_schema(
        operation_id="care_assessments_create",
        request=inline_serializer("AssessmentRequest", {
            "id_number": serializers.CharField(), "requested_by": serializers.ChoiceField(RequestedBy.choices, required=False),
            "requester_name": serializers.CharField(required=False), "requested_on": serializers.DateField(required=False),
            "care_home": serializers.DictField(required=False)}),
        responses={201: AssessmentSerializer, 400: inline_serializer("AssessmentRequestError", {"error": serializers.DictField()}),
                   403: inline_serializer("AssessmentRequestRefused", {"error": serializers.DictField()})},
        tags=["care"],
    )
    def post(self, request):
        """Request an assessment of a resident (state requested). A care home's account requests
        for its own home; requested_by defaults to care_home."""
        try:
            if not isinstance(request.data, dict):
                raise InvalidRequest("body", _("must be a JSON object"))
            id_number = normalize(parse_text(request.data.get("id_number"), "id_number", max_length=18, required=True))
            person = persons_by_id_number([id_number]).get(id_number)
            if person is None:
                raise InvalidRequest("id_number", _("no insured person has this ID number"))
            home = _home(request)
            requested_by = parse_text(request.data.get("requested_by") or ("care_home" if home else ""), "requested_by",
                                      max_length=20, required=True)
            requested_on = parse_date(request.data.get("requested_on") or today().isoformat(), "requested_on",
                                      latest=today())
            name = parse_text(request.data.get("requester_name"), "requester_name",
                              max_length=max_length(Assessment, "requester_name"))
            assessment = assessment_request(acting_user=request.user, person=person, requested_by=requested_by,
                                            requester_name=name, care_home=home, requested_on=requested_on)
        except NotPermitted as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_403_FORBIDDEN)
        except (CareError, QuoteError) as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        assessment = _visible(request.user).get(pk=assessment.pk)
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="care_assessments_list", responses={200: page_of(AssessmentSerializer)}, tags=["care"])
    def get(self, request):
        """The assessments the account may see (a care home: its requests and its residents'),
        newest first, paginated; ?state=approved to filter."""
        qs = _visible(request.user)
        if state := request.query_params.get("state"):
            qs = qs.filter(state=state)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(AssessmentSerializer(page, many=True).data)


class AssessmentDetailView(APIView):
    permission_classes = [CanRequestAssessments]

    @extend_schema(operation_id="care_assessments_retrieve", responses={200: AssessmentSerializer}, tags=["care"])
    def get(self, request, pk: int):
        return Response(AssessmentSerializer(get_object_or_404(_visible(request.user), pk=pk)).data)


# ------------------------------------------------------------------------------ monthly claims


class CanSendClaims(BasePermission):
    """POST needs carecare.add_careclaim, GET carecare.view_careclaim; a care home's operator then
    sees its own home's claims only (another home's claim is a 404)."""

    def has_permission(self, request, view):
        perm = "carecare.view_careclaim" if request.method in ("GET", "HEAD", "OPTIONS") else "carecare.add_careclaim"
        return bool(request.user and request.user.has_perm(perm))


class ClaimSerializer(serializers.ModelSerializer):
    number = serializers.CharField()
    care_home = serializers.CharField(source="care_home.code")
    month = serializers.SerializerMethodField()

    class Meta:
        model = CareClaim
        fields = ["id", "number", "care_home", "month", "state", "sends", "received_at", "residents", "days_billed",
                  "days_refused", "total", "fund", "personal", "refused_amount", "rejection_reason"]

    def get_month(self, obj) -> str:
        return f"{obj.month:%Y-%m}"


class ClaimLineSerializer(serializers.ModelSerializer):
    """One resident's result: the days paid and refused (each refused day with its reason, in the
    reader's language — Chinese by default) and the fund and personal shares."""

    id_number = serializers.SerializerMethodField()
    refused = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()
    line_refusal = serializers.SerializerMethodField()

    class Meta:
        model = CareClaimLine
        fields = ["id_number", "days_billed", "days_paid", "days_refused", "total", "fund", "personal", "refused_amount",
                  "line_refusal", "refused", "flagged", "groups"]

    def get_id_number(self, obj) -> str:
        return obj.id_number[:6] + "*" * 8 + obj.id_number[-4:] if len(obj.id_number) == 18 else obj.id_number

    def get_refused(self, obj) -> list:
        from .claim_checks import reason_text

        return [{"date": d["date"], "reason": d["refused"], "message": reason_text(d["refused"])}
                for d in obj.days if d.get("refused")]

    def get_flagged(self, obj) -> list:
        from .claim_checks import reason_text

        return [{"date": d["date"], "flag": d["flag"], "message": reason_text(d["flag"])} for d in obj.days if d.get("flag")]

    def get_line_refusal(self, obj) -> str:
        from .claim_checks import reason_text

        return reason_text(obj.line_refusal) if obj.line_refusal else ""


class ClaimDetailSerializer(ClaimSerializer):
    lines = ClaimLineSerializer(many=True, read_only=True)

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "lines"]


def _claims(user):
    return selectors.claims_for(user).select_related("care_home").order_by("-month", "-pk")


class ClaimsView(APIView):
    permission_classes = [CanSendClaims]

    @extend_schema(
        operation_id="care_claims_create",
        request=inline_serializer("CareClaimRequest", {
            "month": serializers.CharField(help_text="YYYY-MM"),
            "residents": serializers.ListField(child=serializers.DictField(), help_text=(
                '[{"id_number": "...", "days": [{"date": "2021-06-01", "bed": "40.00", "nursing": "45.00", '
                '"supplies": "5.00", "other": "0.00"}]}]')),
            "care_home": serializers.DictField(required=False, help_text="{region, code}: agency users only")}),
        responses={201: ClaimDetailSerializer, 200: ClaimDetailSerializer,
                   400: inline_serializer("CareClaimError", {"error": serializers.DictField()}),
                   403: inline_serializer("CareClaimRefused", {"error": serializers.DictField()}),
                   409: inline_serializer("CareClaimConflict", {"error": serializers.DictField()})},
        tags=["care"],
    )
    def post(self, request):
        """Send a month's claim of the home (one per home and month). 201: received; 200 with
        "outcome": "unchanged" (the same claim again: nothing changed) or "replaced" (a corrected
        claim before checking, or after rejection); 409 when the month's claim is already checked."""
        from .claim_checks import month_of
        from .errors import ClaimConflict
        from .services.claims import care_claim_receive

        try:
            if not isinstance(request.data, dict):
                raise InvalidRequest("body", _("must be a JSON object"))
            month = month_of(request.data.get("month"))  # the body first: a bad request is a 400 for anyone
            home = _home(request)
            if home is None:
                raise InvalidRequest("care_home", _("is required"))
            claim, outcome = care_claim_receive(acting_user=request.user, care_home=home, month=month,
                                                residents=request.data.get("residents"))
        except NotPermitted as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ClaimConflict as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_409_CONFLICT)
        except (CareError, QuoteError) as exc:
            return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        claim = _claims(request.user).prefetch_related("lines").get(pk=claim.pk)
        body = {**ClaimDetailSerializer(claim).data, "outcome": outcome}
        return Response(body, status=status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK)

    @extend_schema(operation_id="care_claims_list", responses={200: page_of(ClaimSerializer)}, tags=["care"])
    def get(self, request):
        """The claims the account may see (a care home: its own), newest month first, paginated;
        ?month=2021-06 and ?state=approved to filter."""
        from .claim_checks import month_of

        qs = _claims(request.user)
        if state := request.query_params.get("state"):
            qs = qs.filter(state=state)
        if month := request.query_params.get("month"):
            try:
                qs = qs.filter(month=month_of(month))
            except QuoteError as exc:
                return Response({"error": _error(exc)}, status=status.HTTP_400_BAD_REQUEST)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ClaimSerializer(page, many=True).data)


class ClaimDetailView(APIView):
    permission_classes = [CanSendClaims]

    @extend_schema(operation_id="care_claims_retrieve", responses={200: ClaimDetailSerializer}, tags=["care"])
    def get(self, request, pk: int):
        """A claim's state and each resident's result (days paid and refused with the reason, fund,
        personal). Another home's claim is a 404."""
        return Response(ClaimDetailSerializer(get_object_or_404(_claims(request.user).prefetch_related("lines"), pk=pk)).data)
