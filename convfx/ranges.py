"""Output ranges: how a float response becomes ``uint8`` / ``uint16`` pixels, and what white is.

A filter's response is a float array in the units of the image it came from
(0-255 for an 8-bit photo), negative where the filter says so.
:func:`map_range` turns it into pixels by one explicit policy
(:data:`OUTPUT_RANGES`), so nothing wraps or clips by accident;
:func:`dtype_full_scale` says what white is for a pixel type, the unit in which
detector thresholds are written.  The stretching ranges (:data:`STRETCHES`) map
limits found in the whole response: :func:`stretch_limits` finds them exactly, in
bounded memory, from a response given in pieces (the strips of a large image) as
from a whole one, so that both give the same pixels.

This module must not filter, read or write files; it imports numpy, OpenCV and
:mod:`convfx.checks` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from .checks import choice, in_range
from .errors import ParameterError

__all__ = [
    "OUTPUT_RANGES",
    "STRETCHES",
    "NORMALIZE_PERCENTILES",
    "dtype_full_scale",
    "resolve_full_scale",
    "stretch_limits",
    "map_range",
]

#: How a float response becomes pixels; see :func:`map_range`.  ``binary`` is for
#: edge maps (the detectors of :mod:`convfx.edges`).
OUTPUT_RANGES = ("abs", "clip", "signed", "normalize", "minmax", "binary")

#: The ranges that stretch limits found in the whole response to black and white.
STRETCHES = ("normalize", "minmax")

#: The percentiles of the response that ``normalize`` maps to black and white: a
#: contrast stretch that a few extreme pixels cannot flatten (ImageMagick's
#: ``-contrast-stretch 0.5%x0.5%``; scikit-image's ``rescale_intensity`` with
#: ``in_range=np.percentile(r, (0.5, 99.5))``).
NORMALIZE_PERCENTILES = (0.5, 99.5)

# Values per chunk while ranking a response: bounds the temporaries (about 20 bytes
# per value) whatever the size of a piece.
_RANK_CHUNK = 1 << 18
_BINS = 1 << 16  # a key is ranked 16 bits at a time


def dtype_full_scale(dtype: np.dtype | type) -> float:
    """The value of white for pixels of ``dtype``, as scikit-image's ``dtype_limits``.

    255 for ``uint8``, 65535 for ``uint16``, the largest value of any other
    integer type, and 1 for floats and bools.  Detector thresholds are written as
    fractions of it, so that ``canny:low=0.1`` means the same on 8- and 16-bit photos.

    Parameters
    ----------
    dtype : dtype or type

    Returns
    -------
    float
    """
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def resolve_full_scale(full_scale: Any, dtype: np.dtype | type) -> float:
    """``full_scale`` checked (a number > 0), or :func:`dtype_full_scale` of ``dtype`` when it is None.

    Parameters
    ----------
    full_scale : float or None
    dtype : dtype or type

    Returns
    -------
    float
    """
    if full_scale is None:
        return dtype_full_scale(dtype)
    return in_range(full_scale, "full_scale", low=0.0, above_low=True)


# --------------------------------------------------------------------------- stretch limits


def _sortable_keys(values: np.ndarray) -> np.ndarray:
    """uint32 keys whose unsigned order is the order of ``values`` as float32 (NaN removed).

    A float's bits order positive numbers already; negative ones are flipped
    entirely, positive ones get the sign bit set, so that every negative key is
    below every positive one (-0.0 just below +0.0).
    """
    values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    if values.size and np.isnan(values.max()):
        values = values[~np.isnan(values)]
    bits = values.view(np.uint32)
    flip = (values.view(np.int32) >> 31).view(np.uint32)  # all ones for negatives, else 0
    flip |= np.uint32(0x80000000)
    return bits ^ flip


def _key_value(key: int) -> float:
    """The float32 value whose :func:`_sortable_keys` key is ``key`` (as a Python float)."""
    bits = key ^ 0x80000000 if key & 0x80000000 else key ^ 0xFFFFFFFF
    return float(np.array(bits, dtype=np.uint32).view(np.float32))


def _chunks(pieces: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    for piece in pieces:
        flat = np.asarray(piece).reshape(-1)
        for start in range(0, flat.size, _RANK_CHUNK):
            yield flat[start : start + _RANK_CHUNK]


def _order_statistics(pieces: Callable[[], Iterable[np.ndarray]], fractions: tuple[Fraction, ...]) -> list[float] | None:
    """The values of rank ``floor(f * (n - 1))`` (``ceil`` above one half) among the n values, as float32.

    Exact, and in memory that does not grow with the response: a first pass counts
    the values by the top 16 bits of their sortable key, which says in which bin
    each wanted rank falls; a second counts the low 16 bits inside those bins only.
    NaN is left out; None if nothing is left.
    """
    coarse = np.zeros(_BINS, dtype=np.int64)
    for chunk in _chunks(pieces()):
        coarse += np.bincount(_sortable_keys(chunk) >> 16, minlength=_BINS)
    count = int(coarse.sum())
    if count == 0:
        return None
    ranks = [math.floor(f * (count - 1)) if f <= Fraction(1, 2) else math.ceil(f * (count - 1)) for f in fractions]
    before = np.concatenate([[0], np.cumsum(coarse)])  # values in the bins below each bin
    bins = [int(np.searchsorted(before, rank, side="right")) - 1 for rank in ranks]
    fine = {b: np.zeros(_BINS, dtype=np.int64) for b in bins}
    for chunk in _chunks(pieces()):
        keys = _sortable_keys(chunk)
        high = keys >> 16
        for b, counts in fine.items():
            counts += np.bincount(keys[high == b] & 0xFFFF, minlength=_BINS)
    values = []
    for rank, b in zip(ranks, bins):
        low = int(np.searchsorted(np.cumsum(fine[b]), rank - int(before[b]), side="right"))
        values.append(_key_value((b << 16) | low))
    return values


def stretch_limits(pieces: Callable[[], Iterable[np.ndarray]], output_range: str = "normalize") -> tuple[float, float]:
    """The response values that ``normalize`` or ``minmax`` maps to black and white.

    Parameters
    ----------
    pieces : callable
        Returns the response piece by piece (an iterable of arrays: the strips of
        a large image, or ``[response]``), the same pieces each time it is called;
        ``normalize`` calls it twice, ``minmax`` once.  All channels count together,
        so that colours keep their balance.
    output_range : {"normalize", "minmax"}
        ``normalize``
            The 0.5th and 99.5th percentiles (:data:`NORMALIZE_PERCENTILES`) of the
            response's values rounded to float32, as order statistics: the values
            of rank ``floor(0.005 (n-1))`` and ``ceil(0.995 (n-1))`` among the n
            values (numpy's ``lower`` and ``higher`` percentile methods), so
            limits are response values and found exactly however the response is
            cut.  Where they are equal (a response that is mostly one value) the
            minimum and maximum are used instead.
        ``minmax``
            The response's minimum and maximum.

    Returns
    -------
    (low, high) : tuple of float
        ``low <= high``; NaN values are left out; ``(0.0, 0.0)`` if nothing is left.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.concatenate([np.arange(1000.0), [1e6]])  # one extreme pixel
    >>> stretch_limits(lambda: [r], "minmax")
    (0.0, 1000000.0)
    >>> stretch_limits(lambda: [r], "normalize")
    (5.0, 995.0)
    """
    choice(output_range, "output_range", STRETCHES)
    if output_range == "minmax":
        low, high = math.inf, -math.inf
        for piece in pieces():
            piece = np.asarray(piece)
            if piece.size:  # fmin/fmax leave NaN out unless everything is NaN
                low, high = min(low, float(np.fmin.reduce(piece, axis=None))), max(high, float(np.fmax.reduce(piece, axis=None)))
        return (low, high) if low <= high else (0.0, 0.0)
    percentiles = [Fraction(p) / 100 for p in NORMALIZE_PERCENTILES]
    found = _order_statistics(pieces, (*percentiles, Fraction(0), Fraction(1)))
    if found is None:
        return 0.0, 0.0
    low, high, smallest, largest = found
    # +0.0: a -0.0 limit would map -0.0 and 0.0 the same way, but say less plainly.
    return (low + 0.0, high + 0.0) if high > low else (smallest + 0.0, largest + 0.0)


# --------------------------------------------------------------------------- mapping


def map_range(
    response: np.ndarray,
    output_range: str,
    *,
    dtype: np.dtype | type = np.uint8,
    source_max: float | None = None,
    limits: tuple[float, float] | None = None,
) -> np.ndarray:
    """Turn a float response into integer pixels by an explicit policy; nothing wraps.

    Parameters
    ----------
    response : array_like
        A response from :func:`apply`, in the units of the image it came from.
        A bool response (a detector's edge map) counts ``True`` as full scale,
        white under every range.
    output_range : {"abs", "clip", "signed", "normalize", "minmax", "binary"}
        ``abs``
            :math:`|r|`, then clipped to the dtype's range (both edge directions
            show as bright; OpenCV's ``convertScaleAbs``).
        ``clip``
            :math:`r` clipped to ``[0, max]`` (blurs, sharpen: values stay in
            range except overshoot at edges).
        ``signed``
            :math:`r/2` around mid-grey, clipped: ``-max -> 0``, ``0 -> (max+1)/2``,
            ``+max -> max`` (reliefs; both signs visible and distinguishable).
        ``normalize``
            A contrast stretch: the response's 0.5th percentile to 0 and its
            99.5th to ``max``, linearly, clipped beyond (all channels together,
            so colours keep their balance); see :func:`stretch_limits`.  A
            response that is one value gives 0.
        ``minmax``
            The same stretch between the response's minimum and maximum: every
            value stays distinguishable, but a few extreme pixels can leave the
            rest a flat grey.
        ``binary``
            ``max`` where :math:`r > 0`, else 0: an edge map from a detector
            (``True`` is white); ``source_max`` plays no part.
    dtype : {uint8, uint16}, optional
        Output dtype; ``max`` is 255 or 65535.
    source_max : float, optional
        Full scale of the input image (255 for a ``uint8`` photo, 65535 for
        ``uint16``); the response is rescaled by ``max / source_max`` first
        (a stretch does not depend on it).  Default: the output dtype's ``max``
        (no rescaling).
    limits : (float, float), optional
        For ``normalize`` and ``minmax``: the ``(low, high)`` to stretch, from
        :func:`stretch_limits` of the whole response, when ``response`` is one
        strip of it.  Default: found in ``response``.

    Returns
    -------
    ndarray of ``dtype``, the shape of ``response``
        Rounded to nearest.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.ranges import map_range
    >>> r = np.array([-300.0, -10.0, 0.0, 10.0, 300.0])
    >>> map_range(r, "abs")
    array([255,  10,   0,  10, 255], dtype=uint8)
    >>> map_range(r, "clip")
    array([  0,   0,   0,  10, 255], dtype=uint8)
    >>> map_range(r, "signed")
    array([  0, 123, 128, 133, 255], dtype=uint8)
    >>> map_range(r, "minmax")
    array([  0, 123, 128, 132, 255], dtype=uint8)
    >>> map_range(r, "minmax", limits=(-10.0, 10.0))
    array([  0,   0, 128, 255, 255], dtype=uint8)
    """
    choice(output_range, "output_range", OUTPUT_RANGES)
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise ParameterError(f"dtype: expected uint8 or uint16, found {dtype}")
    top = float(np.iinfo(dtype).max)
    response = np.asarray(response)
    if output_range == "binary":
        return np.where(response > 0, np.iinfo(dtype).max, 0).astype(dtype)
    if response.dtype == bool:
        # An edge map: True is white (full scale) under every range.
        response = np.where(response, np.float32(top if source_max is None else source_max), np.float32(0))
    if (
        output_range == "abs"
        and dtype == np.uint8
        and response.dtype == np.float32
        and (source_max is None or source_max == top)
        and (response.ndim == 2 or response.shape[-1] <= 4)
    ):
        # OpenCV's convertScaleAbs is exactly |r| rounded half to even and saturated,
        # in one pass instead of the several below (the common case: an edge map of a
        # photo); only values beyond int32 and +-inf differ (its rounding overflows
        # to 0), so those are saturated here as below.
        pixels = cv2.convertScaleAbs(response)
        pixels = pixels if pixels.shape == response.shape else pixels.reshape(response.shape)
        # Two reductions need no temporary, unlike the |r| mask, which is built only
        # when they find such values.  NaN makes both comparisons False and takes
        # the mask too (its pixels stay 0).
        if response.size and not (response.min() > -(2.0**31) and response.max() < 2.0**31):
            pixels[np.abs(response) >= 2.0**31] = 255  # False for NaN, which both paths make 0
        return pixels
    # One working copy, changed in place: a 64-megapixel RGB response is 768 MB in
    # float32, so no float64 copies (float32 holds every 16-bit level exactly).
    if output_range in STRETCHES:
        low, high = stretch_limits(lambda: [response], output_range) if limits is None else map(float, limits)
    values = response.astype(np.float32 if response.dtype == np.float32 else np.float64, copy=True)
    if source_max is not None and source_max != top and output_range not in STRETCHES:
        values *= top / in_range(source_max, "source_max", low=0, above_low=True)
    if output_range == "abs":
        np.abs(values, out=values)
    elif output_range == "signed":
        values *= 0.5
        values += (top + 1) / 2
    elif output_range in STRETCHES:
        if high > low:
            values -= low
            values *= top / (high - low)
        else:
            values[...] = 0
    # NaN cannot come from finite kernels, but a float overflow can make inf - inf.
    np.nan_to_num(values, copy=False, nan=0.0, posinf=top, neginf=0.0)
    np.rint(values, out=values)
    np.clip(values, 0, top, out=values)
    return values.astype(dtype)
