"""Tests of the convolution engine against independent references.

The reference is the definition: pad with ``numpy.pad(mode=boundary)`` and take the
valid correlation with ``scipy.signal.correlate2d``, channel by channel, summed for
channel-summing kernels.  Its padding geometry is derived here from scratch, and is
itself checked against ``scipy.signal.correlate2d`` / ``convolve2d`` in their modes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convfx
from convfx import conv, im2col
from convfx import reference as plain

BOUNDARIES = ["constant", "edge", "reflect", "symmetric", "wrap"]
DTYPES = [np.float32, np.float64, np.uint8, np.uint16]
FORCED = ["direct", "filter2d", "fft", "im2col"]


# --------------------------------------------------------------------------- reference


def reference_pads(k: int, padding, flip: bool) -> tuple[int, int]:
    """(before, after) padding along one axis, written independently of convfx."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return k - 1, k - 1
    if padding == "same":
        # scipy centres the 'same' window in the 'full' output at offset k//2 for
        # correlate2d and (k-1)//2 for convolve2d; see test_same_geometry_matches_scipy.
        offset = (k - 1) // 2 if flip else k // 2
        before = k - 1 - offset
        return before, k - 1 - before
    return padding, padding


def reference(image, kernel, *, bias=0.0, stride=(1, 1), padding="same", boundary="constant", cval=0.0, flip=False):
    """float64 result by numpy.pad + scipy.signal.correlate2d(valid), plain loops."""
    x = np.asarray(image, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    x3 = x[:, :, None] if x.ndim == 2 else x
    if k.ndim == 2:
        bank, per_channel = k[None, :, :, None], True
    else:
        bank, per_channel = (k[None] if k.ndim == 3 else k), False
    if flip:
        bank = bank[:, ::-1, ::-1, :]
    kh, kw = bank.shape[1:3]
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    (top, bottom), (left, right) = reference_pads(kh, ph, flip), reference_pads(kw, pw, flip)
    extra = {"constant_values": cval} if boundary == "constant" else {}
    padded = np.pad(x3, [(top, bottom), (left, right), (0, 0)], mode=boundary, **extra)

    def valid(plane, taps):
        return scipy.signal.correlate2d(plane, taps, mode="valid")[:: stride[0], :: stride[1]]

    if per_channel:
        out = np.stack([valid(padded[:, :, c], bank[0, :, :, 0]) for c in range(x3.shape[2])], axis=-1)
        out = out + np.broadcast_to(np.asarray(bias, dtype=np.float64), (x3.shape[2],))
        return out if x.ndim == 3 else out[:, :, 0]
    maps = []
    biases = np.broadcast_to(np.asarray(bias, dtype=np.float64), (bank.shape[0],))
    for f in range(bank.shape[0]):
        maps.append(sum(valid(padded[:, :, c], bank[f, :, :, c]) for c in range(x3.shape[2])) + biases[f])
    out = np.stack(maps, axis=-1)
    return out if k.ndim == 4 else out[:, :, 0]


def assert_matches(got, expected, dtype):
    """float32 within 1e-4 of the reference's scale, float64 within 1e-10."""
    assert got.shape == expected.shape
    assert got.dtype == (np.float64 if np.dtype(dtype) == np.float64 else np.float32)
    scale = max(1.0, float(np.abs(expected).max()))
    tolerance = 1e-10 if got.dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance * scale)


def random_image(rng, shape, dtype):
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("kh, kw", [(1, 1), (3, 3), (4, 4), (2, 5), (1, 6), (5, 2), (6, 1)])
@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_same_geometry_matches_scipy(rng, kh, kw, mode):
    """String paddings reproduce scipy's correlate2d / convolve2d exactly."""
    x = rng.standard_normal((9, 11))
    k = rng.standard_normal((kh, kw))
    for function, oracle in [(convfx.correlate, scipy.signal.correlate2d), (convfx.convolve, scipy.signal.convolve2d)]:
        got = function(x, k, padding=mode, backend="direct")
        np.testing.assert_allclose(got, oracle(x, k, mode=mode), atol=1e-12)
        got = function(x, k, padding=mode)
        np.testing.assert_allclose(got, oracle(x, k, mode=mode), atol=1e-12)


