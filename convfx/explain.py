"""The numbers behind ``convfx explain conv`` and ``convfx explain pool``, step by step.

A small seeded integer image, a kernel (or a pooling window) and the sequence of
steps a sliding window takes: where the window is, what it multiplies (or pools),
and which output cell it fills.  The output values come from the real engines --
:func:`convfx.correlate` / :func:`convfx.convolve` for convolution and
:class:`convfx.nn.MaxPool2d` / :class:`convfx.nn.AvgPool2d` for pooling -- and each
step's sum (or max, or mean) is checked against them, so the animation can never
teach arithmetic that the library does not do.

:func:`explain_conv` is one channel and one kernel; :func:`explain_volume` is the
convolutional layer in three dimensions: an input of depth C, F kernels of
shape k x k x C, each summed over the whole box plus its bias into one value, so
that the output has depth F.

This module computes; it does not draw (see :func:`convfx.plots.explain_gif_bytes`
and :func:`convfx.plots.explain_strip_figure`) or write files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .checks import checked_int, choice
from .conv import convolve, correlate, output_size
from .errors import ParameterError
from .nn.config import MAX_SEED  # the seed range of `convfx train`, for the same option name

__all__ = [
    "MAX_SIZE",
    "MAX_CHANNELS",
    "MAX_FILTERS",
    "POOL_MODES",
    "Step",
    "Explanation",
    "VolumeStep",
    "VolumeExplanation",
    "explain_conv",
    "explain_volume",
    "explain_pool",
    "PIXEL_VALUES",
    "WEIGHT_VALUES",
    "FRAME_MILLISECONDS",
]

#: Largest input side drawn: beyond this the numbers in the cells become unreadable.
MAX_SIZE = 12
#: Largest depth of the input (C) and of the output (F) in :func:`explain_volume`.
MAX_CHANNELS = 4
MAX_FILTERS = 4
POOL_MODES = ("max", "avg")
#: The seeded integers drawn: inputs from 0 to 9, kernel weights and biases from -2 to 2
#: (``(low, high)`` with ``high`` excluded, as ``numpy.random.Generator.integers``).
PIXEL_VALUES = (0, 10)
WEIGHT_VALUES = (-2, 3)
#: Time per frame of an animation, in milliseconds (the last frame is held 3 times as long).
FRAME_MILLISECONDS = 700


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
        The output cell's value, from the engine: ``terms.sum() + bias`` for
        convolution.
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
    bias : float
        Added to every sum of products (0 for pooling, which has none).
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
    bias: float = 0.0


@dataclass(frozen=True)
class VolumeStep:
    """One position of one k x k x C kernel box in the input volume.

    Attributes
    ----------
    filter : int
        Which of the F kernels (the output plane being filled).
    row, column : int
        The output cell being filled in that plane.
    top, left : int
        The box's top-left corner in the padded input.
    window : ndarray, shape (k, k, C)
        The padded input under the box.
    products : ndarray, shape (k, k, C)
        ``window * applied[filter]``, every product of the box.
    channel_sums : ndarray, shape (C,)
        ``products`` summed over each channel's k x k slice.
    value : float
        The output cell, from the engine: ``channel_sums.sum() + bias[filter]``.
    """

    filter: int
    row: int
    column: int
    top: int
    left: int
    window: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    value: float


@dataclass(frozen=True)
class VolumeExplanation:
    """A convolutional layer on a small input volume, ready to be drawn.

    Attributes
    ----------
    operation : {"cross-correlation", "convolution"}
    image : ndarray, shape (n, n, C)
        The seeded integer input (float64 holding integers), channels last.
    padded : ndarray, shape (n + 2p, n + 2p, C)
        ``image`` with ``padding`` zeros around each channel (not in depth).
    padding, window_size, stride : int
        ``p``, ``k`` and ``s``.
    kernels : ndarray, shape (F, k, k, C)
        The kernels as written.
    applied : ndarray, shape (F, k, k, C)
        What slides: ``kernels`` for cross-correlation, each kernel rotated 180
        degrees in its two spatial axes (not in depth) for convolution.
    bias : ndarray, shape (F,)
        One bias per kernel, added once to each sum over its box.
    output : ndarray, shape (m, m, F)
        The engine's result: plane ``f`` is kernel ``f``'s output.
    steps : list of VolumeStep
        ``F * m * m`` steps: kernel 0's plane in row-major order, then kernel 1's...
    formula : str
        The output-size formula with the numbers filled in.
    correlation : ndarray, shape (m, m, F), or None
        For convolution: the cross-correlation of the same numbers, to compare.
    """

    operation: str
    image: np.ndarray
    padded: np.ndarray
    padding: int
    window_size: int
    stride: int
    kernels: np.ndarray
    applied: np.ndarray
    bias: np.ndarray
    output: np.ndarray
    steps: list[VolumeStep]
    formula: str
    correlation: np.ndarray | None = None

    @property
    def channels(self) -> int:
        """C, the depth of the input and of every kernel."""
        return int(self.image.shape[2])

    @property
    def filters(self) -> int:
        """F, the number of kernels and the depth of the output."""
        return int(self.kernels.shape[0])


def _int_option(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
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
    formula = f"output = floor((n + 2p - k) / s) + 1 = floor(({size} + 2*{padding} - {window}) / {stride}) + 1 = {m}"
    return m, formula


def _steps(
    padded: np.ndarray,
    output: np.ndarray,
    window: int,
    stride: int,
    terms_of: Callable[[np.ndarray], tuple[np.ndarray, float]],
) -> list[Step]:
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


def _bias_option(bias: Any, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` biases: ``bias`` for each, or seeded integers in -2..2 when it is None."""
    if bias is None:
        return rng.integers(*WEIGHT_VALUES, size=count).astype(np.float64)
    if isinstance(bias, bool) or not isinstance(bias, (int, float, np.integer, np.floating)) or not np.isfinite(bias):
        raise ParameterError(f"bias: expected a finite number, found {bias!r}")
    return np.full(count, float(bias))


