"""JSON shapes of the cameras API, as the Camio reference writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cameras.models import Camera
from cameras.selectors import camera_is_online


def camera_json(camera: Camera, *, since: datetime | None = None, zones: list[dict] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": camera.name,
        "camera_id": camera.camera_id,
        "attribution": camera.attribution,
        "tags": camera.tags,
        "refreshInterval": camera.refresh_interval,
        "is_online": camera_is_online(camera, since=since),
        "capabilities": camera.capabilities,
        "latitude": camera.latitude if camera.latitude is not None else 0.0,
        "longitude": camera.longitude if camera.longitude is not None else 0.0,
        "session_id": camera.session_id,
        "user_id": str(camera.owner_id),
    }
    if camera.resolution_width and camera.resolution_height:
        data["resolution"] = {
            "aspect_ratio": round(camera.resolution_width / camera.resolution_height, 7),
            "height": camera.resolution_height,
            "width": camera.resolution_width,
        }
    if zones is not None:
        data["zones"] = zones
    return data


def zone_json(zone) -> dict[str, Any]:
    return {"name": zone.name, "polygons": zone.polygons}
