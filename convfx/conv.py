"""The convolution engine: exact cross-correlation and convolution, fast.

Everything in convfx that slides a kernel over an array comes through here: named
filters and chains (:mod:`convfx.effects`), learned-filter effects, and -- through
the patch matrices of :mod:`convfx.im2col` -- the
CNN's ``Conv2d`` and pooling layers.  This module

* validates the input (with :mod:`convfx.checks`) and says, in one line, which
  parameter is wrong;
* works out the padding geometry (:func:`output_size` is the single formula);
* picks the fastest exact backend (:func:`choose_backend`) and hides the choice:
  ``filter2d`` (OpenCV), ``separable`` (two 1-D passes for a rank-1 kernel),
  ``fft``, ``im2col`` (one BLAS product for banks of kernels) or ``direct``
  (shift-and-add), all computed in :mod:`convfx.backends`.

The definition every backend is tested against is: pad the image with
``numpy.pad(mode=boundary)``, then take the valid correlation -- written out as
plain loops, the formula on one line, in :func:`convfx.reference.correlate`.

It must not know about files, colour spaces or filter names, and imports only
numpy besides :mod:`convfx.backends`, :mod:`convfx.checks`, :mod:`convfx.errors`,
:mod:`convfx.limits` and :mod:`convfx.im2col`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

import numpy as np
from numpy.typing import DTypeLike

from . import backends
from .backends import Boundary
from .checks import choice, finite_float, int_pair, nonnegative_int, positive_int, real_array
from .errors import ParameterError, ParameterTypeError
from .im2col import output_length
from .limits import MAX_PADDED_VALUES

__all__ = [
    "BOUNDARIES",
    "PADDINGS",
    "BACKENDS",
    "correlate",
    "convolve",
    "output_size",
    "padding_amounts",
    "choose_backend",
    "windowed",
]

BOUNDARIES = ("constant", "edge", "reflect", "symmetric", "wrap")
PADDINGS = ("valid", "same", "full")
BACKENDS = ("auto", "direct", "filter2d", "separable", "fft", "im2col")

Padding = Union[int, tuple[int, int], Literal["valid", "same", "full"]]
IntPair = Union[int, tuple[int, int]]

# Backend crossovers for photo-sized float32 images (benchmarks/bench_conv.py times
# every backend).  They only decide speed, never the result.  OpenCV's filter2D
# switches to its own DFT for large kernels, so it wins for one kernel up to about
# 63x63; FFT wins once the image transform is shared by several kernels.
_SEPARABLE_MIN_SIZE = 5  # below this, filter2D's 2-D kernel is as fast as two passes
_FFT_MIN_AREA = 64 * 64  # one kernel per channel: from here scipy's FFT beats filter2D
_CV2_DFT_MIN_AREA = 50  # filter2D filters through a DFT from this many taps (OpenCV's dftFilter2D; 130 for float32 with SSE3)
_FFT_MIN_AREA_SUMMED = 15 * 15  # kernels summed over channels / banks
# im2col's patch matrix is memory-bound: it beats F*C filter2D passes for many
# filters, or for several filters on an image small enough to stay in cache.
_IM2COL_MIN_PASSES = 64  # F*C
_IM2COL_MIN_FILTERS_SMALL = 9
_IM2COL_SMALL_PIXELS = 512 * 512
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)  # the native dtypes compute_dtype returns


# --------------------------------------------------------------------------- geometry


def output_size(
    n: int,
    k: int,
    *,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
) -> int:
    """Length of a correlation/convolution output along one axis.

    Parameters
    ----------
    n : int
        Input length (>= 1).
    k : int
        Kernel length (>= 1).
    stride : int, optional
        Step between output positions (>= 1).
    padding : int or {"valid", "same", "full"}, optional
        Pixels added on *each* side, or a scipy-style mode.
    dilation : int, optional
        Spacing between kernel taps (>= 1); the kernel spans ``dilation*(k-1)+1``.

    Returns
    -------
    int
        ``floor((n + 2*padding - k_eff) / stride) + 1`` where ``k_eff`` is the
        dilated kernel length.  For string modes the total padding is
        ``0`` (valid), ``k_eff - 1`` (same) or ``2*(k_eff - 1)`` (full).

    Raises
    ------
    ValueError
        If an argument is out of range or the kernel is larger than the padded input.

    Examples
    --------
    A 28x28 input with a 5x5 kernel:

    >>> output_size(28, 5)
    24
    >>> output_size(28, 5, padding=1)
    26
    >>> output_size(32, 5, stride=2, padding="same")
    16
    """
    n = positive_int(n, "n")
    k = positive_int(k, "k")
    stride = positive_int(stride, "stride")
    dilation = positive_int(dilation, "dilation")
    before, after = _axis_padding(padding, dilation * (k - 1) + 1, flip=False, axis_name="")
    return _axis_output(n, k, stride, before + after, dilation, axis="")


def _axis_output(n: int, k: int, stride: int, total_pad: int, dilation: int, axis: str) -> int:
    return output_length(n + total_pad, k, stride=stride, dilation=dilation, axis=axis)


def _axis_padding(padding: object, k_eff: int, *, flip: bool, axis_name: str) -> tuple[int, int]:
    """(before, after) padding along one axis for an int or a string mode."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "full":
            return k_eff - 1, k_eff - 1
        if padding == "same":
            # scipy.signal.correlate2d puts the extra row/column of an even kernel
            # after the image, convolve2d before it (tests/test_conv.py checks both).
            small, large = (k_eff - 1) // 2, k_eff // 2
            return (large, small) if flip else (small, large)
        raise ParameterError(
            f"padding: invalid value {padding!r}; expected an int >= 0, a pair of ints, or one of {list(PADDINGS)}"
        )
    p = nonnegative_int(padding, "padding" + axis_name)
    return p, p


