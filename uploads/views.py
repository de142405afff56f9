"""Upload and content endpoints: parse and authorize, call the service, answer."""

from __future__ import annotations

import hashlib
import re

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework import exceptions as drf
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import acting_owner, own_account
from config.api.conditional import not_modified
from config.api.errors import BadRequest, NotFound, ServiceUnavailable, json_error
from config.api.throttling import TokenRateThrottle
from uploads.ingest import EXTENSIONS, upload_params_parse
from uploads.renditions import RenditionError, content_image_bytes, rendition_params
from uploads.selectors import content_get, upload_sender_get
from uploads.serializers import upload_answer
from uploads.services import content_ingest
from uploads.streaming import stored_chunks

ME = "me"  # the path token naming the signed-in user
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class UploadThrottle(TokenRateThrottle):
    """Counts uploads per Upload Token and camera: the cameras of one site share a token and an
    address, and one busy site must not starve its own cameras of each other's budget."""

    def _ident(self, request) -> str:
        account = getattr(request, "upload_account", None)
        if account is not None:
            # The camera name is the sender's text: hashed, so the cache key stays short and safe.
            camera = hashlib.blake2b(str(getattr(request, "upload_camera", "")).encode(), digest_size=8).hexdigest()
            return f"upload:{account.pk}:{camera}"
        return super()._ident(request)


def _body_stream(request):
    """The raw body as a stream, and its declared length (None when sent chunked)."""
    meta = request.META
    raw_length = meta.get("CONTENT_LENGTH") or ""
    if not raw_length and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Django reads nothing without a Content-Length; the server has already de-chunked this.
        return meta["wsgi.input"], None
    try:
        length = int(raw_length or 0)
    except ValueError:
        raise BadRequest("Content-Length must be a number") from None
    if length < 0:
        raise BadRequest("Content-Length must be a number")
    return request, length


class ContentView(APIView):
    """``POST|PUT /api/users/:token/cameras/:camera/content/[:name]`` (upload) and
    ``GET /api/users/me/cameras/:camera/content/:id`` (the bytes)."""

    permission_classes = [AllowAny]  # each method authorizes itself: Upload Token or OAuth
    throttle_classes = [UploadThrottle]

    def initial(self, request, *args, **kwargs):
        token = kwargs.get("token", "")
        request.upload_sender = None
        request.upload_account = None
        request.upload_camera = kwargs.get("camera", "")
        if request.method in ("POST", "PUT") and token != ME:
            # The account and its camera in one query (the name is checked later, with the rest).
            request.upload_sender = upload_sender_get(token=token, camera_name=request.upload_camera.strip())
            if request.upload_sender is None:
                raise drf.AuthenticationFailed("Unknown Upload Token")
            request.upload_account = request.upload_sender.account
        super().initial(request, *args, **kwargs)

    def _uploader(self, request, token: str):
        if request.upload_account is not None:
            uploader = request.upload_account.user
        elif not request.user or not request.user.is_authenticated:
            raise drf.NotAuthenticated("Sign in (Authorization: token …) to upload as 'me'")
        else:
            uploader = request.user
        # An upload is a write: ``user=`` naming another account (a guest meaning the host's
        # camera) is refused, not filed under the uploader's own camera of that name.
        return own_account(user=uploader, host_email=request.query_params.get("user"))

    def post(self, request, token: str, camera: str, name: str = ""):
        owner = self._uploader(request, token)
        params = upload_params_parse(
            request.query_params, camera_name=camera, name=name, content_type=request.META.get("CONTENT_TYPE")
        )
        stream, length = _body_stream(request._request)
        result = content_ingest(
            owner=owner, params=params, stream=stream, declared_length=length, sender=request.upload_sender
        )
        status = 201 if result.created else 200
        sent_camera_id = params.camera_id if request.upload_sender is not None else None
        return Response(upload_answer(result, upload_token_camera_id=sent_camera_id), status=status)

    put = post

    def get(self, request, token: str, camera: str, name: str = ""):
        if token != ME:
            raise NotFound("Unknown user token: use 'me' for the signed-in user")
        if not request.user or not request.user.is_authenticated:
            raise drf.NotAuthenticated()
        if not name:
            raise NotFound("Name the content: /content/:id")
        owner = acting_owner(user=request.user, host_email=request.query_params.get("user"))
        content = content_get(owner=owner, camera_name=camera, public_id=name)
        query = request.query_params
        rendition = any(query.get(p) not in (None, "") for p in ("w", "h", "quality"))
        if rendition:
            w, h, quality = rendition_params(query, default_w=None, default_h=None)
            # Each rendition is its own representation: its own tag.
            etag = f'"{content.sha256}-{w or ""}x{h or ""}q{quality}"'
        else:
            etag = f'"{content.sha256}"'
        cache_headers = {"Cache-Control": "private, max-age=86400"}
        if (unchanged := not_modified(request, etag, cache_headers)) is not None:
            return unchanged  # the client's copy is current: no storage read, no resize
        if rendition:
            try:
                data = content_image_bytes(content, w=w, h=h, quality=quality)
            except RenditionError as exc:
                raise ServiceUnavailable("The content's bytes cannot be read right now") from exc
            response = HttpResponse(data, content_type="image/jpeg")
        else:
            response = ranged_response(request, content)
        response["Cache-Control"] = cache_headers["Cache-Control"]
        response["ETag"] = etag
        return response