def explain_conv(
    *,
    size: int = 7,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 0,
    flip: bool = False,
    bias: float | None = None,
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
    bias : float, optional
        Added to every sum of products, as a CNN layer adds its ``b``; default a
        seeded integer in -2..2 (0 shows plain filtering).
    seed : int, optional
        Seeds the image, the kernel and the bias; 0..``2**63 - 1``.

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
    image = rng.integers(*PIXEL_VALUES, size=(size, size)).astype(np.float64)
    weights = rng.integers(*WEIGHT_VALUES, size=(k, k)).astype(np.float64)
    # A kernel equal to its own rotation would make --flip show nothing; redraw it.
    while k > 1 and np.array_equal(weights, weights[::-1, ::-1]):
        weights = rng.integers(*WEIGHT_VALUES, size=(k, k)).astype(np.float64)
    b = float(_bias_option(bias, rng, 1)[0])
    correlation = correlate(image, weights, bias=b, stride=stride, padding=padding).astype(np.float64)
    output = convolve(image, weights, bias=b, stride=stride, padding=padding).astype(np.float64) if flip else correlation
    applied = weights[::-1, ::-1].copy() if flip else weights
    padded = np.pad(image, padding)

    def products(patch: np.ndarray) -> tuple[np.ndarray, float]:
        terms = patch * applied
        return terms, float(terms.sum()) + b

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
        b,
    )