def padding_amounts(
    kernel_shape: tuple[int, int],
    *,
    padding: Padding = "same",
    dilation: IntPair = 1,
    flip: bool = False,
) -> tuple[int, int, int, int]:
    """Pixels padded ``(top, bottom, left, right)`` for a kernel of ``(kh, kw)``.

    ``flip=True`` gives the geometry of true convolution (it differs from
    correlation only for ``"same"`` with an even kernel, as in scipy).

    Parameters
    ----------
    kernel_shape : tuple of int
        ``(kh, kw)``.
    padding : {"same", "valid", "full"} or int or pair of int, optional
        As :func:`convfx.correlate` takes it.
    dilation : int or pair of int, optional
    flip : bool, optional

    Returns
    -------
    tuple of int
        ``(top, bottom, left, right)``.
    """
    dh, dw = int_pair(dilation, "dilation", minimum=1)
    return _padding_geometry(kernel_shape, padding, dh, dw, flip=flip)


def _padding_pair(padding: object) -> tuple[object, object]:
    """``(ph, pw)`` as given (not checked yet) from one value or a pair."""
    if isinstance(padding, str):
        return padding, padding
    if isinstance(padding, (tuple, list, np.ndarray)):
        if np.ndim(padding) != 1 or len(padding) != 2 or isinstance(padding[0], str) or isinstance(padding[1], str):
            raise ParameterError(
                f"padding: expected an int, a pair of ints (ph, pw) or one of {list(PADDINGS)}; found {padding!r}"
            )
        return padding[0], padding[1]
    return padding, padding


# --------------------------------------------------------------------------- dtype


def compute_dtype(dtype: DTypeLike) -> np.dtype:
    """The dtype convfx computes and returns in: float64 for float64 input, else float32.

    Always in the machine's byte order: a big-endian float64 (``'>f8'``) is
    float64 too, computed and returned as a native float64.
    """
    dtype = np.dtype(dtype)
    return _FLOAT64 if dtype.kind == "f" and dtype.itemsize == 8 else _FLOAT32


# --------------------------------------------------------------------------- public API


