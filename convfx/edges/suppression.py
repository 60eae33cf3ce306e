"""Canny's non-linear stages: the gradient magnitude with its frame, non-maximum suppression, hysteresis.

Per-pixel numpy and OpenCV work on the ``sobel_x`` / ``sobel_y`` responses that
:mod:`.gradient` computed, band by band (:class:`.bands.Bands`), each band writing
only its own rows.  Every function here is held to a plain-loop or ``numpy.pad``
definition in ``tests/test_edges.py``.

This module must not filter an image, check parameters or choose thresholds: it
is given the gradients, the boundary and the thresholds.
"""

from __future__ import annotations

import cv2
import numpy as np

from .bands import Bands
from .inputs import TIE_EPSILONS


def padded_magnitude(gx: np.ndarray, gy: np.ndarray, boundary: str, bands: Bands) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
            _magnitude(x, y, out)

    bands.map(magnitude)
    for row, outside in ((0, -1), (height + 1, height)):
        source = _beyond(outside, height, boundary)
        padded[row, 1:-1] = 0 if source is None else padded[source + 1, 1:-1]
    _fill_columns(padded, boundary)
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


def _magnitude(gx: np.ndarray, gy: np.ndarray, out: np.ndarray) -> None:
    """``out = sqrt(gx * gx + gy * gy)``, rounded step by step as numpy writes it."""
    np.multiply(gx, gx, out=out)
    out += gy * gy
    np.sqrt(out, out=out)