def explain_volume(
    *,
    size: int = 7,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 0,
    channels: int = 3,
    filters: int = 2,
    flip: bool = False,
    bias: float | None = None,
    seed: int = 0,
) -> VolumeExplanation:
    """F kernels of shape k x k x C sliding over an input volume of depth C, one output cell per step.

    Every step multiplies the whole k x k x C box under the kernel, sums the
    products over width, height *and* depth, and adds the kernel's bias: one
    number, so each kernel's output has depth 1 and F kernels give depth F --
    ``y[x, y, f] = sum_m sum_n sum_c K[f, m, n, c] * I[x + m, y + n, c] + b[f]``.

    Parameters
    ----------
    size, kernel, stride, padding
        As for :func:`explain_conv`; padding adds zeros around each channel, never in depth.
    channels : int, optional
        Depth C of the input and of every kernel, 1..4.
    filters : int, optional
        Number F of kernels, the depth of the output, 1..4.
    flip : bool, optional
        True: convolution, each kernel rotated 180 degrees in its two spatial axes
        (not in depth); False: cross-correlation (what CNN layers compute).
    bias : float, optional
        Every kernel's bias; default seeded integers in -2..2, one per kernel.
    seed : int, optional
        Seeds the input, the kernels and the biases; 0..``2**63 - 1``.

    Returns
    -------
    VolumeExplanation
        ``F * m * m`` steps; the output comes from :func:`convfx.correlate` (or
        :func:`convfx.convolve`) with a ``(k, k, C)`` kernel, or an
        ``(F, k, k, C)`` bank when F > 1, and every step's products, channel sums
        and bias are checked against it.

    Raises
    ------
    ParameterError
        Naming the option that is out of range.

    Examples
    --------
    >>> e = explain_volume(size=5, kernel=3, channels=3, filters=2)
    >>> e.output.shape, len(e.steps), e.steps[0].channel_sums.shape
    ((3, 3, 2), 18, (3,))
    """
    k = _int_option(kernel, "kernel", minimum=1, maximum=MAX_SIZE)
    c = _int_option(channels, "channels", minimum=1, maximum=MAX_CHANNELS)
    f = _int_option(filters, "filters", minimum=1, maximum=MAX_FILTERS)
    m, formula = _geometry(size, k, stride, padding, what="kernel")
    rng = np.random.default_rng(_int_option(seed, "seed", minimum=0, maximum=MAX_SEED))
    image = rng.integers(*PIXEL_VALUES, size=(size, size, c)).astype(np.float64)
    kernels = rng.integers(*WEIGHT_VALUES, size=(f, k, k, c)).astype(np.float64)
    for index in range(f):
        # A kernel equal to its own spatial rotation would make --flip show nothing; redraw it.
        while k > 1 and np.array_equal(kernels[index], kernels[index, ::-1, ::-1]):
            kernels[index] = rng.integers(*WEIGHT_VALUES, size=(k, k, c))
    biases = _bias_option(bias, rng, f)
    # One (k, k, C) kernel gives an (m, m) map; a bank of F gives (m, m, F).
    engine_kernel, engine_bias = (kernels[0], float(biases[0])) if f == 1 else (kernels, biases)

    def run(engine: Callable[..., np.ndarray]) -> np.ndarray:
        out = engine(image, engine_kernel, bias=engine_bias, stride=stride, padding=padding).astype(np.float64)
        return out.reshape(m, m, f)

    correlation = run(correlate)
    output = run(convolve) if flip else correlation
    applied = kernels[:, ::-1, ::-1, :].copy() if flip else kernels
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    steps = []
    for index in range(f):
        for row in range(m):
            for column in range(m):
                top, left = row * stride, column * stride
                window = padded[top : top + k, left : left + k, :].copy()
                products = window * applied[index]
                channel_sums = products.sum(axis=(0, 1))
                value = float(output[row, column, index])
                drawn = float(channel_sums.sum()) + float(biases[index])
                # Drawn arithmetic must be the library's arithmetic; a mismatch is a bug here.
                if not np.isclose(drawn, value, rtol=1e-9, atol=1e-9):
                    raise AssertionError(f"step (filter {index}, {row}, {column}): drawn {drawn} != engine {value}")
                steps.append(VolumeStep(index, row, column, top, left, window, products, channel_sums, value))
    return VolumeExplanation(
        "convolution" if flip else "cross-correlation",
        image,
        padded,
        padding,
        k,
        stride,
        kernels,
        applied,
        biases,
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
