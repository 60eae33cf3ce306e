"""Patch matrices (im2col) and their adjoints (col2im): the sliding window as one GEMM.

One patch matrix, three layouts, all built by ``kh*kw`` strided copies of whole
planes (one per kernel tap) into a preallocated buffer, and scattered back by the
same ``kh*kw`` strided adds (numpy's ``sliding_window_view`` idea, with the copy made
once, where the matrix product needs it):

* :func:`im2col`, ``(N*H'*W', C*kh*kw)``: one row per output position, for one GEMM
  over a batch (the engine's banks of kernels);
* :func:`im2col_per_image`, ``(N, C*kh*kw, H'*W')``: a ``(F, C*kh*kw) @ (C*kh*kw, H'*W')``
  product per image lands directly in ``(N, F, H', W')`` order, with no transpose back
  to NCHW; and multithreaded BLAS is slow on the tall, thin GEMM
  (``50176 x 25 @ 25 x 6`` for LeNet's conv1) that one matrix for the batch needs;
* :func:`im2col_batch_last`, ``(C*kh*kw, H'*W'*N)`` from a ``(C, H, W, N)`` batch: every
  tap copy and every scatter-add runs over contiguous stretches of ``W'*N`` values
  instead of rows of ``W'``, which is what makes a conv layer's input gradient cheap.

Every function takes an already padded input: padding belongs to the caller
(:func:`convfx.correlate` pads with ``numpy.pad``, :class:`convfx.nn.Conv2d` with
zeros).  The plain-loop definition they are tested against is
:func:`convfx.reference.conv2d_forward`.

This module is shared by the engine (:mod:`convfx.conv`) and the CNN layers
(:mod:`convfx.nn.layers`), so that there is one sliding window; it must not pad,
choose backends or know about images, files or layers.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from .checks import int_pair
from .errors import ParameterError

__all__ = [
    "output_length",
    "im2col",
    "col2im",
    "im2col_per_image",
    "col2im_per_image",
    "im2col_batch_last",
    "col2im_batch_last",
]

IntPair = Union[int, tuple[int, int]]
# What :func:`_taps` lists per kernel tap: its ``(m, q)`` and the input slices it reads.
Tap = tuple[int, int, slice, slice]


def output_length(n: int, k: int, *, stride: int = 1, dilation: int = 1, axis: str = "") -> int:
    """Window positions along one axis of an already padded input: ``(n - k_eff) // stride + 1``.

    ``k_eff = dilation * (k - 1) + 1`` is the dilated kernel's extent; ``axis``
    (``"axis 0 (height)"``) is named in the message when the kernel does not fit.

    Parameters
    ----------
    n : int
        The padded input's length.
    k : int
        The kernel's length.
    stride, dilation : int, optional
    axis : str, optional
        The axis, for the message.

    Returns
    -------
    int
    """
    extent = dilation * (k - 1) + 1
    if extent > n:
        where = f" along {axis}" if axis else ""
        raise ParameterError(f"kernel: expected at most the padded image size{where} ({n}), found kernel extent {extent}")
    return (n - extent) // stride + 1


def _taps(
    height: int, width: int, kernel_size: tuple[int, int], stride: IntPair, dilation: IntPair, *, axes: tuple[int, int]
) -> tuple[int, int, list[Tap]]:
    """``(H', W', [(m, q, rows, columns), ...])``: the input slices that tap (m, q) reads."""
    kh, kw = kernel_size
    sh, sw = int_pair(stride, "stride", minimum=1)
    dh, dw = int_pair(dilation, "dilation", minimum=1)
    oh = output_length(height, kh, stride=sh, dilation=dh, axis=f"axis {axes[0]} (height)")
    ow = output_length(width, kw, stride=sw, dilation=dw, axis=f"axis {axes[1]} (width)")
    taps = [
        (m, q, slice(m * dh, m * dh + (oh - 1) * sh + 1, sh), slice(q * dw, q * dw + (ow - 1) * sw + 1, sw))
        for m in range(kh)
        for q in range(kw)
    ]
    return oh, ow, taps


def _gather(x: np.ndarray, kernel_size: tuple[int, int], stride: IntPair, dilation: IntPair, *, lead: int) -> np.ndarray:
    """Patches of ``x``, whose spatial axes are ``lead, lead+1``, shaped
    ``x.shape[:lead] + (kh, kw, H', W') + x.shape[lead+2:]``."""
    oh, ow, taps = _taps(x.shape[lead], x.shape[lead + 1], kernel_size, stride, dilation, axes=(lead, lead + 1))
    cols = np.empty(x.shape[:lead] + tuple(kernel_size) + (oh, ow) + x.shape[lead + 2 :], dtype=x.dtype)
    before = (slice(None),) * lead
    for m, q, rows, columns in taps:
        cols[before + (m, q)] = x[before + (rows, columns)]
    return cols


def _scatter(patches: np.ndarray, x_shape: tuple[int, ...], taps: list[Tap], *, lead: int) -> np.ndarray:
    """Adjoint of :func:`_gather`: add every patch element back where it came from."""
    out = np.zeros(x_shape, dtype=patches.dtype)
    before = (slice(None),) * lead
    for m, q, rows, columns in taps:
        out[before + (rows, columns)] += patches[before + (m, q)]
    return out


def im2col(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Patch matrix of an already padded batch: one row per output position.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Padded input batch.
    kernel_size : (int, int)
        ``(kh, kw)``.
    stride, dilation : int or (int, int)
        As in :func:`convfx.correlate`.

    Returns
    -------
    ndarray, shape (N * H' * W', C * kh * kw)
        C-contiguous, same dtype as ``x``; columns in ``(C, kh, kw)`` order, so that
        ``im2col(x, ...) @ w.reshape(F, -1).T`` is the correlation with weights ``w``
        of shape ``(F, C, kh, kw)`` (PyTorch's layout), rows in ``(N, H', W')`` order.
    """
    n, c = x.shape[:2]
    cols = _gather(x, kernel_size, stride, dilation, lead=2)  # (N, C, kh, kw, H', W')
    return np.ascontiguousarray(cols.transpose(0, 4, 5, 1, 2, 3)).reshape(-1, c * kernel_size[0] * kernel_size[1])


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add patch rows back into an image batch.

    Parameters
    ----------
    cols : ndarray, shape (N * H' * W', C * kh * kw)
        Gradients with respect to the patch matrix.
    x_shape : (N, C, H, W)
        Shape of the padded input that :func:`im2col` was given.
    kernel_size, stride, dilation
        As given to :func:`im2col`.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        Every patch element added back to the pixel it came from (overlaps sum),
        so ``sum(col2im(g) * x) == sum(g * im2col(x))`` for all ``g`` and ``x``.
    """
    n, c, height, width = x_shape
    oh, ow, taps = _taps(height, width, kernel_size, stride, dilation, axes=(2, 3))
    patches = cols.reshape(n, oh, ow, c, *kernel_size).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, H', W')
    return _scatter(patches, x_shape, taps, lead=2)


def im2col_per_image(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """One patch matrix per image of an already padded batch (Caffe's im2col layout).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Padded input batch.
    kernel_size : (int, int)
        ``(kh, kw)``.
    stride, dilation : int or (int, int)
        As in :func:`convfx.correlate`.

    Returns
    -------
    ndarray, shape (N, C * kh * kw, H' * W')
        C-contiguous; rows in ``(C, kh, kw)`` order and columns in ``(H', W')``
        order, so that ``w.reshape(F, -1) @ im2col_per_image(x, ...)`` is the
        correlation with weights ``w`` of shape ``(F, C, kh, kw)``, already in
        ``(N, F, H' * W')`` order.  ``im2col_per_image(x, k)[n].T`` is image ``n``'s
        block of rows of ``im2col(x, k)``.
    """
    cols = _gather(x, kernel_size, stride, dilation, lead=2)  # (N, C, kh, kw, H', W')
    return cols.reshape(x.shape[0], -1, cols.shape[-2] * cols.shape[-1])


def col2im_per_image(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Adjoint of :func:`im2col_per_image`: ``cols`` ``(N, C*kh*kw, H'*W')`` -> ``(N, C, H, W)``.

    Parameters
    ----------
    cols : ndarray
        Shape ``(N, C*kh*kw, H'*W')``.
    x_shape : tuple of int
        ``(N, C, H, W)`` of the (padded) input.
    kernel_size : tuple of int
        ``(kh, kw)``.
    stride, dilation : int or pair of int, optional

    Returns
    -------
    ndarray, shape (N, C, H, W)
        Each column's values added back where their windows read them.
    """
    n, c, height, width = x_shape
    oh, ow, taps = _taps(height, width, kernel_size, stride, dilation, axes=(2, 3))
    patches = cols.reshape(n, c, *kernel_size, oh, ow)
    return _scatter(patches, x_shape, taps, lead=2)


def im2col_batch_last(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Patch matrix of an already padded batch stored batch-innermost.

    Parameters
    ----------
    x : ndarray, shape (C, H, W, N)
        Padded input batch, the image index last.
    kernel_size : (int, int)
        ``(kh, kw)``.
    stride, dilation : int or (int, int)
        As in :func:`convfx.correlate`.

    Returns
    -------
    ndarray, shape (C * kh * kw, H' * W' * N)
        C-contiguous; rows in ``(C, kh, kw)`` order, columns in ``(H', W', N)`` order,
        so that ``w.reshape(F, -1) @ im2col_batch_last(x, ...)`` is the correlation
        with weights ``w`` of shape ``(F, C, kh, kw)``, laid out ``(F, H', W', N)``.
    """
    cols = _gather(x, kernel_size, stride, dilation, lead=1)  # (C, kh, kw, H', W', N)
    return cols.reshape(-1, cols.shape[-3] * cols.shape[-2] * cols.shape[-1])


def col2im_batch_last(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    *,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Adjoint of :func:`im2col_batch_last`: ``cols`` ``(C*kh*kw, H'*W'*N)`` -> ``(C, H, W, N)``.

    Parameters
    ----------
    cols : ndarray
        Shape ``(C*kh*kw, H'*W'*N)``.
    x_shape : tuple of int
        ``(N, C, H, W)`` of the (padded) input.
    kernel_size : tuple of int
        ``(kh, kw)``.
    stride, dilation : int or pair of int, optional

    Returns
    -------
    ndarray, shape (C, H, W, N)
        Each column's values added back where their windows read them.
    """
    c, height, width, n = x_shape
    oh, ow, taps = _taps(height, width, kernel_size, stride, dilation, axes=(1, 2))
    patches = cols.reshape(c, *kernel_size, oh, ow, n)
    return _scatter(patches, x_shape, taps, lead=1)