def correlate(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    bias: float | np.ndarray = 0.0,
    stride: IntPair = 1,
    padding: Padding = "same",
    boundary: Boundary = "constant",
    cval: float = 0.0,
    dilation: IntPair = 1,
    backend: str = "auto",
) -> np.ndarray:
    r"""Cross-correlate an image with a kernel, a channel-summing kernel or a bank.

    Computes, for every output position,

    .. math:: C(x, y) = \sum_m \sum_n \sum_c K[m, n, c]\, I_p[s_h x + d_h m, s_w y + d_w n, c] + b

    where :math:`I_p` is the image padded with ``numpy.pad(mode=boundary)``,
    :math:`s` the stride and :math:`d` the dilation.  This is what deep-learning
    frameworks call "convolution".

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype.  float64 is computed and returned as float64; every other
        dtype (float32, float16, uint8, uint16, int, bool) as float32.  Integers are
        converted first, so nothing wraps or clips.
    kernel : array_like
        One of

        * ``(kh, kw)`` -- applied to every channel independently; the output keeps
          the image's channel axis.
        * ``(kh, kw, C)`` -- ``C`` equal to the image's channels (1 for a 2-D
          image); summed over channels plus ``bias``; output ``(H', W')``.
        * ``(F, kh, kw, C)`` -- a bank of ``F`` such kernels (one CNN layer applied
          to one image); output ``(H', W', F)``.

        Any size up to the padded image, square or not, odd or even; finite values.
    bias : float or array_like of shape (F,), optional
        Added to every output value (per filter for a bank; per channel, shape
        ``(C,)``, for a 2-D kernel on a multi-channel image).
    stride : int or (int, int), optional
        Keep every ``s``-th output position starting at the first (>= 1).
    padding : int, (int, int) or {"valid", "same", "full"}, optional
        An int ``p`` or pair ``(ph, pw)`` pads that many pixels on each side and then
        takes the valid part (the CNN convention).  The strings reproduce exactly the
        output geometry of ``scipy.signal.correlate2d`` in those modes, including
        where the extra row/column of an even kernel goes.  Default ``"same"``.
    boundary : {"constant", "edge", "reflect", "symmetric", "wrap"}, optional
        How padded pixels are made; the names and meanings of ``numpy.pad`` modes.
        ``"reflect"`` mirrors without repeating the edge pixel (OpenCV's default
        ``BORDER_REFLECT_101``), ``"symmetric"`` repeats it.
    cval : float, optional
        Value of the padded pixels for ``boundary="constant"``.
    dilation : int or (int, int), optional
        Spacing between kernel taps (>= 1, "atrous" convolution).
    backend : {"auto", "direct", "filter2d", "separable", "fft", "im2col"}, optional
        Force a backend (for tests and benchmarks).  ``"auto"`` picks the fastest
        exact one; every backend gives the same result to floating-point rounding.
        ``"separable"`` requires a rank-1 kernel.

    Returns
    -------
    ndarray, shape (H', W'), (H', W', C) or (H', W', F)
        float64 for float64 images, float32 otherwise, with
        ``H' = output_size(H, kh, stride=sh, padding=ph)`` (same for ``W'``).

    Raises
    ------
    ValueError
        Empty image or kernel, NaN/inf in kernel or bias, kernel larger than the
        padded image, channel mismatch, stride < 1, negative padding, unknown
        ``boundary``/``padding``/``backend``, image with 4+ dimensions, bias of the
        wrong shape.
    TypeError
        Complex, object or string dtypes; non-integer stride or padding.

    See Also
    --------
    convolve : the same with the kernel rotated by 180 degrees.
    output_size : the size formula.
    convfx.reference.correlate : the same definition as plain loops, the formula on one line.

    Notes
    -----
    ``convolve(x, k) == correlate(x, k[::-1, ::-1])`` holds for every numeric
    padding and for odd kernels; for an even kernel with ``padding="same"`` the two
    differ by the one-pixel shift scipy also has.

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> convfx.correlate(image, [[1, 0, -1]], padding="valid")
    array([[-2., -2.],
           [-2., -2.],
           [-2., -2.],
           [-2., -2.]])
    """
    return _filter(image, kernel, bias, stride, padding, boundary, cval, dilation, backend, flip=False)


def convolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    bias: float | np.ndarray = 0.0,
    stride: IntPair = 1,
    padding: Padding = "same",
    boundary: Boundary = "constant",
    cval: float = 0.0,
    dilation: IntPair = 1,
    backend: str = "auto",
) -> np.ndarray:
    """Convolve an image with a kernel: correlation with the kernel rotated 180 degrees.

    Same parameters, shapes, dtypes and errors as :func:`correlate`; only the
    spatial axes of the kernel are rotated (not the channel or filter axes).  With
    string paddings the geometry is that of ``scipy.signal.convolve2d``.  The
    plain-loop definition is :func:`convfx.reference.convolve`.

    Parameters
    ----------
    image, kernel, bias, stride, padding, boundary, cval, dilation, backend
        As for :func:`correlate`.

    Returns
    -------
    ndarray
        As :func:`correlate` returns it, for the kernel rotated 180 degrees.

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> convfx.convolve(image, [[1, 0, -1]], padding="valid")[0]
    array([2., 2.])
    """
    return _filter(image, kernel, bias, stride, padding, boundary, cval, dilation, backend, flip=True)


# --------------------------------------------------------------------------- the engine


def _filter(
    image: np.ndarray,
    kernel: np.ndarray,
    bias: float | np.ndarray,
    stride: IntPair,
    padding: Padding,
    boundary: Boundary,
    cval: float,
    dilation: IntPair,
    backend: str,
    *,
    flip: bool,
) -> np.ndarray:
    # What a call does apart from filtering depends only on the kernel, the options
    # and the image's shape and dtype: checked once into a _Plan, which later calls
    # with the same ones reuse (_PLANS).  A small kernel on a photo takes a few
    # milliseconds, and each of the plan's sixty-odd Python steps runs on caches
    # the previous call's output has just flushed.  The image is checked every call.
    image = real_array(image, "image")
    if image.ndim not in (2, 3):
        raise ParameterError(f"image: expected shape (H, W) or (H, W, C), found {image.ndim}-D shape {image.shape}")
    key = _plan_key(image, kernel, bias, stride, padding, boundary, cval, dilation, backend, flip)
    plan = _PLANS.get(key) if key is not None else None
    if plan is None:
        plan = _make_plan(image, kernel, bias, stride, padding, boundary, cval, dilation, backend, flip=flip)
        if key is not None:
            _remember(key, plan)
    return _run(plan, image)


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything a call computes before filtering: the checked kernel, geometry and backend."""

    dtype: np.dtype  # the compute dtype
    kernel: np.ndarray  # float64, flipped for a convolution; (F, kh, kw, C) when summed
    summed: bool  # channels summed (a (kh, kw, C) kernel or a bank)
    bank: bool  # F kernels (the output keeps its filter axis)
    bias: np.ndarray | None  # float64, one per output channel
    geometry: backends.Geometry
    extent: tuple[int, int]  # the dilated kernel's size
    boundary: Boundary
    cval: float
    backend: str  # as asked ("auto" may still avoid spreading NaN, see _run)
    chosen: str  # the backend for finite images
    factors: backends.Factors | None


#: Plans of recent calls, by :func:`_plan_key`; the oldest goes beyond _PLANS_KEPT.
#: Only small kernels' plans are kept: the fixed cost matters only for them.
_PLANS: dict[tuple[Any, ...], _Plan] = {}
_PLANS_KEPT = 64
_PLAN_MAX_KERNEL_VALUES = 4096
_PLANS_LOCK = threading.Lock()


def _plan_key(image: np.ndarray, kernel: Any, *options: Any) -> tuple[Any, ...] | None:
    """What a plan depends on, hashable: the kernel's bytes, the image's shape and dtype, each option with its type, the size limit.

    None (no reuse) unless the kernel is an array and every option a plain value:
    each option is keyed with its type, and a float with its sign, so that
    ``True`` never finds the plan of ``1``, nor ``-0.0`` that of ``0.0``.
    """
    if not isinstance(kernel, np.ndarray) or kernel.dtype.kind not in "biuf" or kernel.size > _PLAN_MAX_KERNEL_VALUES:
        return None
    # The size limit too: a plan made under a larger one must not pass a call it would refuse.
    key: list[Any] = [kernel.dtype.str, kernel.shape, kernel.tobytes(), image.shape, image.dtype.str, MAX_PADDED_VALUES]
    for option in options:
        typed = _typed(option)
        if typed is None:
            return None
        key.append(typed)
    return tuple(key)


def _typed(option: Any) -> tuple[Any, ...] | None:
    """``option`` with its type (and a float's sign, as -0.0 == 0.0), or None if it is not a plain value."""
    kind = type(option)
    if kind is str or kind is int or kind is bool or isinstance(option, np.integer):
        return (kind, option)
    if kind is float or isinstance(option, np.floating):
        return (kind, option, math.copysign(1.0, option))
    if kind is tuple:
        items = tuple(_typed(item) for item in option)
        return None if None in items else (kind, items)
    return None


def _remember(key: tuple[Any, ...], plan: _Plan) -> None:
    with _PLANS_LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > _PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]


