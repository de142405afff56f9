"""What /api/ answers for routes that do not exist, and Django's 500, 400 and CSRF-failure
handlers for API paths (JSON there; Django's pages elsewhere)."""

from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, server_error

from config.api.errors import json_error


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error(404, "Not found")


def handler500(request, *args, **kwargs):
    if request.path.startswith("/api/"):
        return json_error(500, "Internal server error")
    return server_error(request)


def handler400(request, exception=None, *args, **kwargs):
    # Raised before any view (a Host header not in ALLOWED_HOSTS), outside ApiErrorMiddleware.
    if request.path.startswith("/api/"):
        return json_error(400, "Bad request")
    return bad_request(request, exception)


def csrf_failure(request, reason: str = "", *args, **kwargs):
    """``CSRF_FAILURE_VIEW``: the consent POST of OAuth's authorize without its CSRF token."""
    if request.path.startswith("/api/"):
        return json_error(403, f"CSRF verification failed: {reason}")
    return django_csrf_failure(request, reason=reason)
