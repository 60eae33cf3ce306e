"""Every layer's backward against central differences in float64, and against PyTorch.

The numerical check: for a layer ``f`` and a fixed random ``G``, the scalar
``L = sum(f(x) * G)`` has ``dL/dx = backward(G)``; each entry is compared with
``(L(x + h e_i) - L(x - h e_i)) / 2h``.  Inputs are random float64 values, so no
input sits on a ReLU kink or a max-pool tie.
"""

from __future__ import annotations

import numpy as np
import pytest

from convfx import ParameterError, reference
from convfx.conv import correlate
from convfx.im2col import col2im_per_image, im2col, im2col_per_image
from convfx.nn import (
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Flatten,
    LeNet,
    Linear,
    MaxPool2d,
    PReLU,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    initialize,
    log_softmax,
    softmax,
)

F64 = np.float64


def numerical_gradient(loss, array: np.ndarray, *, h: float = 1e-6, entries=None) -> np.ndarray:
    """Central differences of ``loss()`` with respect to ``array`` (perturbed in place)."""
    grad = np.zeros_like(array)
    for index in entries if entries is not None else np.ndindex(array.shape):
        original = array[index]
        array[index] = original + h
        plus = loss()
        array[index] = original - h
        minus = loss()
        array[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def assert_close(analytic: np.ndarray, numeric: np.ndarray, *, tol: float = 1e-7, what: str = "gradient") -> None:
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-8)
    error = np.abs(analytic - numeric).max() / scale
    assert error < tol, f"{what}: relative error {error:.2e}"


def check_layer(layer, x: np.ndarray, rng: np.random.Generator, *, tol: float = 1e-7) -> None:
    """Input and parameter gradients of ``layer`` at ``x`` against central differences."""
    out = layer.forward(x)
    weights = rng.standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(layer.forward(x) * weights))

    layer.forward(x)
    grad_x = layer.backward(weights)
    analytic_params = {name: grad.copy() for name, grad in layer.grads.items()}
    assert grad_x.shape == x.shape and grad_x.dtype == F64
    assert_close(grad_x, numerical_gradient(loss, x), tol=tol)
    for name, value in layer.params.items():
        assert analytic_params[name].shape == value.shape
        assert_close(analytic_params[name], numerical_gradient(loss, value), tol=tol, what=name)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize(
    "stride, padding, kernel",
    [(1, 0, 3), (2, 1, 3), ((1, 2), (2, 0), (2, 3)), (3, 2, 5)],
)
def test_conv2d_gradients(rng, stride, padding, kernel):
    layer = Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=rng, dtype=F64)
    layer.params["bias"][...] = rng.standard_normal(4)
    check_layer(layer, rng.standard_normal((2, 3, 7, 8)), rng)


@pytest.mark.parametrize("layer_type", [ReLU, Sigmoid, Tanh])
def test_elementwise_activation_gradients(rng, layer_type):
    check_layer(layer_type(), rng.standard_normal((3, 2, 4, 5)), rng)


@pytest.mark.parametrize("num_parameters, shape", [(1, (3, 4, 5, 5)), (4, (3, 4, 5, 5)), (6, (5, 6))])
def test_prelu_gradients_including_slope(rng, num_parameters, shape):
    layer = PReLU(num_parameters, init=0.3, dtype=F64)
    layer.params["weight"][...] = rng.uniform(0.1, 0.5, num_parameters)
    check_layer(layer, rng.standard_normal(shape), rng)


@pytest.mark.parametrize("pool_type", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize(
    "kernel, stride, shape",
    [(2, None, (2, 3, 8, 8)), (2, None, (2, 2, 7, 9)), (3, 2, (2, 2, 9, 8)), ((2, 3), (1, 2), (1, 2, 6, 9))],
)
def test_pool_gradients(rng, pool_type, kernel, stride, shape):
    check_layer(pool_type(kernel, stride), rng.standard_normal(shape), rng)


def test_flatten_and_linear_gradients(rng):
    check_layer(Flatten(), rng.standard_normal((3, 2, 4, 5)), rng)
    layer = Linear(7, 5, rng=rng, dtype=F64)
    layer.params["bias"][...] = rng.standard_normal(5)
    check_layer(layer, rng.standard_normal((4, 7)), rng)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm1d_gradients(rng, training):
    layer = BatchNorm1d(6, dtype=F64)
    layer.params["weight"][...] = rng.uniform(0.5, 1.5, 6)
    layer.params["bias"][...] = rng.standard_normal(6)
    layer.buffers["running_mean"][...] = rng.standard_normal(6)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 6)
    layer.momentum = 0.0  # the numerical check calls forward many times: keep the buffers fixed
    layer.training = training
    check_layer(layer, rng.standard_normal((5, 6)) * 2 + 1, rng)


