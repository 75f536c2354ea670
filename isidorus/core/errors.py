"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

Unexpected exceptions become a 500 with a generic message (logged with the trace, never
sent to the client), so bodies never leak stack traces, SQL or settings. A PostgreSQL that
cannot be reached (stopped, restarting, failing over) is not a bug of the request: it is a
503 `database_unavailable` with Retry-After, here for API views and in
DatabaseUnavailableMiddleware (isidorus/core/middleware.py) for the others (the admin).
Redis (limits, job state) unreachable is the same kind of outage: 503 `redis_unavailable`;
so are DynamoDB, SQS or S3 unreachable, or their table, queue or bucket gone (an emulator
restarted, a deployment half done): 503 `aws_store_unavailable`.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# What Django raises when PostgreSQL cannot be reached or drops the connection mid-query.
# Other database errors (a bad query, a constraint) are bugs and stay 500s.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
REDIS_UNAVAILABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# botocore's connection refused, connect and read timeouts, and connections closed mid-call.
AWS_UNAVAILABLE_ERRORS = (AwsConnectionError, HTTPClientError)
AWS_MISSING_RESOURCE_CODES = frozenset(
    {"ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "NoSuchBucket"}
)
# A restart or failover takes seconds; clients should not hammer a recovering server.
DATABASE_RETRY_AFTER_SECONDS = 5

_CODE_OVERRIDES = {
    exceptions.NotAuthenticated: "missing_api_key",
    exceptions.NotFound: "not_found",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "malformed_request",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.ValidationError: "invalid",
}
_MESSAGE_OVERRIDES = {
    exceptions.NotAuthenticated: "an API key is required: send it in the X-API-Key header",
}


class ApiError(exceptions.APIException):
    """A domain error with an explicit status, code and optional Retry-After."""

    def __init__(
        self, *, status_code: int, code: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.wait = retry_after


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {str(name): value for name, value in detail.items()}
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def _unavailable(code: str, store: str) -> ApiError:
    return ApiError(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        code=code,
        message=f"{store} is unavailable; retry shortly",
        retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )


def _aws_resource_missing(error: Exception) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") in AWS_MISSING_RESOURCE_CODES
    )


def store_unavailable(error: Exception) -> ApiError | None:
    """The 503 for an outage of a store the request needs (None: not an outage)."""
    if isinstance(error, DATABASE_UNAVAILABLE_ERRORS):
        code, store = "database_unavailable", "the database"
    elif isinstance(error, REDIS_UNAVAILABLE_ERRORS):
        code, store = "redis_unavailable", "the job state store (Redis)"
    elif isinstance(error, AWS_UNAVAILABLE_ERRORS) or _aws_resource_missing(error):
        code, store = "aws_store_unavailable", "a job store (DynamoDB, SQS or S3)"
    else:
        return None
    logger.warning("%s: %s", code, error)
    return _unavailable(code, store)


def store_unavailable_response(error: Exception) -> JsonResponse | None:
    """The 503 for views outside DRF, in the same shape and with the same Retry-After."""
    unavailable = store_unavailable(error)
    if unavailable is None:
        return None
    return JsonResponse(
        error_body(unavailable.error_code, str(unavailable.detail)),
        status=unavailable.status_code,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "the request body is larger than the API accepts"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    exc = store_unavailable(exc) or exc
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "the server could not handle this request"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)
    code = getattr(exc, "error_code", None)
    if code is None:
        code = next((name for kind, name in _CODE_OVERRIDES.items() if isinstance(exc, kind)), None)
    if code is None:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
    if isinstance(exc, exceptions.ValidationError):
        message = "the request has invalid fields"
        fields = _flatten_fields(exc.detail)
    else:
        message = next(
            (text for kind, text in _MESSAGE_OVERRIDES.items() if isinstance(exc, kind)),
            str(exc.detail),
        )
        fields = {}
    # Throttled.__init__ always sets `wait`, but djangorestframework-stubs do not declare it.
    wait: float | None = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        message = f"rate limit reached; retry in {int(wait)} seconds"
    response.data = error_body(code, message, fields)
    return response
