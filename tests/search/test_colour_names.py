"""Naming pixels' colours: the lookup tables give exactly what the rules say, for every pixel."""

from __future__ import annotations

import cv2
import numpy as np

from search.analysis.colour import _hsv_names, colour_histogram, colour_indices, colour_labels
from search.querylang import COLORS


def _every_hsv() -> np.ndarray:
    h, s, v = np.meshgrid(np.arange(180), np.arange(256), np.arange(256), indexing="ij")
    return np.stack([h, s, v], axis=-1).reshape(-1, 1, 3).astype(np.uint8)


def test_the_tables_name_every_hue_saturation_and_value_as_the_rules_do():
    hsv = _every_hsv()  # all 11.8 million triples OpenCV's HSV conversion can give
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    # The names of those BGR pixels, through the whole path, against the rules on their own HSV
    # (the round trip HSV -> BGR -> HSV is not exact, so the rules get what the path computes).
    back = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int16)
    expected = _hsv_names(back[:, 0], back[:, 1], back[:, 2])
    assert np.array_equal(colour_indices(bgr), expected)


def test_plain_colours_are_named_and_counted():
    swatches = {"red": (0, 0, 255), "green": (0, 200, 0), "blue": (255, 0, 0), "white": (255, 255, 255)}
    for name, bgr in swatches.items():
        pixels = np.full((6, 7, 3), bgr, np.uint8)
        assert set(colour_indices(pixels).tolist()) == {COLORS.index(name)}
        assert colour_histogram(pixels)[COLORS.index(name)] == 1.0
        assert colour_histogram(pixels.reshape(-1, 3))[COLORS.index(name)] == 1.0  # (N, 3) pixels too


def test_the_moving_region_s_colours_and_too_few_pixels():
    frame = np.full((90, 160, 3), (40, 40, 40), np.uint8)
    frame[20:60, 30:50] = (0, 0, 255)  # red shirt
    frame[20:60, 50:70] = (255, 0, 0)  # blue jeans
    mask = np.zeros((90, 160), np.uint8)
    mask[20:60, 30:70] = 255
    assert sorted(colour_labels(frame, mask)) == ["_color_blue", "_color_red"]
    tiny = np.zeros_like(mask)
    tiny[0, :5] = 255
    assert colour_labels(frame, tiny) == []
    assert colour_histogram(np.zeros((0, 3), np.uint8)).sum() == 0
