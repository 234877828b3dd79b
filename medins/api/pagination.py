"""The schema of a paginated list answered by an APIView (drf-spectacular documents pagination
only for generic list views): {count, next, previous, results: [...]}."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

_pages: dict[type, serializers.Serializer] = {}


def page_of(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    if serializer_class not in _pages:
        name = serializer_class.__name__.removesuffix("Serializer")
        _pages[serializer_class] = inline_serializer(f"Paginated{name}List", {
            "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True), "results": serializer_class(many=True)})
    return _pages[serializer_class]