def test_output_size_worked_examples():
    assert convfx.output_size(28, 5) == 24
    assert convfx.output_size(28, 5, padding=1) == 26
    assert convfx.output_size(32, 5, padding=2) == 32
    assert convfx.output_size(7, 3, stride=2, padding=1) == 4
    assert convfx.output_size(10, 3, dilation=2) == 6
    assert convfx.output_size(9, 4, padding="same") == 9
    assert convfx.output_size(9, 4, padding="full") == 12
    assert convfx.output_size(9, 4, padding="valid") == 6


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 9),
    stride=st.integers(1, 4),
    padding=st.integers(0, 5),
)
def test_output_size_is_the_formula_and_what_correlate_returns(n, k, stride, padding):
    if n + 2 * padding < k:
        with pytest.raises(ValueError, match="kernel"):
            convfx.output_size(n, k, stride=stride, padding=padding)
        return
    expected = (n + 2 * padding - k) // stride + 1
    assert convfx.output_size(n, k, stride=stride, padding=padding) == expected
    out = convfx.correlate(np.ones((n, 3)), np.ones((k, 1)), stride=(stride, 1), padding=(padding, 0))
    assert out.shape[0] == expected


# --------------------------------------------------------------------------- differential


CASES = list(
    itertools.product(
        BOUNDARIES,
        DTYPES,
        ["same", "valid", "full", 0, 2, (1, 3)],
    )
)


@pytest.mark.parametrize("boundary, dtype, padding", CASES)
def test_per_channel_kernels_match_reference(rng, boundary, dtype, padding):
    """2-D kernels (odd, even, 1xN, Nx1) on 1- and 3-channel images, every backend."""
    cval = 0.0 if boundary != "constant" else float(rng.choice([0.0, 2.5]))
    for trial in range(4):
        channels = (1, 3)[trial % 2]
        shape = (int(rng.integers(6, 23)), int(rng.integers(6, 23))) + ((3,) if channels == 3 else ())
        image = random_image(rng, shape, dtype)
        kernel = rng.standard_normal([(3, 3), (4, 2), (1, 5), (6, 1)][trial])
        stride = [(1, 1), (2, 1), (1, 3), (2, 2)][trial]
        for flip in (False, True):
            expected = reference(image, kernel, stride=stride, padding=padding, boundary=boundary, cval=cval, flip=flip)
            function = convfx.convolve if flip else convfx.correlate
            for backend in ["auto"] + FORCED:
                got = function(image, kernel, stride=stride, padding=padding, boundary=boundary, cval=cval, backend=backend)
                assert_matches(got, expected, dtype)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_summed_and_banked_kernels_match_reference(rng, boundary, dtype):
    """(kh, kw, C) and (F, kh, kw, C) kernels with bias, every backend."""
    for trial, (kshape, stride, padding) in enumerate(
        [((3, 3), 1, "same"), ((4, 5), (2, 1), 1), ((1, 4), 2, "full"), ((5, 2), (1, 2), "valid")]
    ):
        channels = (1, 3, 2, 4)[trial]
        image = random_image(rng, (int(rng.integers(8, 20)), int(rng.integers(8, 20)), channels), dtype)
        stride2 = (stride, stride) if isinstance(stride, int) else stride
        for n_filters in (None, 1, 5):
            if n_filters is None:
                kernel, bias = rng.standard_normal(kshape + (channels,)), 0.75
            else:
                kernel, bias = rng.standard_normal((n_filters,) + kshape + (channels,)), rng.standard_normal(n_filters)
            for flip in (False, True):
                expected = reference(
                    image, kernel, bias=bias, stride=stride2, padding=padding, boundary=boundary, cval=1.5, flip=flip
                )
                function = convfx.convolve if flip else convfx.correlate
                for backend in ["auto"] + FORCED:
                    got = function(
                        image, kernel, bias=bias, stride=stride, padding=padding, boundary=boundary, cval=1.5, backend=backend
                    )
                    assert_matches(got, expected, dtype)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_separable_backend_matches_reference(rng, boundary):
    for dtype in (np.float32, np.float64):
        image = random_image(rng, (30, 26, 3), dtype)
        for kshape in [(5, 5), (7, 3), (2, 9)]:
            kernel = np.outer(rng.standard_normal(kshape[0]), rng.standard_normal(kshape[1]))
            for padding in ["same", "valid", "full", 2]:
                expected = reference(image, kernel, padding=padding, boundary=boundary)
                got = convfx.correlate(image, kernel, padding=padding, boundary=boundary, backend="separable")
                assert_matches(got, expected, dtype)