def test_softmax_cross_entropy_gradient(rng):
    logits = rng.standard_normal((6, 5)) * 3
    labels = rng.integers(0, 5, 6)
    criterion = SoftmaxCrossEntropy()
    criterion.forward(logits, labels)
    analytic = criterion.backward()
    assert_close(analytic, numerical_gradient(lambda: criterion.forward(logits, labels), logits))


@pytest.mark.parametrize(
    "activation, pooling, channels",
    [("relu", "max", 1), ("prelu", "avg", 3), ("tanh", "max", 3), ("sigmoid", "avg", 1)],
)
def test_whole_lenet_loss_gradient(rng, activation, pooling, channels):
    model = LeNet(
        channels,
        7,
        activation=activation,
        pooling=pooling,
        seed=rng,
        dtype=F64,
        input_mean=[0.4] * channels,
        input_std=[0.3] * channels,
    )
    for _, value, _ in model.parameters():
        if value.ndim == 1:  # non-zero biases and slopes, so their gradients mean something
            value += rng.uniform(-0.1, 0.1, value.shape)
    x = rng.random((3, channels, 32, 32))
    labels = rng.integers(0, 7, 3)
    criterion = SoftmaxCrossEntropy()

    def loss() -> float:
        return criterion.forward(model.forward(x), labels)

    loss()
    model.backward(criterion.backward())
    for name, value, grad in model.parameters():
        # 12 random entries per parameter keep the check fast (fc1 alone has 48,000).
        flat = rng.choice(value.size, size=min(12, value.size), replace=False)
        entries = [np.unravel_index(i, value.shape) for i in flat]
        numeric = numerical_gradient(loss, value, entries=entries)
        picked = np.array([grad[e] for e in entries])
        expected = np.array([numeric[e] for e in entries])
        assert_close(picked, expected, tol=1e-6, what=name)


# --------------------------------------------------------------------------- forward values


def test_conv2d_is_engine_cross_correlation_without_flip(rng):
    layer = Conv2d(3, 2, (3, 4), padding=(1, 2), rng=rng, dtype=F64)
    layer.params["bias"][...] = [0.5, -1.0]
    x = rng.standard_normal((2, 3, 9, 10))
    out = layer.forward(x)
    assert out.shape == (2, 2, 9, 11)
    for n in range(2):
        # convfx.correlate takes kernels (F, kh, kw, C) and images (H, W, C).
        kernels = layer.params["weight"].transpose(0, 2, 3, 1)
        expected = correlate(x[n].transpose(1, 2, 0), kernels, bias=layer.params["bias"], padding=(1, 2))
        np.testing.assert_allclose(out[n], expected.transpose(2, 0, 1), atol=1e-12)


