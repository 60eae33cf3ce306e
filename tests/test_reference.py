"""convfx.reference, the plain-loop oracle, checked on its own.

The oracle is only worth something if it is right without the code it checks, so
it is held here to numbers worked out by hand, to ``scipy.signal.correlate2d`` /
``convolve2d`` and to central-difference gradients -- never to convfx's fast code.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from convfx import reference

# --------------------------------------------------------------------------- correlate


def test_correlate_by_hand():
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    kernel = np.array([[1, 0], [0, -1]])
    # C(x, y) = I[x, y] - I[x+1, y+1]: every window gives 1 - 5 = 2 - 6 = ... = -4.
    np.testing.assert_array_equal(reference.correlate(image, kernel), [[-4, -4], [-4, -4]])
    # Zero padding of 1 adds a ring: the corner (0, 0) sees only I[0, 0] under the -1.
    padded = reference.correlate(image, kernel, padding=1)
    assert padded.shape == (4, 4)
    assert padded[0, 0] == -1 and padded[3, 3] == 9 and padded[1, 1] == -4


def test_correlate_channels_bias_stride_and_dilation_by_hand():
    image = np.zeros((4, 5, 2))
    image[:, :, 0] = np.arange(20).reshape(4, 5)  # 0..19 row by row
    image[:, :, 1] = 100
    summed = np.zeros((1, 1, 2))
    summed[0, 0] = [2, 1]  # 2 * channel 0 + channel 1
    out = reference.correlate(image, summed, bias=-100)
    np.testing.assert_array_equal(out, 2 * image[:, :, 0])
    # A per-channel kernel keeps the channels; the bias is one per channel.
    per_channel = reference.correlate(image, [[1]], bias=[0, 1], stride=2)
    np.testing.assert_array_equal(per_channel[:, :, 0], [[0, 2, 4], [10, 12, 14]])
    np.testing.assert_array_equal(per_channel[:, :, 1], 101)
    # Dilation 2 spreads a [1, 1] row kernel over columns y and y + 2.
    dilated = reference.correlate(image[:, :, 0], [[1, 1]], dilation=2)
    np.testing.assert_array_equal(dilated[0], [0 + 2, 1 + 3, 2 + 4])


def test_a_bank_gives_one_map_per_kernel(rng):
    image = rng.standard_normal((6, 7, 3))
    bank = rng.standard_normal((4, 3, 3, 3))
    maps = reference.correlate(image, bank, bias=[1, 2, 3, 4])
    assert maps.shape == (4, 5, 4)
    for f in range(4):
        np.testing.assert_allclose(maps[:, :, f], reference.correlate(image, bank[f]) + f + 1, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 4), (5, 2)])
@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_correlate_is_scipy_correlate2d(rng, shape, mode):
    image = rng.standard_normal((8, 9))
    kernel = rng.standard_normal(shape)
    np.testing.assert_allclose(
        reference.correlate(image, kernel, padding=mode), scipy.signal.correlate2d(image, kernel, mode=mode), atol=1e-12
    )


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 4), (5, 2)])
@pytest.mark.parametrize("mode", ["valid", "full"])
def test_convolve_is_scipy_convolve2d(rng, shape, mode):
    image = rng.standard_normal((8, 9))
    kernel = rng.standard_normal(shape)
    np.testing.assert_allclose(
        reference.convolve(image, kernel, padding=mode), scipy.signal.convolve2d(image, kernel, mode=mode), atol=1e-12
    )


@pytest.mark.parametrize("boundary", ["edge", "reflect", "symmetric", "wrap"])
def test_boundaries_are_numpy_pad(rng, boundary):
    image = rng.standard_normal((5, 6))
    kernel = rng.standard_normal((3, 3))
    padded = np.pad(image, 2, mode=boundary)
    expected = scipy.signal.correlate2d(padded, kernel, mode="valid")
    np.testing.assert_allclose(reference.correlate(image, kernel, padding=2, boundary=boundary), expected, atol=1e-12)
    constant = reference.correlate(image, kernel, padding=(1, 2), cval=3.0)
    expected = scipy.signal.correlate2d(np.pad(image, ((1, 1), (2, 2)), constant_values=3.0), kernel, mode="valid")
    np.testing.assert_allclose(constant, expected, atol=1e-12)


# --------------------------------------------------------------------------- conv layer


def numerical_gradient(function, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = function()
        array[index] = saved - h
        minus = function()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def test_conv2d_forward_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]], [[[0.0, 0.0], [0.0, 1.0]]]])  # (2, 1, 2, 2)
    out, _ = reference.conv2d_forward(x, w, np.array([0.0, 0.5]), stride=2)
    assert out.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(out[0, 0], -5)  # x[r, s] - x[r + 1, s + 1] = -5 everywhere
    np.testing.assert_array_equal(out[0, 1], [[5.5, 7.5], [13.5, 15.5]])  # x[r + 1, s + 1] + 0.5
    padded, _ = reference.conv2d_forward(x, w, np.zeros(2), padding=1)
    assert padded.shape == (1, 2, 5, 5) and padded[0, 1, 0, 0] == 0 and padded[0, 0, 0, 0] == -0.0


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_backward_is_the_numerical_gradient(rng, stride, padding):
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    out, cache = reference.conv2d_forward(x, w, b, stride=stride, padding=padding)
    weights = rng.standard_normal(out.shape)  # loss = sum(weights * out)
    dx, dw, db = reference.conv2d_backward(weights, cache)

    def loss():
        return float(np.sum(weights * reference.conv2d_forward(x, w, b, stride=stride, padding=padding)[0]))

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), atol=1e-6)
    np.testing.assert_allclose(dw, numerical_gradient(loss, w), atol=1e-6)
    np.testing.assert_allclose(db, numerical_gradient(loss, b), atol=1e-6)


def test_conv2d_forward_is_scipy_per_channel(rng):
    x = rng.standard_normal((1, 3, 6, 7))
    w = rng.standard_normal((2, 3, 3, 3))
    out, _ = reference.conv2d_forward(x, w, np.array([1.0, -1.0]), padding=1)
    for f in range(2):
        expected = sum(scipy.signal.correlate2d(np.pad(x[0, c], 1), w[f, c], mode="valid") for c in range(3))
        np.testing.assert_allclose(out[0, f], expected + (1.0 if f == 0 else -1.0), atol=1e-12)


# --------------------------------------------------------------------------- pooling


def test_pooling_by_hand():
    x = np.array([[1.0, 3.0, 2.0, 0.0], [4.0, 4.0, 1.0, 1.0], [0.0, 0.0, 5.0, 6.0], [2.0, 8.0, 7.0, 5.0]])[None, None]
    largest, cache = reference.max_pool2d_forward(x, kernel_size=2)
    np.testing.assert_array_equal(largest[0, 0], [[4, 2], [8, 7]])
    # The 4 at (1, 0) wins the tie with the 4 at (1, 1): it comes first in row-major order.
    dx = reference.max_pool2d_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[1, 0], expected[0, 2], expected[3, 1], expected[3, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)
    mean, cache = reference.avg_pool2d_forward(x, kernel_size=2)
    np.testing.assert_array_equal(mean[0, 0], [[3, 1], [2.5, 5.75]])
    np.testing.assert_array_equal(reference.avg_pool2d_backward(np.ones((1, 1, 2, 2)), cache), np.full((1, 1, 4, 4), 0.25))


def test_overlapping_pools_by_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    largest, cache = reference.max_pool2d_forward(x, kernel_size=2, stride=1)
    np.testing.assert_array_equal(largest[0, 0], [[4, 5], [7, 8]])
    dx = reference.max_pool2d_backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 1, 1], [0, 1, 1]])
    _, cache = reference.avg_pool2d_forward(x, kernel_size=2, stride=1)
    # The centre pixel is in all four windows: 4 * 1/4.
    np.testing.assert_array_equal(reference.avg_pool2d_backward(np.ones((1, 1, 2, 2)), cache)[0, 0, 1, 1], 1.0)


@pytest.mark.parametrize("forward, backward", [
    (reference.max_pool2d_forward, reference.max_pool2d_backward),
    (reference.avg_pool2d_forward, reference.avg_pool2d_backward),
])  # fmt: skip
def test_pool_backward_is_the_numerical_gradient(rng, forward, backward):
    x = rng.standard_normal((2, 2, 5, 5))  # continuous values: no ties
    out, cache = forward(x, kernel_size=3, stride=2)
    weights = rng.standard_normal(out.shape)
    dx = backward(weights, cache)
    numeric = numerical_gradient(lambda: float(np.sum(weights * forward(x, kernel_size=3, stride=2)[0])), x)
    np.testing.assert_allclose(dx, numeric, atol=1e-6)