def test_large_kernels_and_dilation_match_reference(rng):
    image = rng.standard_normal((70, 90, 3)).astype(np.float32)
    kernel = rng.standard_normal((33, 21))
    for boundary in BOUNDARIES:
        expected = reference(image, kernel, boundary=boundary)
        for backend in ["auto", "filter2d", "fft"]:
            assert_matches(convfx.correlate(image, kernel, boundary=boundary, backend=backend), expected, np.float32)
    bank = rng.standard_normal((3, 17, 17, 3))
    expected = reference(image, bank, boundary="reflect", padding=4)
    assert_matches(convfx.correlate(image, bank, boundary="reflect", padding=4), expected, np.float32)
    # Dilation 2 equals correlating with the kernel spread out with zeros.
    small = rng.standard_normal((3, 4))
    spread = np.zeros((5, 7))
    spread[::2, ::2] = small
    for backend in ["auto"] + FORCED:
        got = convfx.correlate(image, small, dilation=2, padding=1, boundary="wrap", backend=backend)
        assert_matches(got, reference(image, spread, padding=(1, 1), boundary="wrap"), np.float32)


def test_separable_kernels_with_dilation_and_flip_match_reference(rng):
    # The rank-1 factors found to choose the backend are the ones it filters with,
    # spread apart for a dilation and taken from the rotated kernel for convolve.
    image = rng.standard_normal((40, 52, 3)).astype(np.float32)
    kernel = np.outer(rng.standard_normal(5), rng.standard_normal(6))
    spread = np.zeros((9, 16))
    spread[::2, ::3] = kernel
    for backend in ("auto", "separable"):
        got = convfx.correlate(image, kernel, dilation=(2, 3), boundary="reflect", backend=backend)
        assert_matches(got, reference(image, spread, boundary="reflect"), np.float32)
        got = convfx.convolve(image, kernel, dilation=(2, 3), padding=2, boundary="edge", backend=backend)
        assert_matches(got, reference(image, spread[::-1, ::-1], padding=2, boundary="edge"), np.float32)
    assert conv.choose_backend(image.shape, kernel.shape, kernel=kernel, dtype=np.dtype(np.float32)) == "separable"


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_every_backend_matches_the_plain_loop_definition(rng, boundary):
    """Random kernels of every form, stride, dilation, padding and bias against convfx.reference.

    The plain-loop definition and the scipy-based ``reference`` above are two
    independent oracles; where both apply (no dilation) they must agree as well.
    """
    for trial in range(9):
        channels = int(rng.integers(1, 4))
        image = rng.standard_normal((int(rng.integers(8, 13)), int(rng.integers(8, 13)), channels))
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        form = trial % 3
        kernel = rng.standard_normal([(kh, kw), (kh, kw, channels), (3, kh, kw, channels)][form])
        bias = [rng.standard_normal(channels), 0.5, rng.standard_normal(3)][form]
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        dilation = (1, 1) if trial < 3 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = [(1, 2), 0, "valid", "same", "full", 2, (0, 1), "same", 1][trial]
        options = dict(bias=bias, stride=stride, padding=padding, boundary=boundary, cval=0.5, dilation=dilation)
        expected = plain.correlate(image, kernel, **options)
        if dilation == (1, 1):
            scipy_options = {key: value for key, value in options.items() if key != "dilation"}
            np.testing.assert_allclose(expected, reference(image, kernel, **scipy_options), atol=1e-12)
        for backend in ["auto"] + FORCED:
            assert_matches(convfx.correlate(image, kernel, backend=backend, **options), expected, np.float64)
            if padding != "same":  # see convfx.reference.convolve: "same" differs by a pixel for even kernels
                rotated = plain.convolve(image, kernel, **options)
                assert_matches(convfx.convolve(image, kernel, backend=backend, **options), rotated, np.float64)


def test_auto_picks_the_expected_backend(rng):
    gaussian = np.outer(scipy.signal.windows.gaussian(31, 5), scipy.signal.windows.gaussian(31, 5))
    assert conv.choose_backend((1080, 1920, 3), (31, 31), kernel=gaussian) == "separable"
    assert conv.choose_backend((1080, 1920, 3), (3, 3), kernel=rng.standard_normal((3, 3))) == "filter2d"
    assert conv.choose_backend((1080, 1920, 3), (31, 31), kernel=rng.standard_normal((31, 31))) == "filter2d"
    assert conv.choose_backend((1080, 1920, 3), (101, 101), kernel=rng.standard_normal((101, 101))) == "fft"
    assert conv.choose_backend((1080, 1920, 3), (64, 5, 5, 3), summed=True) == "im2col"
    assert conv.choose_backend((256, 256, 3), (16, 5, 5, 3), summed=True) == "im2col"
    assert conv.choose_backend((1080, 1920, 3), (16, 5, 5, 3), summed=True) == "filter2d"
    assert conv.choose_backend((1080, 1920, 3), (2, 5, 5, 3), summed=True) == "filter2d"
    assert conv.choose_backend((1080, 1920, 3), (6, 31, 31, 3), summed=True) == "fft"
    # A float32-rounded Gaussian is rank 1 at float32 precision but not at float64.
    g32 = gaussian.astype(np.float32)
    assert conv.choose_backend((64, 64), (31, 31), kernel=g32, dtype=np.dtype(np.float32)) == "separable"


