"""Edges from the gradient: Canny, with every intermediate stage on record.

Canny is a pipeline of linear filters convfx already ships -- the bank's
``gaussian_blur`` rebuilt with a sigma (:func:`canny_smoothing`), ``sobel_x`` and
``sobel_y`` -- applied by :func:`convfx.effects.apply`, then the non-linear stages
of :mod:`.suppression`: non-maximum suppression, double threshold and hysteresis.
:func:`canny_stages` returns every intermediate array; ``convfx explain canny``
draws them.  Importing this module registers ``canny`` as an effect detector
(:mod:`convfx.steps`).

This module must not slide, build or hard-code a kernel, read or write files, or draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from types import ModuleType
from typing import Any, NamedTuple

import cv2
import numpy as np

from .. import banks, effects
from ..banks import Filter, Kernel
from ..checks import choice, flag, in_range
from ..color import LUMINANCE_WEIGHTS
from ..conv import BOUNDARIES, compute_dtype
from ..errors import ParameterError
from ..limits import MAX_KERNEL_SIDE
from ..ranges import resolve_full_scale
from ..steps import Detector, DetectorParameter, register_detector
from .bands import Bands
from .codes import STRONG, WEAK
from .engines import per_pixel_stages
from .inputs import checked_image, gray, rounding
from .suppression import (
    hysteresis,
    new_state,
    non_maximum_suppression,
    padded_magnitude,
    suppress_strip,
    thresholds,
)

#: How a colour image becomes one gradient field: the gradient of its luminance,
#: or at each pixel the gradient of the channel where it is strongest (what
#: ``cv2.Canny`` does with a colour image).
CANNY_MODES = ("luminance", "per_channel")
#: Default ``(low, high)`` thresholds: fractions of full scale, in the units of the
#: Sobel magnitude (a sharp unit step gives 4 before smoothing).  scikit-image's.
CANNY_THRESHOLDS = (0.1, 0.2)
#: Default ``(low, high)`` with ``quantile=True``: the strongest 10 % of pixels seed
#: edges, and edges continue through the strongest 20 %.
CANNY_QUANTILES = (0.8, 0.9)
#: Canny's Gaussian reaches ``int(4 * sigma + 0.5)`` pixels from the centre, the
#: ``truncate=4`` of scipy and scikit-image, so both smooth with the same weights.
#: (The bank's ``gaussian_blur:sigma=s`` follows OpenCV and stops at 3 sigma.)
CANNY_TRUNCATE = 4.0

# The Gaussian may not outgrow the largest kernel a bank accepts.
_MAX_SIGMA = (MAX_KERNEL_SIDE // 2) / CANNY_TRUNCATE


def _check_canny(*, sigma: Any, low: Any, high: Any, quantile: Any, mode: Any) -> tuple[float, float, float]:
    """``(sigma, low, high)`` checked, with the default thresholds filled in."""
    sigma = in_range(sigma, "sigma", low=0.0, high=_MAX_SIGMA)
    quantile = flag(quantile, "quantile")
    choice(mode, "mode", CANNY_MODES)
    default_low, default_high = CANNY_QUANTILES if quantile else CANNY_THRESHOLDS
    top = 1.0 if quantile else math.inf  # a quantile is a fraction of the pixels
    low = default_low if low is None else in_range(low, "low", low=0.0, high=top)
    high = default_high if high is None else in_range(high, "high", low=0.0, high=top)
    if low > high:
        raise ParameterError(f"low: expected at most high ({high:g}), found {low:g}")
    return sigma, low, high


def canny_smoothing(sigma: float) -> Filter:
    """The Gaussian Canny smooths with: the bank's ``gaussian_blur`` rebuilt.

    ``gaussian_blur:sigma=s,size=n`` with ``n = 2 * int(4 * s + 0.5) + 1``
    (:data:`CANNY_TRUNCATE`), the same weights as ``scipy.ndimage.gaussian_filter``.

    Parameters
    ----------
    sigma : float
        Standard deviation, in pixels.

    Returns
    -------
    Filter
    """
    return banks.with_parameters(banks.get_filter("gaussian_blur"), {"sigma": sigma, "size": 2 * _smoothing_radius(sigma) + 1})


def _smoothing_radius(sigma: float) -> int:
    """The radius of :func:`canny_smoothing`'s kernel: ``CANNY_TRUNCATE`` sigmas, rounded."""
    return int(CANNY_TRUNCATE * sigma + 0.5)


