"""The engine's backends: five exact ways to compute one padded, strided, dilated correlation.

:func:`convfx.correlate` validates its arguments, works out the geometry
(:class:`Geometry`) and picks a backend (:func:`convfx.conv.choose_backend`); the
functions here compute it:

* ``filter2d``: OpenCV's ``filter2D`` (per channel), padding by OpenCV's own
  borders where they equal ``numpy.pad``'s, else explicitly;
* ``separable``: two 1-D passes (``cv2.sepFilter2D``) of the factors
  :func:`separate` finds for a rank-1 kernel;
* ``fft``: ``scipy.fft``, the image transformed once per channel;
* ``im2col``: a patch matrix (:mod:`convfx.im2col`) and one BLAS product, in row
  blocks so that memory stays bounded;
* ``direct``: shift-and-add over the kernel taps.

Every backend follows one definition -- pad with ``numpy.pad(mode=boundary)``, then
take the valid correlation (:func:`convfx.reference.correlate` as plain loops) --
and returns the same numbers to floating-point rounding.  This module must not
validate arguments or choose between backends, and imports only numpy, scipy, cv2
and :mod:`convfx.im2col`.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from .errors import ParameterError
from .im2col import im2col

__all__ = ["Geometry", "per_channel", "summed", "separate"]

# numpy.pad's modes that the engine offers (convfx.conv.BOUNDARIES names them at run time).
Boundary = Literal["constant", "edge", "reflect", "symmetric", "wrap"]
# The rank-1 factors ``(column, row)`` of a kernel, shapes (kh,) and (kw,).
Factors = tuple[np.ndarray, np.ndarray]


# numpy.pad mode -> the OpenCV border type that produces the same padded values.
# "wrap" has no filter2D equivalent (OpenCV rejects BORDER_WRAP there), so it is
# padded explicitly; so is "constant" with a non-zero cval.
_CV2_BORDER = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,  # dcb|abcd|cba
    "symmetric": cv2.BORDER_REFLECT,  # cba|abcd|dcb
}

# Above this many elements, the im2col matrix is built and multiplied in row blocks
# so that peak memory stays bounded (64 MiB of float32).
_IM2COL_BLOCK_ELEMENTS = 16 * 1024 * 1024


class Geometry:
    """Padding ``(top, bottom, left, right)``, stride, dilation and output size of one filtering call.

    Attributes
    ----------
    top, bottom, left, right : int
        Rows and columns padded on each side.
    sh, sw : int
        Stride, rows and columns.
    dh, dw : int
        Dilation, rows and columns.
    out_h, out_w : int
        The output's height and width.
    """

    __slots__ = ("pads", "stride", "dilation", "out_shape")

    def __init__(
        self, top: int, bottom: int, left: int, right: int, sh: int, sw: int, dh: int, dw: int, out_h: int, out_w: int
    ) -> None:
        self.pads = (top, bottom, left, right)
        self.stride = (sh, sw)
        self.dilation = (dh, dw)
        self.out_shape = (out_h, out_w)

    @property
    def dense_shape(self) -> tuple[int, int]:
        """Output size at stride 1 (what filter2D / FFT compute before subsampling)."""
        (oh, ow), (sh, sw) = self.out_shape, self.stride
        return (oh - 1) * sh + 1, (ow - 1) * sw + 1


def separate(kernel: np.ndarray, dtype: np.dtype = np.dtype(np.float64)) -> Factors | None:
    """``(column, row)`` 1-D factors with ``outer(column, row) == kernel``, or None.

    The kernel is rank 1 when the factors rebuild it to within the rounding of
    the compute ``dtype``, so using them changes the result by no more than
    rounding does anyway.  The factors are balanced (equal largest magnitudes).

    Parameters
    ----------
    kernel : ndarray, shape (kh, kw)
    dtype : dtype, optional
        The compute dtype, whose rounding decides what is rank 1.

    Returns
    -------
    tuple of ndarray or None
        ``(column, row)``, shapes ``(kh,)`` and ``(kw,)``; None if the kernel is not rank 1.
    """
    if kernel.ndim != 2 or min(kernel.shape) < 2:
        return None
    k = np.asarray(kernel, dtype=np.float64)
    # A rank-1 kernel is the outer product of its column and row through its
    # largest entry p, divided by p: no SVD needed (and more exact than one).
    i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    pivot = k[i, j]
    if pivot == 0:
        return None
    unit = k / abs(pivot)  # entries in [-1, 1]: the sums below cannot overflow
    column, row = unit[:, j], unit[i, :] * np.sign(pivot)
    # What the factors leave out of the kernel adds up over a window, so it is
    # measured summed: at most a few roundings of the compute dtype on the kernel's
    # total weight, the error that filtering with the kernel itself makes anyway.
    # (Outer products of float64 vectors leave under 1 eps64 here; a kernel that
    # is rank 2 by 1e-5 is not separable for float32, whatever its size.)
    if np.abs(unit - np.outer(column, row)).sum() > 16 * np.finfo(dtype).eps * np.abs(unit).sum():
        return None
    scale = math.sqrt(abs(pivot))  # balanced factors
    return column * scale, row * scale


def _dilate(kernel: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """Spread the taps of a (kh, kw, ...) kernel apart by inserting zeros."""
    dh, dw = dilation
    if dh == 1 and dw == 1:
        return kernel
    kh, kw = kernel.shape[:2]
    out = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1) + kernel.shape[2:], dtype=kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


def _pad(x: np.ndarray, pads: tuple[int, int, int, int], boundary: Boundary, cval: float) -> np.ndarray:
    """``numpy.pad`` on the two spatial axes: the definition every backend follows."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (x.ndim - 2)
    if boundary == "constant":
        return np.pad(x, widths, mode="constant", constant_values=cval)
    return np.pad(x, widths, mode=boundary)


