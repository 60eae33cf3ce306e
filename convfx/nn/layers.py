"""The layers of a small CNN in plain numpy, each forward next to its backward.

Every layer is an object with

* ``forward(x)`` -- computes the output and keeps, in ``self.cache``, exactly what
  ``backward`` needs (cs231n's "forward returns the cache", kept on the layer so
  that a model is a plain list of layers);
* ``backward(grad_out)`` -- given dLoss/dOutput, fills ``self.grads`` (same keys and
  shapes as ``self.params``) and returns dLoss/dInput;
* ``params`` / ``grads`` -- name -> array dicts that optimisers update in place, and
  ``buffers`` for state that is saved but not trained (BatchNorm running stats).

Tensors are ``(N, C, H, W)`` and weights use PyTorch's layout, so state dicts
transfer both ways.  Computation stays in the dtype of the parameters and inputs
(float32 for training, float64 for gradient checks): no silent upcasts.

The convolution and the overlapping pools reuse the engine's patch matrices
(:func:`convfx.im2col.im2col_per_image` / :func:`convfx.im2col.col2im_per_image`);
the plain-loop definitions they are tested against are
:func:`convfx.reference.conv2d_forward` / :func:`~convfx.reference.conv2d_backward`
and the pooling functions beside them.  This module must not grow a sliding window
of its own, and it knows nothing about files, data sets or training loops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple, TypeVar, Union

import numpy as np

from ..checks import choice, int_pair, positive_int
from ..conv import output_size
from ..errors import ParameterError, ParameterTypeError
from ..im2col import col2im_batch_last, col2im_per_image, im2col_per_image

__all__ = [
    "INITS",
    "Parameter",
    "Layer",
    "Conv2d",
    "ReLU",
    "PReLU",
    "Sigmoid",
    "Tanh",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Linear",
    "BatchNorm1d",
    "SoftmaxCrossEntropy",
    "softmax",
    "log_softmax",
    "initialize",
]

INITS = ("he", "glorot", "normal", "uniform")
Init = Literal["he", "glorot", "normal", "uniform"]
IntPair = Union[int, tuple[int, int]]
# A pool's geometry: the input shape (N, C, H, W) and the output's H', W'.
PoolGeometry = tuple[tuple[int, ...], int, int]
Seed = Union[int, np.random.Generator, None]


class Parameter(NamedTuple):
    """A trainable array, its gradient buffer (same shape), and its dotted name.

    Attributes
    ----------
    name : str
        Dotted name, as in a state dict (``"conv1.weight"``).
    value : ndarray
        The array itself; optimisers update it in place.
    grad : ndarray
        Its gradient, same shape, filled by ``backward``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Linear
    >>> [(p.name, p.value.shape, p.grad.shape) for p in Linear(3, 2, rng=0).parameters()]
    [('weight', (2, 3), (2, 3)), ('bias', (2,), (2,))]
    """

    name: str
    value: np.ndarray
    grad: np.ndarray


# --------------------------------------------------------------------------- init


def initialize(
    shape: tuple[int, ...],
    *,
    fan_in: int,
    fan_out: int,
    method: Init = "he",
    rng: Seed = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Random initial weights.

    Parameters
    ----------
    shape : tuple of int
        Shape of the weight array, e.g. ``(F, C, kh, kw)`` or ``(out, in)``.
    fan_in, fan_out : int
        Inputs feeding one output (``C*kh*kw`` or ``in``), outputs fed by one input
        (``F*kh*kw`` or ``out``).
    method : {"he", "glorot", "normal", "uniform"}, optional
        ``"he"``: normal with std ``sqrt(2 / fan_in)`` (for ReLU-like activations;
        He et al. 2015).  ``"glorot"``: uniform on ``+-sqrt(6 / (fan_in + fan_out))``
        (for tanh/sigmoid; Glorot & Bengio 2010).  ``"normal"``: normal with std
        0.01, the classic "small random numbers".  ``"uniform"``: uniform on
        ``[-1, 1]``.  The last two exist to show why the first two matter.
    rng : int, numpy.random.Generator or None, optional
        Seed or generator.
    dtype : numpy dtype, optional
        float32 (training) or float64 (gradient checks).

    Returns
    -------
    ndarray of ``shape`` and ``dtype``

    Examples
    --------
    >>> from convfx.nn import initialize
    >>> weights = initialize((6, 1, 5, 5), fan_in=25, fan_out=150, method="he", rng=0)
    >>> weights.shape, weights.dtype, 0.2 < float(weights.std()) < 0.36     # sqrt(2 / 25) = 0.28
    ((6, 1, 5, 5), dtype('float32'), True)
    """
    choice(method, "init", INITS)
    generator = np.random.default_rng(rng)
    if method == "he":
        values = generator.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    elif method == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        values = generator.uniform(-limit, limit, size=shape)
    elif method == "normal":
        values = generator.normal(0.0, 0.01, size=shape)
    else:  # "uniform"
        values = generator.uniform(-1.0, 1.0, size=shape)
    return values.astype(dtype)


