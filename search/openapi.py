"""OpenAPI description of the search app's API: search, Camios, shared content, live image, downloads.

Registered from ``SearchConfig.ready``; see ``config.api.openapi`` for how. The parameters are the
ones ``search.serializers.search_params_parse`` reads; the shapes mirror ``search.serializers``,
``search.share_views`` and ``search.downloads.download_json``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.openapi import PRIVATE_403
from config.api.openapi import ME, NO_CONTENT, bool_query, documented, errors, path_param
from uploads.openapi import rendition_parameters

TAG_SEARCH, TAG_CAMIOS, TAG_CONTENT = ["search"], ["camios"], ["content"]


def _query(name: str, description: str, *, kind=OpenApiTypes.STR, enum=None, default=None) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, enum=enum, default=default, description=description)


SEARCH_PARAMETERS = [
    _query(
        "object_type",
        "The type of object to search for: event buckets, timelines by `seconds` or `hours`, or `camios`.",
        enum=["events", "seconds", "hours", "camios"],
        default="events",
    ),
    _query(
        "date",
        "Filter date in ISO 8601 format, e.g. `2014-03-13T11:27:40.929-0000` (also `Z`, `±HH:MM`, no zone for UTC, "
        "or a bare date): the search starts there and runs in the `sort` direction.",
    ),
    _query(
        "event_as_date",
        "The id of the event whose start date is used as the `date` of the search (not with `date`).",
    ),
    _query("sort", "The result sort order.", enum=["asc", "desc"], default="desc"),
    _query("sources", "Comma separated list of camera sources (names), e.g. `Front`. At most 100."),
    _query("labels", "Comma separated list of labels (zones, colours, directions, objects), e.g. `Walkway`."),
    _query("event", "Single event id to be used as the paragon for similarity search (object_type events only)."),
    _query("content_type", "The type of content to fetch.", enum=["image", "video"], default="image"),
    _query(
        "motion_type",
        "The minimum importance of motion to include: all motion, significant motion only, important motion only "
        "and labeled motion only, in increasing levels of importance filtering.",
        enum=["all", "smo", "imo", "lmo"],
        default="imo",
    ),
    OpenApiParameter(
        "num_results",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        default=10,
        description="The number of events (or buckets) to return, 1 to 100; default 10.",
    ),
    _query(
        "user",
        "The email address of the host account that the search should be performed upon (for a guest of that "
        "account). Not with `view_tokens`.",
        kind=OpenApiTypes.EMAIL,
    ),
    _query(
        "view_tokens",
        "The comma-separated list of Camio view tokens authorizing the search even if the caller is not signed in "
        "or not a guest (at most 100). Each result image then includes an `access_token` that authorizes the "
        "subsequent fetch of the content item (`POST /api/content`).",
    ),
    _query(
        "text",
        "A free-text query (at most 500 characters): camera and zone names, labels, colours, `not`, and plain-word "
        "dates, in the language of hooks' `query`.",
    ),
    bool_query("fetch_motion_boxes", "Should motion boxes be returned (object_type events only)."),
    bool_query("fetch_cover_thumbnails", "Should cover thumbnails be returned (object_type events only)."),
    bool_query("fetch_all_thumbnails", "Should all thumbnails be returned (object_type events only)."),
    bool_query(
        "fetch_access_tokens", "Should the images' access tokens be included in the response (object_type events only)."
    ),
    *rendition_parameters(default_w=150, default_h=112, note=" Only used if thumbnails are being fetched."),
]


class MotionBoxSerializer(serializers.Serializer):
    x = serializers.FloatField(help_text="Left edge, a fraction of the frame's width.")
    y = serializers.FloatField(help_text="Top edge, a fraction of the frame's height.")
    w = serializers.FloatField()
    h = serializers.FloatField()


class SearchImageSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The content's id.")
    content_type = serializers.CharField()
    date_created = serializers.CharField(help_text="ISO 8601.")
    labels = serializers.ListField(child=serializers.CharField())
    interest_level = serializers.IntegerField(help_text="0 all motion, 1 smo, 2 imo, 3 lmo.")
    interest_score = serializers.FloatField()
    motion_boxes = MotionBoxSerializer(many=True, required=False, help_text="With `fetch_motion_boxes=true`.")
    image_bytes = serializers.CharField(
        required=False, help_text="A base64 JPEG thumbnail, with `fetch_cover_thumbnails` or `fetch_all_thumbnails`."
    )
    access_token = serializers.CharField(
        required=False,
        help_text="With `view_tokens` or `fetch_access_tokens=true`: authorizes fetching this item "
        "(`POST /api/content`, `GET /api/content/:id`).",
    )


class AnnotationSerializer(serializers.Serializer):
    object_id = serializers.CharField()
    type = serializers.CharField()


class SearchBucketSerializer(serializers.Serializer):
    """One bucket; which members it has depends on ``bucket_type``."""

    bucket_id = serializers.CharField(
        help_text="The event's id (event), the period's start (second, hour), or the view token (camio; in a "
        "view-token search, the token the viewer sent)."
    )
    earliest_date = serializers.CharField(required=False, help_text="event, second, hour.")
    latest_date = serializers.CharField(required=False, help_text="event, second, hour.")
    max_interest_level = serializers.IntegerField(required=False, help_text="event, second, hour.")
    count = serializers.IntegerField(required=False, help_text="event (images), second, hour (items).")
    source = serializers.CharField(required=False, help_text="event: the camera's name.")
    labels = serializers.ListField(child=serializers.CharField(), required=False, help_text="event.")
    cover_image_id = serializers.CharField(required=False, allow_null=True, help_text="event.")
    annotations = AnnotationSerializer(many=True, required=False, help_text="event (always empty here).")
    images = SearchImageSerializer(many=True, required=False, help_text="event.")
    similarity = serializers.FloatField(required=False, help_text="event, in a similarity search (`event=`).")
    view_token = serializers.CharField(required=False, help_text="camio (and the other Camio members).")
    short_token = serializers.CharField(
        required=False, allow_null=True, help_text="camio (in a view-token search, null unless the viewer sent it)."
    )
    name = serializers.CharField(required=False, help_text="camio.")
    date_created = serializers.CharField(required=False, help_text="camio.")
    type = serializers.CharField(required=False, help_text="camio.")
    expires_at = serializers.CharField(required=False, allow_null=True, help_text="camio.")
    query = serializers.JSONField(required=False, help_text="camio.")


class SearchQueryEchoSerializer(serializers.Serializer):
    date = serializers.CharField(allow_null=True, help_text="The `date` given, or null.")
    sort = serializers.CharField()
    motion_type = serializers.CharField()
    object_type = serializers.CharField()
    content_type = serializers.CharField()
    num_results = serializers.IntegerField()
    sources = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    event = serializers.CharField(required=False)
    event_as_date = serializers.CharField(required=False)
    user = serializers.CharField(required=False)
    view_tokens = serializers.IntegerField(required=False, help_text="How many view tokens were given.")
    text = serializers.CharField(required=False)
    parsed = serializers.JSONField(required=False, allow_null=True, help_text="How `text` was understood.")


class SearchResultSerializer(serializers.Serializer):
    bucket_type = serializers.ChoiceField(choices=["event", "second", "hour", "camio"])
    buckets = SearchBucketSerializer(many=True)
    count = serializers.IntegerField()
    more_results = serializers.BooleanField()
    earliest_date_considered = serializers.CharField(allow_null=True)
    latest_date_considered = serializers.CharField(allow_null=True)


class SearchResponseSerializer(serializers.Serializer):
    query = SearchQueryEchoSerializer(help_text="The search as the server understood it.")
    result = SearchResultSerializer()


class CamioSerializer(serializers.Serializer):
    view_token = serializers.CharField(help_text="Authorizes viewing the Camio (`/?v=`, `view_tokens=`).")
    short_token = serializers.CharField()
    name = serializers.CharField()
    date_created = serializers.CharField(allow_null=True)
    type = serializers.ChoiceField(choices=["public", "private"])
    expires_at = serializers.CharField(allow_null=True)
    query = serializers.JSONField(help_text="The Query that defines the constraints on the Camio.")


class ItemRequestSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The id of the content.")
    access_token = serializers.CharField(
        help_text="The access_token supplied in the result of a prior search that used view_tokens."
    )


class SharedItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    content_type = serializers.CharField()
    date_created = serializers.CharField(allow_null=True)
    source = serializers.CharField(help_text="The camera's name.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The original bytes (e.g. a video to play), with the same access token.")
    image_bytes = serializers.CharField(
        allow_null=True, help_text="A base64 JPEG (a video's poster frame); null if the bytes are lost."
    )


class LiveImageSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()
    content_type = serializers.CharField()
    date_created = serializers.CharField(allow_null=True)
    image_bytes = serializers.CharField(help_text="The base64 JPEG.")


class DownloadSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "running", "ready", "failed"])
    items_total = serializers.IntegerField()
    items_done = serializers.IntegerField()
    size = serializers.IntegerField(allow_null=True)
    date_created = serializers.CharField(allow_null=True)
    date_finished = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True, allow_blank=True)
    url = serializers.CharField(allow_null=True, help_text="When ready: a fresh signed link to the zip.")


SEARCH_EXAMPLE = {
    "query": {
        "date": "2014-02-21T04:52:20.911-0000",
        "sort": "desc",
        "motion_type": "imo",
        "object_type": "events",
        "content_type": "image",
        "num_results": 10,
    },
    "result": {
        "bucket_type": "event",
        "buckets": [
            {
                "bucket_id": "EagxzfmNhbWolNakCQw",
                "source": "frontDoor",
                "labels": ["walkway"],
                "earliest_date": "2014-02-21T04:12:38.911-0000",
                "latest_date": "2014-02-21T04:12:48.142-0000",
                "max_interest_level": 2,
                "cover_image_id": "agxzfmNhbWolNakCQw",
                "annotations": [],
                "images": [
                    {
                        "id": "agxzfmNhbWolNakCQw",
                        "content_type": "image/jpeg",
                        "date_created": "2014-02-21T04:12:38.911-0000",
                        "labels": ["walkway"],
                        "interest_level": 2,
                        "interest_score": 0.65,
                    }
                ],
                "count": 1,
            }
        ],
        "count": 1,
        "more_results": True,
        "earliest_date_considered": "2014-02-21T04:12:38.911-0000",
        "latest_date_considered": "2014-02-21T04:23:00.111-0000",
    },
}


class SearchViewSchema(OpenApiViewExtension):
    target_class = "search.views.SearchView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="search",
                summary="Search",
                description="Search through content by camera, date, zone, color, direction of movement, and other "
                "labels: event buckets (with their images), timelines (`seconds`, `hours`) or Camios, of the caller, "
                "a host account (`user=`), or shared Camios (`view_tokens=`, the only way to search without "
                "signing in). Image flags (`fetch_…`) with `seconds`, `hours` or `camios` are a 400.",
                parameters=SEARCH_PARAMETERS,
                responses={
                    200: OpenApiResponse(
                        response=SearchResponseSerializer,
                        examples=[OpenApiExample("Event buckets", value=SEARCH_EXAMPLE)],
                    ),
                    **errors(
                        400,
                        e401="Neither signed in nor `view_tokens`; or a private Camio's token without signing in.",
                        e403="`user=` names an account the caller is not a guest of; an invalid, expired or revoked "
                        "view token; or a filter outside a shared Camio.",
                        e404="An unknown event (`event`, `event_as_date`).",
                    ),
                },
                tags=TAG_SEARCH,
            ),
        )


CAMIO = path_param("camio", "The Camio's view token or short token.")


class CamioQuerySchemaInput(serializers.Serializer):
    """The reference's Query object (``search.serializers.CamioQueryInput``): all members optional."""

    cameras = serializers.ListField(child=serializers.CharField(max_length=64), required=False, help_text="Names.")
    labels = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=32), required=False, help_text="Event ids.")
    start_date = serializers.CharField(required=False, allow_null=True, help_text="ISO 8601.")
    end_date = serializers.CharField(required=False, allow_null=True, help_text="ISO 8601; none: to all future dates.")
    sort = serializers.ChoiceField(choices=["asc", "desc"], required=False)