def _cv2_border(
    x_shape: tuple[int, ...],
    pads: tuple[int, int, int, int],
    boundary: Boundary,
    cval: float,
    kernel_extent: tuple[int, ...],
) -> int | None:
    """The OpenCV border type that pads exactly like numpy here, or None.

    OpenCV can pad implicitly only when its anchor can sit at the top-left padding
    (at most kernel-1 pixels per axis in total), when the padding does not exceed
    the image (numpy's repeated reflection of tiny images is not OpenCV's), and for
    modes it has (not wrap; constant only with zeros).
    """
    top, bottom, left, right = pads
    kh, kw = kernel_extent
    height, width = x_shape[:2]
    if boundary == "wrap" or (boundary == "constant" and cval != 0.0):
        return None
    if top + bottom > kh - 1 or left + right > kw - 1:
        return None
    if max(top, bottom) > height - 1 or max(left, right) > width - 1:
        return None
    return _CV2_BORDER[boundary]


def _rank1_factors(k: np.ndarray, dtype: np.dtype, factors: Factors | None) -> Factors:
    """``factors`` if given, else the ones :func:`separate` finds; a kernel without them cannot be separable."""
    found = separate(k, dtype) if factors is None else factors
    if found is None:
        raise ParameterError("backend: 'separable' needs a single rank-1 kernel (kh, kw)")
    return found


def per_channel(
    x: np.ndarray,
    k: np.ndarray,
    geometry: Geometry,
    boundary: Boundary,
    cval: float,
    backend: str,
    *,
    factors: Factors | None = None,
) -> np.ndarray:
    """Correlate every channel of ``x`` (H, W[, C]) with one 2-D kernel ``k``.

    ``factors``: ``separate(k, x.dtype)`` when the caller has it already (the
    ``separable`` backend needs them; they are found here otherwise).

    Parameters
    ----------
    x : ndarray, shape (H, W) or (H, W, C)
    k : ndarray, shape (kh, kw)
    geometry : Geometry
    boundary : str
        How the input is padded (see :data:`convfx.conv.BOUNDARIES`).
    cval : float
        The value outside the image for ``boundary="constant"``.
    backend : str
        One of :data:`convfx.conv.BACKENDS`, already chosen.
    factors : tuple of ndarray, optional

    Returns
    -------
    ndarray, shape (out_h, out_w) or (out_h, out_w, C)
    """
    if backend == "im2col":
        x3 = x if x.ndim == 3 else x[:, :, None]
        channels = x3.shape[2]
        # A per-channel kernel is the bank of C kernels that each see one channel.
        bank = np.zeros((channels,) + k.shape + (channels,))
        for c in range(channels):
            bank[c, :, :, c] = k
        out = _summed_im2col(x3, bank, geometry, boundary, cval)
        return out if x.ndim == 3 else out[:, :, 0]
    if backend == "direct":
        return _direct(x, k, geometry, boundary, cval)
    kd = _dilate(k, geometry.dilation)
    if backend == "separable":
        column, row = _rank1_factors(k, x.dtype, factors)
        # The factors of the dilated kernel are the dilated factors (the same pivot).
        dh, dw = geometry.dilation
        factors = _dilate(column[:, None], (dh, 1))[:, 0], _dilate(row[None, :], (1, dw))[0]
    dense_h, dense_w = geometry.dense_shape
    border = _cv2_border(x.shape, geometry.pads, boundary, cval, kd.shape)
    anchor: tuple[int, int]
    if backend == "fft" or border is None:
        source, anchor, border = _pad(x, geometry.pads, boundary, cval), (0, 0), cv2.BORDER_CONSTANT
    else:
        source, anchor = x, (geometry.pads[2], geometry.pads[0])
    if backend == "fft":
        x3 = source if source.ndim == 3 else source[:, :, None]
        dense = _fft_correlate(x3, kd[None, :, :, None], per_channel=True)
        dense = dense[:dense_h, :dense_w] if x.ndim == 3 else dense[:dense_h, :dense_w, 0]
    else:
        dense = _cv2_filter(source, kd, anchor, border, backend, factors)[:dense_h, :dense_w]
    sh, sw = geometry.stride
    if sh > 1 or sw > 1:
        dense = dense[::sh, ::sw]
    return np.ascontiguousarray(dense, dtype=x.dtype)


