"""Motion: where the current frame differs from a reference frame of the same camera.

Method (on ``frames.WORK_WIDTH``-wide BGR frames): Gaussian blur 5x5 against sensor noise and
JPEG artefacts; per pixel the largest absolute difference over B, G and R (a coloured object on a
background of equal brightness still counts); pixels differing by more than ``PIXEL_THRESHOLD``
(of 255) move; a 3x3 opening drops specks and a 5x5 closing joins the pieces of one object; each
connected region of at least ``MIN_REGION_FRACTION`` of the frame is a moving region, its bounding
box a motion box in normalized coordinates (origin top left, as zones). Regions lying wholly (≥
``NEGATIVE_INSIDE`` of their pixels) inside negative zones are dropped.

Interest, from the moving fraction ``f`` of the frame:
``interest_score = min(1, sqrt(f / SCORE_FULL_FRACTION))`` (10 % of the frame moving scores 1; 1 %
scores 0.32), and ``interest_level``:

- ``ANY`` (all): some or no motion below the next threshold;
- ``SIGNIFICANT`` (smo): ``f ≥ 0.5 %`` of the frame (score ≥ 0.22) — a person at ten metres;
- ``IMPORTANT`` (imo): ``f ≥ 2 %`` (score ≥ 0.45), or a person detected;
- ``LABELED`` (lmo): significant motion that earned a semantic label: it falls in one of the
  camera's (positive) zones, or a person was detected. Colour and direction alone do not count:
  every moving thing has a colour.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

PIXEL_THRESHOLD = 28
MIN_REGION_FRACTION = 0.001
NEGATIVE_INSIDE = 0.95
SCORE_FULL_FRACTION = 0.10
SIGNIFICANT_FRACTION = 0.005
IMPORTANT_FRACTION = 0.02
# More than this much of the frame changing at once is a lighting change or a moved camera.
GLOBAL_CHANGE_FRACTION = 0.6
MAX_BOXES = 8

_OPEN = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


@dataclass
class Motion:
    """What moved in one frame: boxes (normalized), the moving-pixel mask and its fraction."""

    boxes: list[dict] = field(default_factory=list)
    mask: np.ndarray | None = None  # uint8 0/255 at work size, only the kept regions
    fraction: float = 0.0
    global_change: bool = False

    @property
    def score(self) -> float:
        return interest_score(self.fraction)

    @property
    def main_area(self) -> float:
        """Area (normalized) of the largest motion box: the moving object's apparent size."""
        return max((b["w"] * b["h"] for b in self.boxes), default=0.0)


def interest_score(fraction: float) -> float:
    return round(min(1.0, math.sqrt(max(fraction, 0.0) / SCORE_FULL_FRACTION)), 4)


class _PreparedFrames:
    """The blurred copies of the last few frames compared, by identity: a camera's background (or
    previous frame) is the reference of many items in a row, and today's item is the next one's
    reference, so most comparisons need only one new blur. Frames are never changed in place (the
    work frames are cached and shared), and the entries hold the frames, so an id is not reused
    while it is here."""

    def __init__(self, size: int = 8):
        self.size = size
        self.entries: list[tuple[np.ndarray, np.ndarray]] = []
        self.lock = threading.Lock()

    def get(self, frame: np.ndarray) -> np.ndarray:
        with self.lock:
            for i, (seen, blurred) in enumerate(self.entries):
                if seen is frame:
                    if i:
                        self.entries.insert(0, self.entries.pop(i))
                    return blurred
        blurred = cv2.GaussianBlur(frame, (5, 5), 0)
        with self.lock:
            self.entries.insert(0, (frame, blurred))
            del self.entries[self.size :]
        return blurred


_prepared_frames = _PreparedFrames()


def _prepared(frame: np.ndarray) -> np.ndarray:
    return _prepared_frames.get(frame)


