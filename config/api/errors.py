"""The API's errors: a small hierarchy services raise, and the one handler that renders every error.

Every error under ``/api/`` is JSON ``{"message": "..."}`` (field details, when there are any, under
``errors``). DRF views reach :func:`api_exception_handler`; plain Django views and unknown routes
reach :func:`json_error` through ``ApiErrorMiddleware`` and the catch-all route.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.views import set_rollback

logger = logging.getLogger("camhub.api")


class ApiError(Exception):
    """A failure a client caused or must know about; carries its HTTP status."""

    status_code = 400
    default_message = "Invalid request"

    def __init__(self, message: str | None = None, *, errors: Any = None) -> None:
        self.message = message or self.default_message
        self.errors = errors
        super().__init__(self.message)


class BadRequest(ApiError):
    status_code = 400
    default_message = "Invalid request"


class Forbidden(ApiError):
    status_code = 403
    default_message = "You do not have permission to do this"


class NotFound(ApiError):
    status_code = 404
    default_message = "Not found"


class Conflict(ApiError):
    status_code = 409
    default_message = "Conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_message = "Request body too large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_message = "Unsupported media type"


class ServiceUnavailable(ApiError):
    status_code = 503
    default_message = "Service temporarily unavailable, try again later"


OUTAGE_RETRY_AFTER_SECONDS = 5


def service_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says a service the request needs (database, cache, broker) is unreachable
    or overloaded right now: the client should retry (503), nothing is wrong with its request."""
    import redis.exceptions
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | BrokerError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        try:
            import psycopg
        except ImportError:  # pragma: no cover (psycopg is a dependency)
            psycopg = None
        # PostgreSQL down, restarting, refusing connections, or a statement timed out; SQLite busy.
        # (Not SQLite's other OperationalErrors, e.g. a missing table: those are bugs, 500.)
        return (psycopg is not None and isinstance(exc.__cause__, psycopg.OperationalError)) or (
            "database is locked" in str(exc)
        )
    return False


NUL_REFUSED_MESSAGE = "Text values may not contain NUL characters (\\u0000)"


def nul_refused(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a NUL character (bad input, a 400): psycopg refuses
    one in a text value before sending it; the server refuses ``\\u0000`` in a JSON value."""
    from django.db import DataError
    from psycopg.errors import UntranslatableCharacter

    if not isinstance(exc, DataError):
        return False
    return "0x00" in str(exc) or isinstance(exc.__cause__, UntranslatableCharacter)


def outage_response() -> JsonResponse:
    return json_error(503, ServiceUnavailable.default_message, headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> JsonResponse:
    body = {"message": message, **extra}
    return JsonResponse(body, status=status, headers=headers)


def _first_message(detail: Any) -> str:
    """Flatten DRF's nested error detail into one readable sentence ("field: problem")."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
        return "Invalid request"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid request"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> JsonResponse:
    """DRF's EXCEPTION_HANDLER: every exception becomes ``{"message": ...}``; unknown ones a logged 500."""
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, ApiError):
        status, message = exc.status_code, exc.message
        if exc.errors is not None:
            extra["errors"] = exc.errors
    elif isinstance(exc, Http404):
        status, message = 404, "Not found"
    elif isinstance(exc, DjangoPermissionDenied):
        status, message = 403, "You do not have permission to do this"
    elif isinstance(exc, RequestDataTooBig):
        status, message = 413, "Request body too large"
    elif isinstance(exc, DjangoValidationError):
        status, message = 400, "; ".join(exc.messages) or "Invalid request"
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        if isinstance(exc, drf.ValidationError):
            message = _first_message(exc.detail)
            extra["errors"] = exc.detail
        elif isinstance(exc, drf.ParseError):
            message = f"Malformed request body: {exc.detail}"
        else:
            message = _first_message(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    elif nul_refused(exc):
        status, message = 400, NUL_REFUSED_MESSAGE
    elif service_outage(exc):
        logger.warning("service unavailable: %s: %s", type(exc).__name__, exc)
        status, message = 503, ServiceUnavailable.default_message
        headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    else:
        view = context.get("view")
        logger.exception("unhandled error in %s", type(view).__name__ if view else "API view")
        status, message = 500, "Internal server error"
    set_rollback()
    return json_error(status, message, headers=headers, **extra)