class CamioCreateSchemaInput(serializers.Serializer):
    """``search.serializers.CamioCreateInput``, documented (unknown members are a 400)."""

    name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Optional. Default is the query description."
    )
    type = serializers.ChoiceField(
        choices=["public", "private"], required=False, help_text="Optional. `public` (default) or `private`."
    )
    query = CamioQuerySchemaInput(
        help_text="Required: the Query that defines the constraints on the Camio; `{}` shares everything."
    )
    expires_at = serializers.CharField(
        required=False, allow_null=True, help_text="Optional: an ISO 8601 date in the future (not with `expiry`)."
    )
    expiry = serializers.IntegerField(
        required=False, allow_null=True, min_value=60, help_text="Optional: seconds from now (60 to ten years)."
    )


CAMIO_EXAMPLE = {
    "name": "My Camio",
    "type": "public",
    "query": {"cameras": [], "labels": [], "events": ["IDXYZ", "IDABC", "IDDEF"]},
}


class CamioListViewSchema(OpenApiViewExtension):
    target_class = "search.views.CamioListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="camios_list",
                summary="List all Camios",
                description="The caller's Camios: portions of their content shared by link, viewable without sign-in.",
                parameters=[ME],
                responses={200: CamioSerializer(many=True), **errors(401, 404, e403=PRIVATE_403)},
                tags=TAG_CAMIOS,
            ),
            post=extend_schema(
                operation_id="camios_create",
                summary="Create Camio",
                description="Specify the details of the Camio as JSON in the POST body.",
                parameters=[ME],
                request=CamioCreateSchemaInput,
                examples=[OpenApiExample("The reference's Camio", value=CAMIO_EXAMPLE, request_only=True)],
                responses={201: CamioSerializer, **errors(400, 401, 403, 404)},
                tags=TAG_CAMIOS,
            ),
        )


