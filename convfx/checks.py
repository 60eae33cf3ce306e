"""Argument checks shared by every module: one place, one message form.

Each function takes the value and the name the user knows it by, and returns the
value in the type the caller computes with, or raises a one-line
:class:`~convfx.errors.ConvfxError` in the form::

    name: expected <what>, found <what was given>
    name: invalid value 'x'; expected one of [...]

A wrong *type* raises :class:`~convfx.errors.ParameterTypeError` (a ``TypeError``),
a wrong *value* :class:`~convfx.errors.ParameterError` (a ``ValueError``), so the
command line can print the line and exit 2 while library users catch what they
expect.  ``bool`` is never accepted as a number: ``True`` is an ``int`` to Python but
not a stride, a sigma or a seed.

This module must not know what the values mean (boundary names, kernel sizes,
model files live with the code that uses them) and imports only numpy and
:mod:`convfx.errors`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from .errors import ConvfxError, ParameterError, ParameterTypeError

__all__ = [
    "choice",
    "flag",
    "checked_int",
    "positive_int",
    "nonnegative_int",
    "int_pair",
    "real_number",
    "finite_float",
    "in_range",
    "is_number_text",
    "parse_number",
    "real_array",
    "nesting_depth",
    "quoted",
]

# Linear: no two parts can match the same characters (``\d+\.?\d*`` could, and
# backtracked quadratically over a long run of digits).
_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")

#: Characters of a user's text that a message quotes.
QUOTE_LIMIT = 60


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a one-line message, cut after ``limit`` characters.

    Parameters
    ----------
    value : object
    limit : int, optional
        Characters kept of the ``repr``.

    Returns
    -------
    str

    Examples
    --------
    >>> quoted("sobel")
    "'sobel'"
    >>> quoted("x" * 100, limit=10)
    "'xxxxxxxxx... (100 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[:limit]}...{size}"


def choice(value: Any, name: str, choices: Collection[str], *, error: type[ConvfxError] = ParameterError) -> Any:
    """``value`` if it is one of the strings ``choices``.

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.
    choices : collection of str
    error : ConvfxError subclass, optional
        What a value not among ``choices`` raises.

    Returns
    -------
    str
        ``value`` itself.

    Raises
    ------
    ParameterError
        ``name: invalid value 'x'; expected one of ['a', 'b']`` (or ``error``, e.g. a
        :class:`~convfx.banks.KernelFileError` for a bad key in a kernel file).
    """
    if not isinstance(value, str) or value not in choices:
        raise error(f"{name}: invalid value {quoted(value)}; expected one of {list(choices)}")
    return value


def flag(value: Any, name: str) -> bool:
    """``value`` as a ``bool``; only ``True``/``False`` (Python or numpy) are flags.

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.

    Returns
    -------
    bool
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(f"{name}: expected True or False, found {value!r}")
    return bool(value)


def checked_int(
    value: Any,
    name: str,
    *,
    minimum: int,
    maximum: int | None = None,
    expected: str | None = None,
    type_error: type[ConvfxError] = ParameterTypeError,
) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``.

    Parameters
    ----------
    value : int or numpy integer
        Not a bool, not a float (even a whole one).
    name : str
        What the message calls it.
    minimum, maximum : int
        Inclusive bounds; no upper bound when ``maximum`` is None.
    expected : str, optional
        The words after "expected" (default ``"an int >= 1"`` or ``"an int in 0..9"``),
        for a range better written otherwise (``"an int in [0, 2**63 - 1]"``).
    type_error : ConvfxError subclass, optional
        What a value that is no integer raises; :class:`ParameterTypeError` by
        default.  Options whose every bad value is one usage error pass
        :class:`ParameterError`.

    Returns
    -------
    int
        A plain ``int``.
    """
    if type(value) is int and value >= minimum and (maximum is None or value <= maximum):
        return value  # the common case, before the message is built and the ABC checks run
    if expected is None:
        expected = f"an int >= {minimum}" if maximum is None else f"an int in {minimum}..{maximum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise type_error(f"{name}: expected {expected}, found {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        raise ParameterError(f"{name}: expected {expected}, found {value}")
    return number


def positive_int(value: Any, name: str) -> int:
    """``value`` as an ``int >= 1`` (see :func:`checked_int`).

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.

    Returns
    -------
    int
    """
    return checked_int(value, name, minimum=1)


def nonnegative_int(value: Any, name: str) -> int:
    """``value`` as an ``int >= 0`` (see :func:`checked_int`).

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.

    Returns
    -------
    int
    """
    return checked_int(value, name, minimum=0)


def int_pair(value: Any, name: str, *, minimum: int) -> tuple[int, int]:
    """``(a, b)`` from an int (used for both) or a pair of ints, each ``>= minimum``.

    The message names the element at fault: ``stride[1]: expected an int >= 1, found 0``.

    Parameters
    ----------
    value : int or pair of int
    name : str
        What the message calls it.
    minimum : int

    Returns
    -------
    tuple of int
    """
    if type(value) is int and value >= minimum:  # the common case, before the pair checks
        return value, value
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ParameterError(f"{name}: expected an int or a pair of ints, found {value!r}")
        return (
            checked_int(value[0], f"{name}[0]", minimum=minimum),
            checked_int(value[1], f"{name}[1]", minimum=minimum),
        )
    single = checked_int(value, name, minimum=minimum)
    return single, single


def real_number(value: Any, name: str) -> float:
    """``value`` as a ``float``: any real number, not a bool or a string (inf and NaN pass).

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.

    Returns
    -------
    float
    """
    if type(value) is float or type(value) is int:  # the common case, before the ABC check
        return float(value)
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(f"{name}: expected a real number, found {value!r}")
    return float(value)


def finite_float(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` (see :func:`real_number`).

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.

    Returns
    -------
    float
    """
    number = real_number(value, name)
    if not math.isfinite(number):
        raise ParameterError(f"{name}: expected a finite number, found {number}")
    return number