def _canny_kernels(*, sigma: float, **unused: Any) -> tuple[Kernel, ...]:
    gradients = (banks.get_filter("sobel_x").kernels[0], banks.get_filter("sobel_y").kernels[0])
    return (canny_smoothing(sigma).kernels[0],) + gradients if sigma > 0 else gradients


@dataclass(frozen=True, eq=False)
class CannyStages:
    """Every intermediate result of one Canny run (:func:`canny_stages`).

    Float arrays are float32 (float64 for float64 input) in units of the image
    divided by its full scale, so the thresholds compare directly with them.

    Attributes
    ----------
    smoothed : ndarray, shape (H, W), or (H, W, C) in ``per_channel`` mode
        The image after the Gaussian (the image itself when ``sigma == 0``).
    gx, gy : ndarray, shape (H, W)
        ``sobel_x`` and ``sobel_y`` of ``smoothed``: positive where it gets
        brighter to the right (x) and downwards (y).  In ``per_channel`` mode,
        those of the channel with the largest magnitude at each pixel.
    magnitude : ndarray, shape (H, W)
        :math:`\\sqrt{g_x^2 + g_y^2}`.
    suppressed : ndarray, shape (H, W)
        ``magnitude`` where it is a local maximum along the gradient direction,
        0 elsewhere (non-maximum suppression).
    low, high : float
        The thresholds applied (quantiles already turned into magnitudes).
    strong : ndarray of bool, shape (H, W)
        Suppressed pixels with magnitude ``>= high``: certain edges.
    weak : ndarray of bool, shape (H, W)
        Suppressed pixels with ``low <= magnitude < high``: edges only where
        connected to a strong pixel.
    edges : ndarray of bool, shape (H, W)
        The result: strong pixels and the weak pixels 8-connected to them.
    sigma : float
        The Gaussian's sigma that was used.
    mode : str
        ``"luminance"`` or ``"per_channel"``.
    full_scale : float
        The value of white in the input (what the arrays were divided by).
    quantiles : (float, float) or None
        The quantiles ``low`` and ``high`` were read from, when the thresholds
        were asked for as quantiles of the magnitude; None for absolute thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> step = np.zeros((32, 32)); step[:, 16:] = 1.0
    >>> stages = convfx.canny_stages(step)
    >>> stages.magnitude.shape, stages.edges.dtype, bool(stages.edges[:, 15].all())
    ((32, 32), dtype('bool'), True)
    """

    smoothed: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    magnitude: np.ndarray
    suppressed: np.ndarray
    low: float
    high: float
    strong: np.ndarray
    weak: np.ndarray
    edges: np.ndarray
    # The settings of the run, for titles; canny_stages fills them in.
    sigma: float = 0.0
    mode: str = "luminance"
    full_scale: float = 1.0
    quantiles: tuple[float, float] | None = None

    @cached_property
    def direction(self) -> np.ndarray:
        """Gradient direction in radians, shape (H, W), in (-pi, pi].

        0 points right (brighter to the right), pi/2 down (brighter downwards):
        ``arctan2(gy, gx)`` in image coordinates, rows growing downwards.
        """
        return np.arctan2(self.gy, self.gx)