def _make_plan(
    image: np.ndarray,
    kernel: np.ndarray,
    bias: float | np.ndarray,
    stride: IntPair,
    padding: Padding,
    boundary: Boundary,
    cval: float,
    dilation: IntPair,
    backend: str,
    *,
    flip: bool,
) -> _Plan:
    # Every check below costs a few microseconds and none reads the image's pixels
    # (the image is scanned only where a backend would spread a NaN, see _run).
    kernel = real_array(kernel, "kernel")
    if kernel.ndim not in (2, 3, 4):
        raise ParameterError(
            f"kernel: expected shape (kh, kw), (kh, kw, C) or (F, kh, kw, C), found {kernel.ndim}-D shape {kernel.shape}"
        )
    k = np.asarray(kernel, dtype=np.float64)
    # One reduction answers both kernel checks: NaN or inf make the peak non-finite,
    # and the peak is what must fit in float32 (checked below, after the options).
    kernel_peak = float(np.maximum.reduce(np.abs(k).reshape(-1)))  # .max() without its Python wrapper
    if not math.isfinite(kernel_peak):
        raise ParameterError("kernel: expected finite values, found NaN or inf")
    boundary = choice(boundary, "boundary", BOUNDARIES)
    backend = choice(backend, "backend", BACKENDS)
    cval = finite_float(cval, "cval")
    sh, sw = int_pair(stride, "stride", minimum=1)
    dh, dw = int_pair(dilation, "dilation", minimum=1)

    dtype = compute_dtype(image.dtype)
    channels = 1 if image.ndim == 2 else image.shape[2]
    summed = kernel.ndim >= 3
    bank = kernel.ndim == 4
    if summed and kernel.shape[-1] != channels:
        raise ParameterError(
            f"kernel: expected {channels} channel(s) in the last axis to match the image "
            f"of shape {image.shape}, found kernel shape {kernel.shape}"
        )
    kh, kw = kernel.shape[-3:-1] if summed else kernel.shape
    top, bottom, left, right = _padding_geometry((kh, kw), padding, dh, dw, flip=flip)
    height, width = image.shape[:2]
    out_h = _axis_output(height, kh, sh, top + bottom, dh, axis="axis 0 (height)")
    out_w = _axis_output(width, kw, sw, left + right, dw, axis="axis 1 (width)")
    _check_sizes(image.shape, (kh, kw), (dh, dw), (top, bottom, left, right), (out_h, out_w), kernel.shape[0] if bank else 0)

    # Work with (H, W, C) images and (F, kh, kw, C) kernels, or per-channel (kh, kw).
    if flip:
        k = k[..., ::-1, ::-1, :] if summed else k[::-1, ::-1]
    if summed:
        k4 = k if bank else k[None]
        n_out = k4.shape[0]
    else:
        n_out = channels
    b = _bias_vector(bias, n_out, kernel.ndim, channels)

    if dtype == np.float32:
        _check_float32_range(kernel_peak, "kernel", image.dtype)
        if b is not None:
            _check_float32_range(float(np.abs(b).max()), "bias", image.dtype)
        _check_float32_range(abs(cval), "cval", image.dtype)
    geometry = backends.Geometry(top, bottom, left, right, sh, sw, dh, dw, out_h, out_w)
    extent = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    if summed:
        shape = image.shape if image.ndim == 3 else (*image.shape, 1)
        chosen = choose_backend(shape, k4.shape, geometry.stride, backend=backend, summed=True)
        return _Plan(dtype, _frozen(k4), True, bank, b, geometry, extent, boundary, cval, backend, chosen, None)
    # The rank-1 factors, found once: they choose the backend and are its kernels.
    wanted = backend == "separable" or (backend == "auto" and _may_separate(k.shape))
    factors = backends.separate(k, dtype) if wanted else None
    chosen = _per_channel_backend(k.shape, backend, factors)
    return _Plan(dtype, _frozen(k), False, False, b, geometry, extent, boundary, cval, backend, chosen, factors)


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: a plan outlives the caller's kernel, and no backend may write to it."""
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


