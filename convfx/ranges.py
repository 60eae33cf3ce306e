"""Output ranges: how a float response becomes ``uint8`` / ``uint16`` pixels, and what white is.

A filter's response is a float array in the units of the image it came from
(0-255 for an 8-bit photo), negative where the filter says so.
:func:`map_range` turns it into pixels by one explicit policy
(:data:`OUTPUT_RANGES`), so nothing wraps or clips by accident;
:func:`dtype_full_scale` says what white is for a pixel type, the unit in which
detector thresholds are written.

This module must not filter, read or write files; it imports numpy, OpenCV and
:mod:`convfx.checks` only.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .checks import choice, in_range
from .errors import ParameterError

__all__ = ["OUTPUT_RANGES", "dtype_full_scale", "resolve_full_scale", "map_range"]

#: How a float response becomes pixels; see :func:`map_range`.  ``binary`` is for
#: edge maps (the detectors of :mod:`convfx.edges`).
OUTPUT_RANGES = ("abs", "clip", "signed", "normalize", "binary")


def dtype_full_scale(dtype: np.dtype | type) -> float:
    """The value of white for pixels of ``dtype``, as scikit-image's ``dtype_limits``.

    255 for ``uint8``, 65535 for ``uint16``, the largest value of any other
    integer type, and 1 for floats and bools.  Detector thresholds are written as
    fractions of it, so that ``canny:low=0.1`` means the same on 8- and 16-bit photos.
    """
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def resolve_full_scale(full_scale: Any, dtype: np.dtype | type) -> float:
    """``full_scale`` checked (a number > 0), or :func:`dtype_full_scale` of ``dtype`` when it is None."""
    if full_scale is None:
        return dtype_full_scale(dtype)
    return in_range(full_scale, "full_scale", low=0.0, above_low=True)


def map_range(
    response: np.ndarray,
    output_range: str,
    *,
    dtype: np.dtype | type = np.uint8,
    source_max: float | None = None,
) -> np.ndarray:
    """Turn a float response into integer pixels by an explicit policy; nothing wraps.

    Parameters
    ----------
    response : array_like
        A response from :func:`apply`, in the units of the image it came from.
        A bool response (a detector's edge map) counts ``True`` as full scale,
        white under every range.
    output_range : {"abs", "clip", "signed", "normalize", "binary"}
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
            The response's own minimum to 0 and maximum to ``max``, linearly
            (all channels together, so colours keep their balance); a flat
            response gives 0.
        ``binary``
            ``max`` where :math:`r > 0`, else 0: an edge map from a detector
            (``True`` is white); ``source_max`` plays no part.
    dtype : {uint8, uint16}, optional
        Output dtype; ``max`` is 255 or 65535.
    source_max : float, optional
        Full scale of the input image (255 for a ``uint8`` photo, 65535 for
        ``uint16``); the response is rescaled by ``max / source_max`` first.
        Default: the output dtype's ``max`` (no rescaling).

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
    >>> map_range(r, "normalize")
    array([  0, 123, 128, 132, 255], dtype=uint8)
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
        if response.size and not (-(2.0**31) < response.min() and response.max() < 2.0**31):
            pixels[np.abs(response) >= 2.0**31] = 255  # False for NaN, which both paths make 0
        return pixels
    # One working copy, changed in place: a 64-megapixel RGB response is 768 MB in
    # float32, so no float64 copies (float32 holds every 16-bit level exactly).
    values = response.astype(np.float32 if response.dtype == np.float32 else np.float64, copy=True)
    if source_max is not None and source_max != top:
        values *= top / in_range(source_max, "source_max", low=0, above_low=True)
    if output_range == "abs":
        np.abs(values, out=values)
    elif output_range == "signed":
        values *= 0.5
        values += (top + 1) / 2
    elif output_range == "normalize":
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
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
