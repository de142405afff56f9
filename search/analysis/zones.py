"""Zones as pixel masks at work size: which named zones motion falls in, and the negative mask.

A zone's polygons (normalized, origin top left) are rasterised once per zone version and frame
size (a small in-process cache: zones change rarely, frames of a camera keep their size).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from cameras.models import Zone

# Motion "falls in" a zone when at least this share of the moving pixels lies inside it, or the
# motion covers at least ZONE_COVER of the zone (a small zone wholly crossed by a big object).
ZONE_SHARE = 0.10
ZONE_COVER = 0.30


@dataclass(frozen=True)
class ZoneMask:
    name: str
    mask: np.ndarray  # bool, work size
    area: int


def _polygons_key(polygons) -> tuple:
    return tuple(tuple((float(p["x"]), float(p["y"])) for p in poly.get("points", [])) for poly in polygons or [])


@lru_cache(maxsize=512)
def _raster(polygons: tuple, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    pts = [
        np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in poly], dtype=np.int32)
        for poly in polygons
        if len(poly) >= 3
    ]
    if pts:
        cv2.fillPoly(mask, pts, 1)
    mask.setflags(write=False)
    return mask.astype(bool)


def camera_zone_masks(zones: list[Zone], width: int, height: int) -> tuple[list[ZoneMask], np.ndarray | None]:
    """The camera's positive zone masks, and the union of its negative zones (None if none)."""
    positive: list[ZoneMask] = []
    negative = None
    for zone in zones:
        mask = _raster(_polygons_key(zone.polygons), width, height)
        if zone.is_negative:
            negative = mask if negative is None else (negative | mask)
        else:
            positive.append(ZoneMask(zone.name, mask, int(np.count_nonzero(mask))))
    return positive, negative


def zone_labels(motion_mask: np.ndarray, zones: list[ZoneMask]) -> list[str]:
    """Names of the zones the moving pixels fall in."""
    moving = motion_mask > 0
    total = int(np.count_nonzero(moving))
    if not total:
        return []
    names = []
    for zone in zones:
        inside = int(np.count_nonzero(moving & zone.mask))
        if inside and (inside >= ZONE_SHARE * total or (zone.area and inside >= ZONE_COVER * zone.area)):
            names.append(zone.name)
    return names
