"""Plain-loop definitions of correlation, convolution, conv2d and pooling, to read and to test against.

Each function here is the textbook formula written as loops over output positions,
the way a course writes it (cs231n's ``conv_forward_naive``, micrograd's one-line
gradients).  The fast code computes the same numbers by other means --
:func:`convfx.correlate` through OpenCV, FFT or a patch matrix,
:class:`convfx.nn.Conv2d` and the pooling layers through :mod:`convfx.im2col` --
and the tests hold it to these definitions.

* :func:`correlate` -- for an output position ``(x, y)`` and output map ``f``::

      C(x, y) = sum_m sum_n sum_c K[m, n, c] * I[x + m, y + n, c] + b

  (with a stride ``s`` and a dilation ``d``, ``I[s x + d m, s y + d n, c]``), on an
  image padded by ``numpy.pad`` with the same boundary names as the engine;
* :func:`convolve` -- :func:`correlate` with the kernel rotated 180 degrees in its
  two spatial axes;
* :func:`conv2d_forward` / :func:`conv2d_backward` -- a conv layer on a batch
  ``(N, C, H, W)`` with PyTorch's weight layout ``(F, C, kh, kw)`` and zero padding;
* :func:`max_pool2d_forward` / :func:`max_pool2d_backward` and
  :func:`avg_pool2d_forward` / :func:`avg_pool2d_backward`.

Forward functions return ``(out, cache)`` and backward functions take
``(grad_out, cache)``, as in cs231n.  Everything is computed in float64.

This module must stay slow and plain: no vectorised window tricks, no backends, no
imports from the rest of convfx (so that it cannot share a mistake with the code it
checks), no input checks beyond what numpy does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Union

import numpy as np

__all__ = [
    "correlate",
    "convolve",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]

IntPair = Union[int, tuple[int, int]]
Padding = Union[int, str]
Boundary = Literal["constant", "edge", "reflect", "symmetric", "wrap"]


def _pair(value: IntPair) -> tuple[int, int]:
    if isinstance(value, Sequence):
        return int(value[0]), int(value[1])
    return value, value


def _pads(extent: int, padding: int | str) -> tuple[int, int]:
    """``(before, after)`` along one axis for a kernel spanning ``extent`` pixels."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return extent - 1, extent - 1
    if padding == "same":
        # As scipy.signal.correlate2d: an even kernel gets the extra pixel after the image.
        return (extent - 1) // 2, extent // 2
    return int(padding), int(padding)