def _magnitude_window(gx: np.ndarray, gy: np.ndarray, rows: slice, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``rows.start - 1`` to ``rows.stop`` of the padded magnitude (:func:`padded_magnitude`).

    Computed from ``gx`` and ``gy`` (H, W) for one band.

    Returns
    -------
    window : ndarray, shape (rows.stop - rows.start + 2, W + 2)
        The padded magnitude.
    inside : ndarray, shape (rows.stop - rows.start, W)
        Its band without the frame, C-contiguous (numpy's loops are quicker on it than on a view).
    """
    (top, bottom), (height, width) = (rows.start, rows.stop), gx.shape
    magnitude = np.empty((bottom - top + 2, width), dtype=gx.dtype)
    first, last = max(top - 1, 0), min(bottom + 1, height)
    _magnitude(gx[first:last], gy[first:last], magnitude[first - top + 1 : last - top + 1])
    for row, outside in ((0, top - 1), (len(magnitude) - 1, bottom)):
        if 0 <= outside < height:
            continue
        source = _beyond(outside, height, boundary)
        if source is None:
            magnitude[row] = 0
        else:
            _magnitude(gx[source : source + 1], gy[source : source + 1], magnitude[row : row + 1])
    window = np.empty((bottom - top + 2, width + 2), dtype=gx.dtype)
    window[:, 1:-1] = magnitude
    _fill_columns(window, boundary)
    return window, magnitude[1:-1]


def _beyond(index: int, length: int, boundary: str) -> int | None:
    """The index ``numpy.pad(mode=boundary)`` copies to ``index``, -1 or ``length``; None for zeros."""
    if boundary == "constant":
        return None
    first = index < 0
    if boundary == "wrap":
        return length - 1 if first else 0
    if boundary == "reflect" and length > 1:
        return 1 if first else length - 2
    return 0 if first else length - 1  # "edge", "symmetric", and "reflect" of a single pixel


def _fill_columns(padded: np.ndarray, boundary: str) -> None:
    """Set the first and last columns of ``padded`` from the columns between them, as ``numpy.pad``.

    Over the full height: numpy pads the rows first, so the corners come from the padded rows.
    """
    width = padded.shape[1] - 2
    for column, outside in ((0, -1), (width + 1, width)):
        source = _beyond(outside, width, boundary)
        padded[:, column] = 0 if source is None else padded[:, source + 1]


def non_maximum_suppression(
    gx: np.ndarray,
    gy: np.ndarray,
    padded: np.ndarray | None,
    boundary: str,
    *,
    low: float,
    high: float,
    noise: float,
    bands: Bands,
    every_maximum: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Local maxima along the gradient, and the double threshold.

    Along the gradient, one pixel away on each side, the magnitude is
    interpolated between the axial neighbour (above/below for a mostly vertical
    gradient, else left/right) and the diagonal one, with weight
    ``min(|gx|, |gy|) / max(|gx|, |gy|)`` on the diagonal: scikit-image's
    ``_nonmaximum_suppression_bilinear``, vectorised.  ``padded`` is the
    magnitude with the one-pixel frame the boundary gives (:func:`padded_magnitude`),
    or None to compute it band by band (:func:`_magnitude_window`).

    Only pixels whose magnitude exceeds ``noise`` are tested, and unless
    ``every_maximum`` only those that reach ``low`` (all the edges depend on).

    Returns
    -------
    candidates : ndarray of bool, shape (H, W)
        Maxima with ``noise < magnitude`` and ``low <= magnitude``.
    flat : ndarray of int, shape (N,)
        The flat indices of the candidates, in order.
    seeds : ndarray of int, shape (S,)
        The flat indices of the candidates with ``high <= magnitude``: the strong pixels.
    strong : ndarray of bool, shape (H, W), or None
        With ``every_maximum``: the strong pixels as a map.
    suppressed : ndarray, shape (H, W), or None
        With ``every_maximum``: the magnitude at every maximum, 0 elsewhere.
    """
    height, width = gx.shape
    candidates = np.empty((height, width), dtype=bool)
    strong = np.empty((height, width), dtype=bool) if every_maximum else None
    suppressed = np.zeros((height, width), dtype=gx.dtype) if every_maximum else None
    # Strict on the backward (up/left) side: of two equal pixels across an edge
    # only one survives, as in OpenCV, so edges are one pixel wide.  "Equal"
    # allows for rounding, so that the same pixel wins on every row.
    tie = TIE_EPSILONS * np.finfo(gx.dtype).eps
    forward_tie, backward_tie = 1 - tie, 1 + tie
    # numpy compares the magnitude with a Python float in the magnitude's dtype:
    # when low is above noise there, magnitude >= low says magnitude > noise too.
    with np.errstate(over="ignore"):
        low_here, noise_here = gx.dtype.type(low), gx.dtype.type(noise)
    single_test = not every_maximum and bool(noise_here < low_here < np.inf)

    def suppress(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        if padded is None:
            window, value = _magnitude_window(gx, gy, rows, boundary)
        else:
            window = padded[rows.start : rows.stop + 2]
            value = np.ascontiguousarray(window[1:-1, 1:-1])
        above, level, below = window[:-2], window[1:-1], window[2:]
        x, y = gx[rows], gy[rows]
        if single_test:
            tested = value >= low
        else:
            tested = value > noise
            if not every_maximum:
                tested &= value >= low
        start = rows.start * width
        if not tested.any():  # a flat band: nothing to suppress
            candidates[rows] = False
            if strong is not None:
                strong[rows] = False
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        abs_x, abs_y = np.abs(x), np.abs(y)
        steep = (abs_y >= abs_x).view(np.uint8)
        falling = np.equal(x > 0, y > 0).view(np.uint8)
        weight = np.minimum(abs_x, abs_y)
        larger = np.maximum(abs_x, abs_y, out=abs_x)
        # 0 / 0 only where the magnitude is 0, which is never tested.
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(weight, larger, out=weight)
        complement = np.subtract(1, weight, out=abs_y)
        # The neighbours along the gradient.  Forward: the axial one below (steep)
        # or right; the diagonal one down-right for a gradient towards down-right
        # or up-left ("falling"), else down-left (steep) or up-right.  Backward:
        # the opposite pixels.  cv2.copyTo picks them: numpy.where branches on
        # every pixel, and the masks are random.
        # Interpolated as scikit-image writes it, diagonal * weight + axial *
        # (1 - weight), each step rounded as numpy does, so float64 results
        # compare bit for bit.
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
        if suppressed is not None:  # every_maximum
            keep &= tested
            cv2.copyTo(value, keep.view(np.uint8), suppressed[rows])
            tested = value >= low
        kept = np.logical_and(keep, tested, out=candidates[rows])
        strong_rows = np.greater_equal(value, high, out=None if strong is None else strong[rows])
        strong_rows &= kept
        return np.flatnonzero(kept) + start, np.flatnonzero(strong_rows) + start

    found = bands.map(suppress)
    flat, seeds = (np.concatenate(indices) for indices in zip(*found))
    return candidates, flat, seeds, strong, suppressed


def hysteresis(candidates: np.ndarray, flat: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Candidates in an 8-connected component that holds a seed.

    ``flat`` and ``seeds`` are the flat indices of the candidates and of the
    strong ones among them.  Only the candidates' labels are looked up: a
    fraction of the image, and numpy's take would convert every int32 label.
    """
    # Every algorithm finds the same components; Wu's (SAUF) is the quickest on thin edges.
    count, labels = cv2.connectedComponentsWithAlgorithm(candidates.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_SAUF)
    labels = labels.ravel()
    keep = np.zeros(count, dtype=bool)  # label 0, the background, holds no seed
    keep[np.take(labels, seeds)] = True
    edges = np.zeros(candidates.shape, dtype=bool)
    edges.ravel()[flat[np.take(keep, np.take(labels, flat))]] = True
    return edges
