"""Request ids and one log line per request; JSON errors for exceptions outside DRF under /api/;
503 instead of 500 everywhere when a backing service is unreachable; DRF responses released
from their reference cycles once rendered."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError

from config.api.errors import (
    NUL_REFUSED_MESSAGE,
    OUTAGE_RETRY_AFTER_SECONDS,
    json_error,
    nul_refused,
    outage_response,
    service_outage,
)
from config.log_redaction import loggable_path
from config.request_id import request_id_var

access_log = logging.getLogger("camhub.request")
error_log = logging.getLogger("camhub.api")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    """Assigns a request id (a sane incoming ``X-Request-ID`` is kept) and logs one line per request.

    The line has method, path (never the query string: it may carry an access token; secrets in
    the path written ``…``, see ``loggable_path``), status, duration and user id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # META, not request.headers: the latter builds a dict of every header on first use.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else "-"
            access_log.info(
                "%s %s %s %.1fms user=%s",
                request.method,
                loggable_path(request),
                response.status_code,
                (time.perf_counter() - started) * 1000,
                user_id,
            )
            return response
        finally:
            request_id_var.reset(token)


def release_rendered_response(response) -> None:
    """Break the reference cycles DRF leaves around a rendered ``Response``.

    DRF keeps ``response.renderer_context["response"] = response`` and ``view.response``, so every
    API answer (its ``data``: a search page is ~1,000 dicts and lists) could only be freed by the
    cyclic garbage collector, whose collections then walked it, in the middle of later requests:
    ~0.6 ms of CPU per search on the development VM, 12 % of it. Once the body is bytes, neither
    reference is needed; ``response.data`` stays for whoever holds the response (tests do).
    """
    context = getattr(response, "renderer_context", None)
    if not context or not getattr(response, "is_rendered", False):
        return
    view = context.get("view")
    if view is not None and view.__dict__.get("response") is response:
        del view.response
    response.renderer_context = None


class ReleaseRenderedResponseMiddleware:
    """See ``release_rendered_response`` (Django renders a response before middleware sees it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        release_rendered_response(response)
        return response


class ApiErrorMiddleware:
    """Under /api/, exceptions that escape a non-DRF view become JSON errors (500s are logged), and
    so do the empty 405s of plain Django views (the OAuth token endpoint answering a GET).

    Anywhere (the admin included), an exception saying the database, the cache or the broker is
    unreachable is a 503 with ``Retry-After``, not a 500: the request was fine, and what it
    started was rolled back (e.g. a token revocation that could not reach the token cache)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            # PostgreSQL refuses NUL in text: such a value would fail the query (a 500), and no
            # name, token or date of ours contains one.
            if request.path.startswith("/api/"):
                return json_error(400, "The path or query contains a NUL character (%00)")
            return HttpResponse("The path or query contains a NUL character (%00).\n", status=400)
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            allow = response.get("Allow")
            return json_error(
                405, f'Method "{request.method}" not allowed.', headers={"Allow": allow} if allow else None
            )
        return response

    def process_exception(self, request, exception):
        if service_outage(exception):
            kind = type(exception).__name__
            error_log.warning(
                "service unavailable on %s %s: %s: %s", request.method, loggable_path(request), kind, exception
            )
            if request.path.startswith("/api/"):
                return outage_response()
            return HttpResponse(
                "Service temporarily unavailable: the database, cache or task broker cannot be reached. "
                "Nothing was changed; try again in a moment.\n",
                status=503,
                content_type="text/plain; charset=utf-8",
                headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
            )
        if not request.path.startswith("/api/"):
            return None
        if nul_refused(exception):  # a NUL character inside a JSON string
            return json_error(400, NUL_REFUSED_MESSAGE)
        if isinstance(exception, Http404):
            return json_error(404, "Not found")
        if isinstance(exception, PermissionDenied):
            return json_error(403, "You do not have permission to do this")
        if isinstance(exception, RequestDataTooBig):
            return json_error(413, "Request body too large")
        if isinstance(exception, SuspiciousOperation):
            return json_error(400, "Invalid request")
        if isinstance(exception, BadRequest | MultiPartParserError):
            # A body Django cannot read as the form it claims: a charset it does not know
            # (utf-16, utf-7), a multipart body without its boundary.
            return json_error(400, f"The request body cannot be read as its Content-Type says: {exception}")
        error_log.exception("unhandled error on %s %s", request.method, loggable_path(request))
        return json_error(500, "Internal server error")