def _run(plan: _Plan, image: np.ndarray) -> np.ndarray:
    """Filter ``image`` (checked: real, 2-D or 3-D, of the plan's shape and dtype) as ``plan`` says."""
    x = np.asarray(image, dtype=plan.dtype)
    if plan.summed:
        x3 = x if x.ndim == 3 else x[:, :, None]
        chosen = plan.chosen
        if plan.backend == "auto":
            chosen = _keeping_non_finite_local(chosen, x3, plan.extent, summed=True)
        out = backends.summed(x3, plan.kernel, plan.geometry, plan.boundary, plan.cval, chosen)
        if plan.bias is not None:
            out += plan.bias.astype(plan.dtype)
        return out if plan.bank else out[:, :, 0]
    chosen = plan.chosen
    if plan.backend == "auto":
        chosen = _keeping_non_finite_local(chosen, x, plan.extent, summed=False)
    out = backends.per_channel(x, plan.kernel, plan.geometry, plan.boundary, plan.cval, chosen, factors=plan.factors)
    if plan.bias is not None:
        out += plan.bias.astype(plan.dtype) if out.ndim == 3 else plan.bias.astype(plan.dtype)[0]
    return out


def _check_sizes(
    image_shape: tuple[int, ...],
    kernel_size: tuple[int, int],
    dilation: tuple[int, int],
    pads: tuple[int, int, int, int],
    out_size: tuple[int, int],
    filters: int,
) -> None:
    """Refuse, before any allocation, a call whose arrays would exceed :data:`~convfx.limits.MAX_PADDED_VALUES`.

    The dilated kernel, and the padded image together with the output, are what
    the backends allocate; the message names the parameter that made them large
    (``dilation``, ``padding``, or the kernel bank's size).
    """
    limit = MAX_PADDED_VALUES
    (kh, kw), (dh, dw) = kernel_size, dilation
    extent = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    if extent[0] * extent[1] > limit:
        raise ParameterError(
            f"dilation: expected a dilated kernel of at most {limit:,} taps (convfx.limits.MAX_PADDED_VALUES), "
            f"found {kh}x{kw} dilated by ({dh}, {dw}), spanning {extent[0]:,} x {extent[1]:,}"
        )
    height, width = image_shape[:2]
    channels = image_shape[2] if len(image_shape) == 3 else 1
    top, bottom, left, right = pads
    padded = (height + top + bottom) * (width + left + right) * channels
    output = out_size[0] * out_size[1] * (filters or channels)
    if padded + output <= limit:
        return
    found = f"a padded image of {padded:,} values and an output of {output:,}"
    # Whom to blame: the padding if the image and a same-sized output would fit.
    unpadded = height * width * (channels + (filters or channels))
    if top + bottom + left + right and unpadded <= limit:
        name = "padding"
    elif filters:
        name = "kernel"
    else:
        name = "image"
    raise ParameterError(
        f"{name}: expected at most {limit:,} values in the padded image and the output together "
        f"(convfx.limits.MAX_PADDED_VALUES), found {found}"
    )


