"""What /api/ answers for routes that do not exist, and Django's 500 handler for API paths."""

from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import server_error

from config.api.errors import json_error


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error(404, "Not found")


def handler500(request, *args, **kwargs):
    if request.path.startswith("/api/"):
        return json_error(500, "Internal server error")
    return server_error(request)