class CamioDetailViewSchema(OpenApiViewExtension):
    target_class = "search.views.CamioDetailView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="camios_get",
                summary="Get a Camio",
                description="One of the caller's Camios (expired ones too).",
                parameters=[ME, CAMIO],
                responses={
                    200: CamioSerializer,
                    **errors(401, e403=PRIVATE_403, e404="The path token is not `me`, or no such Camio."),
                },
                tags=TAG_CAMIOS,
            ),
            delete=extend_schema(
                operation_id="camios_delete",
                summary="Delete a Camio",
                description="Its view token and the access tokens it handed out stop working at once.",
                parameters=[ME, CAMIO],
                responses={**NO_CONTENT, **errors(401, 403, e404="The path token is not `me`, or no such Camio.")},
                tags=TAG_CAMIOS,
            ),
        )


class ContentByAccessTokenViewSchema(OpenApiViewExtension):
    target_class = "search.share_views.ContentByAccessTokenView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="content_by_access_token",
                summary="Get Content (with access_token)",
                description="One or more content items (images or video) named by ids and the access tokens a "
                "prior search handed out, in the order asked (at most 100). No sign-in needed. An item whose token is "
                "wrong, expired, or whose Camio was deleted is left out of the answer. `image_bytes` is the full image "
                "unless `resize=true`.",
                parameters=[
                    *rendition_parameters(default_w=150, default_h=112, note=" Only used with `resize=true`."),
                    bool_query("resize", "true to resize."),
                ],
                request=ItemRequestSerializer(many=True),
                responses={200: SharedItemSerializer(many=True), **errors(400)},
                tags=TAG_CONTENT,
            ),
        )


