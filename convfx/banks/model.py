"""The bank's data model: :class:`Kernel`, :class:`Filter`, and what makes a kernel valid.

Every way of getting a filter -- a shipped bank, a user's TOML/JSON/NPY/NPZ file,
an ImageMagick string, an array, a factory -- ends in these two frozen classes,
built from matrices checked by :func:`checked_matrix`.

This module must not read files, filter images or know the shipped banks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError
from ..limits import MAX_KERNEL_SIDE
from ..ranges import OUTPUT_RANGES

__all__ = [
    "OPERATIONS",
    "OUTPUT_RANGES",
    "COMBINE_RULES",
    "FLOAT32_MAX",
    "UnknownFilterError",
    "KernelFileError",
    "Kernel",
    "Filter",
    "frozen_copy",
    "checked_matrix",
    "default_range",
    "closest_names",
]

OPERATIONS = ("correlate", "convolve")
#: How the responses of several kernels become one: sqrt of the sum of squares, the
#: largest response, or the first minus the second.
COMBINE_RULES = ("magnitude", "max", "difference")
#: Largest kernel value (times its scale): photos are filtered in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class UnknownFilterError(ParameterError):
    """No filter has this name; the message lists the closest names.

    Examples
    --------
    >>> import convfx
    >>> try:
    ...     convfx.get_filter("sobelx")
    ... except convfx.UnknownFilterError as error:
    ...     print("sobel_x" in str(error))
    True
    """


class KernelFileError(ParameterError):
    """A kernel file or kernel string is missing, unreadable or invalid.

    A usage error (exit code 2): the file is an option the user chose, not one of
    the images being processed.
    """


@dataclass(frozen=True, eq=False)
class Kernel:
    """One 2-D kernel as written in its bank, and as it touches the pixels.

    Attributes
    ----------
    name : str
        The entry it was written in (``"sobel_x"``), or a label for arrays.
    values : ndarray, shape (kh, kw), float64, read-only
        The numbers as written, before ``scale`` and before any flip.
    scale : float
        Multiplies ``values``; ``scale_text`` is how the file wrote it (``"1/16"``).
    operation : {"correlate", "convolve"}
        What ``values`` is written for.  A convolution kernel is rotated by 180
        degrees to become the correlation kernel that is applied.

    Examples
    --------
    >>> import convfx
    >>> kernel = convfx.get_filter("sobel_x").kernels[0]
    >>> kernel.operation, kernel.weights.shape
    ('correlate', (3, 3))
    """

    name: str
    values: np.ndarray
    scale: float = 1.0
    scale_text: str = "1"
    operation: str = "correlate"

    @property
    def shape(self) -> tuple[int, int]:
        """``(kh, kw)``."""
        return self.values.shape

    @property
    def weights(self) -> np.ndarray:
        """The correlation kernel that touches the pixels, shape (kh, kw), float64.

        ``values * scale``, rotated by 180 degrees if written for convolution, so
        that ``convfx.correlate(image, kernel.weights)`` is the filter.
        """
        scaled = self.values * self.scale
        if self.operation == "convolve":
            scaled = scaled[::-1, ::-1]
        return frozen_copy(scaled)


@dataclass(frozen=True, eq=False)
class Filter:
    """A named filter: one kernel, or several whose responses are combined.

    Attributes
    ----------
    name : str
        Lower-case name (``"sobel"``).
    description : str
        One line for ``convfx filters``.
    kernels : tuple of Kernel
        One kernel, or the inputs of ``combine`` in order.
    combine : {"magnitude", "max", "difference"} or None
        How several responses become one (``None`` for a single kernel).
    output_range : {"abs", "clip", "signed", "normalize"}
        Default mapping of the float response to pixels.
    gray : bool
        Whether to filter the luminance only by default.
    family : str
        The bank it comes from (``"edges"``) or ``"user"``.
    source : str
        File (or ``"array"``, ``"ImageMagick string"``) it was defined in.
    factory : str or None
        Kernel family that :func:`with_parameters` rebuilds it with.
    parameters : dict
        The parameters it was built with (empty for a bank entry as written).

    Examples
    --------
    >>> import convfx
    >>> sobel = convfx.get_filter("sobel")
    >>> sobel.combine, [kernel.name for kernel in sobel.kernels], sobel.output_range
    ('magnitude', ['sobel_x', 'sobel_y'], 'abs')
    """

    name: str
    description: str
    kernels: tuple[Kernel, ...]
    combine: str | None = None
    output_range: str = "clip"
    gray: bool = False
    family: str = "user"
    source: str = ""
    factory: str | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """``(kh, kw)`` of the largest kernel."""
        return (max(k.shape[0] for k in self.kernels), max(k.shape[1] for k in self.kernels))

    @property
    def size_label(self) -> str:
        """``"3x3"``, or ``"2 x 3x3"`` for two combined 3x3 kernels."""
        kh, kw = self.size
        count = len(self.kernels)
        return f"{kh}x{kw}" if count == 1 else f"{count} x {kh}x{kw}"


def frozen_copy(array: np.ndarray) -> np.ndarray:
    """A read-only float64 copy of ``array``, which nobody else holds.

    Parameters
    ----------
    array : ndarray

    Returns
    -------
    ndarray of float64
        Not writeable.
    """
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def checked_matrix(array: np.ndarray, where: str) -> np.ndarray:
    """``array`` as a float64 kernel: 2-D, non-empty, at most :data:`~convfx.limits.MAX_KERNEL_SIDE` a side, finite, within float32.

    ``where`` starts the :class:`KernelFileError` message (the file and entry).

    Parameters
    ----------
    array : ndarray
    where : str

    Returns
    -------
    ndarray of float64, shape (kh, kw)
    """
    if array.ndim != 2:
        raise KernelFileError(f"{where}: expected a 2-D kernel (kh, kw), found shape {array.shape}")
    if array.size == 0:
        raise KernelFileError(f"{where}: expected a non-empty kernel, found shape {array.shape}")
    if max(array.shape) > MAX_KERNEL_SIDE:
        raise KernelFileError(
            f"{where}: kernel {array.shape[0]}x{array.shape[1]} is too large (at most {MAX_KERNEL_SIDE} per side)"
        )
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise KernelFileError(f"{where}: expected finite numbers, found NaN or inf")
    peak = float(np.abs(array).max())
    if peak > FLOAT32_MAX:  # photos are filtered in float32
        raise KernelFileError(f"{where}: expected numbers within float32's range (|x| <= {FLOAT32_MAX:.4g}), found {peak:g}")
    return array


def default_range(matrix: np.ndarray) -> str:
    """``"abs"`` for a kernel summing to zero (a derivative: both signs matter), else ``"clip"``.

    Parameters
    ----------
    matrix : ndarray, shape (kh, kw)

    Returns
    -------
    str
    """
    total, spread = float(np.sum(matrix)), float(np.sum(np.abs(matrix)))
    return "abs" if abs(total) <= 1e-9 * spread else "clip"


def closest_names(name: str, choices: Iterable[str], *, listed_by: str | None = "`convfx filters`") -> str:
    """The hint after an unknown name: ``"closest: sobel, sobel_x (`convfx filters` lists all 41)"``.

    ``listed_by`` names what lists exactly ``choices``, so that the count it quotes is
    the count it lists; ``None`` quotes the count alone (``"(45 known)"``).

    Parameters
    ----------
    name : str
        The unknown name.
    choices : iterable of str
        The names it could have meant.
    listed_by : str or None, optional

    Returns
    -------
    str
    """
    choices = sorted(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    wanted = name.lower().strip(" _-")  # "SOBEL" -> sobel, "canny_" -> canny
    close = [by_lower[c] for c in difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.5)]
    if not close:  # prefixes catch "gauss" -> gaussian_blur that difflib scores low
        close = [c for c in choices if c.lower().startswith(wanted[:3])][:5]
    hint = f"closest: {', '.join(close)}" if close else "none is close"
    return f"{hint} ({listed_by} lists all {len(choices)})" if listed_by else f"{hint} ({len(choices)} known)"