@pytest.mark.parametrize(
    "stride, padding, kernel",
    [(1, 0, 3), (2, 1, 3), ((1, 2), (2, 0), (2, 3)), (3, 2, 5), (1, (0, 1), (1, 4))],
)
def test_conv2d_is_the_plain_loop_conv_layer(rng, stride, padding, kernel):
    """Forward and backward against convfx.reference.conv2d_forward / conv2d_backward."""
    layer = Conv2d(2, 3, kernel, stride=stride, padding=padding, rng=rng, dtype=F64)
    layer.params["bias"][...] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 9, 8))
    out = layer.forward(x)
    expected, cache = reference.conv2d_forward(x, layer.params["weight"], layer.params["bias"], stride=stride, padding=padding)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    grad_out = rng.standard_normal(out.shape)
    dx, dw, db = reference.conv2d_backward(grad_out, cache)
    np.testing.assert_allclose(layer.backward(grad_out), dx, atol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], dw, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], db, atol=1e-12)


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), ((2, 3), (1, 2)), (3, 1)])
@pytest.mark.parametrize(
    "pool_type, forward, backward",
    [
        (MaxPool2d, reference.max_pool2d_forward, reference.max_pool2d_backward),
        (AvgPool2d, reference.avg_pool2d_forward, reference.avg_pool2d_backward),
    ],
)
def test_pools_are_the_plain_loop_pools(rng, pool_type, forward, backward, kernel, stride):
    """Forward and backward against convfx.reference, ties included (a ReLU makes many zeros)."""
    x = np.maximum(rng.standard_normal((2, 3, 7, 8)), 0)
    layer = pool_type(kernel, stride)
    out = layer.forward(x)
    expected, cache = forward(x, kernel_size=kernel, stride=stride)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    grad_out = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(grad_out), backward(grad_out, cache), atol=1e-12)


def test_conv2d_stride_and_output_shape(rng):
    layer = Conv2d(1, 6, 5, stride=2, padding=2, rng=0)
    out = layer.forward(rng.random((4, 1, 32, 32), dtype=np.float32))
    assert out.shape == (4, 6, 16, 16)
    assert out.dtype == np.float32


def test_float32_stays_float32_everywhere(rng):
    model = LeNet(3, 4, activation="prelu", seed=0)
    x = rng.random((2, 3, 32, 32), dtype=np.float32)
    criterion = SoftmaxCrossEntropy()
    logits = model.forward(x)
    criterion.forward(logits, np.array([0, 3]))
    model.backward(criterion.backward())
    assert logits.dtype == np.float32
    assert all(grad.dtype == np.float32 for _, _, grad in model.parameters())


