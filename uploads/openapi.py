"""OpenAPI description of the uploads API: uploading content, and fetching it with OAuth.

Registered from ``UploadsConfig.ready``; see ``config.api.openapi`` for how. The shapes mirror
``uploads.serializers``; the parameters ``uploads.ingest.upload_params_parse`` and
``uploads.renditions.rendition_params``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from config.api.openapi import (
    BEARER_HEADER,
    HOST_USER,
    ME,
    OPERATION_IDS,
    OWN_USER,
    TOKEN_HEADER,
    TOKEN_QUERY,
    documented,
    errors,
    path_param,
)

TAG_CONTENT = ["content"]
# What uploads accept (uploads.ingest.CONTENT_TYPES); an untyped body is typed by its bytes.
UPLOAD_TYPES = ("image/jpeg", "image/png", "video/mp4", "video/quicktime", "application/octet-stream")
SERVED_TYPES = ("image/jpeg", "image/png", "video/mp4", "video/quicktime")


def rendition_parameters(*, default_w: int | None, default_h: int | None, note: str = "") -> list[OpenApiParameter]:
    """``w``, ``h`` and ``quality`` as ``uploads.renditions.rendition_params`` reads them."""

    def side(name: str, what: str, default: int | None) -> OpenApiParameter:
        fallback = f"default {default}" if default is not None else f"default: full {what}"
        return OpenApiParameter(
            name,
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            description=f"The {what} (in pixels, 1 to 4096) of the bounding box to resize the image to fit "
            f"within; {fallback}.{note}",
        )

    return [
        side("w", "width", default_w),
        side("h", "height", default_h),
        OpenApiParameter(
            "quality",
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            description="The quality of the JPEG image compression, 1 to 100; default 85.",
        ),
    ]


class UploadAnswerSerializer(serializers.Serializer):
    """``uploads.serializers.upload_answer``: the item's fields are present when it was kept."""

    kept = serializers.BooleanField(help_text="false when the account or camera is not recording: nothing stored.")
    duplicate = serializers.BooleanField(help_text="true when these bytes were received before (a retry).")
    message = serializers.CharField(help_text="`Stored`, `Already stored: …`, or why nothing was kept.")
    camera = serializers.CharField(help_text="The camera's name.")
    id = serializers.CharField(required=False, help_text="The content's id.")
    camera_id = serializers.CharField(required=False, help_text="With an Upload Token: the camera_id sent.")
    name = serializers.CharField(required=False)
    content_type = serializers.CharField(required=False)
    upload_mode = serializers.ChoiceField(choices=["image", "video"], required=False)
    img_type = serializers.ChoiceField(choices=["m", "a", "h"], required=False)
    date_created = serializers.CharField(
        required=False, allow_null=True, help_text="When it was captured (the name's timestamp, else its arrival)."
    )
    date_uploaded = serializers.CharField(required=False, allow_null=True)
    size = serializers.IntegerField(required=False)
    width = serializers.IntegerField(required=False, allow_null=True)
    height = serializers.IntegerField(required=False, allow_null=True)
    video_length = serializers.FloatField(required=False, allow_null=True)
    codec = serializers.CharField(required=False)
    rotation = serializers.IntegerField(required=False)
    options = serializers.ListField(child=serializers.CharField(), required=False)
    sha256 = serializers.CharField(required=False)
    alternate_of = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The item this one is an alternate of. Not given to Upload Token uploads.",
    )
    url = serializers.CharField(required=False, help_text="Where the owner fetches the bytes (OAuth).")


def _query(name: str, description: str, *, kind=OpenApiTypes.STR, required: bool = False, enum=None):
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, enum=enum, description=description)