# --------------------------------------------------------------------------- base


class Layer:
    """Base class: empty ``params``/``grads``/``buffers``, training mode, no cache.

    Subclasses implement ``forward`` and ``backward``.  ``training`` switches
    BatchNorm between batch statistics and running statistics; other layers ignore it.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import ReLU
    >>> layer = ReLU()                                    # every layer: forward, then backward
    >>> layer.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> layer.backward(np.array([[5.0, 5.0]]))            # the gradient of the loss w.r.t. its input
    array([[0., 5.]])
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        self.cache: object = None  # what forward keeps for backward; each layer declares its kind

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def parameters(self, prefix: str = "") -> Iterator[Parameter]:
        """``Parameter(prefix + name, value, grad)`` for every trainable array.

        Parameters
        ----------
        prefix : str, optional
            Put before each name (``"conv1."`` gives ``"conv1.weight"``).

        Yields
        ------
        Parameter
            The array itself (not a copy) and its gradient buffer, in insertion order.
        """
        for name, value in self.params.items():
            yield Parameter(prefix + name, value, self.grads[name])

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_input(x: np.ndarray, ndim: int, layer: str, what: str) -> None:
    if not isinstance(x, np.ndarray):
        raise ParameterTypeError(f"{layer}: expected a numpy array {what}, found {type(x).__name__}")
    if x.ndim != ndim:
        raise ParameterError(f"{layer}: expected an array of shape {what}, found shape {x.shape}")


_Cache = TypeVar("_Cache")


def _forward_cache(cache: _Cache | None, layer: object) -> _Cache:
    """What ``layer``'s last ``forward`` kept for its ``backward``."""
    if cache is None:
        raise RuntimeError(f"{type(layer).__name__}: backward needs a forward pass first")
    return cache


# --------------------------------------------------------------------------- Conv2d


