"""The reference kernels that learned kernels are measured against, and how they are moved.

Pure factories of ``(kh, kw)`` float64 correlation kernels (x to the right, y
down), for :mod:`convfx.compare` (which classic kernel is closest) and
:mod:`convfx.kernel_classes` (edge detector, smoothing or other):

* :func:`standard_kernels`: the six standard 5x5 kernels (Sobel x/y and both
  diagonals, the Laplacian, the Gaussian);
* :func:`derivative_kernels`: every kernel the "edge detector" class accepts --
  first derivatives at 8 orientations, second derivatives, line detectors;
* :func:`smoothing_kernels`: the blurs of the "smoothing" class;
* :data:`TRANSFORMS` and :func:`transform_kernel`: the 8 symmetries of the square;
* :func:`resample_kernel`: a kernel brought to another size.

The kernels of the filter banks are not here (:func:`convfx.compare.bank_kernels`
reads them); the factories that build bank entries (Gaussian, box, LoG...) are
:mod:`convfx.kernels`.  This module must not match, classify, filter, read files
or know the banks; it imports numpy, :mod:`convfx.checks` and
:mod:`convfx.errors` only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checks import choice
from .errors import ParameterError

__all__ = [
    "TRANSFORMS",
    "SHAPE_KEEPING_TRANSFORMS",
    "STANDARD_SMOOTHING",
    "STANDARD_DERIVATIVE",
    "LAPLACIAN5",
    "ORIENTATIONS",
    "standard_kernels",
    "derivative_kernels",
    "smoothing_kernels",
    "resample_kernel",
    "transform_kernel",
    "candidate_vectors",
]

#: The 8 symmetries of the square, as functions of a ``(kh, kw)`` kernel, in the
#: order they are tried (ties go to the first).  ``rot90`` turns counter-clockwise
#: (``numpy.rot90``); ``flip_lr`` mirrors left-right, ``flip_ud`` top-bottom;
#: ``transpose`` mirrors about the main diagonal, ``anti_transpose`` about the other.
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda k: k,
    "rot90": lambda k: np.rot90(k, 1),
    "rot180": lambda k: np.rot90(k, 2),
    "rot270": lambda k: np.rot90(k, 3),
    "flip_lr": lambda k: k[:, ::-1],
    "flip_ud": lambda k: k[::-1, :],
    "transpose": lambda k: k.T,
    "anti_transpose": lambda k: np.rot90(k, 2).T,
}
#: The transforms that keep a non-square kernel's shape.
SHAPE_KEEPING_TRANSFORMS = ("identity", "rot180", "flip_lr", "flip_ud")

#: Binomial smoothing and derivative of the 5x5 Sobel operator (OpenCV's
#: ``getDerivKernels(1, 0, 5)``): ``[1, 4, 6, 4, 1]`` and ``[-1, -2, 0, 2, 1]``.
STANDARD_SMOOTHING = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
STANDARD_DERIVATIVE = np.array([-1.0, -2.0, 0.0, 2.0, 1.0])
STANDARD_SMOOTHING.flags.writeable = False
STANDARD_DERIVATIVE.flags.writeable = False

#: The textbook 5x5 Laplacian (``-1`` x the bank's ``log``).
LAPLACIAN5 = np.array(
    [
        [0, 0, -1, 0, 0],
        [0, -1, -2, -1, 0],
        [-1, -2, 16, -2, -1],
        [0, -1, -2, -1, 0],
        [0, 0, -1, 0, 0],
    ],
    dtype=np.float64,
)
LAPLACIAN5.flags.writeable = False

#: Orientations of the first derivatives and line detectors of :func:`derivative_kernels`:
#: 0, 22.5, ..., 157.5 degrees.  With the sign free they cover an edge of every
#: direction in steps of 22.5 degrees.
ORIENTATIONS = tuple(22.5 * k for k in range(8))

# 1-D pieces of the separable first-derivative operators: (smoothing, derivative).
# The 5-tap ones are native 5x5 operators; the 3-tap ones are the 3x3 operators,
# resampled to the kernel size like every other kernel here.
_FIRST_DERIVATIVE_PIECES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "sobel5": ((1, 4, 6, 4, 1), (-1, -2, 0, 2, 1)),
    "prewitt5": ((1, 1, 1, 1, 1), (-2, -1, 0, 1, 2)),
    "sobel3": ((1, 2, 1), (-1, 0, 1)),
    "scharr3": ((3, 10, 3), (-1, 0, 1)),
    "prewitt3": ((1, 1, 1), (-1, 0, 1)),
}


def standard_kernels() -> dict[str, np.ndarray]:
    """The standard 5x5 set: Sobel x/y and both diagonals, the Laplacian, the Gaussian.

    Built from the 1-D pieces :data:`STANDARD_SMOOTHING` ``s`` and
    :data:`STANDARD_DERIVATIVE` ``d`` (correlation kernels, x to the right, y down)::

        sobel5_x        = outer(s, d)                  derivative along x
        sobel5_y        = outer(d, s)                  derivative along y
        sobel5_diag     = (sobel5_x + sobel5_y) / 2    along the main diagonal (down-right)
        sobel5_antidiag = (sobel5_x - sobel5_y) / 2    along the other diagonal (up-right)
        laplacian5      = LAPLACIAN5                   the textbook 5x5 Laplacian
        gaussian5       = outer(s, s) / 256            the bank's ``gaussian_blur`` (sigma ~ 1)

    The diagonal derivatives are the steered sums of the x and y derivatives (the
    derivative of the smoothed image along a 45-degree direction).

    Returns
    -------
    dict of str to ndarray, each shape (5, 5), float64
    """
    s, d = STANDARD_SMOOTHING, STANDARD_DERIVATIVE
    sobel_x, sobel_y = np.outer(s, d), np.outer(d, s)
    return {
        "sobel5_x": sobel_x,
        "sobel5_y": sobel_y,
        "sobel5_diag": (sobel_x + sobel_y) / 2,
        "sobel5_antidiag": (sobel_x - sobel_y) / 2,
        "laplacian5": LAPLACIAN5.copy(),
        "gaussian5": np.outer(s, s) / 256,
    }


def _gaussian_second_derivatives(size: int, sigma: float) -> dict[str, np.ndarray]:
    """Sampled second derivatives of a Gaussian on a ``size x size`` grid: ``xx``, ``yy``, ``xy``, ``log``."""
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    xx = (x**2 / sigma**4 - 1 / sigma**2) * g
    yy = (y**2 / sigma**4 - 1 / sigma**2) * g
    xy = (x * y / sigma**4) * g
    # Sampling on a small grid leaves a residual mean; a derivative must ignore flat
    # regions, so each is made exactly zero-mean.
    out = {"xx": xx, "yy": yy, "xy": xy, "log": xx + yy}
    return {name: kernel - kernel.mean() for name, kernel in out.items()}


def derivative_kernels(shape: tuple[int, int] = (5, 5)) -> dict[str, np.ndarray]:
    """The reference edge detectors: every kernel the "edge detector" class is matched against.

    First derivatives (5 operators x 8 orientations)
        For each of Sobel 5x5 (``[1,4,6,4,1] x [-1,-2,0,2,1]``), Prewitt 5x5
        (``[1]*5 x [-2..2]``) and the 3x3 Sobel, Scharr and Prewitt operators
        (resampled): ``Kx = outer(smoothing, derivative)``, ``Ky = Kx.T`` and the
        kernel steered to each angle ``t`` of :data:`ORIENTATIONS`,
        ``cos(t) Kx + sin(t) Ky`` (the derivative of the smoothed image along
        ``t``), named ``"sobel5 22.5deg"``.
    Second derivatives
        The textbook 5x5 Laplacian; the 4- and 8-neighbour 3x3 Laplacians
        (resampled); the Laplacian of Gaussian (sigma 1); the mixed derivative
        ``d2/dxdy`` of a Gaussian (sigma 1).
    Line detectors (8 orientations)
        The second derivative of a Gaussian (sigma 1) across a line at each angle
        ``t`` (a bright or, with the sign, dark ridge), and the classic 3x3 line
        masks ``[-1 -1 -1; 2 2 2; -1 -1 -1]`` and its 45-degree version, resampled.

    55 kernels in all, each of zero mean: linear resampling of a symmetric 3x3
    kernel (``[-1, 2, -1]`` becomes ``[-1, 0.5, 2, 0.5, -1]``) leaves a residual
    mean, which is removed after resampling, since a derivative must ignore flat
    regions.  The 8 rotations/flips and the sign are the matcher's to try; they
    are not listed here.

    Parameters
    ----------
    shape : (int, int), optional
        ``(kh, kw)`` of the kernels to compare with; every kernel is brought to it
        with :func:`resample_kernel`.

    Returns
    -------
    dict of str to ndarray, each of ``shape``, float64
    """
    kernels: dict[str, np.ndarray] = {}
    for name, (smoothing, derivative) in _FIRST_DERIVATIVE_PIECES.items():
        kx = np.outer(np.asarray(smoothing, float), np.asarray(derivative, float))
        for angle in ORIENTATIONS:
            t = np.deg2rad(angle)
            kernels[f"{name} {angle:g}deg"] = np.cos(t) * kx + np.sin(t) * kx.T
    kernels["laplacian5"] = LAPLACIAN5.copy()
    kernels["laplacian3 4-neighbour"] = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    kernels["laplacian3 8-neighbour"] = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], float)
    gaussian = _gaussian_second_derivatives(5, 1.0)
    kernels["log sigma 1"] = gaussian["log"]
    kernels["gaussian d2/dxdy sigma 1"] = gaussian["xy"]
    for angle in ORIENTATIONS:
        t = np.deg2rad(angle)
        s, c = np.sin(t), np.cos(t)
        # The second derivative along the line's normal n = (-sin t, cos t).
        kernels[f"line sigma 1 {angle:g}deg"] = s**2 * gaussian["xx"] + c**2 * gaussian["yy"] - 2 * s * c * gaussian["xy"]
    kernels["line3 0deg"] = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], float)
    kernels["line3 45deg"] = np.array([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]], float)
    resampled = {name: resample_kernel(kernel, shape) for name, kernel in kernels.items()}
    return {name: kernel - kernel.mean() for name, kernel in resampled.items()}


def smoothing_kernels(shape: tuple[int, int] = (5, 5)) -> dict[str, np.ndarray]:
    """The reference blurs: Gaussians (sigma 0.5, 1, 1.5, 2), the 5x5 binomial, the 5x5 box and a disc.

    Each is made on a 5x5 grid and brought to ``shape`` with :func:`resample_kernel`.

    Returns
    -------
    dict of str to ndarray, each of ``shape``, float64, every tap >= 0
    """
    y, x = np.mgrid[-2:3, -2:3].astype(float)
    kernels = {f"gaussian sigma {s:g}": np.exp(-(x**2 + y**2) / (2 * s**2)) for s in (0.5, 1.0, 1.5, 2.0)}
    kernels["binomial5"] = np.outer(STANDARD_SMOOTHING, STANDARD_SMOOTHING)
    kernels["box5"] = np.ones((5, 5))
    kernels["disc radius 2"] = (x**2 + y**2 <= 4.5).astype(float)
    return {name: resample_kernel(kernel, shape) for name, kernel in kernels.items()}


def _interpolation_matrix(size_in: int, size_out: int) -> np.ndarray:
    """``(size_out, size_in)`` linear interpolation with the end taps aligned."""
    if size_in == 1:
        return np.ones((size_out, 1))
    positions = np.linspace(0.0, size_in - 1, size_out)
    matrix = np.zeros((size_out, size_in))
    low = np.minimum(np.floor(positions).astype(int), size_in - 2)
    fraction = positions - low
    matrix[np.arange(size_out), low] = 1 - fraction
    matrix[np.arange(size_out), low + 1] = fraction
    return matrix


def resample_kernel(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A kernel stretched or shrunk to ``shape`` by linear interpolation.

    The kernel is read as samples of a continuous pattern over its extent; the
    corner taps stay the corner taps and the taps in between are interpolated
    linearly along each axis (separably).  A 3x3 Sobel x, row ``[-1, 0, 1]`` and
    column ``[1, 2, 1]``, becomes the 5x5 ``outer([1, 1.5, 2, 1.5, 1], [-1, -0.5,
    0, 0.5, 1])``; a kernel already of ``shape`` is returned as it is (a copy).

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
    shape : (int, int)
        Target ``(kh', kw')``, each >= 1.

    Returns
    -------
    ndarray, shape ``shape``, float64
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.size == 0:
        raise ParameterError(f"kernel: expected a non-empty 2-D array, found shape {kernel.shape}")
    rows, columns = (int(n) for n in shape)
    if rows < 1 or columns < 1:
        raise ParameterError(f"shape: expected two sides >= 1, found {tuple(shape)}")
    if kernel.shape == (rows, columns):
        return kernel.copy()
    return _interpolation_matrix(kernel.shape[0], rows) @ kernel @ _interpolation_matrix(kernel.shape[1], columns).T


def transform_kernel(kernel: np.ndarray, transform: str, sign: int = 1) -> np.ndarray:
    """``sign * TRANSFORMS[transform](kernel)``: how a match maps its reference kernel onto the learned one."""
    choice(transform, "transform", TRANSFORMS)
    return sign * np.ascontiguousarray(TRANSFORMS[transform](np.asarray(kernel, dtype=np.float64)))


def candidate_vectors(
    kernels: dict[str, np.ndarray], shape: tuple[int, int], *, transforms: bool = True
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Every kernel under every allowed symmetry, as unit vectors: what a matcher compares with.

    Parameters
    ----------
    kernels : dict of str to ndarray, each of ``shape``
    shape : (int, int)
        ``(kh, kw)``; a non-square shape allows only :data:`SHAPE_KEEPING_TRANSFORMS`.
    transforms : bool, optional
        All 8 symmetries of :data:`TRANSFORMS` (default), or the kernels as written.

    Returns
    -------
    vectors : ndarray, shape (M, kh * kw)
        Unit rows; zero kernels are left out (their cosine is undefined).
    labels : list of (str, str)
        ``(kernel name, transform)`` of each row.
    """
    if not transforms:
        names: tuple[str, ...] = ("identity",)
    elif shape[0] == shape[1]:
        names = tuple(TRANSFORMS)
    else:
        names = SHAPE_KEEPING_TRANSFORMS
    vectors, labels = [], []
    for name, kernel in kernels.items():
        norm = float(np.linalg.norm(kernel))
        if norm == 0:
            continue
        for transform in names:
            vectors.append(TRANSFORMS[transform](kernel).ravel() / norm)
            labels.append((name, transform))
    return np.asarray(vectors).reshape(len(vectors), shape[0] * shape[1]), labels