def correlate(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    bias: float | np.ndarray = 0.0,
    stride: IntPair = 1,
    padding: Padding | tuple[Padding, Padding] = 0,
    boundary: Boundary = "constant",
    cval: float = 0.0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Cross-correlation by its definition, one output value at a time.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    kernel : array_like, shape (kh, kw), (kh, kw, C) or (F, kh, kw, C)
        ``(kh, kw)`` is applied to every channel on its own (the output keeps the
        channels); ``(kh, kw, C)`` is summed over the channels (output ``(H', W')``);
        ``(F, kh, kw, C)`` is ``F`` such kernels (output ``(H', W', F)``).
    bias : float or array_like, optional
        Added to every output value: a scalar, or one per output map.
    stride, dilation : int or (int, int), optional
    padding : int, (int, int) or {"valid", "same", "full"}, optional
        Pixels added on each side (``"same"`` and ``"full"`` as ``scipy.signal``).
    boundary : {"constant", "edge", "reflect", "symmetric", "wrap"}, optional
        ``numpy.pad`` mode of the padding.
    cval : float, optional
        The value outside the image for ``boundary="constant"``.

    Returns
    -------
    ndarray, float64, shape (H', W'), (H', W', C) or (H', W', F)
        ``H' = (H + pad_top + pad_bottom - dilation * (kh - 1) - 1) // stride + 1``.

    Examples
    --------
    >>> correlate([[1, 2, 3], [4, 5, 6]], [[1, -1]])
    array([[-1., -1.],
           [-1., -1.]])
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    I = image if image.ndim == 3 else image[:, :, None]  # noqa: E741  (the formula's I)
    channels = I.shape[2]
    if kernel.ndim == 2:
        # A per-channel kernel is C kernels that each see one channel: output map c
        # sums over the channels with the kernel in channel c and zeros elsewhere.
        K: np.ndarray = np.zeros((channels, *kernel.shape, channels))
        for c in range(channels):
            K[c, :, :, c] = kernel
    else:
        K = kernel if kernel.ndim == 4 else kernel[None]
    n_maps, kh, kw, _ = K.shape
    b = np.broadcast_to(np.asarray(bias, dtype=np.float64), (n_maps,))

    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    pad_h, pad_w = padding if isinstance(padding, tuple) else (padding, padding)
    top, bottom = _pads(dh * (kh - 1) + 1, pad_h)
    left, right = _pads(dw * (kw - 1) + 1, pad_w)
    widths = [(top, bottom), (left, right), (0, 0)]
    if boundary == "constant":
        I = np.pad(I, widths, mode="constant", constant_values=cval)  # noqa: E741
    else:
        I = np.pad(I, widths, mode=boundary)  # noqa: E741

    out_h = (I.shape[0] - dh * (kh - 1) - 1) // sh + 1
    out_w = (I.shape[1] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((out_h, out_w, n_maps))
    for x in range(out_h):
        for y in range(out_w):
            for f in range(n_maps):
                out[x, y, f] = sum(K[f, m, n, c] * I[x * sh + m * dh, y * sw + n * dw, c] for m in range(kh) for n in range(kw) for c in range(channels)) + b[f]  # fmt: skip
    if kernel.ndim == 3:
        return out[:, :, 0]
    if kernel.ndim == 2 and image.ndim == 2:
        return out[:, :, 0]
    return out


def convolve(image: np.ndarray, kernel: np.ndarray, **options: Any) -> np.ndarray:
    """Convolution: :func:`correlate` with the kernel rotated 180 degrees in its two spatial axes.

    Same parameters as :func:`correlate`.  (With ``padding="same"`` and an even
    kernel, ``scipy.signal.convolve2d`` and :func:`convfx.convolve` put the extra
    pixel of padding before the image instead, a one-pixel shift; every other
    padding gives the same numbers.)

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    kernel : array_like
        As for :func:`correlate`, written for convolution.
    **options
        The keyword options of :func:`correlate`.

    Returns
    -------
    ndarray, float64
        As for :func:`correlate`.

    Examples
    --------
    >>> convolve([[1, 2, 3], [4, 5, 6]], [[1, -1]])
    array([[1., 1.],
           [1., 1.]])
    """
    kernel = np.asarray(kernel)
    rotated = kernel[::-1, ::-1] if kernel.ndim < 4 else kernel[:, ::-1, ::-1]
    return correlate(image, rotated, **options)


# --------------------------------------------------------------------------- conv layer


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, *, stride: IntPair = 1, padding: IntPair = 0
) -> tuple[np.ndarray, tuple]:
    """A conv layer's forward pass, one output value at a time (no kernel flip, zero padding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, kh, kw)
        PyTorch's layout.
    b : ndarray, shape (F,)
    stride, padding : int or (int, int), optional

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = (H + 2 * ph - kh) // sh + 1``.
    cache : tuple
        What :func:`conv2d_backward` needs.
    """
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_h = (height + 2 * ph - kh) // sh + 1
    out_w = (width + 2 * pw - kw) // sw + 1
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for i in range(n_images):
        for f in range(n_filters):
            for r in range(out_h):
                for s in range(out_w):
                    out[i, f, r, s] = np.sum(x_pad[i, :, r * sh : r * sh + kh, s * sw : s * sw + kw] * w[f]) + b[f]
    return out, (x, w, (sh, sw), (ph, pw))


def conv2d_backward(grad_out: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a conv layer: every output value sends its gradient back through its window.

    Parameters
    ----------
    grad_out : ndarray, shape (N, F, H', W')
        dLoss/dOutput.
    cache : tuple
        From :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, kh, kw)
    db : ndarray, shape (F,)
    """
    x, w, (sh, sw), (ph, pw) = cache
    grad_out = np.asarray(grad_out, dtype=np.float64)
    n_images, n_filters, out_h, out_w = grad_out.shape
    kh, kw = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(n_images):
        for f in range(n_filters):
            for r in range(out_h):
                for s in range(out_w):
                    rows, cols = slice(r * sh, r * sh + kh), slice(s * sw, s * sw + kw)
                    dw[f] += grad_out[i, f, r, s] * x_pad[i, :, rows, cols]
                    dx_pad[i, :, rows, cols] += grad_out[i, f, r, s] * w[f]
    db = grad_out.sum(axis=(0, 2, 3))
    dx = dx_pad[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    return dx, dw, db


# --------------------------------------------------------------------------- pooling


def _pool_forward(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None, reduce: Callable[[np.ndarray], Any]
) -> tuple[np.ndarray, tuple]:
    """``reduce`` (``np.max``, ``np.mean``) of every ``kh x kw`` window of ``x`` (N, C, H, W)."""
    x = np.asarray(x, dtype=np.float64)
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    out_h, out_w = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            for r in range(out_h):
                for s in range(out_w):
                    out[i, c, r, s] = reduce(x[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw])
    return out, (x, (kh, kw), (sh, sw))


def max_pool2d_forward(x: np.ndarray, *, kernel_size: IntPair, stride: IntPair | None = None) -> tuple[np.ndarray, tuple]:
    """The largest value of every ``kh x kw`` window, moved by ``stride`` (default: the window size).

    ``x`` is ``(N, C, H, W)``; returns ``(out (N, C, H', W'), cache)``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional

    Returns
    -------
    out : ndarray, shape (N, C, H', W')
    cache : tuple
        What :func:`max_pool2d_backward` needs.
    """
    return _pool_forward(x, kernel_size, stride, np.max)


def max_pool2d_backward(grad_out: np.ndarray, cache: tuple) -> np.ndarray:
    """dLoss/dx of max pooling: each window's gradient goes to its first largest value (row-major), as in PyTorch.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, H', W')
    cache : tuple
        What :func:`max_pool2d_forward` returned with its output.

    Returns
    -------
    ndarray, shape (N, C, H, W)
    """
    x, (kh, kw), (sh, sw) = cache
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for c in range(grad_out.shape[1]):
            for r in range(grad_out.shape[2]):
                for s in range(grad_out.shape[3]):
                    window = x[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw]
                    m, n = np.unravel_index(np.argmax(window), window.shape)
                    dx[i, c, r * sh + m, s * sw + n] += grad_out[i, c, r, s]
    return dx


def avg_pool2d_forward(x: np.ndarray, *, kernel_size: IntPair, stride: IntPair | None = None) -> tuple[np.ndarray, tuple]:
    """The mean of every ``kh x kw`` window, moved by ``stride`` (default: the window size).

    ``x`` is ``(N, C, H, W)``; returns ``(out (N, C, H', W'), cache)``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional

    Returns
    -------
    out : ndarray, shape (N, C, H', W')
    cache : tuple
        What :func:`avg_pool2d_backward` needs.
    """
    return _pool_forward(x, kernel_size, stride, np.mean)


def avg_pool2d_backward(grad_out: np.ndarray, cache: tuple) -> np.ndarray:
    """dLoss/dx of average pooling: each window's gradient is shared equally by its ``kh * kw`` values.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, H', W')
    cache : tuple
        What :func:`avg_pool2d_forward` returned with its output.

    Returns
    -------
    ndarray, shape (N, C, H, W)
    """
    x, (kh, kw), (sh, sw) = cache
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for c in range(grad_out.shape[1]):
            for r in range(grad_out.shape[2]):
                for s in range(grad_out.shape[3]):
                    dx[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw] += grad_out[i, c, r, s] / (kh * kw)
    return dx
