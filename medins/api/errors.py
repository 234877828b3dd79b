"""Every API error has one shape, {"error": {code, message, field?}} (issue 11 item 4), and every
operation of the OpenAPI schema documents the error statuses it may answer (issue 11 item 7).

- `exception_handler`: DRF's own errors (malformed JSON, not authenticated, forbidden, not
  found, method not allowed, unsupported media type, throttled) answer the `error` object the
  project's views answer with, and nothing else (no DRF `detail`, issue #14); a body that is
  not JSON is `invalid_request` on `body`, as in the contracts.
- `document_error_responses`: a drf-spectacular postprocessing hook adding 400, 401, 403, 404,
  405, 413 and 415 with that shape to every operation that does not document them itself.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.views import exception_handler as drf_exception_handler

ERROR_STATUSES = {"400": "Bad request", "401": "Not authenticated", "403": "Forbidden", "404": "Not found",
                  "405": "Method not allowed", "413": "Request too large", "415": "Unsupported media type"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "object", "additionalProperties": {},
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}},
    },
}


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "error" not in response.data:
        detail = response.data.get("detail", response.data)
        if isinstance(exc, ParseError):
            error = {"code": "invalid_request", "message": f"body: {detail}", "field": "body"}
        else:
            code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
            error = {"code": str(code), "message": str(detail)}
        response.data = {"error": error}
    return response


def document_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorResponse"] = _ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": {"application/json": {"schema": ref}}})
    return result
