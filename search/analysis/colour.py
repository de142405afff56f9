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


# The rules above only compare saturation with 50, 90 and 140 and value with 50, 150, 170 and 200,
# so they are a table of hue x saturation band x value band, made by applying them to each band's
# lowest value: naming a pixel is then three lookups instead of a dozen whole-array operations.
_S_EDGES, _V_EDGES = (0, 50, 90, 140), (0, 50, 150, 170, 200)
_S_BAND = np.searchsorted(_S_EDGES, np.arange(256), side="right").astype(np.int16) - 1
_V_BAND = np.searchsorted(_V_EDGES, np.arange(256), side="right").astype(np.int16) - 1
# Saturation band * 5 + value band, by (saturation, value).
_SV_CODE = (_S_BAND[:, None] * len(_V_EDGES) + _V_BAND[None, :]).astype(np.int16)


def _names_table() -> np.ndarray:
    h, sb, vb = np.meshgrid(
        np.arange(256, dtype=np.int16), np.arange(len(_S_EDGES)), np.arange(len(_V_EDGES)), indexing="ij"
    )
    s = np.asarray(_S_EDGES, np.int16)[sb]
    v = np.asarray(_V_EDGES, np.int16)[vb]
    return _hsv_names(h.ravel(), s.ravel(), v.ravel()).astype(np.uint8)


_NAMES = _names_table()  # index: hue * 20 + saturation band * 5 + value band
_HUE_CODE = np.arange(256, dtype=np.int32) * (len(_S_EDGES) * len(_V_EDGES))


def colour_indices(pixels_bgr: np.ndarray) -> np.ndarray:
    """Index into ``COLORS`` of each pixel of an (N, 3) or (H, W, 3) BGR uint8 array (flattened)."""
    hsv = cv2.cvtColor(pixels_bgr.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    return _NAMES[_HUE_CODE[hsv[:, 0]] + _SV_CODE[hsv[:, 1], hsv[:, 2]]]


def colour_histogram(pixels_bgr: np.ndarray) -> np.ndarray:
    """Share of each of the thirteen colours among the pixels (sums to 1, zeros if none)."""
    idx = colour_indices(pixels_bgr)
    hist = np.bincount(idx, minlength=len(COLORS)).astype(np.float64)
    return hist / hist.sum() if hist.sum() else hist


def colour_labels(frame: np.ndarray, mask: np.ndarray) -> list[str]:
    """``_color_<name>`` labels of the moving region (``mask`` > 0) of ``frame``."""
    # Only the moving region's bounding box is looked at: the same pixels, a third of the work.
    x, y, w, h = cv2.boundingRect(mask)
    pixels = frame[y : y + h, x : x + w][mask[y : y + h, x : x + w] > 0]
    if len(pixels) < MIN_PIXELS:
        return []
    hist = colour_histogram(pixels)
    order = np.argsort(hist)[::-1]
    labels = [f"_color_{COLORS[order[0]]}"]
    if hist[order[1]] >= SECOND_SHARE:
        labels.append(f"_color_{COLORS[order[1]]}")
    return labels
