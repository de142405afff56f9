"""Similarity of events: "events that look like this one" (``GET /api/search?event=<id>``).

What it means
-------------
Each event carries ``Event.descriptor``, a compact visual vector written by analysis
(``search.analysis.descriptor``: 61 floats in [0, 1], a 4x4 colour layout (48) then the shares
of the thirteen colour names (13)). Two events are compared by

    score = 0.7 * visual + 0.3 * labels

- ``visual`` is 1 minus analysis's own descriptor distance for that layout: the mean absolute
  difference of the colour layouts and half the L1 distance of the colour shares, averaged
  (1 = same picture, 0 = opposite). Any other vector length is compared by cosine similarity,
  clipped to [0, 1]. A candidate whose descriptor is missing or not comparable (another length:
  another analysis version) counts as visual 0, so it never outranks one that looks alike. When
  the paragon itself has no descriptor, the score is the label overlap alone (on [0, 1]).
- ``labels`` is the Jaccard overlap of the two events' label sets (zones, objects, colours,
  directions): size(A and B) / size(A or B), 0 when both are empty.

The score is in [0, 1]; 1 means the same picture with the same labels. Candidates are the events
the search's other filters select (same scope, sources, labels, motion type, date window), at most
``CANDIDATE_WINDOW`` of them taken in date order from the search's date; they are scored here in
one vectorised pass, so the work per request is bounded whatever the account's size. A page is
the best of one window; ``more_results`` says an older (newer) window follows, which the next call
ranks from ``earliest_date_considered`` (``latest_date_considered`` when ascending).

Storage: ``Event.descriptor_f64`` holds the descriptor again as little-endian float64 bytes
(``descriptor_pack``; the very floats of the JSON, so scores are bit for bit those of the JSON
column), which a search reads and turns into one matrix with ``numpy.frombuffer``
(``rank_packed``): decoding 500 descriptors from JSON text cost more than everything else in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

VISUAL_WEIGHT = 0.7
LABEL_WEIGHT = 0.3
# A similarity search's cost grows with this: each candidate's descriptor (488 bytes) and labels
# are read and ranked. 500 bounds a page of a large account near the benchmark's (whose accounts
# have ~480 candidates).
CANDIDATE_WINDOW = 500
# search.analysis.descriptor's layout: 4x4 cells x BGR, then 13 colour-name shares.
LAYOUT_LENGTH = 48
ANALYSIS_LENGTH = LAYOUT_LENGTH + 13
# The layout of Event.descriptor_f64 (fixed byte order: the same bytes on every machine).
PACKED_DTYPE = np.dtype("<f8")


def descriptor_pack(value: object) -> bytes:
    """A descriptor as stored in JSON, as the bytes of ``Event.descriptor_f64``.

    Empty when it is not a flat, non-empty list of finite numbers: such a descriptor is not
    comparable (visual 0 for a candidate, labels alone for a paragon), as in the JSON ranking.
    """
    if not isinstance(value, list | tuple):
        return b""
    try:
        arr = np.asarray(value, dtype=PACKED_DTYPE)
    except (TypeError, ValueError, OverflowError):
        return b""
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        return b""
    return arr.tobytes()


def label_overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard overlap of two label sets (case-insensitive)."""
    sa, sb = {x.lower() for x in a}, {x.lower() for x in b}
    union = sa | sb
    return len(sa & sb) / len(union) if union else 0.0


