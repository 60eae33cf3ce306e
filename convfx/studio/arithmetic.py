"""The numbers behind one output pixel: the window, the kernel, the products, their sum.

For a pixel ``(x, y)`` of a result, :func:`explain_pixel` takes the input the engine
saw (the photo's pixels as float, or their luminance, or a model's normalised
input), pads it as :func:`convfx.correlate` defines (``numpy.pad`` with the
boundary mode), cuts the window under the kernel and multiplies it by the kernel
that touches the pixels.  The sum of the products (plus a bias, or combined with
the other kernels of the filter) is then checked against the response that
:func:`convfx.apply` computed at that pixel, so the page can never show arithmetic
that the library does not do.  The products are summed here in float64; the
engine computes in float32 (or through OpenCV or an FFT), so the two agree to
float32 precision, not bit for bit.

This module must not filter whole images (it reads the response it is given) or
know about HTTP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..banks import Filter
from ..color import to_luminance
from ..conv import compute_dtype, padding_amounts
from ..imageio import Picture
from ..nn.weights import ConvWeights
from ..ranges import STRETCHES, dtype_full_scale, stretch_limits
from .errors import RequestError
from .settings import Settings

__all__ = ["MAX_DRAWN_SIDE", "Term", "OutputChannel", "PixelArithmetic", "window_at", "explain_pixel"]

#: Largest kernel side whose window and products are sent to the page; beyond it
#: (a wide Gaussian) only the sums are, since hundreds of cells cannot be read.
MAX_DRAWN_SIDE = 15

#: How far the float64 sum may be from the engine's float32 response, relative to
#: the sum of the products' magnitudes (float32 carries about 7 digits; an FFT
#: loses one or two more on wide kernels).
RELATIVE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Term:
    """One kernel over one input channel at one pixel.

    Attributes
    ----------
    kernel : str
        The kernel's name (``"sobel_x"``, ``"kernel"``, ``"digits #3"``).
    input : str
        The input channel it reads (``"R"``, ``"luminance"``...).
    weights : ndarray, shape (kh, kw)
        The correlation kernel as it touches the pixels.
    window : ndarray, shape (kh, kw)
        The padded input under the kernel.
    """

    kernel: str
    input: str
    weights: np.ndarray
    window: np.ndarray

    @property
    def products(self) -> np.ndarray:
        """``window * weights``, shape (kh, kw), float64."""
        return self.window * self.weights

    @property
    def sum(self) -> float:
        """The sum of :attr:`products`, in float64."""
        return float(np.sum(self.products))


@dataclass(frozen=True)
class OutputChannel:
    """How one channel of the result at the pixel comes about.

    Attributes
    ----------
    name : str
        ``"R"``, ``"G"``, ``"B"``, ``"gray"``, ``"luminance"`` or ``"map"``.
    terms : tuple of Term
        Empty for a non-linear detector.
    bias : float
        Added to the sum (a learned kernel's bias; 0 for filters).
    combine : str or None
        How several terms become one value: ``"sum"`` (a learned kernel's input
        channels), ``"magnitude"``, ``"max"`` or ``"difference"``; None for one term.
    value : float or None
        What the terms give, computed here; None for a detector.
    library : float
        The response :func:`convfx.apply` computed at the pixel.
    pixel : int
        The result's pixel after the output range.
    """

    name: str
    terms: tuple[Term, ...]
    bias: float
    combine: str | None
    value: float | None
    library: float
    pixel: int

    @property
    def tolerance(self) -> float:
        """The largest difference between :attr:`value` and :attr:`library` that float32 rounding explains."""
        scale = sum(float(np.sum(np.abs(term.products))) for term in self.terms) + abs(self.bias)
        return RELATIVE_TOLERANCE * scale + 1e-6

    @property
    def agrees(self) -> bool | None:
        """Whether the arithmetic here gives the library's response (None for a detector)."""
        if self.value is None:
            return None
        if not (math.isfinite(self.value) and math.isfinite(self.library)):
            return self.value == self.library
        return abs(self.value - self.library) <= self.tolerance


@dataclass(frozen=True)
class PixelArithmetic:
    """Everything the page shows about one output pixel.

    Attributes
    ----------
    x, y : int
        The pixel (column, row).
    kind : {"linear", "learned", "detector"}
    outputs : tuple of OutputChannel
    top, left : int
        The window's top-left corner in the photo (negative near the border, where
        the boundary mode makes the pixels).
    kernel_shape : tuple of int
        ``(kh, kw)`` of the largest kernel.
    output_range : str
        How responses became pixels.
    response_min, response_max : float
        What the output range maps to black and white: for ``normalize`` and
        ``minmax`` the whole response's stretch limits
        (:func:`convfx.ranges.stretch_limits`), else its extremes.
    note : str
        One plain sentence about how the value comes about.
    """

    x: int
    y: int
    kind: str
    outputs: tuple[OutputChannel, ...]
    top: int
    left: int
    kernel_shape: tuple[int, int]
    output_range: str
    response_min: float
    response_max: float
    note: str = ""

    @property
    def agrees(self) -> bool | None:
        """Whether every output channel agrees with the library (None for a detector)."""
        checks = [output.agrees for output in self.outputs]
        return None if any(check is None for check in checks) else all(checks)

    def as_json(self) -> dict[str, Any]:
        """This arithmetic for the page: windows and products only for kernels up to :data:`MAX_DRAWN_SIDE`.

        Returns
        -------
        dict
            JSON-ready.
        """
        drawn = max(self.kernel_shape) <= MAX_DRAWN_SIDE

        def term(item: Term) -> dict[str, Any]:
            described: dict[str, Any] = {"kernel": item.kernel, "input": item.input, "sum": _json_number(item.sum)}
            if drawn:
                described |= {
                    "weights": item.weights.tolist(),
                    "window": item.window.tolist(),
                    "products": item.products.tolist(),
                }
            return described

        return {
            "x": self.x,
            "y": self.y,
            "kind": self.kind,
            "top": self.top,
            "left": self.left,
            "kernel_shape": list(self.kernel_shape),
            "drawn": drawn,
            "range": self.output_range,
            "response_min": _json_number(self.response_min),
            "response_max": _json_number(self.response_max),
            "note": self.note,
            "agrees": self.agrees,
            "outputs": [
                {
                    "name": output.name,
                    "terms": [term(item) for item in output.terms],
                    "bias": output.bias,
                    "combine": output.combine,
                    "value": _json_number(output.value),
                    "library": _json_number(output.library),
                    "tolerance": output.tolerance,
                    "agrees": output.agrees,
                    "pixel": output.pixel,
                }
                for output in self.outputs
            ],
        }


def _json_number(value: float | None) -> float | str | None:
    """JSON has no inf or NaN: those become the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
    if value is None or math.isfinite(value):
        return value
    return str(value)


def window_at(channel: np.ndarray, y: int, x: int, shape: tuple[int, int], boundary: str) -> tuple[np.ndarray, int, int]:
    """The padded input under a ``(kh, kw)`` kernel whose output lands on ``(y, x)``.

    The same numbers as ``numpy.pad(channel, pads, mode=boundary)`` cut at the
    window (zeros beyond the border for ``"constant"``), found by padding the row
    and column *indices* instead of the image: a few hundred numbers, not a copy of
    a megapixel photo.

    Parameters
    ----------
    channel : ndarray, shape (H, W)
    y, x : int
        The output pixel.
    shape : tuple of int
        ``(kh, kw)``.
    boundary : str
        One of :data:`convfx.conv.BOUNDARIES`.

    Returns
    -------
    window : ndarray, shape (kh, kw), float64
    top, left : int
        The window's top-left corner in ``channel``'s coordinates (negative in the padding).
    """
    top_pad, bottom_pad, left_pad, right_pad = padding_amounts(shape)

    def indices(size: int, before: int, after: int) -> np.ndarray:
        if boundary == "constant":
            return np.pad(np.arange(size), (before, after), mode="constant", constant_values=-1)
        return np.pad(np.arange(size), (before, after), mode=boundary)  # type: ignore[call-overload]

    rows = indices(channel.shape[0], top_pad, bottom_pad)[y : y + shape[0]]
    columns = indices(channel.shape[1], left_pad, right_pad)[x : x + shape[1]]
    window = np.asarray(channel, dtype=np.float64)[np.ix_(np.maximum(rows, 0), np.maximum(columns, 0))]
    window[(rows < 0)[:, None] | (columns < 0)[None, :]] = 0.0
    return window, y - top_pad, x - left_pad


def _channel_names(image: np.ndarray, gray: bool) -> list[str]:
    if image.ndim == 2:
        return ["luminance" if gray else "gray"]
    return list("RGB") if image.shape[2] == 3 else [f"channel {c}" for c in range(image.shape[2])]


def _combined(values: list[float], combine: str | None) -> float:
    if combine is None:
        return values[0]
    if combine == "magnitude":
        return math.sqrt(sum(value * value for value in values))
    if combine == "max":
        return max(values)
    return values[0] - values[1]  # "difference"


def _at(array: np.ndarray, y: int, x: int, channel: int) -> float:
    value = array[y, x] if array.ndim == 2 else array[y, x, channel]
    return float(value)


def explain_pixel(
    settings: Settings,
    picture: Picture,
    response: np.ndarray,
    pixels: np.ndarray,
    x: Any,
    y: Any,
    *,
    weights: ConvWeights | None = None,
) -> PixelArithmetic:
    """The arithmetic behind the result's pixel ``(x, y)``, checked against the library's response.

    Parameters
    ----------
    settings : Settings
        The request that gave the result.
    picture : convfx.imageio.Picture
        The photo it was computed from.
    response : ndarray, shape (H, W) or (H, W, C)
        ``convfx.apply(picture.pixels, settings.effect, ...)``.
    pixels : ndarray
        ``convfx.map_range(response, ...)``: the result's pixels.
    x, y : int
        Column and row of the output pixel.
    weights : ConvWeights, optional
        The model's conv weights, for a learned kernel.

    Returns
    -------
    PixelArithmetic

    Raises
    ------
    RequestError
        ``x`` or ``y`` not an int inside the result.
    """
    height, width = response.shape[:2]
    for name, value, size in (("x", x, width), ("y", y, height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise RequestError(f"{name}: expected an int in 0..{size - 1}, found {value!r:.40}")
    if response.dtype == bool:
        low, high = 0.0, 1.0
    elif settings.policy in STRETCHES:
        low, high = stretch_limits(lambda: [response], settings.policy)
    else:
        low, high = float(np.min(response)), float(np.max(response))
    common = {"x": x, "y": y, "output_range": settings.policy, "response_min": low, "response_max": high}
    step = settings.effect.steps[0]
    source = picture.pixels
    gray = settings.filters_gray
    if gray and source.ndim == 3:
        source = to_luminance(source)  # what apply filters: the luminance, in float32
    if isinstance(step, Filter):
        label = "your kernel" if settings.source == "grid" else step.name
        return _linear(step, label, source, gray, settings.boundary, response, pixels, common)
    if settings.source == "learned" and weights is not None and settings.index is not None:
        full_scale = dtype_full_scale(picture.pixels.dtype)
        return _learned(weights, settings.index, source, full_scale, settings.boundary, response, pixels, common)
    outputs = tuple(
        OutputChannel(name, (), 0.0, None, None, _at(response, y, x, c), int(_at(pixels, y, x, c)))
        for c, name in enumerate(_channel_names(response, gray) if response.dtype != bool else ["edge map"])
    )
    note = f"{step.name} is a non-linear detector: its output is not one weighted sum of a window."
    return PixelArithmetic(kind="detector", outputs=outputs, top=y, left=x, kernel_shape=(1, 1), note=note, **common)


def _linear(
    step: Filter,
    label: str,
    source: np.ndarray,
    gray: bool,
    boundary: str,
    response: np.ndarray,
    pixels: np.ndarray,
    common: dict[str, Any],
) -> PixelArithmetic:
    x, y = common["x"], common["y"]
    image = np.asarray(source, dtype=compute_dtype(source.dtype))  # what the engine multiplies
    names = _channel_names(image, gray)
    shape = (max(k.shape[0] for k in step.kernels), max(k.shape[1] for k in step.kernels))
    outputs = []
    top = left = 0
    for c, name in enumerate(names):
        channel = image if image.ndim == 2 else image[:, :, c]
        terms = []
        for kernel in step.kernels:
            window, top_k, left_k = window_at(channel, y, x, kernel.shape, boundary)
            if kernel.shape == shape:
                top, left = top_k, left_k
            terms.append(Term(kernel=kernel.name, input=name, weights=np.asarray(kernel.weights), window=window))
        value = _combined([term.sum for term in terms], step.combine)
        outputs.append(
            OutputChannel(name, tuple(terms), 0.0, step.combine, value, _at(response, y, x, c), int(_at(pixels, y, x, c)))
        )
    rule = {
        None: "the sum of the products",
        "magnitude": "the square root of the sum of the kernels' squared sums",
        "max": "the largest of the kernels' sums",
        "difference": "the first kernel's sum minus the second's",
    }[step.combine]
    note = f"{label}: each output value is {rule}."
    return PixelArithmetic(kind="linear", outputs=tuple(outputs), top=top, left=left, kernel_shape=shape, note=note, **common)


def _learned(
    weights: ConvWeights,
    index: int,
    source: np.ndarray,
    full_scale: float,
    boundary: str,
    response: np.ndarray,
    pixels: np.ndarray,
    common: dict[str, Any],
) -> PixelArithmetic:
    """A learned kernel: the window of the network's input, ``(pixels / full_scale - mean) / std``, per input channel."""
    x, y = common["x"], common["y"]
    dtype = weights.weight.dtype
    image = np.asarray(source)
    # The network's view of the photo, as convfx.learned.learned_responses makes it.
    if weights.channels == 1:
        image = to_luminance(image) if image.ndim == 3 and image.shape[2] == 3 else image.reshape(image.shape[:2])
        image = image[:, :, None]
        inputs = ["luminance"]
    else:
        if image.ndim == 2 or image.shape[2] == 1:
            image = np.repeat(image.reshape(image.shape[:2])[:, :, None], 3, axis=2)
        inputs = list("RGB")
    kernel = weights.weight[index]  # (C, kh, kw)
    mean, std = weights.input_mean.astype(dtype), weights.input_std.astype(dtype)
    terms = []
    top = left = 0
    for c, name in enumerate(inputs):
        channel = (image[:, :, c].astype(dtype) / dtype.type(full_scale) - mean[c]) / std[c]
        window, top, left = window_at(channel, y, x, kernel.shape[1:], boundary)
        terms.append(Term(kernel=f"#{index}", input=name, weights=np.asarray(kernel[c], dtype=np.float64), window=window))
    bias = float(weights.bias[index])
    value = sum(term.sum for term in terms) + bias
    output = OutputChannel(
        "map", tuple(terms), bias, "sum" if len(terms) > 1 else None, value, _at(response, y, x, 0), int(_at(pixels, y, x, 0))
    )
    note = (
        f"kernel #{index} of the model's first layer: the window is the network's input "
        f"(pixel / {full_scale:g}, minus the mean, divided by the spread the model was trained with); "
        "the value is the sum of the products over every input channel, plus the bias."
    )
    return PixelArithmetic(
        kind="learned", outputs=(output,), top=top, left=left, kernel_shape=tuple(kernel.shape[1:]), note=note, **common
    )
