"""The search endpoint and the Camios API: parse, authorize, call a selector or service, serialize."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.errors import BadRequest
from config.api.views import MeAPIView
from search import camios, selectors
from search.serializers import (
    CamioCreateInput,
    SearchParams,
    camio_json,
    search_params_parse,
    search_response_json,
)

# What asks for the images of event buckets. Timelines (seconds, hours) and Camios have no
# images, so asking for them there is a 400. (``w``, ``h`` and ``quality`` only size thumbnails:
# "Only used if thumbnails are being fetched", the reference says, so they are checked and
# accepted with any object_type, as with events fetching none: clients send the defaults always.)
_IMAGE_FLAGS = ("fetch_motion_boxes", "fetch_cover_thumbnails", "fetch_all_thumbnails", "fetch_access_tokens")


def search_params_check_applicable(query: Mapping, params: SearchParams) -> None:
    """400 for image flags set with an ``object_type`` whose buckets carry no images (a flag set
    to false asks for nothing and passes)."""
    if params.object_type == "events":
        return
    for name in _IMAGE_FLAGS:
        if getattr(params, name):
            raise BadRequest(f"{name} applies to object_type events only: {params.object_type} buckets have no images")


class SearchView(APIView):
    """``GET /api/search``: events, timelines or Camios of the caller, a host, or shared Camios.

    Open to anonymous callers only with ``view_tokens`` (public Camios); everything else needs
    OAuth, which ``search_authorize`` enforces with a 401. ``text`` follows the grammar of
    ``search.querylang`` (plain-word dates included; words that look like a date but are none are
    a 400). Image flags (``fetch_…``) with ``seconds``, ``hours`` or ``camios`` are a 400.
    ``content_type=video`` finds every event holding a video: video events, and image events a
    video uploaded in image mode backs (their buckets then list that video).
    """

    permission_classes = [AllowAny]

    def get(self, request):
        params = search_params_parse(request.query_params)
        search_params_check_applicable(request.query_params, params)
        auth = selectors.search_authorize(user=request.user, host_email=params.user, view_tokens=params.view_tokens)
        page = selectors.search_run(auth=auth, params=params)
        viewer = None if auth.via_view_tokens else (auth.caller_id, auth.owners[0])
        return Response(
            search_response_json(
                page,
                params,
                via_view_tokens=auth.via_view_tokens,
                viewer=viewer,
                camios=auth.camios,
                holder=auth.caller_id,
            )
        )


class CamioListView(MeAPIView):
    """``GET|POST /api/users/me/camios``: the caller's Camios; create one."""

    def get(self, request, token: str):
        return Response([camio_json(c) for c in selectors.camio_list(owner=request.user)])

    def post(self, request, token: str):
        if not isinstance(request.data, dict):
            raise BadRequest("The body must be a JSON object")
        serializer = CamioCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        camio = camios.camio_create(
            owner=request.user,
            query=attrs["query"],
            name=attrs.get("name"),
            type=attrs["type"],
            expires_at=attrs["expires_at"],
        )
        return Response(camio_json(camio), status=201)


class CamioDetailView(MeAPIView):
    """``GET|DELETE /api/users/me/camios/:camio`` (its view token or short token)."""

    def get(self, request, token: str, camio: str):
        return Response(camio_json(camios.camio_get_owned(owner=request.user, token=camio)))

    def delete(self, request, token: str, camio: str):
        camios.camio_delete(owner=request.user, token=camio)
        return Response(status=204)
