"""Edges from the second derivative: Marr-Hildreth (zero crossings of the LoG) and difference of Gaussians.

Marr-Hildreth filters with the bank's ``log`` rebuilt with a sigma, through
:func:`convfx.effects.apply`, then marks the zero crossings steep enough to be
edges.  ``dog`` is linear, so it stays a bank filter (``dog:sigma=2,k=1.6``);
:func:`dog` is its wrapper.  Importing this module registers ``marr_hildreth`` as
an effect detector (:mod:`convfx.steps`).

This module must not slide, build or hard-code a kernel, read or write files, or draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import banks, effects
from ..banks import Filter, Kernel
from ..checks import choice, finite_float, in_range
from ..conv import BOUNDARIES
from ..limits import MAX_KERNEL_SIDE
from ..ranges import resolve_full_scale
from ..steps import Detector, DetectorParameter, register_detector
from .inputs import TIE_EPSILONS, checked_image, gray, rounding

#: ``marr_hildreth`` without a threshold uses this times the mean absolute LoG
#: response, the rule of MATLAB's ``edge(I, "log")``.
MARR_HILDRETH_AUTO = 0.75

# The Gaussian may not outgrow the largest kernel a bank accepts.
_MAX_LOG_SIGMA = (MAX_KERNEL_SIDE // 2) / 3.0  # the log factory spans +-3 sigma


def _check_marr_hildreth(*, sigma: Any, threshold: Any) -> tuple[float, float | None]:
    sigma = in_range(sigma, "sigma", low=0.0, high=_MAX_LOG_SIGMA, above_low=True)
    return sigma, None if threshold is None else in_range(threshold, "threshold", low=0.0)


def _log_filter(sigma: float) -> Filter:
    return banks.with_parameters(banks.get_filter("log"), {"sigma": sigma})


def _marr_hildreth_kernels(*, sigma: float, **unused: Any) -> tuple[Kernel, ...]:
    return _log_filter(sigma).kernels


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
    array = checked_image(image)
    scale = resolve_full_scale(full_scale, array.dtype)
    work = gray(array, "") / scale
    log = _log_filter(sigma)
    response = effects.apply(work, log, boundary=boundary)
    if threshold is None:
        threshold = MARR_HILDRETH_AUTO * float(np.mean(np.abs(response)))
    # Where the kernel sees a flat area the exact response is 0; rounding gives it
    # a random sign, which must not count as a crossing.
    noise = rounding(response.dtype, float(np.abs(log.kernels[0].weights).sum() * np.abs(work).max()))
    return _zero_crossings(response, threshold, noise)


def _zero_crossings(response: np.ndarray, threshold: float, noise: float) -> np.ndarray:
    """Pixels at a sign change of ``response``, ignoring values within ``noise`` of 0."""
    magnitude = np.abs(response)
    sign = np.where(magnitude > noise, np.sign(response), 0).astype(np.int8)
    tie = 1 + TIE_EPSILONS * np.finfo(response.dtype).eps
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
