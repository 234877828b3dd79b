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
        examples=[OpenApiExample("Changchun inpatient", value=_EXAMPLE, request_only=True)],
        tags=["quotes"],
    )
    def post(self, request):
        ok, body = quote_or_error(request.data)
        return Response(body, status=status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST)