class ContentMediaViewSchema(OpenApiViewExtension):
    target_class = "search.share_views.ContentMediaView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="content_media",
                summary="Get a shared item's bytes",
                description="The item's original bytes (e.g. a video to play), whole or one `Range` of them (206), "
                "authorized by the item's access token (the `url` of `POST /api/content`). `access_token` here is the "
                "per-item token, not an OAuth token.",
                parameters=[
                    path_param("content_id", "The id of the content."),
                    OpenApiParameter(
                        "access_token",
                        str,
                        OpenApiParameter.QUERY,
                        required=True,
                        description="The item's access token, from a search.",
                    ),
                    OpenApiParameter(
                        "Range", str, OpenApiParameter.HEADER, description="`bytes=first-last`: one range of the bytes."
                    ),
                ],
                responses={
                    **{
                        (code, media_type): OpenApiTypes.BINARY
                        for code in (200, 206)
                        for media_type in ("image/jpeg", "image/png", "video/mp4", "video/quicktime")
                    },
                    **errors(
                        416,
                        503,
                        e404="No such content, or the access token is wrong or expired.",
                        e503="The stored bytes cannot be read right now.",
                    ),
                },
                tags=TAG_CONTENT,
            ),
        )


class LiveImageViewSchema(OpenApiViewExtension):
    target_class = "search.share_views.LiveImageView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="content_live",
                summary="Get Latest Live Image",
                description="The latest available live image of a camera, as JSON (a base64 JPEG) or, with "
                "`output=jpeg`, the JPEG itself. Authorized by OAuth (the owner, or a guest with `user=`) or by "
                "`view_tokens`: a Camio whose query names only this camera, has a `start_date` and no `end_date` "
                "(so it extends to all future dates), and no labels or events.",
                parameters=[
                    path_param("camera", "The name of the camera to fetch the latest image from. Example: `front`."),
                    _query(
                        "user",
                        "The email address of the owner of the camera; omit it for your own camera.",
                        kind=OpenApiTypes.EMAIL,
                    ),
                    _query(
                        "view_tokens",
                        "Comma-separated view tokens of Camios shared without an end date (at most 20), e.g. "
                        "`41cmi5mh66m8`: no OAuth needed.",
                    ),
                    _query("output", "The output content type desired.", enum=["json", "jpeg"], default="json"),
                    *rendition_parameters(default_w=None, default_h=None),
                ],
                responses={
                    (200, "application/json"): LiveImageSerializer,
                    (200, "image/jpeg"): OpenApiTypes.BINARY,
                    **errors(
                        400,
                        401,
                        403,
                        503,
                        e404="No such camera, no live image yet, or no Camio of these view tokens shares it live.",
                        e503="The live image cannot be read right now.",
                    ),
                },
                tags=TAG_CONTENT,
            ),
        )


