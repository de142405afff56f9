"""The project's URLs plus two anchors for ``bench/api_overhead.py``, outside the API stack (no
DRF, no authentication, no throttle):

- ``/bench/bare``: the same JSON as an empty camera list (``[]``) and nothing else;
- ``/bench/bare-query?owner=<user id>``: the camera list's own database query and JSON, so the
  endpoint's work can be told apart from what the API stack adds.
"""

from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.urls import path

from cameras import selectors
from cameras.serializers import camera_json
from config import urls as project_urls


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse([], safe=False)


def bare_query(request: HttpRequest) -> JsonResponse:
    owner_id = request.GET.get("owner", "")
    if not owner_id.isdigit():
        return JsonResponse({"message": "owner must be a user id"}, status=400)
    since = selectors.online_since()
    # The user row is not read: the list's query needs only the owner's id.
    cameras = selectors.camera_list(owner=get_user_model()(pk=int(owner_id)))
    return JsonResponse([camera_json(c, since=since) for c in cameras], safe=False)


# First: the project's root-level URLs end with catch-all patterns.
urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("bench/bare-query", bare_query, name="bench-bare-query"),
    *project_urls.urlpatterns,
]
handler500 = project_urls.handler500