def motion_detect(current: np.ndarray, reference: np.ndarray, *, negative: np.ndarray | None = None) -> Motion:
    """Motion of ``current`` against ``reference`` (both BGR work frames; resized if they differ).

    ``negative`` is a boolean mask (work size) of the camera's negative zones, or None.
    """
    h, w = current.shape[:2]
    if reference.shape[:2] != (h, w):
        reference = cv2.resize(reference, (w, h), interpolation=cv2.INTER_AREA)
    # Largest difference over the three channels (cv2.max: numpy's max(axis=2) is 40x slower here).
    b, g, r = cv2.split(cv2.absdiff(_prepared(current), _prepared(reference)))
    diff = cv2.max(cv2.max(b, g), r)
    _, moving = cv2.threshold(diff, PIXEL_THRESHOLD, 255, cv2.THRESH_BINARY)
    moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, _OPEN)
    moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, _CLOSE)
    total = float(h * w)
    changed = cv2.countNonZero(moving)
    if changed / total > GLOBAL_CHANGE_FRACTION:
        return Motion(mask=np.zeros((h, w), np.uint8), global_change=True)
    if not changed:
        return Motion(mask=moving)  # a quiet frame: no regions to look for

    # Regions are looked for within the moving pixels' bounding box (the same regions, in a
    # fraction of the pixels: OpenCV's labelling costs ~28 us over a whole work frame), with
    # 16-bit labels where they fit (its statistics pass costs 3x as much over 32-bit labels).
    bx, by, bw, bh = cv2.boundingRect(moving)
    crop = moving[by : by + bh, bx : bx + bw]
    ltype = cv2.CV_16U if bw * bh < 65536 else cv2.CV_32S
    count, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8, ltype=ltype)
    stats[:, cv2.CC_STAT_LEFT] += bx
    stats[:, cv2.CC_STAT_TOP] += by
    min_pixels = max(6, int(MIN_REGION_FRACTION * total))
    keep = np.zeros(count, dtype=bool)
    for i in range(1, count):
        area = stats[i, cv2.CC_STAT_AREA]
        if area < min_pixels:
            continue
        if negative is not None:
            x, y, rw, rh = stats[i, :4]
            region = labels[y - by : y - by + rh, x - bx : x - bx + rw] == i
            inside = np.count_nonzero(negative[y : y + rh, x : x + rw] & region)
            if inside >= NEGATIVE_INSIDE * area:
                continue
        keep[i] = True
    kept = [i for i in range(1, count) if keep[i]]
    if len(kept) == count - 1:
        mask = moving  # every region kept: the mask is the moving pixels as they are
    else:
        mask = np.zeros((h, w), np.uint8)
        mask[by : by + bh, bx : bx + bw] = np.where(keep, np.uint8(255), np.uint8(0))[labels]
    # Largest first; equal areas by position (the labels' numbering depends on the labelling's scan).
    kept.sort(key=lambda i: (-stats[i, cv2.CC_STAT_AREA], stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_LEFT]))
    boxes = [
        {
            "x": round(float(stats[i, 0]) / w, 4),
            "y": round(float(stats[i, 1]) / h, 4),
            "w": round(float(stats[i, 2]) / w, 4),
            "h": round(float(stats[i, 3]) / h, 4),
        }
        for i in kept[:MAX_BOXES]
    ]
    fraction = sum(int(stats[i, cv2.CC_STAT_AREA]) for i in kept) / total
    return Motion(boxes=boxes, mask=mask, fraction=round(fraction, 5))


def direction_labels(areas: list[float], *, ratio: float = 1.3) -> list[str]:
    """``approaching`` / ``departing`` from the moving object's apparent size over time.

    ``areas`` are the main motion box areas of successive frames (in time order, frames without
    motion left out). Growing by ``ratio`` from the first frame to the largest means approaching;
    shrinking by ``ratio`` from the largest to the last means departing; both when something comes
    close and goes away again.
    """
    if len(areas) < 2:
        return []
    peak = max(range(len(areas)), key=lambda i: areas[i])
    labels = []
    if peak > 0 and areas[peak] >= ratio * max(areas[0], 1e-9):
        labels.append("approaching")
    if peak < len(areas) - 1 and areas[peak] >= ratio * max(areas[-1], 1e-9):
        labels.append("departing")
    return labels