class Conv2d(Layer):
    """2-D cross-correlation over a batch, with a bias per output channel.

    Like every deep-learning framework, this "convolution" does **not** flip the
    kernel: it is the cross-correlation :func:`convfx.correlate` computes, with
    zero padding.  Built on the engine's patch matrices: forward, one
    ``(F, C*kh*kw) @ (C*kh*kw, H'*W')`` product per image
    (:func:`~convfx.im2col.im2col_per_image`); backward, one such product per image
    for the weight gradient and a single ``(C*kh*kw, F) @ (F, H'*W'*N)`` product
    scattered back by :func:`~convfx.im2col.col2im_batch_last` for the input gradient.
    The same arithmetic as plain loops: :func:`convfx.reference.conv2d_forward` and
    :func:`convfx.reference.conv2d_backward`.

    Parameters
    ----------
    in_channels : int
        ``C``.
    out_channels : int
        ``F``, the number of kernels.
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    stride : int or (int, int), optional
        Step between output positions.
    padding : int or (int, int), optional
        Zeros added on each side of the height and width.
    init : {"he", "glorot", "normal", "uniform"}, optional
        Weight initialisation (see :func:`initialize`); the bias starts at zero.
    rng : int, Generator or None, optional
        Seed or generator for the initial weights.
    dtype : numpy dtype, optional
        float32 (default) or float64.

    Attributes
    ----------
    params : dict
        ``weight`` of shape ``(F, C, kh, kw)`` (PyTorch's layout), ``bias`` ``(F,)``.
    compute_input_grad : bool
        ``False`` skips dLoss/dInput in ``backward`` (returns ``None``), as for the
        first layer of a network, whose input needs no gradient.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2d(1, 6, 5, rng=0)
    >>> conv(np.zeros((2, 1, 32, 32), np.float32)).shape
    (2, 6, 28, 28)
    """

    cache: tuple[tuple[int, ...], tuple[int, ...], np.ndarray] | None  # input shape, padded shape, patch matrices

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        *,
        stride: IntPair = 1,
        padding: IntPair = 0,
        init: Init = "he",
        rng: Seed = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.kernel_size = int_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = int_pair(stride, "stride", minimum=1)
        self.padding = int_pair(padding, "padding", minimum=0)
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels, kh, kw)
        self._add_param(
            "weight",
            initialize(shape, fan_in=in_channels * kh * kw, fan_out=out_channels * kh * kw, method=init, rng=rng, dtype=dtype),
        )
        self._add_param("bias", np.zeros(out_channels, dtype=dtype))
        self.compute_input_grad = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Correlate a batch with the kernels.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        ndarray, shape (N, F, H', W')
            ``H' = output_size(H, kh, stride=sh, padding=ph)``, likewise ``W'``.
        """
        _check_input(x, 4, "Conv2d", f"(N, {self.in_channels}, H, W)")
        if x.shape[1] != self.in_channels:
            raise ParameterError(f"Conv2d: expected {self.in_channels} input channels, found shape {x.shape}")
        n, _, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        oh = output_size(height, kh, stride=sh, padding=ph)
        ow = output_size(width, kw, stride=sw, padding=pw)
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        cols = im2col_per_image(padded, self.kernel_size, stride=self.stride)  # (N, C*kh*kw, H'*W')
        weight = self.params["weight"]
        out = np.matmul(weight.reshape(self.out_channels, -1), cols)  # (N, F, H'*W')
        out += self.params["bias"][:, None]
        self.cache = (x.shape, padded.shape, cols)
        return out.reshape(n, self.out_channels, oh, ow)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Gradients of the weights, the bias and (unless switched off) the input.

        Parameters
        ----------
        grad_out : ndarray, shape (N, F, H', W')

        Returns
        -------
        ndarray, shape (N, C, H, W), or None if ``compute_input_grad`` is False
        """
        x_shape, padded_shape, cols = _forward_cache(self.cache, self)
        n = grad_out.shape[0]
        weight = self.params["weight"].reshape(self.out_channels, -1)  # (F, C*kh*kw)
        grad = grad_out.reshape(n, self.out_channels, -1)  # (N, F, H'*W')
        # Per-image (F, H'*W') @ (H'*W', C*kh*kw), summed over the batch.
        np.sum(np.matmul(grad, cols.transpose(0, 2, 1)), axis=0, out=self.grads["weight"].reshape(self.out_channels, -1))
        np.sum(grad, axis=(0, 2), out=self.grads["bias"])
        if not self.compute_input_grad:
            return None
        # The patch gradients are scattered back batch-innermost, where every strided
        # add runs over long contiguous stretches (see col2im_batch_last): one GEMM
        # (C*kh*kw, F) @ (F, H'*W'*N), then transposes of the small arrays at each end.
        grad_batch_last = np.ascontiguousarray(grad_out.transpose(1, 2, 3, 0)).reshape(self.out_channels, -1)
        grad_cols = weight.T @ grad_batch_last  # (C*kh*kw, H'*W'*N)
        _, channels, padded_h, padded_w = padded_shape
        grad_padded = col2im_batch_last(grad_cols, (channels, padded_h, padded_w, n), self.kernel_size, stride=self.stride)
        (ph, pw), (height, width) = self.padding, x_shape[2:]
        return np.ascontiguousarray(grad_padded[:, ph : ph + height, pw : pw + width].transpose(3, 0, 1, 2))

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding})"
        )


