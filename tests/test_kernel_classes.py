"""Tests of :mod:`convfx.kernel_classes`: the rule on exact kernels, colour readings, the random baseline.

Kernels are built here from their textbook definitions (a steered Sobel, a
Gaussian, a box), never taken from :mod:`convfx.kernel_sets`, so that the tests
do not compare the reference set with itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from convfx.errors import ParameterError
from convfx.kernel_classes import (
    MEAN_RATIO_LIMIT,
    KernelClass,
    classify_kernels,
    count_edge_detectors,
    random_baseline,
)

SMOOTH = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
DERIVATIVE = np.array([-1.0, -2.0, 0.0, 2.0, 1.0])
SOBEL_X = np.outer(SMOOTH, DERIVATIVE)  # derivative along x, correlation taps

# The 8 symmetries of the square, written out here rather than imported.
SYMMETRIES = {
    "identity": lambda k: k,
    "rot90": lambda k: np.rot90(k, 1),
    "rot180": lambda k: np.rot90(k, 2),
    "rot270": lambda k: np.rot90(k, 3),
    "flip_lr": np.fliplr,
    "flip_ud": np.flipud,
    "transpose": np.transpose,
    "anti_transpose": lambda k: np.rot90(k, 2).T,
}


def steered_sobel(degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.cos(t) * SOBEL_X + np.sin(t) * SOBEL_X.T


def gaussian(sigma: float) -> np.ndarray:
    y, x = np.mgrid[-2:3, -2:3]
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


def one(kernel: np.ndarray, **options) -> KernelClass:
    """The class of a single gray 2-D kernel."""
    return classify_kernels(np.asarray(kernel, float)[None, None], **options)[0]


@pytest.mark.parametrize("degrees", [22.5 * k for k in range(8)])
@pytest.mark.parametrize("symmetry", list(SYMMETRIES))
@pytest.mark.parametrize("sign", [1, -1])
def test_a_steered_sobel_turned_flipped_or_negated_is_an_edge_detector(degrees, symmetry, sign):
    kernel = sign * SYMMETRIES[symmetry](steered_sobel(degrees))
    found = one(kernel)
    assert found.kind == "edge detector"
    assert found.derivative_similarity == pytest.approx(1.0, abs=1e-9)
    assert found.mean_ratio == pytest.approx(0.0, abs=1e-12)
    assert found.derivative.startswith("sobel5 ")


@pytest.mark.parametrize(
    "kernel",
    [gaussian(0.8), gaussian(1.3), np.ones((5, 5)), np.outer(SMOOTH, SMOOTH), -gaussian(1.0)],
    ids=["gaussian 0.8", "gaussian 1.3", "box", "binomial", "negated gaussian"],
)
def test_blurs_are_smoothing_kernels(kernel):
    found = one(kernel)
    assert found.kind == "smoothing"
    assert found.minority == 0.0 and found.mean_ratio == pytest.approx(1.0)
    assert found.blur_similarity >= 0.9


def test_a_blur_with_a_faint_negative_fringe_is_still_smoothing():
    kernel = gaussian(1.0) - 0.02  # the corners go slightly negative
    negative = -kernel[kernel < 0].sum()
    positive = kernel[kernel > 0].sum()
    assert 0 < negative / (negative + positive) <= 0.15
    assert one(kernel).kind == "smoothing"


@pytest.mark.parametrize("shift, kind", [(0.78, "edge detector"), (0.82, "other")])
def test_the_mean_ratio_limit_decides_between_edge_detector_and_other(shift, kind):
    # A Sobel plus a constant: |sum w| / sum |w| = 25 t / (96 + 5 t), which crosses 0.2 at t = 0.8,
    # while the cosine with the Sobel stays near 0.99.
    kernel = SOBEL_X + shift
    ratio = abs(kernel.sum()) / np.abs(kernel).sum()
    assert abs(ratio - MEAN_RATIO_LIMIT) < 0.006
    found = one(kernel)
    assert found.mean_ratio == pytest.approx(ratio)
    assert found.derivative_similarity > 0.95
    assert found.kind == kind


def test_a_zero_kernel_is_other_with_no_norm():
    found = classify_kernels(np.stack([np.zeros((5, 5)), SOBEL_X])[:, None])[0]
    assert found.kind == "other"
    assert found.norm == 0.0 and found.relative_norm == 0.0 and found.mean_ratio == 1.0


def test_the_norm_says_how_strong_each_kernel_is():
    found = classify_kernels(np.stack([SOBEL_X, 0.05 * SOBEL_X.T])[:, None])
    assert [c.kind for c in found] == ["edge detector", "edge detector"]  # the class is scale-free
    assert found[0].relative_norm == 1.0 and found[1].relative_norm == pytest.approx(0.05)
    assert found[0].norm == pytest.approx(np.sqrt((SOBEL_X**2).sum()))


def test_line_and_second_derivative_detectors_are_edge_detectors():
    y, x = np.mgrid[-2:3, -2:3].astype(float)
    ridge = (y**2 - 1) * np.exp(-(x**2 + y**2) / 2)  # second derivative across a horizontal line (sigma 1)
    ridge -= ridge.mean()
    laplacian = np.zeros((5, 5))
    laplacian[1:4, 1:4] = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]  # the 3x3 Laplacian inside a zero border
    assert one(ridge).kind == "edge detector" and one(ridge).derivative.startswith("line ")
    assert one(np.rot90(ridge, 1) + np.rot90(ridge, 0)).kind == "edge detector"  # a Laplacian of Gaussian
    assert one(laplacian).kind == "edge detector"


# --------------------------------------------------------------------------- colour


def test_an_achromatic_colour_kernel_reads_as_its_gray_pattern():
    gray = one(steered_sobel(45))
    colour = classify_kernels(np.repeat(steered_sobel(45)[None, None], 3, axis=1))[0]
    assert colour.kind == gray.kind == "edge detector"
    assert colour.derivative_similarity == pytest.approx(gray.derivative_similarity)
    assert colour.colour == pytest.approx((3**-0.5,) * 3) and not colour.opponent


def test_a_red_green_opponent_edge_is_an_edge_detector_colour_free_but_not_in_the_channel_mean():
    kernel = np.stack([SOBEL_X, -SOBEL_X, np.zeros((5, 5))])[None]  # (1, 3, 5, 5)
    best = classify_kernels(kernel)[0]
    assert best.kind == "edge detector" and best.opponent
    assert best.colour == pytest.approx((2**-0.5, -(2**-0.5), 0.0))
    mean = classify_kernels(kernel, channels="mean")[0]
    assert mean.kind == "other"  # the channel mean cancels it to zero


def test_count_edge_detectors():
    bank = np.stack([SOBEL_X, gaussian(1.0), SOBEL_X.T, np.zeros((5, 5))])[:, None]
    assert count_edge_detectors(classify_kernels(bank)) == 2
    assert count_edge_detectors([]) == 0


@pytest.mark.parametrize(
    "weights, options, words",
    [
        (np.zeros((5, 5)), {}, "weights: expected a non-empty 4-D array"),
        (np.zeros((0, 1, 5, 5)), {}, "found shape (0, 1, 5, 5)"),
        (np.full((1, 1, 3, 3), np.nan), {}, "finite"),
        (np.array([[[["a"]]]]), {}, "real numbers"),
        (np.zeros((1, 3, 5, 5)), {"channels": "max"}, "channels: invalid value 'max'; expected one of ['best', 'mean']"),
    ],
)
def test_bad_weights_are_refused_in_one_line(weights, options, words):
    with pytest.raises(ParameterError) as error:
        classify_kernels(weights, **options)
    assert words in str(error.value) and "\n" not in str(error.value)


# --------------------------------------------------------------------------- the random baseline


def test_random_5x5_kernels_are_rarely_edge_detectors():
    result = random_baseline((6, 1, 5, 5), draws=300)
    assert result.mean_edge_detectors <= 0.5
    assert sum(result.counts) == 300 and len(result.counts) == 7
    assert result.mean_edge_detectors == pytest.approx(sum(k * n for k, n in enumerate(result.counts)) / 300)
    assert str(result) == f"{result.mean_edge_detectors:.2f} of 6"
    assert random_baseline((6, 1, 5, 5), draws=300) == result  # the same seed, the same numbers


def test_random_3x3_kernels_often_pass_the_rule_so_the_count_needs_its_own_baseline():
    small = random_baseline((6, 1, 3, 3), draws=200)
    assert small.mean_edge_detectors > 0.5 > random_baseline((6, 1, 5, 5), draws=200).mean_edge_detectors


def test_random_colour_kernels_in_both_readings():
    best = random_baseline((6, 3, 5, 5), draws=100)
    mean = random_baseline((6, 3, 5, 5), draws=100, channels="mean")
    assert best.mean_edge_detectors <= 0.5 and mean.mean_edge_detectors <= 0.5
    assert (best.channels, mean.channels, best.shape) == ("best", "mean", (6, 3, 5, 5))


def test_random_baseline_refuses_bad_arguments():
    with pytest.raises(ParameterError, match="shape: expected"):
        random_baseline((6, 5, 5))
    with pytest.raises(ParameterError, match="draws"):
        random_baseline(draws=0)
