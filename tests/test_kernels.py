"""convfx.kernels: the factories' bounds, for the parameters a user can type."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convfx
from convfx import kernels
from convfx.errors import ParameterError
from convfx.limits import MAX_KERNEL_SIDE


@pytest.mark.parametrize(
    ("build", "parameters", "words"),
    [
        (
            kernels.gaussian_kernel,
            {"sigma": 1e308},
            r"^sigma: 1e\+308 needs a kernel of over 10\*\*15 taps a side .* sigma <= 42.3333",
        ),
        (kernels.log_kernel, {"sigma": 1e308}, r"^sigma: 1e\+308 needs"),
        (kernels.unsharp_kernel, {"sigma": 1e308}, r"^sigma: 1e\+308 needs"),
        (kernels.dog_kernels, {"sigma": 1e308}, r"^sigma: 1e\+308 needs"),
        (
            kernels.dog_kernels,
            {"k": 1e308},
            r"^k: 1e\+308 makes the wide Gaussian's sigma 1e\+308, .* expected k <= 42.3333 with sigma=1$",
        ),
        (
            kernels.dog_kernels,
            {"sigma": 2, "k": 30},
            r"^k: 30 makes the wide Gaussian's sigma 60, .* expected k <= 21.1667 with sigma=2$",
        ),
        (kernels.gaussian_kernel, {"sigma": 50}, r"^sigma: 50 needs a 301x301 kernel"),
        (kernels.gaussian_kernel, {"size": float("inf")}, r"^size: expected an odd integer from 1 to 255, found inf$"),
        (kernels.box_kernel, {"size": float("nan")}, r"^size: expected an odd integer from 1 to 255, found nan$"),
        (kernels.motion_kernel, {"length": 1e308}, r"^length: expected an odd integer from 1 to 255, found 1e\+308$"),
        (kernels.log_kernel, {"sigma": 1e-300}, r"^sigma: expected a number >= 1e-09 for a Laplacian of Gaussian, found 1e-300$"),
    ],
)
def test_out_of_range_parameters_name_themselves_in_one_line(build, parameters, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, divide by zero) on the way
        with pytest.raises(ParameterError, match=words):
            build(**parameters)


def test_the_largest_sigma_gives_the_largest_kernel():
    largest = (MAX_KERNEL_SIDE - 1) / 6
    assert kernels.gaussian_kernel(sigma=largest).shape == (MAX_KERNEL_SIDE, MAX_KERNEL_SIDE)
    with pytest.raises(ParameterError, match="257x257"):
        kernels.gaussian_kernel(sigma=np.nextafter(largest, np.inf))


def test_the_smallest_log_sigma_stays_within_float32():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = kernels.log_kernel(sigma=1e-9)
    assert np.isfinite(kernel).all() and np.abs(kernel).max() < np.finfo(np.float32).max
    assert convfx.get_filter("log").factory == "log"  # the bank entry is rebuilt through it


def test_dog_with_k_next_to_one_has_two_distinct_kernels():
    """k within 1e-6 of 1 rounded both Gaussians to one name, and the filter lost its second kernel."""
    pair = kernels.dog_kernels(sigma=1.0, k=1.0000000001)
    assert len(pair) == 2
    assert convfx.apply(np.zeros((9, 9)), "dog:k=1.0000000001").shape == (9, 9)