def test_maxpool_gives_ties_to_the_first_element():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, :, 2:] = [[1.0, 3.0], [3.0, 2.0]]
    pool = MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[0.0, 3.0]]]])
    grad = pool.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(grad, [[[[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_pools_compute_window_statistics(rng):
    x = rng.standard_normal((2, 3, 7, 7))
    for pool, reduce in ((MaxPool2d(3, 2), np.max), (AvgPool2d(3, 2), np.mean)):
        out = pool.forward(x)
        assert out.shape == (2, 3, 3, 3)
        assert out[1, 2, 1, 2] == pytest.approx(reduce(x[1, 2, 2:5, 4:7]))


def test_batchnorm_running_statistics_follow_pytorch_rule(rng):
    layer = BatchNorm1d(3, momentum=0.1, dtype=F64)
    x = rng.standard_normal((8, 3)) * 2 + 5
    out = layer.forward(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1))
    layer.training = False
    np.testing.assert_allclose(
        layer.forward(x), (x - layer.buffers["running_mean"]) / np.sqrt(layer.buffers["running_var"] + 1e-5)
    )


def test_softmax_and_cross_entropy_are_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-5e4, 5e4, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)
    assert np.all(np.isfinite(log_softmax(logits)))
    criterion = SoftmaxCrossEntropy()
    assert criterion.forward(logits, np.array([0, 1])) == pytest.approx(0.0, abs=1e-6)
    assert criterion.forward(logits, np.array([2, 0])) == pytest.approx((2000.0 + 1e5) / 2)
    assert np.all(np.isfinite(criterion.backward()))


def test_cross_entropy_rejects_bad_labels():
    criterion = SoftmaxCrossEntropy()
    with pytest.raises(ParameterError, match="labels"):
        criterion.forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ParameterError, match="labels"):
        criterion.forward(np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.mark.parametrize("method", ["he", "glorot", "normal", "uniform"])
def test_initialisations_have_their_documented_spread(method):
    w = initialize((200, 50, 3, 3), fan_in=450, fan_out=1800, method=method, rng=1)
    expected_std = {
        "he": np.sqrt(2 / 450),
        "glorot": np.sqrt(6 / (450 + 1800)) / np.sqrt(3),
        "normal": 0.01,
        "uniform": 1 / np.sqrt(3),
    }[method]
    assert w.dtype == np.float32
    assert w.std() == pytest.approx(expected_std, rel=0.03)
    if method == "uniform":
        assert w.min() >= -1 and w.max() <= 1


def test_layer_errors_name_the_problem(rng):
    with pytest.raises(ParameterError, match="init"):
        initialize((2, 2), fan_in=2, fan_out=2, method="xavier")
    with pytest.raises(ParameterError, match="Conv2d.*3 input channels"):
        Conv2d(3, 2, 3).forward(np.zeros((1, 1, 5, 5), np.float32))
    with pytest.raises(ParameterError, match="Linear"):
        Linear(4, 2).forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ParameterError, match="kernel"):
        MaxPool2d(4).forward(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ParameterError, match="BatchNorm1d"):
        BatchNorm1d(3).forward(np.zeros((1, 3), np.float32))


# --------------------------------------------------------------------------- engine layout


def test_per_image_patches_match_im2col_and_col2im_is_adjoint(rng):
    for stride, dilation in [(1, 1), (2, 1), ((1, 3), (2, 1))]:
        x = rng.standard_normal((2, 3, 9, 11))
        cols = im2col_per_image(x, (3, 2), stride=stride, dilation=dilation)
        reference = im2col(x, (3, 2), stride=stride, dilation=dilation)
        assert cols.flags.c_contiguous
        np.testing.assert_array_equal(cols.transpose(0, 2, 1).reshape(reference.shape), reference)
        g = rng.standard_normal(cols.shape)
        back = col2im_per_image(g, x.shape, (3, 2), stride=stride, dilation=dilation)
        assert np.sum(back * x) == pytest.approx(np.sum(g * cols))


# --------------------------------------------------------------------------- PyTorch


def test_layers_match_pytorch_forward_and_backward(rng):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = rng.standard_normal((2, 3, 9, 8))
    conv = Conv2d(3, 4, 3, stride=2, padding=1, rng=rng, dtype=F64)
    conv.params["bias"][...] = rng.standard_normal(4)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(conv.params["weight"], requires_grad=True)
    tb = torch.tensor(conv.params["bias"], requires_grad=True)
    tout = functional.conv2d(tx, tw, tb, stride=2, padding=1)
    out = conv.forward(x)
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(conv.backward(g), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv.grads["weight"], tw.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv.grads["bias"], tb.grad.numpy(), atol=1e-12)

    for ours, theirs in [
        (MaxPool2d(3, 2), lambda t: functional.max_pool2d(t, 3, 2)),
        (AvgPool2d(2), lambda t: functional.avg_pool2d(t, 2)),
        (PReLU(3, init=0.2, dtype=F64), lambda t: functional.prelu(t, torch.full((3,), 0.2, dtype=torch.float64))),
    ]:
        tx = torch.tensor(x, requires_grad=True)
        tout = theirs(tx)
        out = ours.forward(x)
        np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-12)
        g = rng.standard_normal(out.shape)
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(ours.backward(g), tx.grad.numpy(), atol=1e-12)

    features = rng.standard_normal((6, 5))
    norm = BatchNorm1d(5, dtype=F64)
    torch_norm = torch.nn.BatchNorm1d(5).double()
    tx = torch.tensor(features, requires_grad=True)
    tout = torch_norm(tx)
    out = norm.forward(features)
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.buffers["running_var"], torch_norm.running_var.numpy(), atol=1e-12)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(norm.backward(g), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.grads["weight"], torch_norm.weight.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize(
    "layer",
    [
        Conv2d(1, 1, 3, rng=0),
        ReLU(),
        PReLU(),
        Sigmoid(),
        Tanh(),
        MaxPool2d(2),
        AvgPool2d(2),
        Flatten(),
        Linear(2, 2, rng=0),
        BatchNorm1d(2),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_backward_before_any_forward_says_so(layer):
    with pytest.raises(RuntimeError, match=rf"^{type(layer).__name__}: backward needs a forward pass first$"):
        layer.backward(np.ones((1, 1, 2, 2)))


def test_loss_backward_before_any_forward_says_so():
    with pytest.raises(RuntimeError, match="^SoftmaxCrossEntropy: backward needs a forward pass first$"):
        SoftmaxCrossEntropy().backward()
