"""A compact visual descriptor of an item (and of an event: its cover item's), for similarity.

Layout (61 floats, each in [0, 1], rounded to 3 decimals):

- ``[0:48]`` colour layout: the frame cut into a 4x4 grid (row by row from the top left), the mean
  B, G, R of each cell / 255 — where things are and what colour, coarsely;
- ``[48:61]`` colour names: the share of the whole frame's pixels named each of the thirteen
  colours of ``search.querylang.COLORS`` (in that order; sums to 1).

``descriptor_distance`` compares two: the mean absolute difference of the layouts plus the L1
distance of the colour shares halved, each in [0, 1], averaged: 0 = same picture, 1 = opposite.
An empty descriptor (not analysed) is at distance 1 from everything.
"""

from __future__ import annotations

import cv2
import numpy as np

from search.analysis.colour import colour_histogram

GRID = 4
LENGTH = GRID * GRID * 3 + 13


SMALL_WIDTH = 40


def frame_descriptor(frame: np.ndarray) -> list[float]:
    """The descriptor of a BGR frame (any size; work frames are cheapest)."""
    h, w = frame.shape[:2]
    small_h = max(1, h * SMALL_WIDTH // w)
    if w % SMALL_WIDTH == 0 and h >= small_h * (w // SMALL_WIDTH):
        # A whole number of pixels per small pixel (the few rows over are cut, half at the top and
        # half at the bottom): OpenCV's area resize then takes its fast path, twice as fast.
        factor = w // SMALL_WIDTH
        top = (h - small_h * factor) // 2
        frame = frame[top : top + small_h * factor]
    small = cv2.resize(frame, (SMALL_WIDTH, small_h), interpolation=cv2.INTER_AREA)
    # The grid from the 40-wide copy, in float: the same cell means (to the rounding below) for a
    # fraction of the CPU of an area resize of the whole frame to a size it does not divide.
    cells = cv2.resize(small.astype(np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA) / 255.0
    values = np.concatenate([cells.reshape(-1).astype(np.float64), colour_histogram(small)])
    return np.round(values, 3).tolist()


def descriptor_distance(a: list[float], b: list[float]) -> float:
    """Distance in [0, 1] between two descriptors (see the module docstring)."""
    if len(a) != LENGTH or len(b) != LENGTH:
        return 1.0
    va, vb = np.asarray(a), np.asarray(b)
    layout = float(np.abs(va[:48] - vb[:48]).mean())
    names = float(np.abs(va[48:] - vb[48:]).sum()) / 2
    return round((layout + names) / 2, 4)
