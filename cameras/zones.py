"""Zones: validation of the reference's polygon shape, and create-or-replace / delete.

Coordinates are fractions of the frame: ``x`` from the left edge (0) to the right edge (1), ``y``
from the top edge (0) to the bottom edge (1), the way image pixels are addressed.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction

from cameras.models import Camera, Zone
from config.api.errors import BadRequest, NotFound

MAX_POLYGONS = 32
MAX_POINTS = 256
MIN_AREA = 1e-6  # of the unit frame: rules out collinear or repeated points


def zone_name_validate(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise BadRequest("Zone name must be 1 to 64 characters")
    if not name.isprintable() or name != name.strip() or "/" in name:
        raise BadRequest("Zone name must be printable characters, without '/' or surrounding spaces")
    return name


def _coordinate(value: Any, where: str) -> float:
    # bool is an int in Python; a coordinate of `true` is a client bug, not 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{where} must be a number")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float (JSON allows thousands of digits)
        finite = False
    if not finite:
        raise BadRequest(f"{where} must be a number")
    if not 0.0 <= value <= 1.0:
        raise BadRequest(f"{where} must be between 0 and 1 (a fraction of the frame)")
    return float(value)


def _area(points: list[tuple[float, float]]) -> float:
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2


def zone_polygons_validate(polygons: Any) -> list[dict]:
    """The reference's ``polygons`` list, checked and normalised to plain floats."""
    if not isinstance(polygons, list) or not polygons:
        raise BadRequest("polygons must be a list with at least one polygon")
    if len(polygons) > MAX_POLYGONS:
        raise BadRequest(f"A zone has at most {MAX_POLYGONS} polygons")
    clean = []
    for i, polygon in enumerate(polygons):
        points = polygon.get("points") if isinstance(polygon, dict) else None
        if not isinstance(points, list) or len(points) < 3:
            raise BadRequest(f"polygons[{i}].points must be a list of at least 3 points")
        if len(points) > MAX_POINTS:
            raise BadRequest(f"polygons[{i}] has more than {MAX_POINTS} points")
        pairs = []
        for j, point in enumerate(points):
            if not isinstance(point, dict) or "x" not in point or "y" not in point:
                raise BadRequest(f"polygons[{i}].points[{j}] must be an object with x and y")
            where = f"polygons[{i}].points[{j}]"
            pairs.append((_coordinate(point["x"], f"{where}.x"), _coordinate(point["y"], f"{where}.y")))
        if _area(pairs) < MIN_AREA:
            raise BadRequest(f"polygons[{i}] has no area (its points are in a line or repeated)")
        clean.append({"points": [{"x": x, "y": y} for x, y in pairs]})
    return clean


def zone_get(*, camera: Camera, name: str) -> Zone:
    zone = Zone.objects.filter(camera=camera, name=name).first()
    if zone is None:
        raise NotFound(f"No zone named {name!r} on camera {camera.name!r}")
    return zone


def zone_put(*, camera: Camera, name: str, data: Any) -> tuple[Zone, bool]:
    """Create or replace the zone ``name`` of ``camera`` from the reference's JSON body.

    Returns the zone and whether it was created. A ``name`` in the body must match the path.
    """
    name = zone_name_validate(name)
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object with name and polygons")
    if "name" in data and data["name"] != name:
        raise BadRequest("The zone name in the body must match the name in the path")
    polygons = zone_polygons_validate(data.get("polygons"))
    with transaction.atomic():
        zone, created = Zone.objects.update_or_create(camera=camera, name=name, defaults={"polygons": polygons})
    return zone, created


def zone_delete(*, camera: Camera, name: str) -> None:
    deleted, _ = Zone.objects.filter(camera=camera, name=name).delete()
    if not deleted:
        raise NotFound(f"No zone named {name!r} on camera {camera.name!r}")
