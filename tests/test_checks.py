"""convfx.checks: the shared argument checks and their one-line messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convfx import checks
from convfx.banks import KernelFileError
from convfx.errors import ParameterError, ParameterTypeError


def test_choice_names_the_value_and_lists_the_choices():
    assert checks.choice("reflect", "boundary", ("constant", "reflect")) == "reflect"
    with pytest.raises(ParameterError) as info:
        checks.choice("mirror", "boundary", ("constant", "reflect"))
    assert str(info.value) == "boundary: invalid value 'mirror'; expected one of ['constant', 'reflect']"
    with pytest.raises(KernelFileError, match=r"^k.toml: \[a\]: range: invalid value 3;"):
        checks.choice(3, "k.toml: [a]: range", ("abs",), error=KernelFileError)
    with pytest.raises(ParameterError):  # an array is never one of the names (and numpy is not asked)
        checks.choice(np.array(["abs", "clip"]), "range", ("abs", "clip"))


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_flag_takes_only_booleans(value):
    assert checks.flag(value, "quantile") is bool(value)


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_flag_refuses_other_types(value):
    with pytest.raises(ParameterTypeError, match=rf"^quantile: expected True or False, found {value!r}$"):
        checks.flag(value, "quantile")


def test_checked_int_bounds_and_messages():
    assert checks.checked_int(np.int64(3), "n", minimum=1) == 3
    assert type(checks.checked_int(np.uint8(3), "n", minimum=1)) is int
    with pytest.raises(ParameterError) as info:
        checks.checked_int(0, "stride", minimum=1)
    assert str(info.value) == "stride: expected an int >= 1, found 0"
    with pytest.raises(ParameterError) as info:
        checks.checked_int(13, "size", minimum=1, maximum=12)
    assert str(info.value) == "size: expected an int in 1..12, found 13"
    with pytest.raises(ParameterError) as info:
        checks.checked_int(-1, "seed", minimum=0, maximum=9, expected="an int in [0, 9]")
    assert str(info.value) == "seed: expected an int in [0, 9], found -1"


@pytest.mark.parametrize("value", [1.0, 1.5, True, np.bool_(False), "3", None])
def test_checked_int_refuses_non_integers_as_a_type_error(value):
    with pytest.raises(ParameterTypeError, match=rf"^n: expected an int >= 1, found {value!r}$"):
        checks.checked_int(value, "n", minimum=1)
    with pytest.raises(ParameterError) as info:  # options that report every bad value alike
        checks.checked_int(value, "n", minimum=1, type_error=ParameterError)
    assert not isinstance(info.value, ParameterTypeError)


def test_positive_and_nonnegative_int():
    assert checks.positive_int(1, "k") == 1 and checks.nonnegative_int(0, "padding") == 0
    with pytest.raises(ParameterError, match=r"^k: expected an int >= 1, found 0$"):
        checks.positive_int(0, "k")
    with pytest.raises(ParameterError, match=r"^padding: expected an int >= 0, found -1$"):
        checks.nonnegative_int(-1, "padding")


def test_int_pair_names_the_element_at_fault():
    assert checks.int_pair(2, "stride", minimum=1) == (2, 2)
    assert checks.int_pair((1, 3), "stride", minimum=1) == (1, 3)
    assert checks.int_pair(np.array([2, 4]), "stride", minimum=1) == (2, 4)
    with pytest.raises(ParameterError, match=r"^stride\[1\]: expected an int >= 1, found 0$"):
        checks.int_pair([1, 0], "stride", minimum=1)
    with pytest.raises(ParameterTypeError, match=r"^padding\[0\]: expected an int >= 0, found 1.5$"):
        checks.int_pair((1.5, 1), "padding", minimum=0)
    with pytest.raises(ParameterError, match=r"^stride: expected an int or a pair of ints, found \(1, 2, 3\)$"):
        checks.int_pair((1, 2, 3), "stride", minimum=1)


def test_real_number_and_finite_float():
    assert checks.real_number(np.float32(0.5), "sigma") == 0.5
    assert checks.real_number(3, "sigma") == 3.0 and math.isinf(checks.real_number(math.inf, "x"))
    for bad in (True, "2", b"2", None, 1j, np.complex64(1)):
        with pytest.raises(ParameterTypeError, match=r"^cval: expected a real number, found "):
            checks.finite_float(bad, "cval")
    for bad in (math.nan, math.inf, -np.inf):
        with pytest.raises(ParameterError, match=r"^cval: expected a finite number, found "):
            checks.finite_float(bad, "cval")


def test_in_range_bounds_and_words():
    assert checks.in_range(0, "sigma", low=0) == 0.0
    assert checks.in_range(31.75, "sigma", low=0, high=31.75) == 31.75
    with pytest.raises(ParameterError) as info:
        checks.in_range(0, "sigma", low=0, above_low=True)
    assert str(info.value) == "sigma: expected a number > 0, found 0"
    with pytest.raises(ParameterError) as info:
        checks.in_range(40.5, "sigma", low=0, high=31.75)
    assert str(info.value) == "sigma: expected a number >= 0 and <= 31.75, found 40.5"
    with pytest.raises(ParameterError) as info:
        checks.in_range(0.5, "k", low=1, above_low=True, expected="a number > 1 (a ratio)")
    assert str(info.value) == "k: expected a number > 1 (a ratio), found 0.5"
    with pytest.raises(ParameterError) as info:
        checks.in_range(math.inf, "sigma", low=0)
    assert str(info.value) == "sigma: expected a finite number, found inf"
    # The caller's words cover every bad value; repr shows a float as a float.
    for bad, shown in ((0.0, "0.0"), (math.nan, "nan"), (-math.inf, "-inf")):
        with pytest.raises(ParameterError) as info:
            checks.in_range(bad, "lr", low=0, above_low=True, expected="a finite number > 0", found=repr)
        assert str(info.value) == f"lr: expected a finite number > 0, found {shown}"


@pytest.mark.parametrize(
    ("text", "answer"), [("2", True), ("-.5", True), ("1e999", True), ("inf", False), ("1_0", False), ("", False)]
)
def test_is_number_text(text, answer):
    assert checks.is_number_text(text) is answer


def test_is_number_text_takes_linear_time():
    """A long run of digits must not be split between two patterns every way (seconds for 4,000 digits)."""
    import time

    started = time.monotonic()
    assert not checks.is_number_text("1" * 200_000 + "x")
    assert checks.is_number_text("1" * 200_000 + ".5e3")
    assert time.monotonic() - started < 1


def test_quoted_keeps_messages_short():
    assert checks.quoted("sobel") == "'sobel'"
    long = checks.quoted("a" + " " * 10_000)
    assert long.startswith("'a   ") and long.endswith("... (10,001 characters)") and len(long) < 90
    with pytest.raises(ParameterError) as info:
        checks.parse_number("9" * 5000 + "x", "sigma")
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(("text", "number"), [("2", 2.0), ("-0.5", -0.5), (".5", 0.5), ("1e-3", 0.001), ("+3.", 3.0)])
def test_parse_number_reads_decimal_notation(text, number):
    assert checks.parse_number(text, "sigma") == number


@pytest.mark.parametrize(
    ("text", "words"), [("two", "a number"), ("inf", "a number"), ("0x10", "a number"), ("1e999", "a finite number")]
)
def test_parse_number_refuses_everything_else(text, words):
    with pytest.raises(ParameterError) as info:
        checks.parse_number(text, "effect 'blur': parameter sigma")
    assert str(info.value) == f"effect 'blur': parameter sigma: expected {words}, found {text!r}"
    with pytest.raises(KernelFileError):
        checks.parse_number(text, "kernel", error=KernelFileError)


def test_real_array():
    array = np.ones((2, 2), np.uint8)
    assert checks.real_array(array, "image") is array  # not copied
    assert checks.real_array([[True]], "kernel").dtype == bool
    with pytest.raises(ParameterTypeError, match=r"^image: expected a real numeric dtype .*found dtype complex128$"):
        checks.real_array(np.zeros((2, 2), complex), "image")
    with pytest.raises(ParameterError, match=r"^kernel: expected a non-empty array, found shape \(0, 3\)$"):
        checks.real_array(np.zeros((0, 3)), "kernel")
    with pytest.raises(ParameterError, match=r"^kernel: expected a rectangular numeric array"):
        checks.real_array([[1, 2], [3]], "kernel")


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("text", 0), ([], 1), ([1, 2], 1), ({"a": [[1]]}, 3), ([[], [[{}]]], 4), ((1, (2,)), 2)],
)
def test_nesting_depth(value, depth):
    assert checks.nesting_depth(value, 10) == depth


def test_nesting_depth_stops_past_the_limit_without_recursion():
    deep: list = []
    for _ in range(100_000):  # far past the recursion limit
        deep = [deep]
    assert checks.nesting_depth(deep, 32) == 33