def _unit(vector: Sequence[float]) -> np.ndarray | None:
    try:
        arr = np.asarray(vector, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        return None
    norm = float(np.linalg.norm(arr))
    return arr / norm if norm > 0 else None


def _vector(value: Sequence[float]) -> np.ndarray | None:
    if not isinstance(value, list | tuple):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        return None
    return arr


def _visual_many(target: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Visual similarity of each row of ``rows`` (same length as ``target``) to ``target``."""
    if target.size == ANALYSIS_LENGTH:
        diff = np.abs(rows - target)
        layout = diff[:, :LAYOUT_LENGTH].mean(axis=1)
        names = diff[:, LAYOUT_LENGTH:].sum(axis=1) / 2
        return np.clip(1.0 - (layout + names) / 2, 0.0, 1.0)
    unit = _unit(target)
    if unit is None:
        return np.zeros(len(rows))
    norms = np.linalg.norm(rows, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (rows @ unit) / norms
    return np.clip(np.nan_to_num(cos, nan=0.0), 0.0, 1.0)


def visual_similarity(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Visual similarity in [0, 1] (see the module docstring); None when they cannot be compared."""
    va, vb = _vector(a), _vector(b)
    if va is None or vb is None or va.shape != vb.shape:
        return None
    if va.size != ANALYSIS_LENGTH and (_unit(va) is None or _unit(vb) is None):
        return None
    return float(_visual_many(va, vb[None, :])[0])


def event_similarity(
    paragon_descriptor: Sequence[float],
    paragon_labels: Sequence[str],
    descriptor: Sequence[float],
    labels: Sequence[str],
) -> float:
    """The score of one candidate against the paragon (see the module docstring)."""
    overlap = label_overlap(paragon_labels, labels)
    if _vector(paragon_descriptor) is None:
        return overlap
    visual = visual_similarity(paragon_descriptor, descriptor)
    return VISUAL_WEIGHT * (visual or 0.0) + LABEL_WEIGHT * overlap


def rank_by_similarity(
    paragon_descriptor: Sequence[float],
    paragon_labels: Sequence[str],
    candidates: Sequence[tuple[int, Sequence[float], Sequence[str]]],
) -> list[tuple[int, float]]:
    """``[(id, score), …]`` best first; ties keep the candidates' order (their date order).

    ``candidates`` are ``(id, descriptor, labels)``. Descriptors of the paragon's length are
    scored together in one array operation; the rest count as visual 0.
    """
    target = _vector(paragon_descriptor)
    visual = np.full(len(candidates), np.nan)
    if target is not None and candidates:
        size = target.size
        where = [i for i, (_, d, _labels) in enumerate(candidates) if isinstance(d, list | tuple) and len(d) == size]
        if where:
            try:
                # One conversion for the whole window (a per-row asarray costs more than the maths).
                matrix = np.array([candidates[i][1] for i in where], dtype=np.float64)
            except (TypeError, ValueError):  # a malformed row: fall back to one at a time
                vectors = [_vector(candidates[i][1]) for i in where]
                where = [i for i, v in zip(where, vectors, strict=True) if v is not None and v.size == size]
                matrix = np.array([v for v in vectors if v is not None and v.size == size]).reshape(-1, size)
            finite = np.all(np.isfinite(matrix), axis=1)
            if finite.any():
                visual[np.asarray(where)[finite]] = _visual_many(target, matrix[finite])
    return _ranked(
        [pk for pk, _, _ in candidates],
        visual if target is not None else None,
        paragon_labels,
        [lb for _, _, lb in candidates],
    )


def rank_packed(
    paragon_descriptor: bytes,
    paragon_labels: Sequence[str],
    candidates: Sequence[tuple[int, bytes | memoryview | None, Sequence[str] | None]],
) -> list[tuple[int, float]]:
    """``rank_by_similarity`` for descriptors packed by ``descriptor_pack`` (``Event.descriptor_f64``).

    The same ranking and scores (the same floats): the descriptors of the paragon's length become
    one matrix by ``numpy.frombuffer``, without a per-row conversion.
    """
    target = np.frombuffer(paragon_descriptor, dtype=PACKED_DTYPE) if paragon_descriptor else None
    visual = None
    if target is not None:
        visual = np.zeros(len(candidates))
        width = len(paragon_descriptor)
        where = [i for i, (_, d, _labels) in enumerate(candidates) if d is not None and len(d) == width]
        if where:
            packed = b"".join(candidates[i][1] for i in where)
            matrix = np.frombuffer(packed, dtype=PACKED_DTYPE).reshape(len(where), target.size)
            visual[where] = _visual_many(target, matrix)
    return _ranked([pk for pk, _, _ in candidates], visual, paragon_labels, [lb for _, _, lb in candidates])


def _ranked(
    ids: list[int], visual: np.ndarray | None, paragon_labels: Sequence[str], labels: list[Sequence[str] | None]
) -> list[tuple[int, float]]:
    """Scores (``visual`` None: the paragon has no descriptor, labels alone), best first, ties in
    the candidates' order."""
    mine = {x.lower() for x in paragon_labels}
    keys = [tuple(theirs) if theirs else () for theirs in labels]
    # Candidates share few label sets: each set's overlap is computed once.
    overlap_of: dict[tuple, float] = {}
    for key in set(keys):
        theirs = {x.lower() for x in key}
        union = mine | theirs
        overlap_of[key] = len(mine & theirs) / len(union) if union else 0.0
    overlap = [overlap_of[key] for key in keys]
    if visual is None:
        raw = overlap
    else:
        # Element by element the same float operations as one score at a time.
        raw = (VISUAL_WEIGHT * np.nan_to_num(visual, nan=0.0) + LABEL_WEIGHT * np.asarray(overlap)).tolist()
    scores = [round(score, 6) for score in raw]
    order = sorted(range(len(ids)), key=scores.__getitem__, reverse=True)  # stable: ties keep date order
    return [(ids[i], scores[i]) for i in order]