def _padding_geometry(
    kernel_shape: tuple[int, int], padding: Padding, dh: int, dw: int, *, flip: bool
) -> tuple[int, int, int, int]:
    """:func:`padding_amounts` for a dilation already checked."""
    kh, kw = kernel_shape
    ph, pw = _padding_pair(padding)
    paired = isinstance(padding, (tuple, list, np.ndarray))  # name the element in messages
    top, bottom = _axis_padding(ph, dh * (kh - 1) + 1, flip=flip, axis_name="[0]" if paired else "")
    left, right = _axis_padding(pw, dw * (kw - 1) + 1, flip=flip, axis_name="[1]" if paired else "")
    return top, bottom, left, right


def _check_float32_range(peak: float, name: str, image_dtype: np.dtype) -> None:
    """Refuse finite float64 values (largest magnitude ``peak``) that would become inf in a float32 computation."""
    if peak > _FLOAT32_MAX:
        raise ParameterError(
            f"{name}: values up to {peak:g} overflow float32, the precision a {image_dtype} image is "
            "computed in; pass a float64 image"
        )


def windowed(kernel: np.ndarray, *, dtype: np.dtype | type = np.float32) -> bool:
    """Whether :func:`correlate` computes each output of ``kernel`` from its own window alone.

    True when the backend ``"auto"`` picks sums every window on its own (OpenCV's
    filter2D below the size where it switches to a DFT, two separable 1-D passes):
    the outputs for a part of an image are then bit-identical to the same
    outputs for the whole image, which is what rendering in strips relies on.
    False when a Fourier transform mixes the whole image into every output, and
    the last bits depend on the image's size.

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
        A per-channel kernel, stride 1, no dilation (as effects apply them).
    dtype : numpy dtype, optional
        The dtype of the image (or the one it is computed in, see
        :func:`compute_dtype`); it decides what counts as rank 1.

    Returns
    -------
    bool
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise ParameterError(f"kernel: expected shape (kh, kw), found shape {k.shape}")
    chosen = choose_backend((1, 1), k.shape, kernel=k, dtype=compute_dtype(dtype))
    return chosen == "separable" or (chosen == "filter2d" and k.size < _CV2_DFT_MIN_AREA)


def _keeping_non_finite_local(chosen: str, x: np.ndarray, extent: tuple[int, int], *, summed: bool) -> str:
    """A backend that keeps NaN/inf pixels local, if ``chosen`` would spread them.

    An FFT mixes every pixel into every output, and so does filter2D, which
    switches to a DFT from about 50 kernel taps: one NaN pixel would turn the whole
    result NaN, where the definition (pad, then sum each window) spoils only the
    windows that hold it.  The image is scanned only in those cases.
    """
    spreads = chosen == "fft" or (chosen == "filter2d" and extent[0] * extent[1] >= _CV2_DFT_MIN_AREA)
    if not spreads or x.dtype.kind != "f" or np.isfinite(x).all():
        return chosen
    return "im2col" if summed else "direct"


def _bias_vector(bias: float | np.ndarray, n_out: int, kernel_ndim: int, channels: int) -> np.ndarray | None:
    """Bias as a float64 vector of length ``n_out`` (``None`` when it is zero)."""
    if type(bias) in (float, int) and bias == 0:  # the default, without building an array
        return None
    b = np.asarray(bias)
    if b.dtype.kind not in "biuf":
        raise ParameterTypeError(f"bias: expected a real number or array, found dtype {b.dtype}")
    if not np.all(np.isfinite(b)):
        raise ParameterError("bias: expected finite values, found NaN or inf")
    if b.ndim == 0:
        return None if b == 0 else np.full(n_out, float(b))
    expected = {4: "(F,) with F the number of kernels", 3: "a scalar", 2: "(C,) with C the image channels"}
    if b.ndim == 1 and b.shape[0] == n_out and (kernel_ndim != 3 or n_out == 1):
        return b.astype(np.float64)
    shape = "(F,) = " if kernel_ndim == 4 else ""
    raise ParameterError(f"bias: expected a scalar or shape {shape}({n_out},) -- {expected[kernel_ndim]}; found shape {b.shape}")


def choose_backend(
    image_shape: Sequence[int],
    kernel_shape: Sequence[int],
    stride: tuple[int, int] = (1, 1),
    *,
    backend: str = "auto",
    summed: bool = False,
    kernel: np.ndarray | None = None,
    dtype: np.dtype = np.dtype(np.float64),
) -> str:
    """Name the backend :func:`correlate` uses for these shapes.

    Parameters
    ----------
    image_shape : tuple
        ``(H, W)`` or ``(H, W, C)``.
    kernel_shape : tuple
        ``(kh, kw)`` for a per-channel kernel or ``(F, kh, kw, C)`` for summed ones.
    stride : (int, int)
        Output stride.
    backend : str
        A forced backend is returned unchanged (after checking it applies).
    summed : bool
        Whether the kernel is summed over channels (3-D or 4-D kernel).
    kernel : ndarray, optional
        The per-channel kernel, to test whether it is separable (rank 1).
    dtype : numpy dtype, optional
        The compute dtype, whose rounding decides what counts as rank 1.

    Returns
    -------
    str
        One of ``"direct"``, ``"filter2d"``, ``"separable"``, ``"fft"``, ``"im2col"``.
    """
    if summed:
        if backend == "separable":
            raise ParameterError("backend: 'separable' needs a single rank-1 kernel (kh, kw)")
        if backend != "auto":
            return backend
        # One filter2D pass per (filter, channel) pair streams the image F*C times;
        # im2col builds one patch matrix and lets BLAS do all F filters at once;
        # FFT transforms each channel once and sums products of spectra.
        n_filters, kh, kw, channels = kernel_shape[0], kernel_shape[-3], kernel_shape[-2], kernel_shape[-1]
        if kh * kw >= _FFT_MIN_AREA_SUMMED:
            return "fft"
        small = image_shape[0] * image_shape[1] <= _IM2COL_SMALL_PIXELS
        if n_filters * channels >= _IM2COL_MIN_PASSES or (small and n_filters >= _IM2COL_MIN_FILTERS_SMALL):
            return "im2col"
        return "filter2d"
    shape = (kernel_shape[0], kernel_shape[1])
    factors = None
    if kernel is not None and (backend == "separable" or (backend == "auto" and _may_separate(shape))):
        factors = backends.separate(kernel, dtype)
    return _per_channel_backend(shape, backend, factors)


def _may_separate(kernel_shape: tuple[int, int]) -> bool:
    """Whether a per-channel kernel this size would go to two 1-D passes if it is rank 1."""
    return min(kernel_shape) >= _SEPARABLE_MIN_SIZE


def _per_channel_backend(kernel_shape: tuple[int, int], backend: str, factors: backends.Factors | None) -> str:
    """:func:`choose_backend` for a per-channel kernel whose rank-1 factors are known (None: not separable or not asked)."""
    if backend == "separable" and factors is None:
        raise ParameterError("backend: 'separable' needs a single rank-1 kernel (kh, kw)")
    if backend != "auto":
        return backend
    kh, kw = kernel_shape
    if factors is not None and _may_separate(kernel_shape):
        return "separable"
    if kh * kw >= _FFT_MIN_AREA:
        return "fft"
    return "filter2d"