def _fft_correlate(xp: np.ndarray, kernels: np.ndarray, *, per_channel: bool = False) -> np.ndarray:
    """Valid correlation of a padded image (Hp, Wp, C) by FFT, at stride 1.

    ``kernels`` is (F, kh, kw, C): each output map ``f`` is the sum over channels
    (``per_channel=False``, output (H', W', F)); or (1, kh, kw, 1) applied to every
    channel (``per_channel=True``, output (H', W', C)).  The image is transformed
    once per channel whatever F is, which is where FFT beats F*C spatial passes.
    The transform length is at least the padded image, so the valid part is free
    of circular wrap-around.
    """
    from scipy import fft as sp_fft  # imported here: it costs a batch worker 0.1 s at start-up

    height, width, channels = xp.shape
    n_filters, kh, kw, _ = kernels.shape
    shape = (sp_fft.next_fast_len(height, real=True), sp_fft.next_fast_len(width, real=True))
    spectrum = sp_fft.rfft2(xp, s=shape, axes=(0, 1), workers=-1)  # (h, w//2+1, C)
    # Correlation is convolution with the flipped kernel.
    flipped = np.ascontiguousarray(kernels[:, ::-1, ::-1, :], dtype=xp.dtype)
    kernel_spectra = sp_fft.rfft2(flipped, s=shape, axes=(1, 2), workers=-1)  # (F, h, w//2+1, C)
    rows, cols = slice(kh - 1, height), slice(kw - 1, width)
    if per_channel:
        product = spectrum * kernel_spectra[0]
        return sp_fft.irfft2(product, s=shape, axes=(0, 1), workers=-1)[rows, cols]
    out = np.empty((height - kh + 1, width - kw + 1, n_filters), dtype=xp.dtype)
    for f in range(n_filters):
        product = np.einsum("hwc,hwc->hw", spectrum, kernel_spectra[f])
        out[:, :, f] = sp_fft.irfft2(product, s=shape, workers=-1)[rows, cols]
    return out


def _cv2_filter(
    x: np.ndarray,
    k: np.ndarray,
    anchor: tuple[int, int],
    border: int,
    backend: str,
    factors: Factors | None = None,
) -> np.ndarray:
    """filter2D / sepFilter2D (of ``factors``, the rank-1 factors of ``k``) over an image with any number of channels."""
    if x.ndim == 3 and x.shape[2] > 4:
        # OpenCV's filters are tested up to 4 channels; run wider images in groups.
        return np.concatenate(
            [_cv2_filter(x[:, :, c : c + 4], k, anchor, border, backend, factors) for c in range(0, x.shape[2], 4)],
            axis=2,
        )
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    if backend == "separable":
        column, row = _rank1_factors(k, x.dtype, factors)
        out = cv2.sepFilter2D(x, -1, row.astype(x.dtype), column.astype(x.dtype), anchor=anchor, borderType=border)
    else:
        out = cv2.filter2D(x, -1, k.astype(x.dtype), anchor=anchor, borderType=border)
    return out if out.ndim == x.ndim else out[:, :, None]