def canny(
    image: np.ndarray,
    *,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    quantile: bool = False,
    mode: str = "luminance",
    boundary: str = "reflect",
    full_scale: float | None = None,
) -> np.ndarray:
    """Canny edge map of an image: thin, connected, one pixel wide.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype.  RGB needs ``C == 3`` in ``luminance`` mode.
    sigma : float, optional
        Standard deviation of the Gaussian smoothing, in pixels (0: none, as
        ``cv2.Canny``).  At most 31.75 (a 255-tap kernel).
    low, high : float, optional
        Hysteresis thresholds on the gradient magnitude, ``0 <= low <= high``:
        fractions of full scale in Sobel units (see Notes), or with ``quantile``
        fractions of the pixels.  Defaults: :data:`CANNY_THRESHOLDS` ``(0.1, 0.2)``,
        or :data:`CANNY_QUANTILES` ``(0.8, 0.9)`` with ``quantile``.
    quantile : bool, optional
        Read ``low`` and ``high`` as quantiles of the magnitude over the whole
        image (``np.quantile``), as scikit-image's ``use_quantiles``.
    mode : {"luminance", "per_channel"}, optional
        For colour images: edges of the luminance ``0.299 R + 0.587 G + 0.114 B``,
        or at each pixel the gradient of the channel where it is strongest
        (``cv2.Canny``'s rule for colour; finds edges between colours of equal
        brightness).
    boundary : {"reflect", "constant", "edge", "symmetric", "wrap"}, optional
        How every stage sees beyond the border (``numpy.pad`` modes).  The default
        mirrors without repeating the edge pixel, so the border is no edge.
    full_scale : float, optional
        The value of white; default from the dtype (255 for ``uint8``, 65535 for
        ``uint16``, 1 for floats).

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on edges.

    Raises
    ------
    ParameterError
        A parameter out of range (the message names it), ``low > high``, an
        image of the wrong shape.
    ParameterTypeError
        A parameter or image of the wrong type.

    See Also
    --------
    canny_stages : the same, with every intermediate array.
    marr_hildreth : zero crossings of the Laplacian of Gaussian.

    Notes
    -----
    The stages, each a bank filter through :func:`convfx.effects.apply` or a few
    numpy operations:

    1. Smoothing with :func:`canny_smoothing` (``gaussian_blur`` with ``sigma``,
       truncated at 4 sigma).
    2. Gradients ``gx = sobel_x``, ``gy = sobel_y``::

           sobel_x = [1, 2, 1]^T x [-1, 0, 1]      -1  0  1
                                                   -2  0  2
                                                   -1  0  1

       and the magnitude :math:`\\sqrt{g_x^2 + g_y^2}`.  Across a unit step
       smoothed by a Gaussian of ``sigma`` it peaks at about
       :math:`8 / (\\sqrt{2\\pi}\\,\\sigma) \\approx 3.2 / \\sigma` (2.56 at
       ``sigma=1``, 1.50 at ``sigma=2``), so the default thresholds ``(0.1, 0.2)``
       take steps of about 8 % of full scale as strong and 4 % as weak at ``sigma=1``.
    3. Non-maximum suppression along the gradient, interpolated as in
       scikit-image: the magnitude is compared with the two points one pixel
       away along the gradient, each interpolated linearly between the axial and
       the diagonal neighbour.  Equal neighbours (a symmetric step) are broken as
       OpenCV does, strictly on the up/left side, so a step between columns
       ``c - 1`` and ``c`` is marked once, at ``c - 1``.
    4. Double threshold, then hysteresis: a candidate (suppressed, ``>= low``)
       is kept if its 8-connected component of candidates holds a strong pixel
       (``>= high``).

    A gray or luminance image with fixed thresholds is worked on in strips of
    rows, on OpenCV's threads (``cv2.getNumThreads()``), each strip smoothed and
    differentiated with a halo of rows so that every pixel is the same bits as
    in one piece.  The per-pixel work (steps 2 to 4, and the luminance of 8-bit
    RGB) runs as numpy operations until the process has run Canny on
    ``convfx.edges.engines.COMPILE_AFTER_PIXELS`` pixels, then as loops
    compiled by numba (same bits, two to three times quicker; loading them
    costs a process about a second once).

    Differences from ``skimage.feature.canny`` with the same sigma and
    thresholds: skimage pads with zeros and divides by the blurred mask (its
    default ``mode="constant"``; ``mode="mirror"`` is this ``boundary="reflect"``),
    takes its Sobel with half-sample symmetric borders, never marks the outermost
    pixel ring, and keeps both pixels of a tie.  On the bundled photos the maps
    differ in about 0.1 % of the pixels (see ``tests/test_edges.py``).

    References
    ----------
    .. [1] J. Canny, "A Computational Approach To Edge Detection", IEEE Trans.
       PAMI 8(6), 679-698, 1986.

    Examples
    --------
    A vertical step: one edge pixel per row, on the dark side of the step.

    >>> import numpy as np
    >>> import convfx
    >>> step = np.zeros((5, 8))
    >>> step[:, 4:] = 1.0
    >>> convfx.canny(step).astype(int)
    array([[0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0]])
    """
    return _canny_edges(image, sigma, low, high, quantile, mode, boundary, full_scale)


