"""Shared content: items by per-item access token, the live image, and Camio downloads.

``POST /api/content`` and ``GET /api/content/:id`` need no sign-in: the per-item access token a
view-token search handed out is the authorization. An item whose token is wrong, expired, made
for another item or issued under a Camio since deleted or expired is left out of the answer (no
error entry), so the answer never confirms that an id exists.
"""

from __future__ import annotations

import base64

from django.http import HttpResponse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import acting_owner
from cameras.models import Camera
from config.api.dates import camio_date
from config.api.errors import BadRequest, NotFound, ServiceUnavailable
from config.api.params import query_bool
from search import downloads
from search.access_tokens import item_access_check, item_access_check_many
from search.selectors import camio_for_view_token, camio_scope
from uploads.models import Content
from uploads.renditions import RenditionError, content_image_bytes, rendition_params
from uploads.selectors import content_live, contents_by_public_id
from uploads.views import ranged_response

# One request fetches at most this many items (the search API's own page size limit).
MAX_ITEMS = 100
# The reference's thumbnail box for POST /api/content.
DEFAULT_W, DEFAULT_H = 150, 112


def _signed_in(request):
    user = request.user
    return user if user is not None and user.is_authenticated else None


def _media_path(content: Content, token: str) -> str:
    return f"/api/content/{content.public_id}?access_token={token}"


class ContentByAccessTokenView(APIView):
    """``POST /api/content``: items named by ``[{"id", "access_token"}, …]``, in the order asked.

    Each answer item: ``id``, ``content_type``, ``date_created``, ``source`` (camera), ``width``,
    ``height``, ``image_bytes`` (base64 JPEG; a video's poster frame; with ``resize=true`` fitted
    in ``w`` x ``h`` at ``quality``, else the full image) and ``url`` (the original bytes, e.g. a
    video to play, with the same access token).
    """

    permission_classes = [AllowAny]

    def post(self, request):
        pairs = _parse_pairs(request.data)
        resize = query_bool(request, "resize")
        w, h, quality = rendition_params(request.query_params, default_w=DEFAULT_W, default_h=DEFAULT_H)
        if not resize:
            w = h = None
        # One query for the batch: the tokens' Camios must still be alive (deleting one revokes them).
        allowed = [pair for pair, ok in zip(pairs, item_access_check_many(pairs), strict=True) if ok]
        rows = contents_by_public_id(pid for pid, _ in allowed)
        answer = []
        seen: set[str] = set()
        for pid, tok in allowed:
            content = rows.get(pid)
            if content is None or pid in seen:
                continue
            seen.add(pid)
            item = {
                "id": content.public_id,
                "content_type": content.content_type,
                "date_created": camio_date(content.captured_at),
                "source": content.camera.name,
                "width": content.width,
                "height": content.height,
                "url": _media_path(content, tok),
            }
            try:
                image = content_image_bytes(content, w=w, h=h, quality=quality)
            except RenditionError:
                image = None  # bytes lost from storage: the item's metadata is still true
            item["image_bytes"] = base64.b64encode(image).decode("ascii") if image is not None else None
            answer.append(item)
        return Response(answer)


def _parse_pairs(data) -> list[tuple[str, str]]:
    if not isinstance(data, list):
        raise BadRequest('The body must be a JSON list of {"id": …, "access_token": …}')
    if len(data) > MAX_ITEMS:
        raise BadRequest(f"At most {MAX_ITEMS} items per request")
    pairs = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise BadRequest(f'Item {index} must be an object {{"id": …, "access_token": …}}')
        pid, token = entry.get("id"), entry.get("access_token")
        if not isinstance(pid, str) or not pid or not isinstance(token, str) or not token:
            raise BadRequest(f"Item {index} needs a string id and a string access_token")
        pairs.append((pid, token))
    return pairs


