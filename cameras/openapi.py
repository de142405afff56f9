"""OpenAPI description of the cameras API: cameras, zones, devices (discovery and claiming).

Registered from ``CamerasConfig.ready``; see ``config.api.openapi`` for how. The shapes mirror
``cameras.serializers``. The configuration poll (``/api/cameras/:mac_address``) is a plain Django
view, described in ``config.api.openapi``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.openapi import PRIVATE_403
from config.api.openapi import HOST_USER, ME, NO_CONTENT, OWN_USER, bool_query, documented, errors, path_param

CAMERA = path_param("camera", "The name of the camera. Example: `front`.")
ZONE = path_param("zone", "The name of the zone. Example: `door`.")
MAC = path_param("mac_address", "The device's MAC address, e.g. `12:34:56:78:90:12` or `123456789012`.")
TAG_CAMERAS, TAG_ZONES, TAG_DEVICES = ["cameras"], ["zones"], ["devices"]


class PointSerializer(serializers.Serializer):
    x = serializers.FloatField(min_value=0, max_value=1, help_text="From the left edge (0) to the right edge (1).")
    y = serializers.FloatField(min_value=0, max_value=1, help_text="From the top edge (0) to the bottom edge (1).")


class PolygonSerializer(serializers.Serializer):
    points = PointSerializer(many=True, help_text="At least 3 (at most 256) points, enclosing some area.")


class ZoneSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    polygons = PolygonSerializer(many=True, help_text="1 to 32 polygons; coordinates are fractions of the frame.")


class ZoneInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        required=False, max_length=64, help_text="Optional; when given it must equal the zone name in the path."
    )
    polygons = PolygonSerializer(many=True, help_text="1 to 32 polygons; coordinates are fractions of the frame.")


class ResolutionSerializer(serializers.Serializer):
    aspect_ratio = serializers.FloatField()
    height = serializers.IntegerField()
    width = serializers.IntegerField()


class CameraSerializer(serializers.Serializer):
    name = serializers.CharField()
    camera_id = serializers.CharField(help_text="The id the camera uploads with (e.g. its MAC address).")
    attribution = serializers.JSONField()
    tags = serializers.ListField(child=serializers.CharField())
    refreshInterval = serializers.IntegerField()  # the reference's member name
    is_online = serializers.BooleanField(
        help_text="Whether the server considers the camera online, from its polls and recent uploads."
    )
    capabilities = serializers.ListField(child=serializers.CharField())
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    session_id = serializers.CharField()
    user_id = serializers.CharField(help_text="The owner's id.")
    resolution = ResolutionSerializer(required=False, help_text="Known only after the camera has uploaded content.")


class CameraWithZonesSerializer(CameraSerializer):
    zones = ZoneSerializer(many=True, required=False, help_text="With `fetch_zones=true` only.")


class TransitionSerializer(serializers.Serializer):
    is_online = serializers.BooleanField(help_text="The state the camera went into.")
    date = serializers.CharField(help_text="When (ISO 8601).")
    last_seen = serializers.CharField(
        allow_null=True, help_text="The sight that decided it: the last one before going offline, the first one back."
    )
    alert = serializers.ChoiceField(
        choices=["none", "pending", "sending", "sent", "skipped"],
        help_text="The offline alert to the owner: `none` for online transitions, `pending` during the grace "
        "period, `sending` while it is sent, then `sent` or `skipped` (back online in time, or muted).",
    )
    date_alerted = serializers.CharField(allow_null=True)


class DeviceSerializer(serializers.Serializer):
    mac_address = serializers.CharField()
    maker = serializers.CharField()
    model = serializers.CharField()
    ip_address_local = serializers.CharField()
    user_agent = serializers.CharField()
    date_first_seen = serializers.CharField(allow_null=True)
    date_last_seen = serializers.CharField(allow_null=True)


class ClaimInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=64, help_text="The name of the camera the device becomes (or an existing camera to link)."
    )


ZONE_EXAMPLE = {
    "name": "door",
    "polygons": [{"points": [{"x": 0.12, "y": 0.17}, {"x": 0.45, "y": 0.12}, {"x": 0.40, "y": 0.60}]}],
}
CAMERA_EXAMPLE = {
    "camera_id": "2431614740321587915",
    "attribution": {},
    "capabilities": ["web_rtc", "audio", "video"],
    "is_online": True,
    "latitude": 0.0,
    "longitude": 0.0,
    "name": "Door",
    "refreshInterval": 0,
    "resolution": {"aspect_ratio": 1.7777778, "height": 720, "width": 1280},
    "session_id": "-MTBMEl-fg",
    "tags": [],
    "user_id": "42",
}


class CameraListViewSchema(OpenApiViewExtension):
    target_class = "cameras.views.CameraListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="cameras_list",
                summary="List all Cameras",
                description="Lists all of the cameras connected to an account. `is_online` says whether the server "
                "considers the camera online, from its polls and recent uploads.",
                parameters=[
                    ME,
                    bool_query("fetch_zones", "true to receive the list of zones along with each camera."),
                    HOST_USER,
                ],
                responses={200: CameraWithZonesSerializer(many=True), **errors(400, 401, 403, 404)},
                tags=TAG_CAMERAS,
            ),
        )


class CameraDetailViewSchema(OpenApiViewExtension):
    target_class = "cameras.views.CameraDetailView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="cameras_get",
                summary="Get Camera",
                description="The `resolution` of the camera is known only after the camera has uploaded content.",
                parameters=[ME, CAMERA, HOST_USER],
                responses={
                    200: OpenApiResponse(
                        response=CameraSerializer, examples=[OpenApiExample("A camera", value=CAMERA_EXAMPLE)]
                    ),
                    **errors(401, 403, e404="The path token is not `me`, or no such camera."),
                },
                tags=TAG_CAMERAS,
            ),
            delete=extend_schema(
                operation_id="cameras_delete",
                summary="Delete Camera",
                description="Deletes the camera with its zones and content.",
                parameters=[ME, CAMERA, OWN_USER],
                responses={**NO_CONTENT, **errors(401, 403, e404="The path token is not `me`, or no such camera.")},
                tags=TAG_CAMERAS,
            ),
        )


class CameraTransitionsViewSchema(OpenApiViewExtension):
    target_class = "cameras.views.CameraTransitionsView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="cameras_transitions",
                summary="Camera online/offline history",
                description="The camera's transitions between online and offline, newest first.",
                parameters=[ME, CAMERA, HOST_USER],
                responses={
                    200: TransitionSerializer(many=True),
                    **errors(401, 403, e404="The path token is not `me`, or no such camera."),
                },
                tags=TAG_CAMERAS,
            ),
        )


class ZoneListViewSchema(OpenApiViewExtension):
    target_class = "cameras.zone_views.ZoneListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="zones_list",
                summary="List all Zones",
                description="All of the zones of a camera, with their names and the polygons that define them.",
                parameters=[ME, CAMERA, HOST_USER],
                responses={
                    200: ZoneSerializer(many=True),
                    **errors(401, 403, e404="The path token is not `me`, or no such camera."),
                },
                tags=TAG_ZONES,
            ),
        )


def _zone_put(method: str):
    return extend_schema(
        operation_id=f"zones_put_{method}",
        summary="Create or Edit Zone",
        description="Creates the zone, or replaces its polygons: 201 when created, 200 when replaced. Only the "
        "camera's owner can edit its zones. POST and PUT do the same.",
        parameters=[ME, CAMERA, ZONE, OWN_USER],
        request=ZoneInputSerializer,
        examples=[OpenApiExample("A zone", value=ZONE_EXAMPLE, request_only=True)],
        responses={
            200: OpenApiResponse(response=ZoneSerializer, description="Replaced."),
            201: OpenApiResponse(response=ZoneSerializer, description="Created."),
            **errors(400, 401, 403, e404="The path token is not `me`, or no such camera."),
        },
        tags=TAG_ZONES,
    )


class ZoneDetailViewSchema(OpenApiViewExtension):
    target_class = "cameras.zone_views.ZoneDetailView"

    def view_replacement(self):
        not_found = "The path token is not `me`, or no such camera or zone."
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="zones_get",
                summary="Get Specific Zone",
                description="A zone of the camera, with its name and the polygons that define it.",
                parameters=[ME, CAMERA, ZONE, HOST_USER],
                responses={200: ZoneSerializer, **errors(401, 403, e404=not_found)},
                tags=TAG_ZONES,
            ),
            post=_zone_put("post"),
            put=_zone_put("put"),
            delete=extend_schema(
                operation_id="zones_delete",
                summary="Delete Zone",
                description="Deletes the zone of the camera.",
                parameters=[ME, CAMERA, ZONE, OWN_USER],
                responses={**NO_CONTENT, **errors(401, 403, e404=not_found)},
                tags=TAG_ZONES,
            ),
        )


class DeviceListViewSchema(OpenApiViewExtension):
    target_class = "cameras.device_views.DeviceListView"

    def view_replacement(self):
        return documented(
            self.target_class,
            get=extend_schema(
                operation_id="devices_list",
                summary="List devices to claim",
                description="Unclaimed devices recently polling from the caller's own public address (the caller's "
                "network), most recently seen first (at most 100).",
                parameters=[ME],
                responses={200: DeviceSerializer(many=True), **errors(401, 404, e403=PRIVATE_403)},
                tags=TAG_DEVICES,
            ),
        )


class DeviceClaimViewSchema(OpenApiViewExtension):
    target_class = "cameras.device_views.DeviceClaimView"

    def view_replacement(self):
        return documented(
            self.target_class,
            post=extend_schema(
                operation_id="devices_claim",
                summary="Claim a device",
                description="Makes the polling device the caller's camera `name` (201), or links the caller's "
                "existing camera of that name (200), with the MAC address as its `camera_id`. Only a device polling "
                "from the caller's own public address can be claimed. Its next poll carries the owner's settings.",
                parameters=[ME, MAC],
                request=ClaimInputSerializer,
                responses={
                    200: OpenApiResponse(response=CameraSerializer, description="An existing camera was linked."),
                    201: OpenApiResponse(response=CameraSerializer, description="The camera was created."),
                    **errors(
                        400,
                        401,
                        403,
                        e404="The path token is not `me`, or no unclaimed device with that MAC address is polling "
                        "from your network.",
                        e409="Already claimed by you, contested (it polled from more than one network lately), or "
                        "the camera is linked to another device.",
                    ),
                },
                tags=TAG_DEVICES,
            ),
        )