def in_range(
    value: Any,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    above_low: bool = False,
    expected: str | None = None,
    found: Callable[[float], str] = "{:g}".format,
) -> float:
    """``value`` as a finite ``float`` with ``low <= value <= high`` (``low < value`` if ``above_low``).

    The message reads ``name: expected a number >= 0 and <= 31.75, found 40``, or
    ``name: expected a finite number, found inf``.  ``expected`` replaces the words
    after "expected" for every bad value (``"a finite number > 1 (the ratio of the
    two sigmas)"``), and ``found`` formats the number (``repr`` shows ``0.0``).

    Parameters
    ----------
    value : object
    name : str
        What the message calls it.
    low, high : float, optional
        Inclusive bounds (``low`` exclusive if ``above_low``).
    above_low : bool, optional
    expected : str, optional
    found : callable, optional
        Formats the number for the message.

    Returns
    -------
    float
    """
    number = real_number(value, name)
    if math.isfinite(number) and low <= number <= high and not (above_low and number == low):
        return number
    if expected is None and not math.isfinite(number):
        raise ParameterError(f"{name}: expected a finite number, found {number}")
    if expected is None:
        bound = f"> {low:g}" if above_low else f">= {low:g}"
        expected = f"a number {bound}" + (f" and <= {high:g}" if math.isfinite(high) else "")
    raise ParameterError(f"{name}: expected {expected}, found {found(number)}")


def is_number_text(text: str) -> bool:
    """Whether ``text`` is a number in plain decimal notation (``"2"``, ``"-0.5"``, ``"1e-3"``, ``"1e999"``).

    Parameters
    ----------
    text : str

    Returns
    -------
    bool
    """
    return bool(_NUMBER_TEXT.match(text))


def parse_number(text: str, name: str, *, error: type[ParameterError] = ParameterError) -> float:
    """The finite number written in ``text`` (``"2"``, ``"-0.5"``, ``"1e-3"``), as in an effect string.

    Only decimal notation: no ``inf``, ``nan``, hexadecimal or underscores.  ``error``
    is what a bad text raises (a kernel string's :class:`~convfx.banks.KernelFileError`).

    Parameters
    ----------
    text : str
    name : str
        What the message calls it.
    error : ParameterError subclass, optional

    Returns
    -------
    float
    """
    if not is_number_text(text):
        raise error(f"{name}: expected a number, found {quoted(text)}")
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise error(f"{name}: expected a finite number, found {quoted(text)}")
    return number


def real_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a non-empty ndarray of a real (bool, integer or float) dtype; not copied if it is one.

    Parameters
    ----------
    value : array_like
    name : str
        What the message calls it.

    Returns
    -------
    ndarray
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise ParameterError(f"{name}: expected a rectangular numeric array ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise ParameterTypeError(f"{name}: expected a real numeric dtype (bool, int, uint or float), found dtype {array.dtype}")
    if array.size == 0:
        raise ParameterError(f"{name}: expected a non-empty array, found shape {array.shape}")
    return array


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists, tuples and dicts nest in ``value`` (a scalar is 0, ``[1]`` is 1), counted up to ``limit + 1``.

    For what a JSON or TOML parser returned: the walk uses no recursion and stops
    as soon as the depth passes ``limit``, so a hostile document costs no more
    than its first ``limit + 1`` levels.

    Parameters
    ----------
    value : object
    limit : int
        The deepest nesting of interest.

    Returns
    -------
    int
        The depth, at most ``limit + 1``.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, (list, tuple)):
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in item if isinstance(child, (list, tuple, dict)))
    return deepest