def test_a_kernel_that_is_rank_1_only_to_1e_5_is_not_taken_for_separable():
    # Two 1-D passes would drop the rank-2 part, which is 1e-5 of the kernel: far
    # more than float32 rounding, and everything on an image where it cancels.
    n = 31
    alternating = (-1.0) ** np.arange(n)
    kernel = (np.ones((n, n)) + 1e-5 * np.outer(alternating, alternating)) / n**2
    image = (1000 * np.outer((-1.0) ** np.arange(64), (-1.0) ** np.arange(64))).astype(np.float32)
    assert conv.choose_backend(image.shape, kernel.shape, kernel=kernel, dtype=np.dtype(np.float32)) != "separable"
    expected = scipy.signal.correlate2d(image.astype(np.float64), kernel, "valid")
    got = convfx.correlate(image, kernel, padding="valid")
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()
    # Near float64's limit the test itself must not overflow: a rank-5 kernel of 1e307s.
    huge = np.array([np.roll(np.arange(1.0, 6.0), shift) for shift in range(5)]) * 1e307
    assert conv.choose_backend((8, 8), huge.shape, kernel=huge) != "separable"
    tiny = np.full((8, 8), 1e-3)
    np.testing.assert_allclose(
        convfx.correlate(tiny, huge, padding="valid"), scipy.signal.correlate2d(tiny, huge, "valid"), rtol=1e-12
    )
    assert conv.choose_backend((8, 8), (5, 5), kernel=np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) * 1e306) == "separable"
    # The same kernel with the rank-2 part below float64 rounding is rank 1 again.
    assert conv.choose_backend((64, 64), (n, n), kernel=np.ones((n, n)) / n**2, dtype=np.dtype(np.float32)) == "separable"


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("size", [3, 8, 15, pytest.param(64, marks=pytest.mark.slow)])
@pytest.mark.parametrize("summed", [False, True], ids=["per-channel", "bank"])
def test_nan_and_inf_pixels_spoil_only_their_windows(rng, size, summed):
    """filter2D's DFT (from ~50 taps) and the FFT backend would spread them to every output."""
    image = rng.random((80 + size, 90 + size, 3))
    image[5, 7, 0], image[40, 60, 1], image[70, 20, 2] = np.nan, np.inf, -np.inf
    if summed:
        kernel = rng.standard_normal((2, size, size, 3))
        expected = np.stack(
            [sum(scipy.signal.correlate2d(image[:, :, c], kernel[f, :, :, c], "valid") for c in range(3)) for f in range(2)],
            axis=-1,
        )
    else:
        kernel = rng.standard_normal((size, size))
        expected = np.stack([scipy.signal.correlate2d(image[:, :, c], kernel, "valid") for c in range(3)], axis=-1)
    for dtype in (np.float64, np.float32):
        got = convfx.correlate(image.astype(dtype), kernel, padding="valid")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
        finite = np.isfinite(expected)
        assert np.abs(got[finite] - expected[finite]).max() <= 1e-4 * np.abs(expected[finite]).max()


# --------------------------------------------------------------------------- dtypes


def test_dtypes_of_results(rng):
    kernel = np.ones((3, 3))
    for dtype, expected in [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float16, np.float32),
        (np.uint8, np.float32),
        (np.uint16, np.float32),
        (np.int32, np.float32),
        (np.bool_, np.float32),
    ]:
        image = (rng.random((8, 9)) * 100).astype(dtype)
        assert convfx.correlate(image, kernel).dtype == expected


@pytest.mark.parametrize("function", [convfx.correlate, convfx.convolve])
def test_big_endian_float64_is_computed_and_returned_as_float64(rng, function):
    image = rng.standard_normal((9, 11)) * 1e-3 + 1.0  # differences below float32's resolution
    kernel = np.array([[1.0, -1.0, 0.5]])
    native = function(image, kernel)
    swapped = function(image.astype(">f8"), kernel)
    assert swapped.dtype == np.float64 and swapped.dtype.isnative
    np.testing.assert_array_equal(swapped, native)
    assert function(image.astype(">f4"), kernel).dtype == np.float32


