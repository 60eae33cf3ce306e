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

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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
       are labelled in 8-connected components (``scipy.ndimage.label``) and a
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

    Returns
    -------
    CannyStages
        smoothed, gx, gy, magnitude, direction, suppressed, low, high, strong,
        weak and edges.
    """
    return _canny(image, sigma, low, high, quantile, mode, boundary, full_scale, every_maximum=True)


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
) -> CannyStages:
    # every_maximum: suppress at every pixel, for the stages; else only where the
    # magnitude reaches ``low`` (a fifth to a half of a photo), which is all the
    # edges depend on.
    sigma, low, high = _check_canny(sigma=sigma, low=low, high=high, quantile=quantile, mode=mode)
    choice(boundary, "boundary", BOUNDARIES)
    array = _checked_image(image)
    scale = resolve_full_scale(full_scale, array.dtype)
    if mode == "luminance" or array.ndim == 2:
        work = _gray(array, "; use mode='per_channel' for other channel counts")
    else:
        work = array.astype(compute_dtype(array.dtype), copy=False)
    # In fractions of full scale, the units the thresholds are written in.
    work = work / scale
    smoothed = effects.apply(work, canny_smoothing(sigma), boundary=boundary) if sigma > 0 else work
    gx = effects.apply(smoothed, banks.get_filter("sobel_x"), boundary=boundary)
    gy = effects.apply(smoothed, banks.get_filter("sobel_y"), boundary=boundary)
    squared = gx * gx + gy * gy
    if squared.ndim == 3:
        strongest = np.argmax(squared, axis=2)[:, :, None]
        gx, gy, squared = (np.take_along_axis(a, strongest, axis=2)[:, :, 0] for a in (gx, gy, squared))
    magnitude = np.sqrt(squared, out=squared)
    if quantile:
        low, high = (float(q) for q in np.quantile(magnitude, [low, high]))
    # A magnitude within rounding of zero is no edge, whatever the thresholds
    # (quantiles of a flat image are rounding noise).  The Gaussian sums to 1,
    # so the bound is that of the Sobel kernels, sum |k| = 8, on the image.
    noise = _rounding(work.dtype, 8 * float(np.abs(work).max()))
    tested = magnitude > noise
    if not every_maximum:
        tested &= magnitude >= low
    suppressed = _non_maximum_suppression(magnitude, gx, gy, boundary, tested)
    candidates = (suppressed >= low) & (suppressed > noise)
    strong = candidates & (suppressed >= high)
    return CannyStages(
        smoothed=smoothed,
        gx=gx,
        gy=gy,
        magnitude=magnitude,
        suppressed=suppressed,
        low=float(low),
        high=float(high),
        strong=strong,
        weak=candidates & ~strong,
        edges=_hysteresis(candidates, strong),
    )


def _non_maximum_suppression(
    magnitude: np.ndarray, gx: np.ndarray, gy: np.ndarray, boundary: str, where: np.ndarray
) -> np.ndarray:
    """``magnitude`` where it is a maximum along the gradient (tested ``where`` True), 0 elsewhere.

    Along the gradient, one pixel away on each side, the magnitude is
    interpolated between the axial neighbour (above/below for a mostly vertical
    gradient, else left/right) and the diagonal one, with weight
    ``min(|gx|, |gy|) / max(|gx|, |gy|)`` on the diagonal: scikit-image's
    ``_nonmaximum_suppression_bilinear``, vectorised over the tested pixels.
    The image continues beyond the border as ``boundary`` says.
    """
    height, width = magnitude.shape
    stride = width + 2  # a row of the padded magnitude
    padded = np.pad(magnitude, 1, mode=boundary).ravel()
    flat = np.flatnonzero(where)
    centre = flat + (flat // width) * 2 + stride + 1  # the same pixel in the padded array
    value, x, y = magnitude.ravel()[flat], gx.ravel()[flat], gy.ravel()[flat]
    abs_x, abs_y = np.abs(x), np.abs(y)
    steep = abs_y >= abs_x
    # Offsets of the forward neighbours; the backward ones are their negatives.
    # A gradient towards down-right or up-left has its diagonal at +-(stride + 1),
    # one towards down-left or up-right at +-(stride - 1); a zero component gets
    # weight 0 below, so which way it counts does not matter.
    axial = np.where(steep, stride, 1)
    falling = (x > 0) == (y > 0)
    diagonal = np.where(falling, stride + 1, np.where(steep, stride - 1, 1 - stride))
    weight = np.minimum(abs_x, abs_y)
    larger = np.maximum(abs_x, abs_y)
    np.divide(weight, larger, out=weight, where=larger > 0)
    complement = 1 - weight
    # The same expression as scikit-image, so float64 results compare bit for bit.
    forward = padded[centre + diagonal] * weight + padded[centre + axial] * complement
    backward = padded[centre - diagonal] * weight + padded[centre - axial] * complement
    # Strict on the backward (up/left) side: of two equal pixels across an edge
    # only one survives, as in OpenCV, so edges are one pixel wide.  "Equal"
    # allows for rounding, so that the same pixel wins on every row.
    tie = _TIE_EPSILONS * np.finfo(magnitude.dtype).eps
    keep = (value >= forward * (1 - tie)) & (value > backward * (1 + tie))
    suppressed = np.zeros_like(magnitude)
    suppressed.ravel()[flat[keep]] = value[keep]
    return suppressed


def _hysteresis(candidates: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Candidates in an 8-connected component that holds a strong pixel."""
    from scipy import ndimage  # imported here: `import convfx` stays quick for batch workers

    labels, count = ndimage.label(candidates, structure=np.ones((3, 3), dtype=bool))
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[strong]] = True
    keep[0] = False  # the background
    return keep[labels]


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
