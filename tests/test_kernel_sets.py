"""Tests of :mod:`convfx.kernel_sets`: the reference kernels and how they are moved.

The standard 5x5 set and resampling are also exercised through
:mod:`convfx.compare` (``test_compare.py``), which re-exports them.
"""

from __future__ import annotations

import numpy as np
import pytest

from convfx import compare, kernel_sets
from convfx.errors import ParameterError


def test_compare_re_exports_the_same_objects():
    for name in (
        "TRANSFORMS",
        "STANDARD_SMOOTHING",
        "STANDARD_DERIVATIVE",
        "standard_kernels",
        "resample_kernel",
        "transform_kernel",
    ):
        assert getattr(compare, name) is getattr(kernel_sets, name)


def test_the_derivative_set_is_55_zero_mean_kernels_of_the_asked_shape():
    for shape in ((5, 5), (3, 3), (7, 7), (3, 5)):
        kernels = kernel_sets.derivative_kernels(shape)
        assert len(kernels) == 5 * 8 + 5 + 8 + 2
        for name, kernel in kernels.items():
            assert kernel.shape == shape, name
            assert abs(kernel.sum()) < 1e-9 * max(1.0, np.abs(kernel).sum()), name
            assert np.abs(kernel).max() > 0, name


def test_first_derivatives_are_steered_x_and_y_derivatives():
    kernels = kernel_sets.derivative_kernels()
    sobel_x = np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1])
    np.testing.assert_allclose(kernels["sobel5 0deg"], sobel_x)
    np.testing.assert_allclose(kernels["sobel5 90deg"], sobel_x.T, atol=1e-12)
    np.testing.assert_allclose(kernels["sobel5 45deg"], (sobel_x + sobel_x.T) / np.sqrt(2), atol=1e-12)
    prewitt = kernels["prewitt3 0deg"]  # resampled from [1 1 1] x [-1 0 1]
    np.testing.assert_allclose(prewitt, np.outer(np.ones(5), [-1, -0.5, 0, 0.5, 1]))


def test_the_smoothing_set_is_nonnegative_blurs():
    kernels = kernel_sets.smoothing_kernels()
    assert {"gaussian sigma 1", "binomial5", "box5", "disc radius 2"} <= set(kernels)
    for name, kernel in kernels.items():
        assert kernel.shape == (5, 5) and kernel.min() >= 0 and kernel[2, 2] == kernel.max(), name
    assert kernel_sets.smoothing_kernels((3, 3))["box5"].shape == (3, 3)


def test_candidate_vectors_are_unit_rows_under_every_symmetry():
    square = {"a": np.arange(9.0).reshape(3, 3), "zero": np.zeros((3, 3))}
    vectors, labels = kernel_sets.candidate_vectors(square, (3, 3))
    assert vectors.shape == (8, 9) and [name for name, _ in labels] == ["a"] * 8  # the zero kernel is left out
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    np.testing.assert_allclose(vectors[labels.index(("a", "rot90"))] * np.linalg.norm(square["a"]), np.rot90(square["a"]).ravel())
    wide = {"b": np.arange(6.0).reshape(2, 3)}
    assert [t for _, t in kernel_sets.candidate_vectors(wide, (2, 3))[1]] == list(kernel_sets.SHAPE_KEEPING_TRANSFORMS)
    assert len(kernel_sets.candidate_vectors(square, (3, 3), transforms=False)[1]) == 1


def test_transform_kernel_refuses_an_unknown_transform():
    with pytest.raises(ParameterError, match="transform: invalid value 'spin'"):
        kernel_sets.transform_kernel(np.eye(3), "spin")