# --------------------------------------------------------------------------- activations


class ReLU(Layer):
    """``max(x, 0)`` elementwise; any shape.  The gradient at exactly 0 is taken as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import ReLU
    >>> ReLU().forward(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """

    cache: np.ndarray | None  # the output

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``, remembering where ``x`` was positive.

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        ndarray, the shape of ``x``
        """
        out = np.maximum(x, 0)
        self.cache = out
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx: ``grad_out`` where the input was positive, 0 elsewhere.

        Parameters
        ----------
        grad_out : ndarray, the shape of the forward output

        Returns
        -------
        ndarray, the same shape
        """
        return grad_out * (_forward_cache(self.cache, self) > 0)


class PReLU(Layer):
    """Parametric ReLU: ``x`` where positive, ``a * x`` elsewhere, with ``a`` learned.

    Parameters
    ----------
    num_parameters : int, optional
        1 (one slope shared by all channels, PyTorch's default) or the number of
        channels ``C`` (one slope per channel, axis 1 of the input).
    init : float, optional
        Initial slope (He et al. 2015 use 0.25).
    dtype : numpy dtype, optional

    Attributes
    ----------
    params : dict
        ``weight`` of shape ``(num_parameters,)``, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import PReLU
    >>> PReLU(init=0.25).forward(np.array([[-4.0, 2.0]], dtype=np.float32))
    array([[-1.,  2.]], dtype=float32)
    """

    cache: tuple[np.ndarray, np.ndarray] | None  # the input, where it is positive

    def __init__(self, num_parameters: int = 1, *, init: float = 0.25, dtype: np.dtype | type = np.float32) -> None:
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters")
        self._add_param("weight", np.full(self.num_parameters, init, dtype=dtype))

    def _slope(self, ndim: int) -> np.ndarray:
        # Broadcast the slopes along axis 1 (channels / features).
        return self.params["weight"].reshape((1, -1) + (1,) * (ndim - 2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` where positive, ``a * x`` elsewhere.

        Parameters
        ----------
        x : ndarray, shape (N, C, ...)
            With ``C == num_parameters`` when there is a slope per channel.

        Returns
        -------
        ndarray, the shape of ``x``
        """
        if self.num_parameters > 1 and (x.ndim < 2 or x.shape[1] != self.num_parameters):
            raise ParameterError(f"PReLU: expected {self.num_parameters} channels on axis 1, found shape {x.shape}")
        positive = x > 0
        out = np.where(positive, x, self._slope(x.ndim) * x)
        self.cache = (x, positive)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx; fills ``grads["weight"]`` with dLoss/da.

        Parameters
        ----------
        grad_out : ndarray, the shape of the input

        Returns
        -------
        ndarray, the shape of the input
        """
        x, positive = _forward_cache(self.cache, self)
        negative_part = np.where(positive, 0, x * grad_out)
        if self.num_parameters == 1:
            self.grads["weight"][...] = negative_part.sum()
        else:
            axes = (0,) + tuple(range(2, x.ndim))
            self.grads["weight"][...] = negative_part.sum(axis=axes)
        return np.where(positive, grad_out, self._slope(x.ndim) * grad_out)

    def __repr__(self) -> str:
        return f"PReLU(num_parameters={self.num_parameters})"


class Sigmoid(Layer):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow; any shape.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Sigmoid
    >>> Sigmoid().forward(np.array([0.0, 1000.0, -1000.0]))
    array([0.5, 1. , 0. ])
    """

    cache: np.ndarray | None  # the output

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``1 / (1 + exp(-x))``, without overflow.

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        ndarray, the shape of ``x``, values in (0, 1)
        """
        from scipy.special import expit  # stable 1 / (1 + exp(-x)); imported on first use

        out = expit(x)
        self.cache = out
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx = grad_out * s * (1 - s), with ``s`` the forward output.

        Parameters
        ----------
        grad_out : ndarray, the shape of the forward output

        Returns
        -------
        ndarray, the same shape
        """
        out = _forward_cache(self.cache, self)
        return grad_out * out * (1 - out)


class Tanh(Layer):
    """Hyperbolic tangent; any shape.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Tanh
    >>> Tanh().forward(np.array([0.0]))
    array([0.])
    """

    cache: np.ndarray | None  # the output

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``tanh(x)``.

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        ndarray, the shape of ``x``, values in (-1, 1)
        """
        out = np.tanh(x)
        self.cache = out
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx = grad_out * (1 - tanh(x)^2).

        Parameters
        ----------
        grad_out : ndarray, the shape of the forward output

        Returns
        -------
        ndarray, the same shape
        """
        out = _forward_cache(self.cache, self)
        return grad_out * (1 - out * out)


# --------------------------------------------------------------------------- pooling


class _Pool2d(Layer):
    """Windows of a pool as ``kh*kw`` tap arrays of the output's shape.

    Non-overlapping windows (stride == size) are a reshape of the input, with no copy;
    overlapping ones come from the engine's patch matrix with channels treated as
    images.  Either way, tap ``t`` holds the element at offset ``(t // kw, t % kw)`` of
    every window, and the backward pass scatters per-tap gradients the same way back.
    """

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None) -> None:
        super().__init__()
        self.kernel_size = int_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else int_pair(stride, "stride", minimum=1)

    def _taps(self, x: np.ndarray) -> tuple[list[np.ndarray], PoolGeometry]:
        _check_input(x, 4, type(self).__name__, "(N, C, H, W)")
        n, c, height, width = x.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        oh = output_size(height, kh, stride=sh)
        ow = output_size(width, kw, stride=sw)
        if (sh, sw) == (kh, kw):
            # Crop the rows/columns no window reaches, then view as (N, C, H', kh, W', kw).
            windows = x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
            taps = [windows[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
        else:
            cols = im2col_per_image(x.reshape(n * c, 1, height, width), (kh, kw), stride=(sh, sw))
            cols = cols.reshape(n, c, kh * kw, oh, ow)
            taps = [cols[:, :, t] for t in range(kh * kw)]
        return taps, (x.shape, oh, ow)

    def _untaps(self, tap_grads: Sequence[np.ndarray], geometry: PoolGeometry) -> np.ndarray:
        """Adjoint of ``_taps``: per-tap gradients (N, C, H', W') -> dLoss/dx (N, C, H, W)."""
        (n, c, height, width), oh, ow = geometry
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if (sh, sw) == (kh, kw):
            grad, tap_views = self._gradient_windows(geometry, tap_grads[0].dtype)
            for view, tap in zip(tap_views, tap_grads):
                view[...] = tap
            return grad
        cols = np.stack(tap_grads, axis=2).reshape(n * c, kh * kw, oh * ow)
        grad = col2im_per_image(cols, (n * c, 1, height, width), (kh, kw), stride=(sh, sw))
        return grad.reshape(n, c, height, width)

    def _gradient_windows(self, geometry: PoolGeometry, dtype: np.dtype) -> tuple[np.ndarray, list[np.ndarray]]:
        """For non-overlapping windows: dLoss/dx and its ``kh*kw`` tap views to fill."""
        (n, c, height, width), oh, ow = geometry
        kh, kw = self.kernel_size
        covered = (oh * kh, ow * kw) == (height, width)
        # Every covered element belongs to exactly one window, so only the cropped
        # border (if any) needs zeros.
        grad = np.empty((n, c, height, width), dtype=dtype) if covered else np.zeros((n, c, height, width), dtype=dtype)
        # Splitting axes never copies, so writing into these views fills ``grad``.
        windows = grad[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
        return grad, [windows[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """Maximum over ``kh x kw`` windows moved by ``stride`` (default: the window size).

    The gradient goes to the first maximal element of each window (row-major order),
    as in PyTorch, so ties (frequent after a ReLU) do not duplicate it.  The plain-loop
    definition: :func:`convfx.reference.max_pool2d_forward` / ``max_pool2d_backward``.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import MaxPool2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> MaxPool2d(2).forward(x)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    cache: tuple[list[np.ndarray], np.ndarray, PoolGeometry] | None  # the taps, the output, the geometry

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The maximum of each window.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        ndarray, shape (N, C, H', W')
            ``H' = (H - kh) // sh + 1``, and the same for ``W'``.
        """
        taps, geometry = self._taps(x)
        out = taps[0].copy()
        for tap in taps[1:]:
            np.maximum(out, tap, out=out)
        # Which element won is found again in backward: comparing with the maximum
        # costs less than tracking an argmax here with masked copies.
        self.cache = (taps, out, geometry)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx: each window's gradient goes to its first maximal element.

        Parameters
        ----------
        grad_out : ndarray, shape (N, C, H', W')

        Returns
        -------
        ndarray, shape (N, C, H, W)
        """
        taps, out, geometry = _forward_cache(self.cache, self)
        overlapping = self.stride != self.kernel_size
        if overlapping:
            tap_grads = [np.empty_like(grad_out) for _ in taps]
        else:  # write straight into dLoss/dx
            grad, tap_grads = self._gradient_windows(geometry, grad_out.dtype)
        claimed = np.zeros(out.shape, dtype=bool)
        for t, (tap, tap_grad) in enumerate(zip(taps, tap_grads)):
            winner = tap == out
            if t:
                winner &= ~claimed  # an earlier tap with the same value already won
            if t < len(taps) - 1:
                claimed |= winner
            np.multiply(grad_out, winner, out=tap_grad)
        return self._untaps(tap_grads, geometry) if overlapping else grad


class AvgPool2d(_Pool2d):
    """Mean over ``kh x kw`` windows moved by ``stride`` (default: the window size).

    The plain-loop definition: :func:`convfx.reference.avg_pool2d_forward` / ``avg_pool2d_backward``.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import AvgPool2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> AvgPool2d(2).forward(x)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    cache: PoolGeometry | None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The mean of each window.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        ndarray, shape (N, C, H', W')
            ``H' = (H - kh) // sh + 1``, and the same for ``W'``.
        """
        taps, geometry = self._taps(x)
        out = taps[0].copy()
        for tap in taps[1:]:
            out += tap
        out *= x.dtype.type(1.0 / len(taps))
        self.cache = geometry
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx: each element of a window gets 1/(kh*kw) of its gradient.

        Parameters
        ----------
        grad_out : ndarray, shape (N, C, H', W')

        Returns
        -------
        ndarray, shape (N, C, H, W)
        """
        count = self.kernel_size[0] * self.kernel_size[1]
        share = grad_out * grad_out.dtype.type(1.0 / count)
        return self._untaps([share] * count, _forward_cache(self.cache, self))


# --------------------------------------------------------------------------- dense


class Flatten(Layer):
    """``(N, C, H, W)`` -> ``(N, C*H*W)`` in (C, H, W) order, PyTorch's ``nn.Flatten``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Flatten
    >>> Flatten().forward(np.zeros((2, 16, 5, 5))).shape
    (2, 400)
    """

    cache: tuple[int, ...] | None  # the input shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """One row per sample, in (C, H, W) order.

        Parameters
        ----------
        x : ndarray, shape (N, ...)

        Returns
        -------
        ndarray, shape (N, prod(...))
            A view of ``x`` where its layout allows one.
        """
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx: ``grad_out`` reshaped to the input's shape.

        Parameters
        ----------
        grad_out : ndarray, shape (N, D)

        Returns
        -------
        ndarray, the shape of the forward input
        """
        return grad_out.reshape(_forward_cache(self.cache, self))


class Linear(Layer):
    """Affine map ``y = x @ W.T + b``.

    Parameters
    ----------
    in_features, out_features : int
    init : {"he", "glorot", "normal", "uniform"}, optional
    rng : int, Generator or None, optional
    dtype : numpy dtype, optional

    Attributes
    ----------
    params : dict
        ``weight`` of shape ``(out_features, in_features)`` (PyTorch's layout),
        ``bias`` ``(out_features,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Linear
    >>> layer = Linear(400, 120, rng=0)
    >>> layer.forward(np.zeros((2, 400), np.float32)).shape, layer.params["weight"].shape
    ((2, 120), (120, 400))
    """

    cache: np.ndarray | None  # the input

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: Init = "he",
        rng: Seed = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self._add_param(
            "weight",
            initialize((out_features, in_features), fan_in=in_features, fan_out=out_features, method=init, rng=rng, dtype=dtype),
        )
        self._add_param("bias", np.zeros(out_features, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x @ W.T + b``.

        Parameters
        ----------
        x : ndarray, shape (N, in_features)

        Returns
        -------
        ndarray, shape (N, out_features)
        """
        _check_input(x, 2, "Linear", f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ParameterError(f"Linear: expected {self.in_features} input features, found shape {x.shape}")
        self.cache = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx; fills the weight and bias gradients.

        Parameters
        ----------
        grad_out : ndarray, shape (N, out_features)

        Returns
        -------
        ndarray, shape (N, in_features)
        """
        x = _forward_cache(self.cache, self)
        np.matmul(grad_out.T, x, out=self.grads["weight"])
        np.sum(grad_out, axis=0, out=self.grads["bias"])
        return grad_out @ self.params["weight"]

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


class BatchNorm1d(Layer):
    """Batch normalisation of features ``(N, D)`` (use it after :class:`Flatten`).

    In training mode each feature is standardised with the batch mean and the biased
    batch variance, then scaled and shifted; the running statistics follow
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased*
    variance, as in PyTorch.  In evaluation mode (``training = False``) the running
    statistics are used.

    Parameters
    ----------
    num_features : int
        ``D``.
    eps : float, optional
        Added to the variance.
    momentum : float, optional
    dtype : numpy dtype, optional

    Attributes
    ----------
    params : dict
        ``weight`` (scale, starts at 1) and ``bias`` (shift, starts at 0), ``(D,)``.
    buffers : dict
        ``running_mean`` and ``running_var``, ``(D,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import BatchNorm1d
    >>> norm = BatchNorm1d(3)
    >>> x = np.random.default_rng(0).normal(5.0, 2.0, (64, 3)).astype(np.float32)
    >>> y = norm.forward(x)                               # training mode: batch statistics
    >>> bool(np.allclose(y.mean(axis=0), 0, atol=1e-5)), bool(np.allclose(y.std(axis=0), 1, atol=1e-3))
    (True, True)
    """

    cache: tuple[np.ndarray, np.ndarray, bool] | None  # normalised input, 1 / std, batch statistics used

    def __init__(
        self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, dtype: np.dtype | type = np.float32
    ) -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self._add_param("weight", np.ones(num_features, dtype=dtype))
        self._add_param("bias", np.zeros(num_features, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Each feature standardised (batch or running statistics), scaled and shifted.

        Parameters
        ----------
        x : ndarray, shape (N, D)
            ``N >= 2`` in training mode.

        Returns
        -------
        ndarray, shape (N, D)
        """
        _check_input(x, 2, "BatchNorm1d", f"(N, {self.num_features})")
        if x.shape[1] != self.num_features:
            raise ParameterError(f"BatchNorm1d: expected {self.num_features} features, found shape {x.shape}")
        if self.training:
            if x.shape[0] < 2:
                raise ParameterError(f"BatchNorm1d: expected at least 2 samples in training mode, found shape {x.shape}")
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            n = x.shape[0]
            m = x.dtype.type(self.momentum)
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * x.dtype.type(n / (n - 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / np.sqrt(var + x.dtype.type(self.eps))
        normalized = (x - mean) * inv_std
        self.cache = (normalized, inv_std, self.training)
        return normalized * self.params["weight"] + self.params["bias"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dLoss/dx; fills the scale and shift gradients.

        Parameters
        ----------
        grad_out : ndarray, shape (N, D)

        Returns
        -------
        ndarray, shape (N, D)
        """
        normalized, inv_std, batch_statistics = _forward_cache(self.cache, self)
        np.sum(grad_out * normalized, axis=0, out=self.grads["weight"])
        np.sum(grad_out, axis=0, out=self.grads["bias"])
        grad_normalized = grad_out * self.params["weight"]
        if not batch_statistics:
            return grad_normalized * inv_std
        # The mean and variance depend on every sample: the usual three-term formula.
        centered = grad_normalized - grad_normalized.mean(axis=0)
        return (centered - normalized * (grad_normalized * normalized).mean(axis=0)) * inv_std

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


# --------------------------------------------------------------------------- loss


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log of the softmax along the last axis, without overflow.

    Parameters
    ----------
    logits : ndarray, shape (N, K)

    Returns
    -------
    ndarray, shape (N, K)
        ``z - max(z) - log(sum(exp(z - max(z))))``: shifting by the maximum makes the
        largest exponent 0, so nothing overflows and the sum is at least 1.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import log_softmax
    >>> np.round(log_softmax(np.array([[0.0, 0.0]])), 6)
    array([[-0.693147, -0.693147]])
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, K)`` from logits ``(N, K)``; rows sum to 1.

    Parameters
    ----------
    logits : ndarray, shape (N, K)

    Returns
    -------
    ndarray, shape (N, K)
        Probabilities in [0, 1]; each row sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import softmax
    >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels.

    ``forward(logits, labels)`` returns the loss, ``backward()`` its gradient with
    respect to the logits, ``(softmax(logits) - onehot(labels)) / N``.  Computed
    through :func:`log_softmax`, so large logits neither overflow nor give ``log(0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import SoftmaxCrossEntropy
    >>> loss_fn = SoftmaxCrossEntropy()
    >>> round(loss_fn.forward(np.zeros((2, 4)), np.array([0, 3])), 6)   # uniform: log(4)
    1.386294
    >>> loss_fn.backward().shape                          # d loss / d logits
    (2, 4)
    """

    cache: tuple[np.ndarray, np.ndarray] | None  # log-probabilities, labels

    def __init__(self) -> None:
        self.cache = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """The mean cross-entropy of ``softmax(logits)`` against ``labels``.

        Parameters
        ----------
        logits : ndarray, shape (N, K)
        labels : ndarray of int, shape (N,)
            Class indices in [0, K).

        Returns
        -------
        float
            The loss.
        """
        _check_input(logits, 2, "SoftmaxCrossEntropy", "(N, K)")
        labels = np.asarray(labels)
        if labels.shape != logits.shape[:1] or labels.dtype.kind not in "iu":
            raise ParameterError(
                f"labels: expected {logits.shape[0]} integer labels, found shape {labels.shape} dtype {labels.dtype}"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise ParameterError(f"labels: expected values in [0, {logits.shape[1]}), found {labels.min()}..{labels.max()}")
        log_probabilities = log_softmax(logits)
        rows = np.arange(logits.shape[0])
        self.cache = (log_probabilities, labels)
        return float(-log_probabilities[rows, labels].mean())

    def backward(self) -> np.ndarray:
        """dLoss/dlogits of the last :meth:`forward`.

        Returns
        -------
        ndarray, shape (N, K)
            ``(softmax(logits) - onehot(labels)) / N``, the dtype of the logits.
        """
        log_probabilities, labels = _forward_cache(self.cache, self)
        n = log_probabilities.shape[0]
        grad = np.exp(log_probabilities)
        grad[np.arange(n), labels] -= 1
        grad *= grad.dtype.type(1.0 / n)
        return grad

    __call__ = forward
