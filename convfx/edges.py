"""Edge detectors built on the filter banks: Canny, Marr-Hildreth, difference of Gaussians.

Each detector is a pipeline of linear filters convfx already ships -- the bank's
``gaussian_blur`` rebuilt with a sigma, ``sobel_x`` / ``sobel_y``, ``log`` and
``dog`` -- applied by :func:`convfx.effects.apply` through the one engine
(:func:`convfx.correlate`), followed by a few non-linear steps: non-maximum
suppression, double threshold and hysteresis (Canny), zero crossings with a slope
threshold (Marr-Hildreth).  :func:`canny_stages` returns every intermediate array;
``convfx explain canny`` draws them.

Importing this module (which ``import convfx`` does) registers ``canny`` and
``marr_hildreth`` as effect detectors (:mod:`convfx.steps`), so they work wherever
an effect name does:
``convfx apply canny:sigma=2,low=0.05 photo.jpg``, chains (``gaussian_blur,canny``),
``convfx batch`` and ``convfx.apply(image, "canny", sigma=2)``.  ``dog`` is linear,
so it stays a bank filter (``dog:sigma=2,k=1.6``); :func:`dog` is its wrapper.

Thresholds are fractions of full scale (:func:`convfx.ranges.dtype_full_scale`:
255 for ``uint8``, 65535 for ``uint16``, 1 for floats), as in scikit-image, so the
same numbers work on 8-bit, 16-bit and float images.

This module must not slide, build or hard-code a kernel (blur and derivatives
come from the banks), read or write files, or draw.
"""

from __future__ import annotations

import contextvars
import itertools
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import cv2
import numpy as np

from . import banks, effects
from .banks import Filter, Kernel
from .checks import choice, finite_float, flag, in_range, real_array
from .color import to_luminance
from .conv import BOUNDARIES, compute_dtype
from .errors import ParameterError
from .limits import MAX_KERNEL_SIDE
from .ranges import resolve_full_scale
from .steps import Detector, DetectorParameter, register_detector

__all__ = [
    "CANNY_MODES",
    "CANNY_THRESHOLDS",
    "CANNY_QUANTILES",
    "CANNY_TRUNCATE",
    "MARR_HILDRETH_AUTO",
    "CannyStages",
    "canny",
    "canny_stages",
    "canny_smoothing",
    "marr_hildreth",
    "dog",
]

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
#: ``marr_hildreth`` without a threshold uses this times the mean absolute LoG
#: response, the rule of MATLAB's ``edge(I, "log")``.
MARR_HILDRETH_AUTO = 0.75

# Relative differences below this many units of rounding (of the compute dtype)
# are ties: a symmetric step gives two equal magnitudes, or two equal |LoG|,
# that rounding would otherwise split at random from row to row.
_TIE_EPSILONS = 64

# Canny works on bands of rows of about this many pixels (their temporaries stay
# in cache), and on one thread below the second number (threads cost more).
_BAND_PIXELS = 1 << 16
_PARALLEL_MIN_PIXELS = 1 << 17

