"""REST API of the enrollment app (mounted under /api/v1/ by enrollment.urls.api_urlpatterns)."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from medins.benefits.errors import QuoteError
from medins.parsing import ParseError, parse_text

from .models import Payment, PaymentSource, Person
from .previewing import preview_or_error
from .selectors import category_ages_on, coverage_on, persons_search
from .services import payment_record

REVEAL = "enrollment.reveal_personal_data"


def perm(codename: str) -> type[BasePermission]:
    class HasPerm(BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.has_perm(codename))

    HasPerm.__name__ = f"Has_{codename.replace('.', '_')}"
    return HasPerm


# --------------------------------------------------------------------------- preview

_PREVIEW_EXAMPLE = {
    "region": "220100",
    "person": {"id_number": "220102199001011239", "category": "adult"},
    "payment_date": "2021-03-15",
    "newborn_registration": False,
}
_PERIOD_FIELDS = {
    "benefit_year": serializers.IntegerField(), "covered_from": serializers.DateField(),
    "covered_to": serializers.DateField(), "waiting": serializers.BooleanField(),
}


class EnrollmentPreviewView(APIView):
    """What a contribution paid on a date buys. Writes nothing."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="enrollment_preview",
        summary="Enrollment preview",
        description=(
            "contracts/enrollment-preview.md: benefit year(s), amount due and covered days for a payment on a date, "
            "from the policy in force on the payment date. 400 with {error: {code, message, field|parameter}}; "
            "codes invalid_request, missing_parameter, not_eligible."
        ),
        request=inline_serializer("EnrollmentPreviewRequest", {
            "region": serializers.CharField(),
            "person": inline_serializer("EnrollmentPreviewPerson", {
                "id_number": serializers.CharField(required=False),
                "birth_date": serializers.DateField(required=False),
                "category": serializers.ChoiceField(["adult", "minor", "student", "college_student", "newborn"], required=False),
                "school_kind": serializers.ChoiceField(["primary_secondary", "college"], required=False),
            }),
            "payment_date": serializers.DateField(),
            "newborn_registration": serializers.BooleanField(required=False, default=False),
        }),
        responses={
            200: inline_serializer("EnrollmentPreviewResponse", {
                "region": serializers.CharField(), "policy_version": serializers.CharField(),
                "amount_due": serializers.CharField(), "periods": inline_serializer("EnrollmentPeriod", _PERIOD_FIELDS, many=True),
            }),
            400: inline_serializer("EnrollmentPreviewError", {"error": serializers.DictField()}),
        },
        examples=[OpenApiExample("Changchun late payment", value=_PREVIEW_EXAMPLE, request_only=True)],
        tags=["enrollment"],
    )
    def post(self, request):
        ok, body = preview_or_error(request.data)
        return Response(body, status=status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST)


# --------------------------------------------------------------------------- persons


class PersonListSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="masked_id_number")
    region = serializers.CharField(source="region.code")
    school = serializers.CharField(source="school.name", default=None, allow_null=True)

    class Meta:
        model = Person
        fields = ["id", "id_number", "name", "sex", "birth_date", "region", "community", "school", "assistance"]


class PersonDetailSerializer(PersonListSerializer):
    bank_account = serializers.SerializerMethodField()
    category = serializers.SerializerMethodField()

    class Meta(PersonListSerializer.Meta):
        fields = [*PersonListSerializer.Meta.fields, "phone", "bank_account", "category"]

    def _reveal(self) -> bool:
        request = self.context.get("request")
        return bool(request and request.user.has_perm(REVEAL))

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if self._reveal():
            data["id_number"] = instance.id_number
        return data

    def get_bank_account(self, obj) -> str:
        return obj.bank_account if self._reveal() else obj.masked_bank_account

    def get_category(self, obj) -> str | None:
        """The category today; the policies' boundaries are read once per response (`category_ages_on`)."""
        ages = self.context.get("_category_ages")
        if ages is None:
            ages = self.context["_category_ages"] = (timezone.localdate(), category_ages_on(timezone.localdate()))
        day, by_region = ages
        region_ages = by_region.get(obj.region_id)
        return None if region_ages is None else obj.category_on(day, ages=region_ages)


