"""Kernel factories: Gaussian, box, Laplacian of Gaussian, unsharp, motion streak, DoG.

Pure functions of their parameters that return ``(kh, kw)`` float64 correlation
kernels (or, for the difference of Gaussians, the two kernels by name), with the
size and sigma conventions of OpenCV so that ``gaussian_blur:sigma=s,size=n``
equals ``cv2.GaussianBlur(img, (n, n), s)``.  :data:`FACTORIES` names them for
the banks, whose entries say ``factory = "gaussian"`` to be rebuilt with other
parameters (:func:`convfx.banks.with_parameters`).

This module must not filter images, read files or know the banks; it imports
numpy, OpenCV, :mod:`convfx.checks` and :mod:`convfx.limits` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from .checks import finite_float, in_range, real_number
from .errors import ParameterError
from .limits import MAX_KERNEL_SIDE

__all__ = [
    "FACTORIES",
    "KernelFactory",
    "gaussian_kernel",
    "box_kernel",
    "log_kernel",
    "unsharp_kernel",
    "motion_kernel",
    "dog_kernels",
    "format_number",
]


#: How many sigmas a Gaussian spans on each side when only its sigma is given (OpenCV's rule).
_RADIUS_SIGMAS = 3.0
# The smallest sigma of a Laplacian of Gaussian: its centre weight, -1 / (pi sigma**4),
# stays within float32 (photos are filtered in float32) down to about 1.7e-10.
_MIN_LOG_SIGMA = 1e-9


def _odd_size(value: float, name: str) -> int:
    number = real_number(value, name)
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= MAX_KERNEL_SIDE or int(number) % 2 == 0:
        raise ParameterError(f"{name}: expected an odd integer from 1 to {MAX_KERNEL_SIDE}, found {number:g}")
    return int(number)


def _sigma_and_size(sigma: float | None, size: float | None, *, radius_sigmas: float = _RADIUS_SIGMAS) -> tuple[float, int]:
    # OpenCV's conventions, so that gaussian_blur:sigma=s,size=n equals
    # cv2.GaussianBlur(img, (n, n), s): a missing size covers +-3 sigma, a missing
    # sigma is 0.3*((size-1)*0.5 - 1) + 0.8.
    if sigma is None and size is None:
        raise ParameterError("parameters: expected sigma and/or size")
    if sigma is not None:
        sigma = in_range(sigma, "sigma", low=0, above_low=True, expected="a finite number > 0")
    if size is None:
        assert sigma is not None  # both missing was refused above
        half = radius_sigmas * sigma  # compared before any rounding: 3 * 1e308 is inf
        if half > (MAX_KERNEL_SIDE - 1) / 2:
            largest = (MAX_KERNEL_SIDE - 1) / (2 * radius_sigmas)
            side = 2 * math.ceil(half) + 1 if half < 1e15 else None
            kernel = f"a {side}x{side} kernel" if side is not None else "a kernel of over 10**15 taps a side"
            raise ParameterError(
                f"sigma: {sigma:g} needs {kernel} (+-{radius_sigmas:g} sigma), more than "
                f"{MAX_KERNEL_SIDE} per side; expected sigma <= {largest:g}, or give a size"
            )
        size = 2 * math.ceil(half) + 1
    size = _odd_size(size, "size")
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    return sigma, size


def gaussian_kernel(*, sigma: float | None = None, size: float | None = None) -> np.ndarray:
    """Normalised 2-D Gaussian, shape (size, size): ``cv2.getGaussianKernel``'s row times itself.

    With ``sigma``, the sampled Gaussian; with only ``size`` (odd), OpenCV's own
    choice: fixed binomial-like rows for the small sizes (1-7 in OpenCV 4, 1-9 in
    OpenCV 5) and ``sigma = 0.3*((size-1)*0.5 - 1) + 0.8`` above them; with only
    ``sigma``, ``size = 2*ceil(3*sigma) + 1``.  The row comes from the installed
    OpenCV itself, so ``gaussian_blur:sigma=s,size=n`` equals
    ``cv2.GaussianBlur(img, (n, n), s)`` whatever its version.

    Parameters
    ----------
    sigma : float, optional
        Standard deviation, in pixels.
    size : int, optional
        The side, odd.

    Returns
    -------
    ndarray of float64, shape (size, size)
        Sums to 1.
    """
    if sigma is None and size is not None:
        size = _odd_size(size, "size")
        row = cv2.getGaussianKernel(size, 0, ktype=cv2.CV_64F)[:, 0]
    else:
        sigma, size = _sigma_and_size(sigma, size)
        row = cv2.getGaussianKernel(size, sigma, ktype=cv2.CV_64F)[:, 0]
    return np.outer(row, row)


def box_kernel(*, size: float = 3) -> np.ndarray:
    """Mean over a ``size`` x ``size`` square.

    Parameters
    ----------
    size : int, optional
        The side, >= 1.

    Returns
    -------
    ndarray of float64, shape (size, size)
        Every weight ``1 / size**2``.
    """
    size = _odd_size(size, "size")
    return np.full((size, size), 1.0 / (size * size))


def log_kernel(*, sigma: float = 1.0, size: float | None = None) -> np.ndarray:
    """Laplacian of a normalised Gaussian, made zero-sum; negative centre like ``laplacian``.

    ``sigma`` is at least 1e-9: below that the centre weight, ``-1 / (pi sigma**4)``,
    leaves float32's range (and ``sigma**6`` underflows to 0 around 1e-54).

    Parameters
    ----------
    sigma : float, optional
        Standard deviation of the Gaussian, in pixels.
    size : int, optional
        The side, odd; ``2*ceil(3*sigma) + 1`` by default.

    Returns
    -------
    ndarray of float64, shape (size, size)
        Sums to 0.
    """
    sigma, size = _sigma_and_size(sigma, size)
    if sigma < _MIN_LOG_SIGMA:
        raise ParameterError(f"sigma: expected a number >= {_MIN_LOG_SIGMA:g} for a Laplacian of Gaussian, found {sigma:g}")
    x = np.arange(size) - (size - 1) / 2
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    with np.errstate(under="ignore"):  # far taps of a narrow Gaussian are exactly 0
        kernel = (r2 - 2 * sigma**2) / (2 * math.pi * sigma**6) * np.exp(-r2 / (2 * sigma**2))
    return kernel - kernel.mean()  # truncation leaves a small DC response; remove it


def unsharp_kernel(*, amount: float = 1.0, sigma: float | None = None, size: float | None = None) -> np.ndarray:
    """``(1 + amount) * identity - amount * gaussian``: sums to 1.

    Parameters
    ----------
    amount : float, optional
        How much of the detail (image minus blur) is added back.
    sigma, size : float, optional
        The Gaussian's, as for :func:`gaussian_kernel`.

    Returns
    -------
    ndarray of float64, shape (size, size)
    """
    amount = finite_float(amount, "amount")
    # Defaults: the 5x5 blur of the bank's unsharp entry.
    blur = gaussian_kernel(sigma=sigma, size=5 if size is None and sigma is None else size)
    kernel = -amount * blur
    centre = blur.shape[0] // 2
    kernel[centre, centre] += 1.0 + amount
    return kernel


def motion_kernel(*, length: float = 9, angle: float = 0.0) -> np.ndarray:
    """A line of ``length`` pixels at ``angle`` degrees (counter-clockwise from x), sum 1.

    The line is sampled finely and each sample is shared bilinearly between its
    four neighbouring taps, so that any angle gives a smooth, centred streak.

    Parameters
    ----------
    length : float, optional
        The streak's length, in pixels.
    angle : float, optional
        Degrees, counter-clockwise from the x axis.

    Returns
    -------
    ndarray of float64, shape (h, w)
        Odd sides, just large enough for the line (``(1, 9)`` for ``length=9``
        at 0 degrees); sums to 1.
    """
    size = _odd_size(length, "length")
    angle = in_range(angle, "angle", expected="a finite number of degrees")
    kernel = np.zeros((size, size))
    centre = (size - 1) / 2
    # Midpoints of 16 equal cells per pixel along a segment `size` pixels long: each
    # tap on a horizontal line then gets exactly 1/size (the bank's motion_blur).
    samples = 16 * size
    t = (np.arange(samples) + 0.5) / samples * size - size / 2
    # Rounded so that 90 degrees gives cos == 0 exactly, not 6e-17 smearing a column.
    cos, sin = round(math.cos(math.radians(angle)), 12), round(math.sin(math.radians(angle)), 12)
    cols = centre + t * cos
    rows = centre - t * sin  # image rows grow downwards
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = np.clip(r0 + dr, 0, size - 1), np.clip(c0 + dc, 0, size - 1)
        np.add.at(kernel, (r, c), weight)
    # Drop empty rows/columns in pairs (the centre stays the centre): a horizontal
    # streak becomes the 1 x length row of the bank's entry.
    while kernel.shape[0] > 1 and not kernel[0].any() and not kernel[-1].any():
        kernel = kernel[1:-1]
    while kernel.shape[1] > 1 and not kernel[:, 0].any() and not kernel[:, -1].any():
        kernel = kernel[:, 1:-1]
    return kernel / kernel.sum()


def dog_kernels(*, sigma: float = 1.0, k: float = 1.6) -> dict[str, np.ndarray]:
    """The two Gaussians of a difference of Gaussians: ``sigma`` and ``k * sigma``.

    The ``dog`` filter subtracts the second response from the first (a band-pass
    whose zero crossings approximate those of a Laplacian of Gaussian of scale
    about ``sigma * sqrt(2 ln k * k^2 / (k^2 - 1))``; Marr and Hildreth's
    ``k = 1.6`` is the default).  Each Gaussian is built by :func:`gaussian_kernel`
    (``+-3 sigma``) and applied on its own, so both stay separable.

    Parameters
    ----------
    sigma : float, optional
        The narrow Gaussian's standard deviation, in pixels.
    k : float, optional
        The ratio of the two sigmas, > 1.

    Returns
    -------
    dict of str to ndarray
        ``{"gaussian_sigma<s>": narrow, "gaussian_sigma<k*s>": wide}``, in that order.
    """
    sigma = in_range(sigma, "sigma", low=0, above_low=True, expected="a finite number > 0")
    k = in_range(k, "k", low=1, above_low=True, expected="a finite number > 1 (the ratio of the two sigmas)")
    narrow = gaussian_kernel(sigma=sigma)
    wide = sigma * k
    if _RADIUS_SIGMAS * wide > (MAX_KERNEL_SIDE - 1) / 2:  # the wide Gaussian is too large: k's doing
        largest = (MAX_KERNEL_SIDE - 1) / (2 * _RADIUS_SIGMAS) / sigma
        raise ParameterError(
            f"k: {k:g} makes the wide Gaussian's sigma {wide:g}, which needs more than {MAX_KERNEL_SIDE} taps a side "
            f"(+-{_RADIUS_SIGMAS:g} sigma); expected k <= {largest:g} with sigma={sigma:g}"
        )
    narrow_name = f"gaussian_sigma{format_number(sigma)}"
    wide_name = f"gaussian_sigma{format_number(round(wide, 6))}"
    if wide_name == narrow_name:  # k within 1e-6 of 1: the rounded names would collide
        wide_name = f"gaussian_sigma{format_number(wide)}"
    return {narrow_name: narrow, wide_name: gaussian_kernel(sigma=wide)}


class KernelFactory(NamedTuple):
    """A kernel family by name: what builds it and the parameters it takes.

    Attributes
    ----------
    build : callable
        Keyword arguments to a kernel, or to named kernels (``dict``).
    parameters : tuple of str
        The keywords ``build`` takes.
    """

    #: Builds one matrix, or (for a combined filter) its input kernels by name, in order.
    build: Callable[..., np.ndarray | dict[str, np.ndarray]]
    #: The keyword parameters ``build`` accepts, in the order ``convfx show`` lists them.
    parameters: tuple[str, ...]


#: The kernel families a bank entry can name as its ``factory`` (``factory = "gaussian"``),
#: so that ``gaussian_blur:sigma=2`` rebuilds the entry with other parameters.
FACTORIES: dict[str, KernelFactory] = {
    "gaussian": KernelFactory(gaussian_kernel, ("sigma", "size")),
    "box": KernelFactory(box_kernel, ("size",)),
    "log": KernelFactory(log_kernel, ("sigma", "size")),
    "unsharp": KernelFactory(unsharp_kernel, ("amount", "sigma", "size")),
    "motion": KernelFactory(motion_kernel, ("length", "angle")),
    "dog": KernelFactory(dog_kernels, ("sigma", "k")),
}


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value`` (integers without ``.0``).

    How kernel names (``gaussian_sigma1.6``), bank listings and effect labels
    write a parameter, so that what is shown can be typed back.

    Parameters
    ----------
    value : float

    Returns
    -------
    str
    """
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
