"""Canny's per-pixel stages as whole-array numpy and OpenCV operations: the loops of :mod:`.loops` without numba.

The same functions with the same arguments and the same bits as the compiled
loops, each a few dozen passes over a band of rows instead of one.  They cost
nothing to start, where numba takes most of a second to load and link its code
in a new process, so Canny runs them until a process has used it enough for
the compiled loops to pay off (:mod:`.engines`).  ``beyond`` and ``local_row``
are plain Python, compiled as they are by :mod:`.loops`.

This module must not check parameters, choose thresholds or allocate more than
its own scratch: :mod:`.suppression` and :mod:`.gradient` do.
"""

from __future__ import annotations

import cv2
import numpy as np

from .codes import CONSTANT, KEPT, NOT_EDGE, REFLECT, STRONG, WRAP


def beyond(index: int, length: int, boundary: int) -> int:
    """The index ``numpy.pad(mode=boundary)`` copies to ``index``, -1 or ``length``; -1 for zeros.

    ``boundary`` is a position in :data:`.codes.BOUNDARY_CODES`.
    """
    if boundary == CONSTANT:
        return -1
    first = index < 0
    if boundary == WRAP:
        return length - 1 if first else 0
    if boundary == REFLECT and length > 1:
        return 1 if first else length - 2
    return 0 if first else length - 1  # edge, symmetric, and reflect of a single pixel


def local_row(row: int, first: int, height: int, boundary: int) -> int:
    """The row of a strip's gradients (image row ``first`` first) that holds image row ``row``; -1 for zeros.

    Rows beyond the image are those ``numpy.pad`` copies there (:func:`beyond`),
    except for ``WRAP``, whose strips are taken cyclically.
    """
    if boundary != WRAP and not 0 <= row < height:
        row = beyond(row, height, boundary)
        if row < 0:
            return -1
    return row - first


def magnitude_rows(gx: np.ndarray, gy: np.ndarray, out: np.ndarray) -> None:
    """``out = sqrt(gx * gx + gy * gy)``, rounded step by step as numpy writes it."""
    np.multiply(gx, gx, out=out)
    out += gy * gy
    np.sqrt(out, out=out)


def fill_columns(padded: np.ndarray, boundary: int) -> None:
    """Set the first and last columns of ``padded`` from the columns between them, as ``numpy.pad``.

    Over the full height: numpy pads the rows first, so the corners come from the padded rows.
    """
    width = padded.shape[1] - 2
    for column, outside in ((0, -1), (width + 1, width)):
        source = beyond(outside, width, boundary)
        padded[:, column] = 0 if source < 0 else padded[:, source + 1]


def suppress_strip(  # noqa: PLR0913 (the compiled twin takes its arrays one by one)
    gx: np.ndarray,
    gy: np.ndarray,
    first: int,
    top: int,
    bottom: int,
    height: int,
    boundary: int,
    thresholds: np.ndarray,
    state: np.ndarray,
) -> None:
    """:func:`.loops.suppress_strip`: the strip's padded magnitude, then :func:`suppress_rows`."""
    width = gx.shape[1]
    window = np.zeros((bottom - top + 2, width + 2), dtype=gx.dtype)
    sources = np.array([local_row(row, first, height, boundary) for row in range(top - 1, bottom + 1)])
    inside = sources >= 0
    magnitude = np.empty((int(inside.sum()), width), dtype=gx.dtype)
    magnitude_rows(gx[sources[inside]], gy[sources[inside]], magnitude)
    window[inside, 1:-1] = magnitude
    fill_columns(window, boundary)
    rows = slice(top - first, bottom - first)
    suppress_rows(window, gx[rows], gy[rows], thresholds, state, np.empty((0, 0), dtype=gx.dtype), False)


def suppress_rows(  # noqa: PLR0913
    window: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    thresholds: np.ndarray,
    state: np.ndarray,
    suppressed: np.ndarray,
    every_maximum: bool,
) -> None:
    """:func:`.loops.suppress_rows`: non-maximum suppression and the double threshold of a band."""
    low, high, noise, forward_tie, backward_tie = thresholds
    above, level, below = window[:-2], window[1:-1], window[2:]
    value = np.ascontiguousarray(level[:, 1:-1])
    tested = value > noise
    if not every_maximum:
        tested &= value >= low
    if not tested.any():  # a flat band: nothing to suppress
        state[...] = NOT_EDGE
        if every_maximum:
            suppressed[...] = 0
        return
    abs_x, abs_y = np.abs(gx), np.abs(gy)
    steep = (abs_y >= abs_x).view(np.uint8)
    falling = np.equal(gx > 0, gy > 0).view(np.uint8)
    weight = np.minimum(abs_x, abs_y)
    larger = np.maximum(abs_x, abs_y, out=abs_x)
    # 0 / 0 only where the magnitude is 0, which is never tested.
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(weight, larger, out=weight)
    complement = np.subtract(weight.dtype.type(1), weight, out=abs_y)
    # The neighbours along the gradient, picked by cv2.copyTo (numpy.where
    # branches on every pixel, and the masks are random); see loops.suppress_row.
    forward, backward, axial = (np.empty_like(value) for _ in range(3))
    np.copyto(forward, above[:, 2:])
    cv2.copyTo(below[:, :-2], steep, forward)
    cv2.copyTo(below[:, 2:], falling, forward)
    np.copyto(backward, below[:, :-2])
    cv2.copyTo(above[:, 2:], steep, backward)
    cv2.copyTo(above[:, :-2], falling, backward)
    forward *= weight
    backward *= weight
    np.copyto(axial, level[:, 2:])
    cv2.copyTo(below[:, 1:-1], steep, axial)
    axial *= complement
    forward += axial
    forward *= forward_tie
    keep = np.greater_equal(value, forward)
    np.copyto(axial, level[:, :-2])
    cv2.copyTo(above[:, 1:-1], steep, axial)
    axial *= complement
    backward += axial
    backward *= backward_tie
    keep &= value > backward
    keep &= value > noise
    if every_maximum:
        suppressed[...] = 0
        cv2.copyTo(value, keep.view(np.uint8), suppressed)
    keep &= value >= low
    strong = np.greater_equal(value, high)
    strong &= keep
    np.add(keep, strong, out=state, dtype=np.uint8)  # WEAK = 1, STRONG = 2


def strong_pixels(state: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """:func:`.loops.strong_pixels`: the flat indices of the ``STRONG`` pixels of rows ``top`` to ``bottom - 1``."""
    return np.flatnonzero(state[top:bottom] == STRONG) + top * state.shape[1]


def hysteresis(state: np.ndarray, seeds: np.ndarray) -> None:
    """:func:`.loops.hysteresis`, by the 8-connected components of the weak and strong pixels.

    Every labelling algorithm finds the same components; Wu's (SAUF) is the
    quickest on thin edges.  A component is kept if it holds a seed.
    """
    candidates = (state != NOT_EDGE).view(np.uint8)
    count, labels = cv2.connectedComponentsWithAlgorithm(candidates, 8, cv2.CV_32S, cv2.CCL_SAUF)
    keep = np.zeros(count, dtype=bool)
    keep[np.take(labels.ravel(), seeds)] = True
    keep[0] = False  # the background
    state |= np.take(keep, labels).view(np.uint8) * np.uint8(KEPT)
