"""Canny's non-linear stages: the gradient magnitude with its frame, non-maximum suppression, hysteresis.

Per-pixel work on the ``sobel_x`` / ``sobel_y`` responses that :mod:`.gradient`
computed, band by band or strip by strip (:class:`.bands.Bands`), each writing
only its own rows, through one of two implementations with the same results:
``stages``, :mod:`.vectorised` (numpy) or :mod:`.loops` (compiled), as
:func:`.engines.per_pixel_stages` picked.  Every function here is held to a
plain-loop or ``numpy.pad`` definition in ``tests/test_edges.py``, with both.

This module must not filter an image, check parameters or choose thresholds: it
is given the gradients, the boundary and the thresholds.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .bands import Bands
from .codes import BOUNDARY_CODES, KEPT
from .inputs import TIE_EPSILONS


def padded_magnitude(
    gx: np.ndarray, gy: np.ndarray, boundary: str, bands: Bands, stages: ModuleType
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The magnitude ``sqrt(gx^2 + gy^2)`` with a one-pixel frame, ``gx`` and ``gy``.

    The frame is what ``numpy.pad(magnitude, 1, mode=boundary)`` adds, so that
    non-maximum suppression finds every neighbour in one array.  With
    ``(H, W, C)`` gradients (``per_channel``) each pixel keeps the channel with
    the largest magnitude (the first of equals), and its ``gx`` and ``gy`` are
    returned as ``(H, W)``.
    """
    height, width = gx.shape[:2]
    padded = np.empty((height + 2, width + 2), dtype=gx.dtype)
    channels = gx.ndim == 3
    picked_x, picked_y = (np.empty((height, width), dtype=gx.dtype) for _ in range(2)) if channels else (gx, gy)

    def magnitude(rows: slice) -> None:
        out = padded[rows.start + 1 : rows.stop + 1, 1:-1]
        x, y = gx[rows], gy[rows]
        if channels:
            squared = x * x
            squared += y * y
            # The flat indices of the picked samples.
            strongest = np.arange(0, squared.size, squared.shape[2])
            strongest += _first_largest(np.ascontiguousarray(np.moveaxis(squared, 2, 0))).ravel()
            picked_x[rows] = np.take(x.ravel(), strongest).reshape(out.shape)
            picked_y[rows] = np.take(y.ravel(), strongest).reshape(out.shape)
            np.sqrt(np.take(squared.ravel(), strongest).reshape(out.shape), out=out)
        else:
            stages.magnitude_rows(x, y, out)

    bands.map(magnitude)
    code = BOUNDARY_CODES.index(boundary)
    for row, outside in ((0, -1), (height + 1, height)):
        source = stages.beyond(outside, height, code)
        padded[row, 1:-1] = 0 if source < 0 else padded[source + 1, 1:-1]
    stages.fill_columns(padded, code)
    return padded, picked_x, picked_y


def _first_largest(planes: np.ndarray) -> np.ndarray:
    """``np.argmax(planes, axis=0)`` for (C, H, W) values: the first largest channel, or the first NaN.

    Plane by plane, with whole-plane comparisons: numpy's argmax along a short
    axis runs one small loop per pixel.  The index has the smallest unsigned
    dtype that holds C - 1.
    """
    largest = planes[0]
    for plane in planes[1:]:
        largest = np.maximum(largest, plane)  # NaN wherever a channel is NaN
    index = np.zeros(planes.shape[1:], dtype=np.min_scalar_type(len(planes) - 1))
    unmatched = np.ones(planes.shape[1:], dtype=bool)  # no earlier channel was the largest (or NaN)
    for plane in planes[:-1]:
        unmatched &= plane != largest
        unmatched &= plane == plane  # noqa: PLR0124 (false for NaN only)
        index += unmatched
    return index


def new_state(height: int, width: int) -> np.ndarray:
    """An empty state map for an (H, W) image: (H + 2, W + 2) of ``NOT_EDGE``, the frame included."""
    return np.zeros((height + 2, width + 2), dtype=np.uint8)


def thresholds(dtype: np.dtype, *, low: float, high: float, noise: float) -> np.ndarray:
    """What suppression compares with: ``low, high, noise`` and the two tie factors, in ``dtype``.

    Strict on the backward (up/left) side: of two equal pixels across an edge
    only one survives, as in OpenCV, so edges are one pixel wide.  "Equal" allows
    for rounding (:data:`.inputs.TIE_EPSILONS`), so that the same pixel wins on
    every row.  The values are rounded to ``dtype`` as numpy rounds a Python
    float it compares with an array of that dtype.
    """
    tie = TIE_EPSILONS * np.finfo(dtype).eps
    with np.errstate(over="ignore"):
        return np.array([low, high, noise, 1 - tie, 1 + tie], dtype=dtype)


