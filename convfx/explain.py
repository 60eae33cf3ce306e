"""The numbers behind ``convfx explain conv`` and ``convfx explain pool``, step by step.

A small seeded integer image, a kernel (or a pooling window) and the sequence of
steps a sliding window takes: where the window is, what it multiplies (or pools),
and which output cell it fills.  The output values come from the real engines --
:func:`convfx.correlate` / :func:`convfx.convolve` for convolution and
:class:`convfx.nn.MaxPool2d` / :class:`convfx.nn.AvgPool2d` for pooling -- and each
step's sum (or max, or mean) is checked against them, so the animation can never
teach arithmetic that the library does not do.

This module computes; it does not draw (see :func:`convfx.plots.explain_gif_bytes`
and :func:`convfx.plots.explain_strip_figure`) or write files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .checks import checked_int, choice
from .conv import convolve, correlate, output_size
from .errors import ParameterError
from .nn.config import MAX_SEED  # the seed range of `convfx train`, for the same option name

__all__ = ["MAX_SIZE", "POOL_MODES", "Step", "Explanation", "explain_conv", "explain_pool"]

#: Largest input side drawn: beyond this the numbers in the cells become unreadable.
MAX_SIZE = 12
POOL_MODES = ("max", "avg")


@dataclass(frozen=True)
class Step:
    """One position of the sliding window.

    Attributes
    ----------
    row, column : int
        The output cell being filled.
    top, left : int
        The window's top-left corner in the padded input.
    window : ndarray, shape (k, k)
        The padded input under the window.
    terms : ndarray, shape (k, k)
        What is summed: ``window * kernel`` for convolution, the window itself for
        pooling.
    value : float
        The output cell's value, from the engine.
    """

    row: int
    column: int
    top: int
    left: int
    window: np.ndarray
    terms: np.ndarray
    value: float


@dataclass(frozen=True)
class Explanation:
    """A sliding-window operation on small numbers, ready to be drawn.

    Attributes
    ----------
    operation : {"cross-correlation", "convolution", "max pooling", "average pooling"}
    image : ndarray, shape (n, n)
        The seeded integer input (float64 holding integers).
    padded : ndarray, shape (n + 2p, n + 2p)
        ``image`` with ``padding`` zeros on every side.
    padding, window_size, stride : int
        ``p``, ``k`` and ``s``.
    kernel : ndarray, shape (k, k), or None
        The kernel as written (None for pooling).
    applied : ndarray, shape (k, k), or None
        What slides over the input: ``kernel`` for cross-correlation, ``kernel``
        rotated 180 degrees for convolution.
    output : ndarray, shape (m, m)
        The engine's result.
    steps : list of Step
        ``m * m`` steps in row-major order.
    formula : str
        The output-size formula with the numbers filled in.
    correlation : ndarray, shape (m, m), or None
        For convolution: the cross-correlation of the same numbers, to compare.
    """

    operation: str
    image: np.ndarray
    padded: np.ndarray
    padding: int
    window_size: int
    stride: int
    kernel: np.ndarray | None
    applied: np.ndarray | None
    output: np.ndarray
    steps: list[Step]
    formula: str
    correlation: np.ndarray | None = None


def _int_option(value, name: str, *, minimum: int, maximum: int | None = None) -> int:
    # Any bad value of an explain option is one usage error (ParameterError), whatever its type.
    return checked_int(value, name, minimum=minimum, maximum=maximum, type_error=ParameterError)


def _geometry(size: int, window: int, stride: int, padding: int | None, *, what: str) -> tuple[int, str]:
    """Output side and the formula text, after checking the window fits.

    ``padding`` None: pooling, which has no padding option (the formula uses 0).
    """
    size = _int_option(size, "size", minimum=1, maximum=MAX_SIZE)
    window = _int_option(window, what, minimum=1)
    stride = _int_option(stride, "stride", minimum=1)
    if padding is None:
        padding = 0
        if window > size:
            raise ParameterError(f"{what}: expected a pooling window of at most size = {size}, found {window}")
    padding = _int_option(padding, "padding", minimum=0, maximum=max(0, window - 1))
    if window > size + 2 * padding:
        raise ParameterError(f"{what}: expected at most size + 2*padding = {size + 2 * padding}, found {window}")
    m = output_size(size, window, stride=stride, padding=padding)
    formula = (
        f"output = floor((n + 2p - k) / s) + 1 = floor(({size} + 2*{padding} - {window}) / {stride}) + 1 = {m}"
    )
    return m, formula


def _steps(padded: np.ndarray, output: np.ndarray, window: int, stride: int, terms_of) -> list[Step]:
    """Every window position; each step's terms must reproduce the engine's output cell."""
    steps = []
    for row in range(output.shape[0]):
        for column in range(output.shape[1]):
            top, left = row * stride, column * stride
            patch = padded[top : top + window, left : left + window]
            terms, reduced = terms_of(patch)
            value = float(output[row, column])
            # Drawn arithmetic must be the library's arithmetic; a mismatch is a bug here.
            if not np.isclose(reduced, value, rtol=1e-9, atol=1e-9):
                raise AssertionError(f"step ({row}, {column}): drawn {reduced} != engine {value}")
            steps.append(Step(row, column, top, left, patch.copy(), terms, value))
    return steps


def explain_conv(
    *,
    size: int = 7,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 0,
    flip: bool = False,
    seed: int = 0,
) -> Explanation:
    """A kernel sliding over a padded integer image, one output cell per step.

    Parameters
    ----------
    size : int, optional
        Side ``n`` of the square input (1..12), integers 0..9.
    kernel : int, optional
        Side ``k`` of the square kernel, integers -2..2, never symmetric under a
        180-degree rotation (so that ``flip`` always shows a difference).
    stride : int, optional
        ``s`` >= 1.
    padding : int, optional
        ``p`` zeros on each side, 0..k-1.
    flip : bool, optional
        True: convolution (the kernel rotated 180 degrees slides); False:
        cross-correlation (what CNN layers compute).
    seed : int, optional
        Seeds the image and the kernel; 0..``2**63 - 1``.

    Returns
    -------
    Explanation
        ``m * m`` steps with ``m = floor((n + 2p - k) / s) + 1``.

    Raises
    ------
    ParameterError
        Naming the option that is out of range.

    Examples
    --------
    >>> e = explain_conv(size=7, kernel=3, stride=2, padding=1)
    >>> e.output.shape, len(e.steps)
    ((4, 4), 16)
    """
    k = _int_option(kernel, "kernel", minimum=1, maximum=MAX_SIZE)
    m, formula = _geometry(size, k, stride, padding, what="kernel")
    rng = np.random.default_rng(_int_option(seed, "seed", minimum=0, maximum=MAX_SEED))
    image = rng.integers(0, 10, size=(size, size)).astype(np.float64)
    weights = rng.integers(-2, 3, size=(k, k)).astype(np.float64)
    # A kernel equal to its own rotation would make --flip show nothing; redraw it.
    while k > 1 and np.array_equal(weights, weights[::-1, ::-1]):
        weights = rng.integers(-2, 3, size=(k, k)).astype(np.float64)
    correlation = correlate(image, weights, stride=stride, padding=padding).astype(np.float64)
    output = convolve(image, weights, stride=stride, padding=padding).astype(np.float64) if flip else correlation
    applied = weights[::-1, ::-1].copy() if flip else weights
    padded = np.pad(image, padding)

    def products(patch: np.ndarray) -> tuple[np.ndarray, float]:
        terms = patch * applied
        return terms, float(terms.sum())

    steps = _steps(padded, output, k, stride, products)
    assert output.shape == (m, m)
    return Explanation(
        "convolution" if flip else "cross-correlation",
        image,
        padded,
        padding,
        k,
        stride,
        weights,
        applied,
        output,
        steps,
        formula,
        correlation if flip else None,
    )


def explain_pool(
    *,
    size: int = 6,
    kernel: int = 2,
    stride: int | None = None,
    mode: Literal["max", "avg"] = "max",
    seed: int = 0,
) -> Explanation:
    """A pooling window sliding over an integer image, one output cell per step.

    Parameters
    ----------
    size : int, optional
        Side ``n`` of the square input (1..12), integers 0..9.
    kernel : int, optional
        Side ``k`` of the pooling window.
    stride : int or None, optional
        ``s``; default ``k`` (non-overlapping windows, as in LeNet).
    mode : {"max", "avg"}, optional
    seed : int, optional
        Seeds the image; 0..``2**63 - 1``.

    Returns
    -------
    Explanation
        With ``kernel`` and ``applied`` None; each step's ``terms`` is its window.

    Examples
    --------
    >>> e = explain_pool(size=4, kernel=2, mode="max", seed=1)
    >>> bool(e.output[0, 0] == e.image[:2, :2].max())
    True
    """
    from .nn.layers import AvgPool2d, MaxPool2d  # the network's own pooling is what is shown

    choice(mode, "mode", POOL_MODES)
    k = _int_option(kernel, "kernel", minimum=1, maximum=MAX_SIZE)
    s = k if stride is None else _int_option(stride, "stride", minimum=1)
    m, formula = _geometry(size, k, s, None, what="kernel")
    rng = np.random.default_rng(_int_option(seed, "seed", minimum=0, maximum=MAX_SEED))
    image = rng.integers(0, 10, size=(size, size)).astype(np.float64)
    layer = MaxPool2d(k, s) if mode == "max" else AvgPool2d(k, s)
    output = layer.forward(image[None, None])[0, 0].astype(np.float64)

    def pooled(patch: np.ndarray) -> tuple[np.ndarray, float]:
        return patch.copy(), float(patch.max() if mode == "max" else patch.mean())

    steps = _steps(image, output, k, s, pooled)
    assert output.shape == (m, m)
    return Explanation(
        "max pooling" if mode == "max" else "average pooling",
        image,
        image.copy(),
        0,
        k,
        s,
        None,
        None,
        output,
        steps,
        formula,
    )