def ranged_response(request, content) -> HttpResponse | StreamingHttpResponse:
    """The stored bytes, whole or one ``Range: bytes=a-b`` of them (video players seek with it)."""
    # Only the media types uploads accept are served as such: a row saying anything else (text/html,
    # say) must not make stored bytes a page of this site.
    served_type = content.content_type if content.content_type in EXTENSIONS else "application/octet-stream"
    try:
        response = stored_bytes_response(
            request, storage_key=content.storage_key, size=content.size, content_type=served_type
        )
    except Exception as exc:
        # Missing file, S3 unreachable: the store's trouble, not the caller's.
        raise ServiceUnavailable("The content's bytes cannot be read right now") from exc
    if served_type not in EXTENSIONS:
        response["Content-Disposition"] = "attachment"
    return response


def byte_range(header: str, size: int) -> tuple[int, int, bool] | None:
    """The ``(start, end, partial)`` bytes a ``Range: bytes=a-b|a-|-n`` header asks of ``size``
    bytes (``end`` inclusive; the whole, not partial, when the header is absent or not of that
    form); None when the range cannot be satisfied."""
    match = _RANGE.match(header.strip())
    if not (match and (match.group(1) or match.group(2))):
        return 0, size - 1, False
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        return None
    return start, end, True


def stored_bytes_response(
    request, *, storage_key: str, size: int, content_type: str, etag: str | None = None
) -> HttpResponse | StreamingHttpResponse:
    """The stored file ``storage_key`` (``size`` bytes), whole or the one byte range the request
    asks for (206, or 416 when it cannot be served). With ``etag`` (sent as ``ETag``), a range
    asked ``If-Range`` another version is answered with the whole file (RFC 9110 13.1.5). Raises
    what ``stored_chunks`` raises, before any byte is sent."""
    range_header = request.META.get("HTTP_RANGE", "")
    if etag is not None and request.META.get("HTTP_IF_RANGE", etag).strip() != etag:
        range_header = ""  # the client's part is of another version
    asked = byte_range(range_header, size)
    if asked is None:
        return json_error(416, "Range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    start, end, partial = asked
    length = end - start + 1
    if length == 0:
        return HttpResponse(b"", content_type=content_type)
    chunks = stored_chunks(storage_key, start=start, length=length)
    response = StreamingHttpResponse(chunks, status=206 if partial else 200, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if partial:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if etag is not None:
        response["ETag"] = etag
    return response