def test_integers_neither_wrap_nor_clip():
    image = np.full((5, 5), 255, dtype=np.uint8)
    out = convfx.correlate(image, np.ones((3, 3)), padding="valid")
    np.testing.assert_array_equal(out, np.full((3, 3), 9 * 255.0))
    out = convfx.correlate(image, -np.ones((3, 3)), padding="valid")
    np.testing.assert_array_equal(out, np.full((3, 3), -9 * 255.0))
    big = np.full((4, 4), 65535, dtype=np.uint16)
    np.testing.assert_array_equal(convfx.correlate(big, [[1, 1]], padding="valid"), np.full((4, 3), 131070.0))


def test_non_contiguous_inputs(rng):
    base = rng.standard_normal((40, 50, 3))
    image = base[::2, ::-1, :]  # strided and reversed
    kernel = rng.standard_normal((5, 7))[:, ::2]  # non-contiguous kernel
    for backend in ["auto"] + FORCED:
        got = convfx.correlate(image, kernel, boundary="reflect", backend=backend)
        assert_matches(got, reference(image, kernel, boundary="reflect"), np.float64)
    channels_last = np.asfortranarray(base[:, :, 0])
    assert_matches(convfx.correlate(channels_last, kernel), reference(channels_last, kernel), np.float64)


def test_inputs_are_not_modified(rng):
    image = rng.standard_normal((12, 12, 3))
    kernel = rng.standard_normal((4, 3, 3, 3))
    image_copy, kernel_copy = image.copy(), kernel.copy()
    for backend in ["auto"] + FORCED:
        convfx.convolve(image, kernel, bias=np.ones(4), backend=backend)
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(kernel, kernel_copy)


def test_output_shapes():
    image = np.zeros((10, 12, 3))
    assert convfx.correlate(image, np.ones((3, 3))).shape == (10, 12, 3)
    assert convfx.correlate(image, np.ones((3, 3, 3))).shape == (10, 12)
    assert convfx.correlate(image, np.ones((7, 3, 3, 3))).shape == (10, 12, 7)
    assert convfx.correlate(image[:, :, 0], np.ones((2, 3, 3, 1))).shape == (10, 12, 2)
    assert convfx.correlate(image[:, :, 0], np.ones((3, 3, 1))).shape == (10, 12)
    assert convfx.correlate(image, np.ones((5, 5)), padding=0, stride=2).shape == (3, 4, 3)
    assert convfx.correlate(image, np.ones((2, 4)), padding="full").shape == (11, 15, 3)


def test_bias_broadcasts():
    image = np.zeros((6, 6, 3))
    out = convfx.correlate(image, np.ones((2, 3, 3, 3)), bias=[1.0, -2.0])
    np.testing.assert_array_equal(out[..., 0], 1.0)
    np.testing.assert_array_equal(out[..., 1], -2.0)
    out = convfx.correlate(image, np.ones((3, 3)), bias=[1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out[0, 0], [1.0, 2.0, 3.0])
    assert np.all(convfx.correlate(image, np.ones((3, 3, 3)), bias=0.5) == 0.5)


# --------------------------------------------------------------------------- properties

small_images = hnp.arrays(
    np.float64,
    st.tuples(st.integers(5, 14), st.integers(5, 14)),
    elements=st.floats(-100, 100, allow_nan=False, width=32),
)
small_kernels = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
    elements=st.floats(-10, 10, allow_nan=False, width=32),
)