def non_maximum_suppression(
    gx: np.ndarray,
    gy: np.ndarray,
    padded: np.ndarray,
    *,
    low: float,
    high: float,
    noise: float,
    bands: Bands,
    every_maximum: bool,
    stages: ModuleType,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Local maxima along the gradient, and the double threshold, on the whole magnitude.

    Along the gradient, one pixel away on each side, the magnitude is
    interpolated between the axial neighbour (above/below for a mostly vertical
    gradient, else left/right) and the diagonal one, with weight
    ``min(|gx|, |gy|) / max(|gx|, |gy|)`` on the diagonal: scikit-image's
    ``_nonmaximum_suppression_bilinear`` (``stages.suppress_rows``).  ``padded``
    is the magnitude with the one-pixel frame the boundary gives
    (:func:`padded_magnitude`).  Only pixels whose magnitude exceeds ``noise``
    can be maxima.

    Returns
    -------
    state : ndarray of uint8, shape (H + 2, W + 2)
        ``STRONG`` at maxima with ``high <= magnitude``, ``WEAK`` at the other
        maxima with ``low <= magnitude``, else ``NOT_EDGE`` (:mod:`.codes`), with
        a frame of ``NOT_EDGE``: the input of :func:`hysteresis`.
    seeds : ndarray of intp
        The flat indices in ``state`` of its ``STRONG`` pixels, in order.
    suppressed : ndarray, shape (H, W), or None
        With ``every_maximum``: the magnitude at every maximum, 0 elsewhere.
    """
    height, width = gx.shape
    state = new_state(height, width)
    suppressed = np.empty((height, width) if every_maximum else (0, 0), dtype=gx.dtype)
    limits = thresholds(gx.dtype, low=low, high=high, noise=noise)

    def suppress(rows: slice) -> np.ndarray:
        stages.suppress_rows(
            padded[rows.start : rows.stop + 2],
            gx[rows],
            gy[rows],
            limits,
            state[rows.start + 1 : rows.stop + 1, 1:-1],
            suppressed[rows] if every_maximum else suppressed,
            every_maximum,
        )
        return stages.strong_pixels(state, rows.start + 1, rows.stop + 1)

    seeds = np.concatenate(bands.map(suppress))
    return state, seeds, suppressed if every_maximum else None


def suppress_strip(
    gx: np.ndarray,
    gy: np.ndarray,
    first: int,
    rows: slice,
    height: int,
    boundary: str,
    limits: np.ndarray,
    state: np.ndarray,
    stages: ModuleType,
) -> np.ndarray:
    """:func:`non_maximum_suppression` of one strip of rows, from its own gradients, the magnitude computed on the way.

    ``gx`` and ``gy`` hold image rows ``first`` onwards, at least
    ``rows.start - 1`` to ``rows.stop`` where those are in the image (for
    ``wrap``: taken cyclically); ``limits`` is :func:`thresholds`; the strip's
    rows of ``state`` (:func:`new_state`) are written.  The same bits as the
    whole-image suppression.

    Returns
    -------
    ndarray of intp
        The strip's seeds: the flat indices in ``state`` of its ``STRONG`` pixels.
    """
    code = BOUNDARY_CODES.index(boundary)
    target = state[rows.start + 1 : rows.stop + 1, 1:-1]
    stages.suppress_strip(gx, gy, first, rows.start, rows.stop, height, code, limits, target)
    return stages.strong_pixels(state, rows.start + 1, rows.stop + 1)


def hysteresis(state: np.ndarray, seeds: np.ndarray, stages: ModuleType) -> np.ndarray:
    """The weak and strong pixels in an 8-connected component that holds a strong one.

    ``state`` is :func:`non_maximum_suppression`'s map with its frame and
    ``seeds`` the flat indices of its strong pixels; ``stages.hysteresis`` adds
    ``KEPT`` to the pixels it keeps (the compiled one by a flood fill from each
    seed, which visits only the edges it keeps).

    Returns
    -------
    ndarray of bool, shape (H, W)
        The edges.
    """
    stages.hysteresis(state, seeds)
    return state[1:-1, 1:-1] >= KEPT