DOWNLOAD_TOKEN = path_param("token", "The Camio token (its view token). Example: `AxqTV1abzQ`.")


class DownloadCreateViewSchema(OpenApiViewExtension):
    target_class = "search.share_views.DownloadCreateView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="camio_download_create",
                summary="Create Camio Download",
                description="Create a download (a zip) that includes all content of the Camio. Requires OAuth: the "
                "requesting user receives an email once the download is ready. Any JSON in the body is ignored. A "
                "pending or running download of the same Camio by the same user is answered instead of a second "
                "one. The `Location` header names the status resource.",
                parameters=[
                    DOWNLOAD_TOKEN,
                    OpenApiParameter(
                        "Location",
                        str,
                        OpenApiParameter.HEADER,
                        response=[200],
                        description="The download's status resource, `/api/camios/:token/downloads/:id`.",
                    ),
                ],
                request=None,
                responses={
                    200: OpenApiResponse(
                        response=DownloadSerializer,
                        description="The download's status.",
                    ),
                    **errors(401, e404="Unknown, expired or revoked Camio token."),
                },
                tags=TAG_CAMIOS,
            ),
        )


class DownloadDetailViewSchema(OpenApiViewExtension):
    target_class = "search.share_views.DownloadDetailView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="camio_download_get",
                summary="Get a Camio Download",
                description="Progress and, when ready, a fresh signed link to the zip (the requester only).",
                parameters=[DOWNLOAD_TOKEN, path_param("download_id", "The download's id.")],
                responses={200: DownloadSerializer, **errors(401, e404="Unknown download.")},
                tags=TAG_CAMIOS,
            ),
        )