@settings(max_examples=60, deadline=None)
@given(image=small_images, boundary=st.sampled_from(BOUNDARIES), backend=st.sampled_from(["auto"] + FORCED))
def test_identity_kernel_returns_the_image(image, boundary, backend):
    for size in (1, 3, 5):
        identity = np.zeros((size, size))
        identity[size // 2, size // 2] = 1.0
        out = convfx.correlate(image, identity, boundary=boundary, backend=backend)
        np.testing.assert_allclose(out, image, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    a=small_images,
    kernel=small_kernels,
    alpha=st.floats(-3, 3),
    boundary=st.sampled_from(["edge", "reflect", "symmetric", "wrap"]),
    backend=st.sampled_from(["auto"] + FORCED),
)
def test_linearity(a, kernel, alpha, boundary, backend):
    b = np.cos(a)  # a second image of the same shape
    if min(a.shape) < max(kernel.shape):
        return
    left = convfx.correlate(alpha * a + b, kernel, boundary=boundary, backend=backend)
    right = alpha * convfx.correlate(a, kernel, boundary=boundary, backend=backend) + convfx.correlate(
        b, kernel, boundary=boundary, backend=backend
    )
    scale = 1 + np.abs(a).max() * np.abs(kernel).sum() * 4
    np.testing.assert_allclose(left, right, atol=1e-9 * scale)


@settings(max_examples=60, deadline=None)
@given(
    image=small_images,
    kernel=small_kernels,
    padding=st.sampled_from(["valid", "full", 0, 1, 2]),
    boundary=st.sampled_from(BOUNDARIES),
)
def test_convolution_is_correlation_with_rotated_kernel(image, kernel, padding, boundary):
    if min(image.shape) < max(kernel.shape):
        return
    np.testing.assert_allclose(
        convfx.convolve(image, kernel, padding=padding, boundary=boundary),
        convfx.correlate(image, kernel[::-1, ::-1], padding=padding, boundary=boundary),
        atol=1e-8,
    )


@settings(max_examples=30, deadline=None)
@given(image=small_images, kernel=small_kernels)
def test_convolution_rotation_law_for_same_padding_with_odd_kernels(image, kernel):
    odd = kernel[: 2 * ((kernel.shape[0] - 1) // 2) + 1, : 2 * ((kernel.shape[1] - 1) // 2) + 1]
    np.testing.assert_allclose(convfx.convolve(image, odd), convfx.correlate(image, odd[::-1, ::-1]), atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(image=small_images, kernel=small_kernels, dy=st.integers(-4, 4), dx=st.integers(-4, 4))
def test_shift_equivariance(image, kernel, dy, dx):
    # With periodic boundaries equivariance is exact everywhere (odd kernels keep
    # 'same' centred); with zero padding it holds away from the borders.
    odd = kernel[: 2 * ((kernel.shape[0] - 1) // 2) + 1, : 2 * ((kernel.shape[1] - 1) // 2) + 1]
    if min(image.shape) < max(odd.shape):
        return
    shifted = np.roll(image, (dy, dx), axis=(0, 1))
    np.testing.assert_allclose(
        convfx.correlate(shifted, odd, boundary="wrap"),
        np.roll(convfx.correlate(image, odd, boundary="wrap"), (dy, dx), axis=(0, 1)),
        atol=1e-8,
    )
    big = np.zeros((image.shape[0] + 20, image.shape[1] + 20))
    big[10:-10, 10:-10] = image
    moved = np.roll(big, (dy, dx), axis=(0, 1))
    np.testing.assert_allclose(
        convfx.correlate(moved, odd), np.roll(convfx.correlate(big, odd), (dy, dx), axis=(0, 1)), atol=1e-8
    )


# --------------------------------------------------------------------------- im2col


def test_im2col_is_correlation_and_col2im_its_adjoint(rng):
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    for stride, dilation in [(1, 1), (2, 1), ((1, 2), (2, 1))]:
        cols = im2col.im2col(x, (3, 2), stride=stride, dilation=dilation)
        out = cols @ w.reshape(4, -1).T
        for n in range(2):
            expected = convfx.correlate(
                x[n].transpose(1, 2, 0), w.transpose(0, 2, 3, 1), padding="valid", stride=stride, dilation=dilation
            )
            np.testing.assert_allclose(out.reshape(2, *expected.shape)[n], expected, atol=1e-10)
        g = rng.standard_normal(cols.shape)
        back = im2col.col2im(g, x.shape, (3, 2), stride=stride, dilation=dilation)
        np.testing.assert_allclose(np.sum(back * x), np.sum(g * cols), rtol=1e-10)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "image, kernel, options, error, words",
    [
        (np.zeros((0, 5)), np.ones((3, 3)), {}, ValueError, ["image", "non-empty", "(0, 5)"]),
        (np.zeros((5, 5)), np.ones((0, 3)), {}, ValueError, ["kernel", "non-empty"]),
        (np.zeros((5, 5)), [[1, np.nan]], {}, ValueError, ["kernel", "finite", "NaN"]),
        (np.zeros((5, 5)), [[1, np.inf]], {}, ValueError, ["kernel", "finite"]),
        (np.zeros((5, 5)), np.ones((7, 3)), {"padding": "valid"}, ValueError, ["kernel", "padded image", "7"]),
        (np.zeros((5, 5)), np.ones((9, 3)), {"padding": 1}, ValueError, ["kernel", "(7)", "9"]),
        (np.zeros((5, 5, 3)), np.ones((3, 3, 2)), {}, ValueError, ["kernel", "3 channel", "(3, 3, 2)"]),
        (np.zeros((5, 5)), np.ones((2, 3, 3, 3)), {}, ValueError, ["kernel", "1 channel"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"stride": 0}, ValueError, ["stride", ">= 1", "0"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"stride": (1, 0)}, ValueError, ["stride[1]", ">= 1"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"stride": 1.5}, TypeError, ["stride", "int", "1.5"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": -1}, ValueError, ["padding", ">= 0", "-1"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": (1, -2)}, ValueError, ["padding[1]", ">= 0"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": "half"}, ValueError, ["padding", "'half'", "valid", "same", "full"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"boundary": "mirror"}, ValueError, ["boundary", "'mirror'", "reflect", "wrap"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"backend": "gpu"}, ValueError, ["backend", "'gpu'", "im2col"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"cval": np.nan}, ValueError, ["cval", "finite"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"cval": "0"}, TypeError, ["cval", "real number"]),
        (np.zeros((2, 5, 5, 3)), np.ones((3, 3)), {}, ValueError, ["image", "(H, W)", "4-D"]),
        (np.zeros(5), np.ones((3, 3)), {}, ValueError, ["image", "1-D"]),
        (np.zeros((5, 5), complex), np.ones((3, 3)), {}, TypeError, ["image", "complex"]),
        (np.zeros((5, 5), object), np.ones((3, 3)), {}, TypeError, ["image", "object"]),
        (np.zeros((5, 5)), np.ones((3, 3), complex), {}, TypeError, ["kernel", "complex"]),
        (np.zeros((5, 5)), np.ones(3), {}, ValueError, ["kernel", "(kh, kw)", "1-D"]),
        (np.zeros((5, 5)), [[1, 2], [3]], {}, ValueError, ["kernel", "rectangular"]),
        (np.zeros((5, 5, 3)), np.ones((2, 3, 3, 3)), {"bias": [1, 2, 3]}, ValueError, ["bias", "(F,)", "(2,)", "(3,)"]),
        (np.zeros((5, 5, 3)), np.ones((3, 3, 3)), {"bias": [1, 2]}, ValueError, ["bias", "scalar", "(2,)"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"bias": np.nan}, ValueError, ["bias", "finite"]),
        (np.zeros((5, 5)), np.eye(3), {"backend": "separable"}, ValueError, ["backend", "separable", "rank-1"]),
        (np.zeros((5, 5), np.float32), [[1e39]], {}, ValueError, ["kernel", "1e+39", "float32", "float64 image"]),
        (np.zeros((5, 5), np.uint8), [[1.0]], {"bias": -1e39}, ValueError, ["bias", "1e+39", "uint8", "float32"]),
        (np.zeros((5, 5), np.float32), [[1.0]], {"cval": 1e39, "padding": 1}, ValueError, ["cval", "1e+39", "float32"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": -1}, ValueError, ["padding: expected an int >= 0, found -1"]),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": (1, -2)}, ValueError, ["padding[1]", ">= 0", "-2"]),
        (np.zeros((5, 5, 3)), np.ones((3, 3, 3)), {"backend": "separable"}, ValueError, ["backend", "rank-1"]),
        # Sizes beyond convfx.limits.MAX_PADDED_VALUES, refused before anything is allocated.
        (np.zeros((16, 16)), np.ones((3, 3)), {"padding": 20000}, ValueError, ["padding", "2,147,483,648", "1,601,280,256"]),
        (np.zeros((16, 16)), np.ones((3, 3)), {"padding": 10**9}, ValueError, ["padding", "MAX_PADDED_VALUES"]),
        (np.zeros((16, 16)), np.ones((3, 3)), {"padding": (0, 10**9)}, ValueError, ["padding", "MAX_PADDED_VALUES"]),
        (np.zeros((16, 16)), np.ones((3, 3)), {"dilation": 10**6}, ValueError, ["dilation", "2,000,001 x 2,000,001"]),
        (np.zeros((16, 16)), np.ones((3, 3)), {"dilation": (1, 10**9)}, ValueError, ["dilation", "3 x 2,000,000,001"]),
    ],
)
def test_bad_input_names_the_parameter(image, kernel, options, error, words):
    with pytest.raises(error) as info:
        convfx.correlate(image, kernel, **options)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert isinstance(info.value, convfx.ConvfxError)


def test_the_size_limit_is_checked_before_allocating(monkeypatch):
    """The engine's bound is one number: lowered, it refuses what fits otherwise, naming the culprit."""
    from convfx import conv

    monkeypatch.setattr(conv, "MAX_PADDED_VALUES", 1000)
    assert convfx.correlate(np.ones((20, 20)), np.ones((3, 3))).shape == (20, 20)  # 484 + 400 values
    with pytest.raises(convfx.ParameterError, match=r"^padding: .* 1,000 "):
        convfx.correlate(np.ones((20, 20)), np.ones((3, 3)), padding=5)
    with pytest.raises(convfx.ParameterError, match=r"^image: "):
        convfx.correlate(np.ones((30, 30)), np.ones((3, 3)), padding="valid")
    with pytest.raises(convfx.ParameterError, match=r"^kernel: "):
        convfx.correlate(np.ones((10, 10)), np.ones((20, 1, 1, 1)), padding="valid")
    with pytest.raises(convfx.ParameterError, match=r"^dilation: "):
        convfx.correlate(np.ones((10, 10)), np.ones((2, 2)), dilation=40)


# --------------------------------------------------------------------------- plans kept between calls


def test_a_kernel_changed_in_place_is_seen_by_the_next_call(rng):
    image = rng.random((12, 14, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3))
    first = convfx.correlate(image, kernel, boundary="reflect")
    kernel[1, 1] += 5.0  # the same array, new values
    second = convfx.correlate(image, kernel, boundary="reflect")
    np.testing.assert_allclose(second, plain.correlate(image, kernel, padding="same", boundary="reflect"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(second - first, 5.0 * image, rtol=1e-5, atol=1e-5)
    # A plan keeps its own copy: changing the array after the call changes nothing it kept.
    kept = kernel.copy()
    kernel[:] = 0
    again = convfx.correlate(image, kept, boundary="reflect")
    assert again.tobytes() == second.tobytes()


@pytest.mark.parametrize("option", ["stride", "dilation", "bias", "cval"])
def test_a_kept_plan_never_answers_for_an_option_of_another_type(rng, option):
    """``True`` and ``1`` (or ``1.0``) hash alike: a plan for one must not stand for the other."""
    image = rng.random((9, 10)).astype(np.float32)
    kernel = rng.standard_normal((3, 3))

    def outcome(value):
        try:
            return convfx.correlate(image, kernel, **{option: value}).tobytes()
        except convfx.ConvfxError as error:
            return f"{type(error).__name__}: {error}"

    conv._PLANS.clear()
    fresh = outcome(True)
    conv._PLANS.clear()
    outcome(1)
    outcome(1.0)
    assert outcome(True) == fresh
    options = ("same", "constant", 0.0, 1, "auto", False)  # padding, boundary, cval, dilation, backend, flip
    assert conv._plan_key(image, kernel, 0.0, 1, *options) != conv._plan_key(image, kernel, -0.0, 1, *options)


def test_a_kept_plan_still_keeps_nan_local(rng):
    """The scan for non-finite pixels (a NaN must not spread through a DFT) is per image, not per plan."""
    kernel = rng.standard_normal((9, 9))  # filter2D takes its DFT from 50 taps
    finite = rng.random((40, 40)).astype(np.float32)
    convfx.correlate(finite, kernel, padding="valid")  # the plan is kept
    spoiled = finite.copy()
    spoiled[5, 5] = np.nan
    found = convfx.correlate(spoiled, kernel, padding="valid")
    expected = plain.correlate(spoiled, kernel, padding="valid")
    assert np.isnan(found).sum() == 36  # only the 6x6 windows that hold the NaN
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-4)  # NaN where the definition has them


def test_kept_plans_are_few(rng):
    image = rng.random((6, 6)).astype(np.float32)
    for _ in range(conv._PLANS_KEPT + 20):
        convfx.correlate(image, rng.standard_normal((3, 3)))
    assert len(conv._PLANS) <= conv._PLANS_KEPT
    big = rng.standard_normal((65, 65))  # over _PLAN_MAX_KERNEL_VALUES: nothing kept
    before = dict(conv._PLANS)
    convfx.correlate(rng.random((70, 70)), big)
    assert before == conv._PLANS


def test_a_kept_plan_does_not_pass_a_call_a_lower_size_limit_refuses(monkeypatch):
    image, kernel = np.ones((30, 30)), np.ones((3, 3))
    convfx.correlate(image, kernel, padding="valid")  # a plan under the default limit
    monkeypatch.setattr(conv, "MAX_PADDED_VALUES", 1000)
    with pytest.raises(convfx.ConvfxError, match="MAX_PADDED_VALUES"):
        convfx.correlate(image, kernel, padding="valid")