def canny_stages(
    image: np.ndarray,
    *,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    quantile: bool = False,
    mode: str = "luminance",
    boundary: str = "reflect",
    full_scale: float | None = None,
) -> CannyStages:
    """Run :func:`canny` and return every stage (for ``convfx explain canny``).

    Same parameters and errors as :func:`canny`; ``canny_stages(...).edges`` is
    ``canny(...)``.

    Parameters
    ----------
    image, sigma, low, high, quantile, mode, boundary, full_scale
        As for :func:`canny`.

    Returns
    -------
    CannyStages
        smoothed, gx, gy, magnitude, direction, suppressed, low, high, strong,
        weak and edges, and the settings used (sigma, mode, full_scale, quantiles).

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> step = np.zeros((32, 32)); step[:, 16:] = 1.0
    >>> stages = convfx.canny_stages(step, sigma=1)
    >>> np.array_equal(stages.edges, convfx.canny(step, sigma=1))
    True
    """
    array, sigma, low, high, scale = _checked(image, sigma, low, high, quantile, mode, boundary, full_scale)
    stages = _whole_image(array, sigma, low, high, quantile, mode, boundary, scale, every_maximum=True).stages()
    # The settings of the run, the defaults filled in, for the record.
    return replace(stages, sigma=sigma, mode=mode, full_scale=scale, quantiles=(low, high) if quantile else None)


def _canny_edges(
    image: np.ndarray,
    sigma: float,
    low: float | None,
    high: float | None,
    quantile: bool,
    mode: str,
    boundary: str,
    full_scale: float | None,
) -> np.ndarray:
    """The edge map alone: strip by strip where the result allows it, else from the whole pipeline.

    Strips need a single channel to smooth (the luminance, or a gray image) and
    thresholds known in advance (not quantiles of the whole magnitude); they give
    the same bits as the whole pipeline (tested), and keep every intermediate
    array small enough to stay in cache.
    """
    array, sigma, low, high, scale = _checked(image, sigma, low, high, quantile, mode, boundary, full_scale)
    if quantile or (array.ndim == 3 and mode == "per_channel"):
        return _whole_image(array, sigma, low, high, quantile, mode, boundary, scale, every_maximum=False).edges
    height, width = array.shape[:2]
    stages = per_pixel_stages(height * width)
    with Bands(height, width, strips=True) as strips:
        work, peak = _canny_input(array, mode, scale, strips, stages)
        state = new_state(height, width)
        limits = thresholds(work.dtype, low=low, high=high, noise=_noise(work.dtype, peak))

        def suppress(rows: slice) -> np.ndarray:
            gx, gy, first = _strip_gradients(work, rows, sigma, boundary)
            return suppress_strip(gx, gy, first, rows, height, boundary, limits, state, stages)

        return hysteresis(state, np.concatenate(strips.map(suppress)), stages)


