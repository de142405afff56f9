"""Configuration polling (open, for IP cameras) and device discovery and claiming (for users)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response

from cameras import devices
from cameras.polling import devices_polled_at, poll_parse, poll_respond
from cameras.serializers import camera_json, device_json
from config.api.conditional import not_modified
from config.api.errors import ApiError, BadRequest, PayloadTooLarge, json_error
from config.api.parsers import MalformedJSON, json_body_loads
from config.api.views import MeAPIView
from config.client_address import client_ip

_POLL_METHODS = ("GET", "POST", "PUT")
_MAX_POLL_BODY = 4096
_FAST_FIELDS = 16


def _query(request: HttpRequest) -> QueryDict | dict[str, str]:
    """``request.GET``, or for a plain query string (what cameras send) the same values parsed
    cheaply: building a QueryDict costs more than answering a steady poll."""
    raw = request.META.get("QUERY_STRING", "")
    if "%" in raw or "+" in raw or not raw.isascii() or raw.count("&") > _FAST_FIELDS:
        return request.GET  # escapes, non-ASCII or many fields: Django's own parser and limits
    # As QueryDict.get reads it: blank values kept, the last of repeated names wins.
    return dict(field.partition("=")[::2] for field in raw.split("&") if field)


def _poll_params(request: HttpRequest) -> QueryDict | dict:
    """Query string first; a POST/PUT may instead send a form or a JSON object."""
    query = _query(request)
    if request.method == "GET" or query.get("maker") or not request.body:
        return query
    if len(request.body) > _MAX_POLL_BODY:
        # 413 as for any body over the server's limit (a poll's is only smaller).
        raise PayloadTooLarge("Request body too large for a poll")
    if request.content_type == "application/json":
        try:
            data = json_body_loads(request.body)
        except MalformedJSON as exc:
            raise BadRequest(f"Malformed JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object")
        return {**request.GET.dict(), **data}
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            return request.POST
        except MultiPartParserError as exc:  # e.g. no boundary
            raise BadRequest(f"Malformed form body: {exc}") from None
    if request.content_type == "application/x-www-form-urlencoded":  # a PUT: Django parses only POST
        return QueryDict(request.body, encoding=request.encoding)
    return request.GET


@csrf_exempt
def camera_poll(request: HttpRequest, mac_address: str) -> HttpResponse:
    """``GET|POST|PUT /api/cameras/:mac_address``: a camera's configuration, and its heartbeat.

    Open (cameras hold no credentials) and kept off DRF's authentication and throttling: many
    cameras share one public address, and this answers in a few milliseconds from the cache.
    """
    if request.method not in _POLL_METHODS:
        return json_error(405, f'Method "{request.method}" not allowed.', headers={"Allow": ", ".join(_POLL_METHODS)})
    try:
        poll = poll_parse(
            mac_address=mac_address,
            params=_poll_params(request),
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        body, etag = poll_respond(poll)
    except ApiError as exc:
        return json_error(exc.status_code, exc.message)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if (unchanged := not_modified(request, etag, headers)) is not None:
        return unchanged
    return HttpResponse(body, content_type="application/json", headers=headers)


class DeviceListView(MeAPIView):
    """``GET /api/users/me/devices``: unclaimed devices recently polling from the caller's address."""

    def get(self, request, token: str):
        rows = list(devices.devices_near(ip_address=client_ip(request))[:100])
        polled = devices_polled_at([d.mac_address for d in rows])
        return Response([device_json(d, polled_at=polled.get(d.mac_address)) for d in rows])


class DeviceClaimView(MeAPIView):
    """``POST /api/users/me/devices/:mac_address/claim`` with ``{"name": …}``: the camera it becomes."""

    def post(self, request, token: str, mac_address: str):
        data = request.data if isinstance(request.data, dict) else {}
        camera, created = devices.device_claim(
            owner=request.user, mac_address=mac_address, name=data.get("name"), near_ip=client_ip(request)
        )
        return Response(camera_json(camera), status=201 if created else 200)
