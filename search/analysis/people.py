"""People: OpenCV's HOG + linear SVM pedestrian detector (Dalal & Triggs), on the moving region.

The detector is run only where something moved enough to matter, and only on that region: the
largest motion box, padded by a quarter on each side, cut from the frame decoded at the smallest
JPEG scale that keeps the box ``MIN_DECODED_HEIGHT`` pixels tall, scaled so the box is
``PERSON_HEIGHTS`` pixels tall (the detector's 64x128 window frames a person about 96 px tall;
smaller people are scaled up, larger ones down) and scanned with an 8-pixel stride at that scale.
Only regions taller than wide (``MIN_ASPECT``) are scanned. That costs under a millisecond per
scanned 640x360 item instead of a whole-frame multi-scale scan's 10-30 ms. The detector finds
upright, mostly whole people; seated or partly hidden people are often missed.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

# The moving region is scaled so its height is each of these in turn (the detector's window holds
# a person about 96 px tall) and scanned at that one scale: a few ms, where a multi-scale scan of
# the same cut costs 10-30 ms. The second size catches regions a little looser than the person.
PERSON_HEIGHTS = (96, 112)
PAD = 0.25
# Upright people are taller than wide; wider moving regions (cars, pets, shadows) are not scanned.
MIN_ASPECT = 1.2
# The window moves by one HOG cell (8 px): the cells' histograms are then shared between windows,
# which halves the scan against a 4-pixel stride; the two heights above place the window on two
# grids, so a person between the positions of one is framed by the other.
WIN_STRIDE = (8, 8)
HIT_THRESHOLD = 0.3  # SVM margin; OpenCV's default 0 gives more false alarms on foliage and cars
# The moving region is decoded at least this tall, then scaled to PERSON_HEIGHTS (up by 1.4x at
# most): on a sweep of 294 drawn people and 140 bars, decoding at 80 px rather than 112 found the
# same people and no false alarm, with a smaller JPEG decode for a third of them.
MIN_DECODED_HEIGHT = 80
MIN_BOX_PIXELS = 24  # a region shorter than this (full-size pixels) is too small to tell

_local = threading.local()


def _detector() -> cv2.HOGDescriptor:
    # HOGDescriptor is not thread safe; the worker may run threads.
    hog = getattr(_local, "hog", None)
    if hog is None:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        _local.hog = hog
    return hog


def people_in(image: np.ndarray) -> int:
    """Number of people the detector finds in a BGR image (any size; scanned at several scales)."""
    h, w = image.shape[:2]
    if h < 128 or w < 64:
        scale = max(128 / h, 64 / w)
        image = cv2.resize(image, (int(w * scale) + 1, int(h * scale) + 1), interpolation=cv2.INTER_LINEAR)
    rects, _weights = _detector().detectMultiScale(
        image, hitThreshold=HIT_THRESHOLD, winStride=(4, 4), padding=(16, 16), scale=1.05
    )
    return len(rects)


def _person_at_scale(crop: np.ndarray, scale: float) -> bool:
    h, w = crop.shape[:2]
    size = (max(64, round(w * scale)), max(128, round(h * scale)))
    image = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    found, _weights = _detector().detect(image, hitThreshold=HIT_THRESHOLD, winStride=WIN_STRIDE, padding=(0, 0))
    return len(found) > 0


def region_may_hold_a_person(box: dict, *, width: int, height: int) -> bool:
    """Whether the normalized ``box`` of a ``width`` x ``height`` frame is worth scanning at all
    (tall enough, taller than wide): decided before any full-size pixels are decoded."""
    bw, bh = box["w"] * width, box["h"] * height
    return bh >= MIN_BOX_PIXELS and bh >= MIN_ASPECT * bw


def region_reduction(box: dict, *, height: int) -> int:
    """The largest JPEG decode reduction (1, 2, 4 or 8) that keeps the ``box`` of a frame
    ``height`` pixels tall at least ``MIN_DECODED_HEIGHT`` pixels tall: it is scaled to
    ``PERSON_HEIGHTS`` anyway, so decoding many more pixels finds nothing more."""
    factor = 1
    while factor < 8 and box["h"] * height / (factor * 2) >= MIN_DECODED_HEIGHT:
        factor *= 2
    return factor


def people_in_region(frame: np.ndarray, box: dict) -> bool:
    """Whether a person is in the normalized ``box`` of the BGR ``frame`` (full size or reduced by
    ``region_reduction``)."""
    fh, fw = frame.shape[:2]
    bw, bh = box["w"] * fw, box["h"] * fh
    if not region_may_hold_a_person(box, width=fw, height=fh):
        return False
    # Pad the box: people's HOG signature includes the outline against the background around them.
    # Where the padding runs off the frame (feet at the bottom edge), repeat the edge pixels.
    x0, y0 = int(box["x"] * fw - PAD * bw), int(box["y"] * fh - PAD * bh)
    x1, y1 = int(box["x"] * fw + bw * (1 + PAD)), int(box["y"] * fh + bh * (1 + PAD))
    crop = frame[max(0, y0) : min(fh, y1), max(0, x0) : min(fw, x1)]
    if crop.size == 0:
        return False
    crop = cv2.copyMakeBorder(crop, max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw), cv2.BORDER_REPLICATE)
    return any(_person_at_scale(crop, height / bh) for height in PERSON_HEIGHTS)
