"""JSON shapes of the cameras API, as the Camio reference writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cameras.models import Camera, Device, StatusTransition
from cameras.selectors import camera_is_online
from config.api.dates import camio_date


def camera_json(
    camera: Camera,
    *,
    since: datetime | None = None,
    zones: list[dict] | None = None,
    polled: dict[int, datetime] | None = None,
) -> dict[str, Any]:
    """The reference's Camera; ``polled`` holds cached poll sights (``cameras.polling.polled_at``)."""
    data: dict[str, Any] = {
        "name": camera.name,
        "camera_id": camera.camera_id,
        "attribution": camera.attribution,
        "tags": camera.tags,
        "refreshInterval": camera.refresh_interval,
        "is_online": camera_is_online(camera, since=since, polled=polled),
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


def device_json(device: Device, *, polled_at: datetime | None = None) -> dict[str, Any]:
    """``polled_at``: the latest poll the cache holds (the row's sight is written coalesced)."""
    last_seen = max((d for d in (device.last_seen_at, polled_at) if d is not None), default=None)
    return {
        "mac_address": device.mac_address,
        "maker": device.maker,
        "model": device.model,
        "ip_address_local": device.ip_address_local,
        "user_agent": device.user_agent,
        "date_first_seen": camio_date(device.first_seen_at),
        "date_last_seen": camio_date(last_seen),
    }


def transition_json(transition: StatusTransition) -> dict[str, Any]:
    return {
        "is_online": transition.is_online,
        "date": camio_date(transition.at),
        "last_seen": camio_date(transition.last_seen_at),
        "alert": transition.alert,
        "date_alerted": camio_date(transition.alerted_at),
    }
