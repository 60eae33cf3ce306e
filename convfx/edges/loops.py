"""Canny's per-pixel loops, compiled by numba: luminance, magnitude, non-maximum suppression, hysteresis.

Each is one pass over the pixels where numpy needs from five to some forty
whole-array operations.  Their arithmetic is scikit-image's and the order of its operations
is numpy's, each product and sum rounded in the magnitude's dtype: numba compiles
without fast-math, so nothing is fused or reordered, and the results are the
same bits as the plain loops of ``tests/test_edges.py``.  The loops over a row
have no branches (the neighbours along the gradient are picked by selects, and
every pixel is computed, the threshold applied at the end), which lets the
compiler use SIMD instructions; the gradient directions are random from pixel
to pixel, so branches would mostly be mispredicted.

Imported only once a process has run Canny on enough pixels (:mod:`.engines`),
as numba takes most of a second to load; the compiled code is cached on disk
(``cache=True``), so only the first use on a machine compiles (a few seconds).
``error_model="numpy"``: a division by zero gives inf or NaN, as in numpy,
instead of raising.

numba checks a cached function against its own file only: after editing
:mod:`.vectorised` (whose ``beyond`` and ``local_row`` are compiled here) or
:mod:`.codes`, but not this file, delete ``convfx/edges/__pycache__/*.nb[ic]``
(an installed package is written whole, so this concerns a working copy only);
``tests/test_edges.py`` compares the two implementations and would show it.

This module must not check parameters, choose thresholds or allocate more than
its own scratch (a ring of three rows, a stack, a list of seeds):
:mod:`.suppression` and :mod:`.gradient` do, and hand the loops their arrays.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from . import vectorised
from .codes import KEPT, NOT_EDGE, STRONG


def _compiled(function: Callable[..., Any]) -> Any:
    """``function`` compiled on its first call, without the GIL, dividing by zero as numpy does.

    The machine code is cached next to this file, or in the user's cache folder
    if that is read-only; where neither can be written, it is compiled again in
    each process instead.
    """
    try:
        return njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError:  # numba found no folder to cache in
        return njit(nogil=True, error_model="numpy")(function)


@_compiled
def luminance_rows(
    red: np.ndarray, green: np.ndarray, blue: np.ndarray, weights: np.ndarray, scale: np.ndarray, out: np.ndarray
) -> None:
    """``out = luminance / scale`` from the (R, W) planes of a ``uint8`` RGB image.

    The luminance is :func:`convfx.color.to_luminance`'s, ``(wr R + wg G) + wb B``
    with ``weights`` (3,) and ``scale`` (1,) in ``out``'s dtype (float32),
    rounded step by step as numpy does; a ``uint8`` sample converts exactly.
    Planes, not the interleaved pixels: the loop then runs on SIMD registers.
    """
    rows, width = out.shape
    weight_red, weight_green, weight_blue = weights[0], weights[1], weights[2]
    divisor = scale[0]
    for row in range(rows):
        reds, greens, blues, target = red[row], green[row], blue[row], out[row]
        for col in range(width):
            target[col] = ((weight_red * reds[col] + weight_green * greens[col]) + weight_blue * blues[col]) / divisor


@_compiled
def magnitude_rows(gx: np.ndarray, gy: np.ndarray, out: np.ndarray) -> None:
    """``out = sqrt(gx * gx + gy * gy)`` for (R, W) arrays, rounded step by step as numpy does."""
    rows, width = gx.shape
    for row in range(rows):
        xs, ys, target = gx[row], gy[row], out[row]
        for col in range(width):
            target[col] = np.sqrt(xs[col] * xs[col] + ys[col] * ys[col])


def _compiled_here(function: Callable[..., Any], **names: Any) -> Any:
    """A plain Python ``function`` of :mod:`.vectorised` compiled, the global ``names`` it calls replaced by compiled ones."""
    rebound = types.FunctionType(function.__code__, {**function.__globals__, **names}, function.__name__)
    rebound.__qualname__ = function.__qualname__
    return _compiled(rebound)


# Plain Python shared with the numpy implementation: one source, compiled here.
beyond = _compiled(vectorised.beyond)
local_row = _compiled_here(vectorised.local_row, beyond=beyond)
fill_columns = vectorised.fill_columns  # two whole columns, for the stages: numpy is as quick


@_compiled
def magnitude_row(gx: np.ndarray, gy: np.ndarray, source: int, boundary: int, out: np.ndarray) -> None:
    """Row ``source`` of the magnitude (zeros if -1), its columns padded as ``numpy.pad`` does, into ``out`` (W + 2,)."""
    width = gx.shape[1]
    if source < 0:
        out[:] = 0
        return
    xs, ys = gx[source], gy[source]
    for col in range(width):
        out[col + 1] = np.sqrt(xs[col] * xs[col] + ys[col] * ys[col])
    left, right = beyond(-1, width, boundary), beyond(width, width, boundary)
    out[0] = 0 if left < 0 else out[left + 1]
    out[width + 1] = 0 if right < 0 else out[right + 1]


@_compiled
def suppress_strip(  # noqa: PLR0913 (a compiled kernel takes its arrays one by one)
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
    """Non-maximum suppression and the double threshold of image rows ``top`` to ``bottom``, magnitude included.

    Each row of the magnitude is computed once, into a ring of three padded rows
    (:func:`magnitude_row`), so the whole magnitude is never stored.

    Parameters
    ----------
    gx, gy : ndarray, shape (N, W)
        The gradients of image rows ``first`` to ``first + N - 1``: at least
        ``top - 1`` to ``bottom`` where those are in the image, and, for
        ``WRAP``, taken cyclically (row -1 is row H - 1, and so on).
    first : int
        The image row of ``gx[0]`` (negative for ``WRAP`` strips at the top).
    top, bottom : int
        The strip, ``0 <= top < bottom <= height``.
    height : int
        The image's height.
    boundary : int
        A position in :data:`.codes.BOUNDARY_CODES`.
    thresholds : ndarray, shape (5,)
        As for :func:`suppress_rows`.
    state : ndarray of uint8, shape (bottom - top, W)
        Written: ``STRONG``, ``WEAK`` or ``NOT_EDGE`` per pixel.
    """
    ring = np.empty((3, gx.shape[1] + 2), dtype=gx.dtype)
    unused = np.empty(0, dtype=gx.dtype)
    for row in (top - 1, top):
        magnitude_row(gx, gy, local_row(row, first, height, boundary), boundary, ring[row % 3])
    for row in range(top, bottom):
        magnitude_row(gx, gy, local_row(row + 1, first, height, boundary), boundary, ring[(row + 1) % 3])
        above, level, below = ring[(row - 1) % 3], ring[row % 3], ring[(row + 1) % 3]
        suppress_row(above, level, below, gx[row - first], gy[row - first], thresholds, state[row - top], unused, False)


@_compiled
def suppress_rows(  # noqa: PLR0913 (a compiled kernel takes its arrays one by one)
    window: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    thresholds: np.ndarray,
    state: np.ndarray,
    suppressed: np.ndarray,
    every_maximum: bool,
) -> None:
    """Non-maximum suppression and the double threshold of one band of rows, on a stored magnitude.

    Parameters
    ----------
    window : ndarray, shape (R + 2, W + 2)
        The magnitude of the band's rows with a one-pixel frame on every side.
    gx, gy : ndarray, shape (R, W)
        The band's gradients, the window's dtype.
    thresholds : ndarray, shape (5,)
        ``low, high, noise``, and the tie factors ``forward, backward`` that
        multiply the interpolated neighbours, in the window's dtype.
    state : ndarray of uint8, shape (R, W)
        Written: ``STRONG``, ``WEAK`` or ``NOT_EDGE`` (:mod:`.codes`) per pixel.
    suppressed : ndarray, shape (R, W) with ``every_maximum``, else (0, 0)
        Written with ``every_maximum``: the magnitude at every maximum above
        ``noise`` (whatever ``low``), 0 elsewhere.
    every_maximum : bool
        Whether to write ``suppressed``.
    """
    for row in range(gx.shape[0]):
        suppress_row(
            window[row],
            window[row + 1],
            window[row + 2],
            gx[row],
            gy[row],
            thresholds,
            state[row],
            suppressed[row] if every_maximum else suppressed.reshape(-1),
            every_maximum,
        )


@_compiled
def suppress_row(  # noqa: PLR0913
    above: np.ndarray,
    level: np.ndarray,
    below: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    thresholds: np.ndarray,
    out: np.ndarray,
    suppressed: np.ndarray,
    every_maximum: bool,
) -> None:
    """One row of :func:`suppress_rows`: ``above``, ``level`` and ``below`` are padded magnitude rows (W + 2,)."""
    low, high, noise, forward_tie, backward_tie = thresholds
    one = np.ones(1, dtype=level.dtype)[0]  # 1 and 0 in the magnitude's dtype, as numpy would use them
    zero = one - one
    for col in range(xs.size):
        value = level[col + 1]
        x, y = xs[col], ys[col]
        abs_x, abs_y = abs(x), abs(y)
        steep = abs_y >= abs_x
        falling = (x > 0) == (y > 0)  # a gradient towards down-right or up-left
        weight = min(abs_x, abs_y) / max(abs_x, abs_y)
        complement = one - weight
        # The diagonal neighbours along the gradient, forward and backward:
        # down-right and up-left for a falling gradient, else down-left and
        # up-right (steep) or up-right and down-left.
        diagonal_forward = below[col + 2] if falling else (below[col] if steep else above[col + 2])
        diagonal_backward = above[col] if falling else (above[col + 2] if steep else below[col])
        # The axial ones: below and above (steep), or right and left.
        axial_forward = below[col + 1] if steep else level[col + 2]
        axial_backward = above[col + 1] if steep else level[col]
        forward = (diagonal_forward * weight + axial_forward * complement) * forward_tie
        backward = (diagonal_backward * weight + axial_backward * complement) * backward_tie
        maximum = (value >= forward) & (value > backward) & (value > noise)
        if every_maximum:
            suppressed[col] = value if maximum else zero
        edge = maximum & (value >= low)
        out[col] = np.uint8(edge) * (np.uint8(1) + np.uint8(value >= high))


@_compiled
def strong_pixels(state: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """The flat indices in ``state`` (H + 2, W + 2) of the ``STRONG`` pixels of its rows ``top`` to ``bottom - 1``."""
    stride = state.shape[1]
    count = 0
    for row in range(top, bottom):
        for col in range(stride):
            count += state[row, col] == STRONG
    found = np.empty(count, dtype=np.intp)
    count = 0
    for row in range(top, bottom):
        for col in range(stride):
            if state[row, col] == STRONG:
                found[count] = row * stride + col
                count += 1
    return found


@_compiled
def hysteresis(state: np.ndarray, seeds: np.ndarray) -> None:
    """Mark ``KEPT`` the weak and strong pixels 8-connected to a strong one: a flood fill from each seed.

    Parameters
    ----------
    state : ndarray of uint8, shape (H + 2, W + 2), C-contiguous
        The state map of :func:`suppress_rows` with a frame of ``NOT_EDGE``, so
        that every pixel of the map has eight neighbours.  ``KEPT`` is added
        (bitwise or) to the kept pixels, in place.
    seeds : ndarray of intp
        The flat indices of every ``STRONG`` pixel (:func:`strong_pixels`).
    """
    stride = state.shape[1]
    flat = state.reshape(-1)
    # Room for every pixel: only the pages the fill reaches are ever touched.
    stack = np.empty(flat.size, dtype=np.intp)
    for start in seeds:
        if flat[start] != STRONG:  # already kept
            continue
        flat[start] |= KEPT
        stack[0] = start
        size = 1
        while size:
            size -= 1
            pixel = stack[size]
            for step in (-stride - 1, -stride, -stride + 1, -1, 1, stride - 1, stride, stride + 1):
                neighbour = pixel + step
                if flat[neighbour] != NOT_EDGE and flat[neighbour] < KEPT:
                    flat[neighbour] |= KEPT
                    stack[size] = neighbour
                    size += 1