class PersonListView(generics.ListAPIView):
    """Insured persons, ID numbers masked. `q`: full ID number, its last digits, or the start of the name."""

    serializer_class = PersonListSerializer
    permission_classes = [IsAuthenticated, perm("enrollment.view_person")]
    filterset_fields = ["region__code", "school"]

    def get_queryset(self):
        qs = Person.objects.select_related("region", "school").order_by("-pk")
        try:  # a NUL byte or a novel-length term is a 400, not a database error (issue 11 item 4)
            term = parse_text(self.request.query_params.get("q", ""), "q", max_length=50)
        except ParseError as exc:
            raise ValidationError({"q": [str(exc.message)]}) from None
        return persons_search(qs, term)

    @extend_schema(parameters=[OpenApiParameter("q", str, description="ID number, last digits, or start of the name")],
                   tags=["enrollment"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonDetailView(generics.RetrieveAPIView):
    """One person; full ID number and bank account only with the reveal_personal_data permission."""

    serializer_class = PersonDetailSerializer
    permission_classes = [IsAuthenticated, perm("enrollment.view_person")]
    queryset = Person.objects.select_related("region", "school")

    @extend_schema(tags=["enrollment"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonCoverageView(APIView):
    """Whether a person is covered on a date, and by which period."""

    permission_classes = [IsAuthenticated, perm("enrollment.view_person")]

    @extend_schema(
        operation_id="person_coverage",
        parameters=[OpenApiParameter("date", dt.date, description="YYYY-MM-DD (default: today)")],
        responses={200: inline_serializer("PersonCoverage", {
            "person": serializers.IntegerField(), "date": serializers.DateField(), "covered": serializers.BooleanField(),
            "period": inline_serializer("CoveragePeriodOut", {
                "benefit_year": serializers.IntegerField(), "covered_from": serializers.DateField(),
                "covered_to": serializers.DateField(), "waiting": serializers.BooleanField(),
                "receipt_number": serializers.CharField(allow_null=True),
            }, allow_null=True),
        }), 400: inline_serializer("CoverageError", {"error": serializers.DictField()})},
        tags=["enrollment"],
    )
    def get(self, request, pk: int):
        raw = request.query_params.get("date")
        try:
            day = dt.date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError:
            return Response({"error": {"code": "invalid_request", "message": f"{raw!r} is not a date YYYY-MM-DD",
                                       "field": "date"}}, status=status.HTTP_400_BAD_REQUEST)
        person_id = get_object_or_404(Person.objects.values_list("pk", flat=True), pk=pk)
        period = coverage_on(person_id, day)
        body = {"person": person_id, "date": day.isoformat(), "covered": period is not None, "period": None}
        if period is not None:
            body["period"] = {
                "benefit_year": period.benefit_year, "covered_from": period.covered_from.isoformat(),
                "covered_to": period.covered_to.isoformat(), "waiting": period.waiting,
                "receipt_number": period.payment.receipt_number if period.payment_id else None,
            }
        return Response(body)


# --------------------------------------------------------------------------- payments


class PaymentInSerializer(serializers.Serializer):
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.select_related("region", "school"))
    receipt_number = serializers.CharField(max_length=40)
    paid_on = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    newborn_registration = serializers.BooleanField(default=False)


class PaymentOutSerializer(serializers.ModelSerializer):
    periods = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = ["id", "receipt_number", "person", "paid_on", "amount", "category", "policy_version", "status", "periods"]

    def get_periods(self, obj) -> list[dict]:
        return [{"benefit_year": p.benefit_year, "covered_from": p.covered_from, "covered_to": p.covered_to,
                 "waiting": p.waiting} for p in obj.periods.order_by("covered_from")]


class PaymentCreateView(APIView):
    """Record one payment (same service as the admin form); 201 with the coverage periods it bought."""

    permission_classes = [IsAuthenticated, perm("enrollment.add_payment")]

    @extend_schema(operation_id="payment_create", request=PaymentInSerializer,
                   responses={201: PaymentOutSerializer, 400: inline_serializer("PaymentError", {"error": serializers.DictField()})},
                   tags=["enrollment"])
    def post(self, request):
        data = PaymentInSerializer(data=request.data)
        if not data.is_valid():
            field, problems = next(iter(data.errors.items()))
            return Response({"error": {"code": "invalid_request", "message": f"{field}: {problems[0]}", "field": field}},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            payment = payment_record(acting_user=request.user, source=PaymentSource.API, **data.validated_data)
        except QuoteError as exc:
            return Response({"error": exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PaymentOutSerializer(payment).data, status=status.HTTP_201_CREATED)