def _direct(x: np.ndarray, k: np.ndarray, geometry: Geometry, boundary: Boundary, cval: float) -> np.ndarray:
    """Shift-and-add over the taps of a 2-D kernel, computing only strided outputs."""
    xp = _pad(x, geometry.pads, boundary, cval)
    (oh, ow), (sh, sw), (dh, dw) = geometry.out_shape, geometry.stride, geometry.dilation
    out = np.zeros((oh, ow) + x.shape[2:], dtype=x.dtype)
    for m in range(k.shape[0]):
        for n in range(k.shape[1]):
            if k[m, n] != 0:
                window = xp[m * dh : m * dh + (oh - 1) * sh + 1 : sh, n * dw : n * dw + (ow - 1) * sw + 1 : sw]
                out += x.dtype.type(k[m, n]) * window
    return out


def summed(x3: np.ndarray, k4: np.ndarray, geometry: Geometry, boundary: Boundary, cval: float, backend: str) -> np.ndarray:
    """Kernels (F, kh, kw, C) summed over the channels of x3 (H, W, C) -> (H', W', F).

    Parameters
    ----------
    x3 : ndarray, shape (H, W, C)
    k4 : ndarray, shape (F, kh, kw, C)
    geometry : Geometry
    boundary : str
        How the input is padded (see :data:`convfx.conv.BOUNDARIES`).
    cval : float
        The value outside the image for ``boundary="constant"``.
    backend : str
        One of :data:`convfx.conv.BACKENDS`, already chosen.

    Returns
    -------
    ndarray, shape (out_h, out_w, F)
    """
    if backend == "im2col":
        return _summed_im2col(x3, k4, geometry, boundary, cval)
    if backend == "separable":
        raise ParameterError("backend: 'separable' needs a single rank-1 kernel (kh, kw)")
    n_filters, channels = k4.shape[0], k4.shape[-1]
    if backend == "fft":
        xp = _pad(x3, geometry.pads, boundary, cval)
        dense_h, dense_w = geometry.dense_shape
        dense = _fft_correlate(xp, _dilate(k4.transpose(1, 2, 0, 3), geometry.dilation).transpose(2, 0, 1, 3))
        sh, sw = geometry.stride
        return np.ascontiguousarray(dense[:dense_h:sh, :dense_w:sw])
    out = np.zeros(geometry.out_shape + (n_filters,), dtype=x3.dtype)
    if backend == "filter2d" and (boundary == "wrap" or cval != 0.0):
        # Pad once for all F*C passes instead of once per pass.
        x3 = _pad(x3, geometry.pads, boundary, cval)
        geometry = Geometry(0, 0, 0, 0, *geometry.stride, *geometry.dilation, *geometry.out_shape)
    for f in range(n_filters):
        for c in range(channels):
            plane = np.ascontiguousarray(x3[:, :, c]) if backend != "direct" else x3[:, :, c]
            out[:, :, f] += per_channel(plane, k4[f, :, :, c], geometry, boundary, cval, backend)
    return out


def _summed_im2col(x3: np.ndarray, k4: np.ndarray, geometry: Geometry, boundary: Boundary, cval: float) -> np.ndarray:
    """im2col + one GEMM, in row blocks so the patch matrix stays bounded."""
    xp = _pad(x3, geometry.pads, boundary, cval)
    n_filters, kh, kw, channels = k4.shape
    # (F, kh, kw, C) -> (C*kh*kw, F), matching im2col's (C, kh, kw) column order.
    weights = np.ascontiguousarray(k4.transpose(3, 1, 2, 0).reshape(channels * kh * kw, n_filters), dtype=x3.dtype)
    planes = np.ascontiguousarray(xp.transpose(2, 0, 1))[None]  # (1, C, Hp, Wp)
    (oh, ow), (sh, sw), (dh, dw) = geometry.out_shape, geometry.stride, geometry.dilation
    rows_per_block = max(1, _IM2COL_BLOCK_ELEMENTS // max(1, ow * channels * kh * kw))
    out = np.empty((oh, ow, n_filters), dtype=x3.dtype)
    extent = (kh - 1) * dh + 1
    for start in range(0, oh, rows_per_block):
        stop = min(oh, start + rows_per_block)
        block = planes[:, :, start * sh : (stop - 1) * sh + extent]
        cols = im2col(block, (kh, kw), stride=(sh, sw), dilation=(dh, dw))
        out[start:stop] = (cols @ weights).reshape(stop - start, ow, n_filters)
    return out