def _checked(
    image: np.ndarray,
    sigma: float,
    low: float | None,
    high: float | None,
    quantile: bool,
    mode: str,
    boundary: str,
    full_scale: float | None,
) -> tuple[np.ndarray, float, float, float, float]:
    """The checked image, sigma, low and high (the defaults filled in) and the full scale."""
    sigma, low, high = _check_canny(sigma=sigma, low=low, high=high, quantile=quantile, mode=mode)
    choice(boundary, "boundary", BOUNDARIES)
    array = checked_image(image)
    return array, sigma, low, high, resolve_full_scale(full_scale, array.dtype)


def _noise(dtype: np.dtype, peak: float) -> float:
    """The magnitude within rounding of zero, no edge whatever the thresholds, for an image whose largest |value| is ``peak``.

    Quantiles of a flat image are rounding noise.  The Gaussian sums to 1, so the
    bound is that of the Sobel kernels, sum |k| = 8, on the image.
    """
    return rounding(dtype, 8 * peak)


def _whole_image(
    array: np.ndarray,
    sigma: float,
    low: float,
    high: float,
    quantile: bool,
    mode: str,
    boundary: str,
    scale: float,
    *,
    every_maximum: bool,
) -> _CannyRun:
    """Every stage over the whole image (for the stages, quantiles and per_channel)."""
    stages = per_pixel_stages(array.shape[0] * array.shape[1])
    with Bands(*array.shape[:2]) as bands:
        # In fractions of full scale, the units the thresholds are written in.
        work, peak = _canny_input(array, mode, scale, bands, stages)
        smoothed, gx, gy = _linear_stages(work, sigma, boundary)
        padded, gx, gy = padded_magnitude(gx, gy, boundary, bands, stages)
        magnitude = padded[1:-1, 1:-1]
        if quantile:
            low, high = (float(q) for q in np.quantile(magnitude, [low, high]))
        state, seeds, suppressed = non_maximum_suppression(
            gx,
            gy,
            padded,
            low=low,
            high=high,
            noise=_noise(work.dtype, peak),
            bands=bands,
            every_maximum=every_maximum,
            stages=stages,
        )
        edges = hysteresis(state, seeds, stages)
    return _CannyRun(smoothed, gx, gy, magnitude, suppressed, float(low), float(high), state, edges)