UPLOAD_PARAMETERS = [
    path_param(
        "token",
        "The token `me` for the current user (with OAuth), or an Upload Token (no OAuth needed). Example: `me`.",
    ),
    path_param("camera", "The name of the camera; a new name creates the camera. Example: `front`."),
    path_param(
        "name",
        "An optional filename (at most 255 characters). If it includes a timestamp, that dates the content and "
        "helps synchronize sequences. Example: `2014-07-21T20:38:32.183-07:00.jpeg`.",
    ),
    _query(
        "camera_id",
        "The id of the camera. Any string that is unique among all the cameras belonging to the account is OK, "
        "e.g. the camera's MAC address, or `cam123`. At most 128 characters.",
        required=True,
    ),
    _query(
        "upload_mode",
        "`video` if the camera uploads only video as the basis for creating Events; otherwise an uploaded video is "
        "only a secondary backing for Events created by image snapshots. Default `image`.",
        enum=["image", "video"],
    ),
    _query(
        "img_type",
        "The type of image (or video): `m` motion triggered, `a` audio triggered, `h` heartbeat. Default `m`.",
        enum=["m", "a", "h"],
    ),
    _query(
        "rotation",
        "The degrees of rotation required for the video to play in its correct orientation. Default `0`.",
        enum=["0", "90", "180", "270"],
    ),
    _query(
        "video_length",
        "The length of the video in seconds (> 0), e.g. `20.18`; else it is measured server-side.",
        kind=OpenApiTypes.FLOAT,
    ),
    _query(
        "options",
        "Comma separated special processing options: `alternate` (alternate media of another resolution or "
        "encoding for an existing Event), `no_analysis` (accept a video as-is as its own Event), `parse_timestamp` "
        "(take the content's timestamp from the filename).",
    ),
    _query(
        "hash",
        "The hex SHA-1 (40 digits) or SHA-256 (64 digits) of the body: a retry naming bytes already stored is "
        "answered without storing them again, and a body that does not match is refused (400).",
    ),
    OWN_USER,
]


def _upload(method: str):
    return extend_schema(
        operation_id=f"content_upload_{method}",
        summary="Upload Content",
        description="Uploads one JPEG or PNG snapshot, or one MP4 or QuickTime video, as the request body, with "
        "`Content-Type` naming it (an untyped body is typed by its bytes). Authorize with an Upload Token in the path "
        "(it permits only uploading), or with `me` and OAuth. The optional `/:name` is a filename; a timestamp in it "
        "dates the content (e.g. `2014-07-21T20:38:32.183-07:00.jpeg`). 201 when stored, 200 for a repeat of an "
        "upload already stored or when recording is off (`kept: false`). POST and PUT do the same.",
        parameters=UPLOAD_PARAMETERS,
        request={media_type: OpenApiTypes.BINARY for media_type in UPLOAD_TYPES},
        responses={
            200: OpenApiResponse(response=UploadAnswerSerializer, description="Already stored, or not kept."),
            201: OpenApiResponse(response=UploadAnswerSerializer, description="Stored."),
            **errors(
                400,
                403,
                413,
                415,
                503,
                e401="An unknown Upload Token, or `me` without a valid OAuth token.",
                e413="The body is larger than allowed for its type.",
                e415="A Content-Type other than JPEG, PNG, MP4 or QuickTime, or a body that is none of them.",
                e503="Storage is unreachable: nothing was kept; retry.",
            ),
        },
        tags=TAG_CONTENT,
    )


# One view serves both routes: the route without a name gets ids of its own.
for _method in ("post", "put"):
    OPERATION_IDS["/api/users/{token}/cameras/{camera}/content", _method] = f"content_upload_unnamed_{_method}"


def _fetch():
    return extend_schema(
        operation_id="content_get",
        summary="Get Content (authenticated)",
        description="A content item (image or video) by the id a search or an upload returned: its original bytes, "
        "whole or one `Range` of them (206). With `w`, `h` or `quality`, a JPEG rendition instead (a video's poster "
        "frame).",
        # The view lets any caller in (uploads authorize themselves) but answers this GET to OAuth only.
        auth=[{TOKEN_HEADER: []}, {BEARER_HEADER: []}, {TOKEN_QUERY: []}],
        parameters=[
            ME,
            path_param("camera", "The name of the camera. Example: `front`."),
            path_param("name", "The id of the content (as a search or an upload returned it)."),
            HOST_USER,
            *rendition_parameters(default_w=None, default_h=None),
            OpenApiParameter(
                "Range",
                str,
                OpenApiParameter.HEADER,
                description="`bytes=first-last`, `bytes=first-` or `bytes=-suffix_length`: one range of the bytes.",
            ),
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                description="The `ETag` of a copy the client holds (each rendition has its own): 304 if current.",
            ),
        ],
        responses={
            **{(200, media_type): OpenApiTypes.BINARY for media_type in SERVED_TYPES},
            **{(206, media_type): OpenApiTypes.BINARY for media_type in SERVED_TYPES},
            304: OpenApiResponse(description="The client's copy (`If-None-Match`) is current: no body."),
            **errors(
                400,
                401,
                403,
                416,
                503,
                e404="The path token is not `me`, or no such camera or content.",
                e503="The stored bytes cannot be read right now.",
            ),
        },
        tags=TAG_CONTENT,
    )


class ContentViewSchema(OpenApiViewExtension):
    target_class = "uploads.views.ContentView"

    def view_replacement(self):
        return documented(self.target_class, post=_upload("post"), put=_upload("put"), get=_fetch())
