"""The colour of the moving region, named over the reference's thirteen colours.

The names are ``search.querylang.COLORS`` (the same list the query language resolves colour words
against), so a label ``_color_red`` is found by a search for ``red``. Each moving pixel is named in
HSV: dark pixels are black; unsaturated ones white or gray by brightness; the rest by hue, with
brown (dark orange/red), and pink (pale red/magenta) split off by brightness and saturation. The
region's colour is the most common name; a second name is added when it covers a large share
too (a red shirt over blue jeans).
"""

from __future__ import annotations

import cv2
import numpy as np

from search.querylang import COLORS

MIN_PIXELS = 12
SECOND_SHARE = 0.30

# Hue (OpenCV's 0-179, i.e. degrees / 2) upper bounds, in order.
_HUE_BANDS = (
    (8, "red"),
    (20, "orange"),
    (35, "yellow"),
    (80, "green"),
    (100, "cyan"),
    (130, "blue"),
    (145, "purple"),
    (165, "magenta"),
    (180, "red"),
)
_INDEX = {name: i for i, name in enumerate(COLORS)}


def _hue_lut() -> np.ndarray:
    lut = np.zeros(180, np.uint8)
    start = 0
    for upper, name in _HUE_BANDS:
        lut[start:upper] = _INDEX[name]
        start = upper
    return lut


_LUT = _hue_lut()


def _hsv_names(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The rules: index into ``COLORS`` of each (hue, saturation, value), as int16 arrays."""
    out = _LUT[np.clip(h, 0, 179)].copy()
    reddish = (h < 20) | (h >= 165)
    out[reddish & (v < 150) & (s >= 90) & (h >= 5) & (h < 20)] = _INDEX["brown"]
    out[reddish & (s < 140) & (v >= 170)] = _INDEX["pink"]
    grey = s < 50
    out[grey] = _INDEX["gray"]
    out[grey & (v >= 200)] = _INDEX["white"]
    out[v < 50] = _INDEX["black"]
    return out


# The rules above only compare hue with 5, 8, 20, 35, 80, 100, 130, 145 and 165, saturation with 50,
# 90 and 140 and value with 50, 150, 170 and 200, so a pixel's name depends only on its hue class
# (10), saturation band (4) and value band (5): a code class * 20 + band * 5 + band, under 256. Each
# channel's part of the code is a per-channel lookup table (OpenCV's LUT), the three parts are summed
# (one channel transform) and the code's name is one more lookup: four OpenCV calls on the whole
# image instead of numpy's fancy indexing (half the time on a descriptor's 880 pixels). The table of
# names is made by applying the rules to each class's and band's lowest value (checked equal to the
# rules for every hue, saturation and value in the tests).
_HUE_EDGES = (5, 8, 20, 35, 80, 100, 130, 145, 165)
_S_EDGES, _V_EDGES = (0, 50, 90, 140), (0, 50, 150, 170, 200)


def _classes(edges: tuple[int, ...], values: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="right")


_H_CLASS = _classes(_HUE_EDGES, np.minimum(np.arange(256), 179))  # OpenCV's hue is 0-179
_S_BAND = _classes(_S_EDGES, np.arange(256)) - 1
_V_BAND = _classes(_V_EDGES, np.arange(256)) - 1
_CODE_LUT = np.stack([_H_CLASS * 20, _S_BAND * 5, _V_BAND], axis=-1).astype(np.uint8).reshape(1, 256, 3)
_SUM = np.ones((1, 3), np.float32)


def _code_names() -> np.ndarray:
    codes = np.arange(256)
    hue_class, s_band, v_band = np.minimum(codes // 20, len(_HUE_EDGES)), np.minimum(codes % 20 // 5, 3), codes % 5
    hue = np.asarray((0, *_HUE_EDGES), np.int16)[hue_class]
    s = np.asarray(_S_EDGES, np.int16)[s_band]
    v = np.asarray(_V_EDGES, np.int16)[v_band]
    return _hsv_names(hue, s, v).astype(np.uint8).reshape(1, 256)


_CODE_NAMES = _code_names()


def _names(image_bgr: np.ndarray) -> np.ndarray:
    """Index into ``COLORS`` of each pixel of an (H, W, 3) BGR uint8 image, as an (H, W) image."""
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    return cv2.LUT(cv2.transform(cv2.LUT(hsv, _CODE_LUT), _SUM), _CODE_NAMES)


def _histogram(names: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    counts = cv2.calcHist([names], [0], mask, [len(COLORS)], [0, len(COLORS)]).reshape(-1)
    return counts.astype(np.float64)


def _as_image(pixels_bgr: np.ndarray) -> np.ndarray:
    """(N, 3) pixels as an (N, 1, 3) image; an (H, W, 3) image as it is (contiguous, for OpenCV)."""
    return np.ascontiguousarray(pixels_bgr if pixels_bgr.ndim == 3 else pixels_bgr.reshape(-1, 1, 3))


def colour_indices(pixels_bgr: np.ndarray) -> np.ndarray:
    """Index into ``COLORS`` of each pixel of an (N, 3) or (H, W, 3) BGR uint8 array (flattened)."""
    if not pixels_bgr.size:
        return np.zeros(0, np.uint8)
    return _names(_as_image(pixels_bgr)).reshape(-1)


def colour_histogram(pixels_bgr: np.ndarray) -> np.ndarray:
    """Share of each of the thirteen colours among the pixels (sums to 1, zeros if none)."""
    if not pixels_bgr.size:
        return np.zeros(len(COLORS))
    hist = _histogram(_names(_as_image(pixels_bgr)))
    return hist / hist.sum() if hist.sum() else hist


def colour_labels(frame: np.ndarray, mask: np.ndarray) -> list[str]:
    """``_color_<name>`` labels of the moving region (``mask`` > 0) of ``frame``."""
    # Only the moving region's bounding box is looked at: the same pixels, a third of the work.
    x, y, w, h = cv2.boundingRect(mask)
    region = mask[y : y + h, x : x + w]
    if cv2.countNonZero(region) < MIN_PIXELS:
        return []
    hist = _histogram(_names(_as_image(frame[y : y + h, x : x + w])), np.ascontiguousarray(region))
    hist /= hist.sum()
    order = np.argsort(hist)[::-1]
    labels = [f"_color_{COLORS[order[0]]}"]
    if hist[order[1]] >= SECOND_SHARE:
        labels.append(f"_color_{COLORS[order[1]]}")
    return labels