# The Gaussian may not outgrow the largest kernel a bank accepts.
_MAX_SIGMA = (MAX_KERNEL_SIDE // 2) / CANNY_TRUNCATE
_MAX_LOG_SIGMA = (MAX_KERNEL_SIDE // 2) / 3.0  # the log factory spans +-3 sigma


# --------------------------------------------------------------------------- checks


def _check_canny(
    *, sigma: Any, low: Any, high: Any, quantile: Any, mode: Any
) -> tuple[float, float, float]:
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


def _check_marr_hildreth(*, sigma: Any, threshold: Any) -> tuple[float, float | None]:
    sigma = in_range(sigma, "sigma", low=0.0, high=_MAX_LOG_SIGMA, above_low=True)
    return sigma, None if threshold is None else in_range(threshold, "threshold", low=0.0)


def _checked_image(image: Any) -> np.ndarray:
    array = real_array(image, "image")
    if array.ndim not in (2, 3):
        raise ParameterError(f"image: expected a non-empty (H, W) or (H, W, C) array, found shape {array.shape}")
    return array




def _gray(image: np.ndarray, mode_hint: str) -> np.ndarray:
    """(H, W) float luminance of a gray, one-channel or RGB image."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image.astype(compute_dtype(image.dtype), copy=False)
    if image.shape[2] != 3:
        raise ParameterError(
            f"image: the luminance needs (H, W) or (H, W, 3) RGB, found shape {image.shape}{mode_hint}"
        )
    return to_luminance(image)


# --------------------------------------------------------------------------- bank filters


def canny_smoothing(sigma: float) -> Filter:
    """The Gaussian Canny smooths with: the bank's ``gaussian_blur`` rebuilt.

    ``gaussian_blur:sigma=s,size=n`` with ``n = 2 * int(4 * s + 0.5) + 1``
    (:data:`CANNY_TRUNCATE`), the same weights as ``scipy.ndimage.gaussian_filter``.
    """
    radius = int(CANNY_TRUNCATE * sigma + 0.5)
    return banks.with_parameters(banks.get_filter("gaussian_blur"), {"sigma": sigma, "size": 2 * radius + 1})


def _log_filter(sigma: float) -> Filter:
    return banks.with_parameters(banks.get_filter("log"), {"sigma": sigma})


def _canny_kernels(*, sigma: float, **unused: Any) -> tuple[Kernel, ...]:
    gradients = (banks.get_filter("sobel_x").kernels[0], banks.get_filter("sobel_y").kernels[0])
    return (canny_smoothing(sigma).kernels[0],) + gradients if sigma > 0 else gradients


def _marr_hildreth_kernels(*, sigma: float, **unused: Any) -> tuple[Kernel, ...]:
    return _log_filter(sigma).kernels


# --------------------------------------------------------------------------- Canny


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
    4. Double threshold, then hysteresis: the candidates (suppressed, ``>= low``)
       are labelled in 8-connected components (``cv2.connectedComponents``) and a
       component is kept if it holds a strong pixel (``>= high``).

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
    return _canny(image, sigma, low, high, quantile, mode, boundary, full_scale, every_maximum=False).edges


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
    stages = _canny(image, sigma, low, high, quantile, mode, boundary, full_scale, every_maximum=True).stages()
    # _canny has checked everything; this fills in the defaults it used, for the record.
    sigma, low, high = _check_canny(sigma=sigma, low=low, high=high, quantile=quantile, mode=mode)
    return replace(
        stages,
        sigma=sigma,
        mode=mode,
        full_scale=resolve_full_scale(full_scale, _checked_image(image).dtype),
        quantiles=(low, high) if quantile else None,
    )


def _canny(
    image: np.ndarray,
    sigma: float,
    low: float | None,
    high: float | None,
    quantile: bool,
    mode: str,
    boundary: str,
    full_scale: float | None,
    *,
    every_maximum: bool,
) -> _CannyRun:
    # every_maximum: suppress at every pixel, for the stages; else only where the
    # magnitude reaches ``low``, which is all the edges depend on.
    sigma, low, high = _check_canny(sigma=sigma, low=low, high=high, quantile=quantile, mode=mode)
    choice(boundary, "boundary", BOUNDARIES)
    array = _checked_image(image)
    scale = resolve_full_scale(full_scale, array.dtype)
    height, width = array.shape[:2]
    with _Bands(height, width) as bands:
        # In fractions of full scale, the units the thresholds are written in.
        work, peak = _canny_input(array, mode, scale, bands)
        smoothed = effects.apply(work, canny_smoothing(sigma), boundary=boundary) if sigma > 0 else work
        gx = effects.apply(smoothed, banks.get_filter("sobel_x"), boundary=boundary)
        gy = effects.apply(smoothed, banks.get_filter("sobel_y"), boundary=boundary)
        padded: np.ndarray | None = None  # the edges alone: each band computes the magnitude it needs
        magnitude: np.ndarray | None = None
        if every_maximum or quantile or gx.ndim == 3:
            padded, gx, gy = _padded_magnitude(gx, gy, boundary, bands)
            magnitude = padded[1:-1, 1:-1]
            if quantile:
                low, high = (float(q) for q in np.quantile(magnitude, [low, high]))
        # A magnitude within rounding of zero is no edge, whatever the thresholds
        # (quantiles of a flat image are rounding noise).  The Gaussian sums to 1,
        # so the bound is that of the Sobel kernels, sum |k| = 8, on the image.
        noise = _rounding(work.dtype, 8 * peak)
        candidates, flat, seeds, strong, suppressed = _non_maximum_suppression(
            gx, gy, padded, boundary, low=low, high=high, noise=noise, bands=bands, every_maximum=every_maximum
        )
        edges = _hysteresis(candidates, flat, seeds)
    return _CannyRun(smoothed, gx, gy, magnitude, suppressed, float(low), float(high), candidates, strong, edges)


class _CannyRun(NamedTuple):
    """What one run of :func:`_canny` computed; :meth:`stages` makes the public record."""

    smoothed: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    # Computed whole only for the stages, quantiles or per_channel; else None.
    magnitude: np.ndarray | None  # a view into the padded magnitude
    # Only with every_maximum, for the stages:
    suppressed: np.ndarray | None
    low: float
    high: float
    candidates: np.ndarray
    strong: np.ndarray | None
    edges: np.ndarray

    def stages(self) -> CannyStages:
        assert self.suppressed is not None and self.strong is not None, "run with every_maximum=True"
        return CannyStages(
            smoothed=self.smoothed,
            gx=self.gx,
            gy=self.gy,
            magnitude=np.ascontiguousarray(self.magnitude),
            suppressed=self.suppressed,
            low=self.low,
            high=self.high,
            strong=self.strong,
            weak=self.candidates & ~self.strong,
            edges=self.edges,
        )


class _Bands:
    """Bands of whole rows of an ``(H, W)`` image, worked on by several threads.

    Per-pixel stages run band by band: a band of some ten thousand pixels keeps
    its temporaries in cache, not main memory; and numpy and OpenCV release the
    GIL, so the bands spread over as many threads as OpenCV uses
    (``cv2.getNumThreads()``, which ``convfx batch`` lowers in its workers).
    Every band writes only its own rows, so the result does not depend on which
    thread did which band.  Use as a context manager: the threads live for one
    detector call (a pool kept between calls would not survive a fork).
    """

    def __init__(self, height: int, width: int) -> None:
        rows = max(1, _BAND_PIXELS // (width + 2))
        self.slices = [slice(start, min(start + rows, height)) for start in range(0, height, rows)]
        threads = cv2.getNumThreads() if height * width >= _PARALLEL_MIN_PIXELS else 1
        self.threads = max(1, min(threads, len(self.slices)))
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Bands:
        if self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="convfx-canny")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def map(self, task: Callable[[slice], Any]) -> list[Any]:
        """``[task(rows) for rows in self.slices]``, the bands shared among the threads."""
        results: list[Any] = [None] * len(self.slices)
        if self._pool is None:
            return [task(rows) for rows in self.slices]
        lock = threading.Lock()
        taken = itertools.count()

        def work() -> None:
            while True:
                with lock:
                    index = next(taken)
                if index >= len(self.slices):
                    return
                results[index] = task(self.slices[index])

        # The helpers run in a copy of this thread's context (numpy's errstate lives there).
        helpers = [self._pool.submit(contextvars.copy_context().run, work) for _ in range(self.threads - 1)]
        try:
            work()
        finally:
            for helper in helpers:
                helper.result()
        return results


def _canny_input(array: np.ndarray, mode: str, scale: float, bands: _Bands) -> tuple[np.ndarray, float]:
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

    def convert(rows: slice) -> Any:
        band = _gray(array[rows], hint) if luminance else array[rows].astype(dtype, copy=False)
        out = np.divide(band, scale, out=work[rows])
        return out.max() if unsigned else np.abs(out).max()

    if luminance and array.ndim == 3 and array.shape[2] not in (1, 3):
        _gray(array, hint)  # raises: the luminance needs RGB
    peaks = bands.map(convert)
    # np.max propagates NaN, as the maximum over the whole image would.
    return work, float(np.max(peaks))


def _padded_magnitude(
    gx: np.ndarray, gy: np.ndarray, boundary: str, bands: _Bands
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
    """Rows ``rows.start - 1`` to ``rows.stop`` of the padded magnitude (:func:`_padded_magnitude`).

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


def _non_maximum_suppression(
    gx: np.ndarray,
    gy: np.ndarray,
    padded: np.ndarray | None,
    boundary: str,
    *,
    low: float,
    high: float,
    noise: float,
    bands: _Bands,
    every_maximum: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Local maxima along the gradient, and the double threshold.

    Along the gradient, one pixel away on each side, the magnitude is
    interpolated between the axial neighbour (above/below for a mostly vertical
    gradient, else left/right) and the diagonal one, with weight
    ``min(|gx|, |gy|) / max(|gx|, |gy|)`` on the diagonal: scikit-image's
    ``_nonmaximum_suppression_bilinear``, vectorised.  ``padded`` is the
    magnitude with the one-pixel frame the boundary gives (:func:`_padded_magnitude`),
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
    tie = _TIE_EPSILONS * np.finfo(gx.dtype).eps
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


def _hysteresis(candidates: np.ndarray, flat: np.ndarray, seeds: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- Marr-Hildreth and DoG


def marr_hildreth(
    image: np.ndarray,
    *,
    sigma: float = 2.0,
    threshold: float | None = None,
    boundary: str = "reflect",
    full_scale: float | None = None,
) -> np.ndarray:
    """Marr-Hildreth edges: zero crossings of the Laplacian of Gaussian, with a slope threshold.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
        Any real dtype; RGB is converted to its luminance.
    sigma : float, optional
        Scale of the LoG, in pixels (> 0): the bank's ``log:sigma=s``, a
        ``2*ceil(3*sigma) + 1`` square kernel, made zero-sum.
    threshold : float, optional
        Minimum jump of the LoG across a crossing, ``|L(p) - L(q)|``, in units
        of the image divided by its full scale (>= 0).  Default:
        :data:`MARR_HILDRETH_AUTO` times the mean ``|L|`` (MATLAB's rule), which
        follows the contrast of the image.
    boundary : str, optional
        See :func:`canny`.
    full_scale : float, optional
        See :func:`canny`.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on edges.

    Notes
    -----
    A crossing is a pair of 4-neighbours where the LoG changes sign (0 counts
    as positive); of the two pixels, the one with the smaller ``|L|`` -- the
    nearer to the zero -- is marked (the upper/left one on a tie).  Without
    the threshold every ripple of noise makes a closed contour; with it, only
    crossings steep enough to be edges remain.

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection", Proc. R. Soc.
       Lond. B 207, 187-217, 1980.

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> step = np.zeros((32, 32)); step[:, 16:] = 1.0
    >>> edges = convfx.marr_hildreth(step, sigma=2)
    >>> edges.shape, edges.dtype, np.unique(np.nonzero(edges)[1])
    ((32, 32), dtype('bool'), array([15]))
    """
    sigma, threshold = _check_marr_hildreth(sigma=sigma, threshold=threshold)
    choice(boundary, "boundary", BOUNDARIES)
    array = _checked_image(image)
    scale = resolve_full_scale(full_scale, array.dtype)
    work = _gray(array, "") / scale
    log = _log_filter(sigma)
    response = effects.apply(work, log, boundary=boundary)
    if threshold is None:
        threshold = MARR_HILDRETH_AUTO * float(np.mean(np.abs(response)))
    # Where the kernel sees a flat area the exact response is 0; rounding gives it
    # a random sign, which must not count as a crossing.
    noise = _rounding(response.dtype, float(np.abs(log.kernels[0].weights).sum() * np.abs(work).max()))
    return _zero_crossings(response, threshold, noise)


def _rounding(dtype: np.dtype, scale: float) -> float:
    """Bound on the rounding error of a filter whose terms sum (in absolute value) to ``scale``."""
    return _TIE_EPSILONS * float(np.finfo(dtype).eps) * scale


def _zero_crossings(response: np.ndarray, threshold: float, noise: float) -> np.ndarray:
    """Pixels at a sign change of ``response``, ignoring values within ``noise`` of 0."""
    magnitude = np.abs(response)
    sign = np.where(magnitude > noise, np.sign(response), 0).astype(np.int8)
    tie = 1 + _TIE_EPSILONS * np.finfo(response.dtype).eps
    edges = np.zeros(response.shape, dtype=bool)
    for axis in (0, 1):
        # A sign change between neighbours: mark the one nearer the zero.
        before, after = _window(axis, None, -1), _window(axis, 1, None)
        crossing = (sign[before] * sign[after] < 0) & (np.abs(response[before] - response[after]) > threshold)
        nearer_before = magnitude[before] <= magnitude[after] * tie
        edges[before] |= crossing & nearer_before
        edges[after] |= crossing & ~nearer_before
        # A zero between opposite signs is the crossing itself (the jump spans two pixels).
        previous, inner, following = _window(axis, None, -2), _window(axis, 1, -1), _window(axis, 2, None)
        edges[inner] |= (
            (sign[inner] == 0)
            & (sign[previous] * sign[following] < 0)
            & (np.abs(response[previous] - response[following]) > 2 * threshold)
        )
    return edges


def _window(axis: int, start: int | None, stop: int | None) -> tuple[slice, slice]:
    """Index of the rows (axis 0) or columns (axis 1) ``start:stop``."""
    part = slice(start, stop)
    return (part, slice(None)) if axis == 0 else (slice(None), part)


def dog(image: np.ndarray, *, sigma: float = 1.0, k: float = 1.6, boundary: str = "reflect") -> np.ndarray:
    """Difference of Gaussians: ``gaussian(sigma) - gaussian(k * sigma)``, per channel.

    The bank filter ``dog`` rebuilt with ``sigma`` and ``k``
    (:func:`convfx.kernels.dog_kernels`), i.e. ``convfx.apply(image, "dog:sigma=s,k=k")``:
    a band-pass whose zero crossings approximate those of a LoG (Marr and
    Hildreth's ``k = 1.6``).

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype, filtered per channel.
    sigma : float, optional
        The narrow Gaussian, in pixels (> 0).
    k : float, optional
        Ratio of the wide Gaussian to the narrow one (> 1).
    boundary : str, optional
        See :func:`convfx.apply`.

    Returns
    -------
    ndarray, shape of ``image``
        float32 (float64 for float64 input), in the image's units; signed.

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> flat = np.full((16, 16), 0.5)
    >>> float(np.abs(convfx.dog(flat, sigma=1.0)).max()) < 1e-6    # no response on a flat image
    True
    """
    return effects.apply(image, "dog", boundary=boundary, sigma=finite_float(sigma, "sigma"), k=finite_float(k, "k"))


# --------------------------------------------------------------------------- registration

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

register_detector(
    Detector(
        name="marr_hildreth",
        description="Marr-Hildreth edges: zero crossings of the Laplacian of Gaussian (binary map)",
        function=marr_hildreth,
        options=(
            DetectorParameter("sigma", 2.0, help="LoG scale in pixels"),
            DetectorParameter("threshold", None, help="minimum LoG jump across a crossing (auto: 0.75 mean |LoG|)"),
        ),
        check=_check_marr_hildreth,
        kernels_used=_marr_hildreth_kernels,
    )
)