def _linear_stages(work: np.ndarray, sigma: float, boundary: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``work`` smoothed by :func:`canny_smoothing` (itself for ``sigma == 0``), then its ``sobel_x`` and ``sobel_y``.

    The same calls for the whole image and for a strip (:func:`_strip_gradients`),
    which is what makes a strip's gradients the same bits.
    """
    smoothed = effects.apply(work, canny_smoothing(sigma), boundary=boundary) if sigma > 0 else work
    gx = effects.apply(smoothed, banks.get_filter("sobel_x"), boundary=boundary)
    gy = effects.apply(smoothed, banks.get_filter("sobel_y"), boundary=boundary)
    return smoothed, gx, gy


def _strip_gradients(work: np.ndarray, rows: slice, sigma: float, boundary: str) -> tuple[np.ndarray, np.ndarray, int]:
    """``sobel_x`` and ``sobel_y`` of the smoothed ``work`` at rows ``rows.start - 1`` to ``rows.stop``.

    Filtered from the rows of ``work`` those need (a halo of the Gaussian's
    radius plus two), cut at the image's own edges, where the boundary pads
    exactly as for the whole image, or for ``wrap`` taken cyclically: every
    pixel sees the same neighbours through the same code as in one piece, so
    the gradients are the same bits (:func:`convfx.render.render_in_tiles`
    relies on the same property).

    Returns
    -------
    gx, gy : ndarray, shape (N, W)
        The gradients of image rows ``first`` to ``first + N - 1``, which
        include ``rows.start - 1`` to ``rows.stop`` where those are in the image.
    first : int
    """
    height = work.shape[0]
    halo = (_smoothing_radius(sigma) if sigma > 0 else 0) + 2
    if boundary == "wrap":
        first = rows.start - halo
        region = work[np.arange(first, rows.stop + halo) % height]
    else:
        first = max(0, rows.start - halo)
        region = work[first : min(height, rows.stop + halo)]
    _, gx, gy = _linear_stages(region, sigma, boundary)
    return gx, gy, first


class _CannyRun(NamedTuple):
    """What one run of :func:`_whole_image` computed; :meth:`stages` makes the public record."""

    smoothed: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    magnitude: np.ndarray  # a view into the padded magnitude
    # Only with every_maximum, for the stages:
    suppressed: np.ndarray | None
    low: float
    high: float
    state: np.ndarray  # with its frame: not an edge, weak or strong, and kept (suppression.hysteresis)
    edges: np.ndarray

    def stages(self) -> CannyStages:
        assert self.suppressed is not None, "run with every_maximum=True"
        return CannyStages(
            smoothed=self.smoothed,
            gx=self.gx,
            gy=self.gy,
            magnitude=np.ascontiguousarray(self.magnitude),
            suppressed=self.suppressed,
            low=self.low,
            high=self.high,
            strong=self.state[1:-1, 1:-1] & (STRONG | WEAK) == STRONG,
            weak=self.state[1:-1, 1:-1] & (STRONG | WEAK) == WEAK,
            edges=self.edges,
        )


def _canny_input(array: np.ndarray, mode: str, scale: float, bands: Bands, stages: ModuleType) -> tuple[np.ndarray, float]:
    """The image Canny smooths, in fractions of full scale, and its largest absolute value.

    The luminance (or every channel in ``per_channel`` mode) of ``array``, divided
    by ``scale`` in the compute dtype, band by band; a new array, never ``array``.
    """
    hint = "; use mode='per_channel' for other channel counts"
    luminance = mode == "luminance" or array.ndim == 2
    dtype = compute_dtype(array.dtype)
    shape = array.shape[:2] if luminance else array.shape
    work = np.empty(shape, dtype=dtype)
    unsigned = array.dtype.kind in "bu"  # then the image is >= 0, its own absolute value
    # 8-bit RGB photos, with the compiled stages: OpenCV splits the channels, one
    # compiled pass does the rest, the same bits as color.to_luminance and the division.
    compiled = hasattr(stages, "luminance_rows") and luminance and array.ndim == 3 and array.shape[2] == 3
    compiled = compiled and array.dtype == np.uint8
    if compiled:
        weights, divisor = np.asarray(LUMINANCE_WEIGHTS, dtype=dtype), np.array([scale], dtype=dtype)

    def convert(rows: slice) -> Any:
        if compiled:
            red, green, blue = cv2.split(array[rows])
            stages.luminance_rows(red, green, blue, weights, divisor, work[rows])
            return work[rows].max()
        band = gray(array[rows], hint) if luminance else array[rows].astype(dtype, copy=False)
        out = np.divide(band, scale, out=work[rows])
        return out.max() if unsigned else np.abs(out).max()

    if luminance and array.ndim == 3 and array.shape[2] not in (1, 3):
        gray(array, hint)  # raises: the luminance needs RGB
    peaks = bands.map(convert)
    # np.max propagates NaN, as the maximum over the whole image would.
    return work, float(np.max(peaks))


register_detector(
    Detector(
        name="canny",
        description="Canny edges: Gaussian, Sobel, non-maximum suppression, hysteresis (binary map)",
        function=canny,
        options=(
            DetectorParameter("sigma", 1.0, help="Gaussian smoothing in pixels (0: none)"),
            DetectorParameter("low", None, help="weak-edge threshold (auto: 0.1, or 0.8 with quantile)"),
            DetectorParameter("high", None, help="strong-edge threshold (auto: 0.2, or 0.9 with quantile)"),
            DetectorParameter("quantile", False, help="low/high are quantiles of the gradient magnitude"),
            DetectorParameter(
                "mode", "luminance", choices=CANNY_MODES, help="colour: edges of the luminance, or of each channel"
            ),
        ),
        check=_check_canny,
        kernels_used=_canny_kernels,
    )
)