class ContentMediaView(APIView):
    """``GET /api/content/:id?access_token=…``: the item's original bytes (a video to play).

    ``access_token`` here is the per-item token, not an OAuth token, so OAuth is not consulted.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, content_id: str):
        token = request.query_params.get("access_token", "")
        if not token or not item_access_check(content_id, token):
            raise NotFound("No such content, or the access token is wrong or expired")
        content = contents_by_public_id([content_id]).get(content_id)
        if content is None:
            raise NotFound("No such content, or the access token is wrong or expired")
        # Whole or one Range of the bytes, as uploads serves them (video players seek with ranges).
        response = ranged_response(request, content)
        # Content never changes; the token in the URL bounds who can have it.
        response["Cache-Control"] = "private, max-age=3600"
        return response


class LiveImageView(APIView):
    """``GET /api/content/live/:camera/``: the camera's newest image, as JSON or (``output=jpeg``) a JPEG.

    Authorized by OAuth (the owner, or a guest with ``user=<host email>``) or by ``view_tokens``:
    a Camio whose query names exactly this one camera, has a ``start_date`` and no ``end_date``,
    and names no labels or events (any narrowing would be widened by an unfiltered live image).
    """

    permission_classes = [AllowAny]

    def get(self, request, camera: str):
        output = (request.query_params.get("output") or "json").strip().lower()
        if output not in {"json", "jpeg"}:
            raise BadRequest(f"output must be json or jpeg, not {output!r}")
        w, h, quality = rendition_params(request.query_params, default_w=None, default_h=None)
        raw_tokens = request.query_params.get("view_tokens")
        if raw_tokens is not None:
            cam, not_before = _live_camera_for_tokens(raw_tokens, camera, _signed_in(request))
        else:
            if _signed_in(request) is None:
                raise NotAuthenticated("Sign in (OAuth) or pass view_tokens")
            owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
            cam = Camera.objects.filter(owner=owner, name=camera).first()
            if cam is None:
                raise NotFound("No such camera")
            not_before = None
        content = content_live(camera=cam)
        if content is None or (not_before is not None and content.captured_at < not_before):
            raise NotFound("This camera has no live image yet")
        try:
            image = content_image_bytes(content, w=w, h=h, quality=quality)
        except RenditionError as exc:
            if exc.store_down:
                raise ServiceUnavailable("The live image cannot be read right now") from exc
            raise NotFound("The live image is no longer stored") from None
        if output == "jpeg":
            response = HttpResponse(image, content_type="image/jpeg")
            response["Cache-Control"] = "private, no-cache"
            return response
        return Response(
            {
                "id": content.public_id,
                "source": cam.name,
                "content_type": "image/jpeg",
                "date_created": camio_date(content.captured_at),
                "image_bytes": base64.b64encode(image).decode("ascii"),
            },
            headers={"Cache-Control": "private, no-cache"},
        )


def _live_camera_for_tokens(raw: str, camera: str, user):
    """The camera the first fitting view token opens, with the Camio's start; NotFound if none does."""
    tokens = [t.strip() for t in raw.split(",") if t.strip()]
    if not tokens:
        raise BadRequest("view_tokens is empty")
    if len(tokens) > 20:
        raise BadRequest("At most 20 view_tokens")
    for token in tokens:
        camio = camio_for_view_token(token)
        if camio is None or not downloads.camio_viewable_by(camio=camio, user=user):
            continue
        scope = camio_scope(camio)
        if not scope.is_live or scope.cameras != (camera,) or scope.labels or scope.events:
            continue
        cam = Camera.objects.filter(owner_id=camio.owner_id, name=camera).first()
        if cam is not None:
            return cam, scope.start
    raise NotFound("No live image of this camera is shared with these view tokens")


class DownloadCreateView(APIView):
    """``POST /api/camios/:token/downloads``: start a zip of the Camio's content (OAuth required).

    Answers 200 with the status resource (``Location`` names it); the requester is emailed a
    signed link when the zip is ready. Any JSON body is ignored, as the reference says.
    """

    def post(self, request, token: str):
        download, _created = downloads.download_create(token=token, requester=request.user)
        location = f"/api/camios/{token}/downloads/{download.public_id}"
        return Response(downloads.download_json(download), headers={"Location": location})


class DownloadDetailView(APIView):
    """``GET /api/camios/:token/downloads/:id``: progress and, when ready, a fresh link (requester only;
    404, as ``POST …/downloads``, once the Camio is gone or hidden from them)."""

    def get(self, request, token: str, download_id: str):
        download = downloads.download_get(public_id=download_id, requester=request.user, token=token)
        return Response(downloads.download_json(download))
