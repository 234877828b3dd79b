"""POST /api/v1/quotes/ — the quote contract over HTTP."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from medins.quoting import quote_or_error

_EXAMPLE = {
    "region": "220100",
    "benefit": "inpatient",
    "service_date": "2021-05-10",
    "person": {"category": "adult"},
    "institution": {"level": "municipal_tertiary"},
    "bill": {"class_a": "20000.00", "class_b": "10000.00", "class_c": "1500.00"},
    "year_to_date": {"fund_paid": "0.00", "covered_personal": "0.00", "catastrophic_paid": "0.00", "deductible_paid": False},
    "flags": [],
}

_CHRONIC_EXAMPLE = {
    "region": "220100", "benefit": "chronic", "service_date": "2021-08-02",
    "person": {"category": "adult"}, "institution": {"level": "primary"},
    "certified_diseases": ["coronary_heart_disease", "diabetes"],
    "bill": {"class_a": "500.00", "class_b": "300.00", "class_c": "40.00"},
    "year_to_date": {"fund_paid": "3200.00", "shared_fund_paid": "3800.00"},
}
_SPECIAL_DRUG_EXAMPLE = {
    "region": "220100", "benefit": "special_drug", "service_date": "2021-03-08",
    "person": {"category": "adult"}, "institution": {"level": "provincial_tertiary"}, "drug": "CC-D-003",
    "bill": {"class_a": "0.00", "class_b": "20000.00", "class_c": "0.00"},
    "year_to_date": {"eligible_counted": "0.00", "deductible_paid_amount": "0.00", "fund_paid": "0.00"},
}

_Money = serializers.CharField


class QuoteView(APIView):
    """Compute what the fund, the catastrophic supplement and the person pay. Writes nothing."""

    @extend_schema(
        operation_id="quote_create",
        summary="Benefit quote",
        description="Request and response as in contracts/quote.md. 400 with {error: {code, message, field|parameter}}.",
        request=inline_serializer(
            "QuoteRequest",
            {
                "region": serializers.CharField(),
                "benefit": serializers.CharField(),
                "service_date": serializers.DateField(),
                "person": serializers.DictField(),
                "institution": serializers.DictField(),
                "bill": serializers.DictField(child=_Money(), required=False),  # every benefit but long_term_care
                "care": serializers.DictField(required=False, help_text="long_term_care: {adl_score, days}"),
                "year_to_date": serializers.DictField(required=False),
                "flags": serializers.ListField(child=serializers.CharField(), required=False),
                "programme": serializers.CharField(required=False),
                "delivery": serializers.CharField(required=False),
                "certified_diseases": serializers.ListField(child=serializers.CharField(), required=False,
                                                            help_text="chronic: every disease certified on the date"),
                "disease": serializers.CharField(required=False,
                                                 help_text="chronic (Jinan), special_disease, two_diseases"),
                "drug": serializers.CharField(required=False, help_text="special_drug: catalogue code"),
                "insulin_user": serializers.BooleanField(required=False, help_text="two_diseases"),
            },
        ),
        responses={
            200: inline_serializer(
                "QuoteResponse",
                {
                    "region": serializers.CharField(),
                    "benefit": serializers.CharField(),
                    "policy_version": serializers.CharField(),
                    "total": _Money(),
                    "fund": _Money(),
                    "catastrophic": _Money(),
                    "personal": _Money(),
                    "lines": serializers.ListField(child=serializers.DictField()),
                    "settlement": serializers.DictField(child=_Money()),
                },
            ),
            400: inline_serializer("QuoteError", {"error": serializers.DictField()}),
        },
        examples=[OpenApiExample("Changchun inpatient", value=_EXAMPLE, request_only=True),
                  OpenApiExample("Changchun chronic disease", value=_CHRONIC_EXAMPLE, request_only=True),
                  OpenApiExample("Changchun special drug", value=_SPECIAL_DRUG_EXAMPLE, request_only=True)],
        tags=["quotes"],
    )
    def post(self, request):
        ok, body = quote_or_error(request.data)
        return Response(body, status=status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST)
