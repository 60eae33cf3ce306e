"""ImageMagick kernel strings (``"3x3: -1,0,1 -2,0,2 -1,0,1"``) as filters.

The two forms ImageMagick's ``-morphology Convolve`` takes, parsed by a strict
regular expression (nothing is evaluated) into a :class:`~convfx.banks.Filter`
whose kernel is written for convolution, as ImageMagick applies it.

This module must not read files or filter images.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..checks import is_number_text
from .model import Filter, Kernel, KernelFileError, checked_matrix, default_range, frozen_copy

__all__ = ["looks_like_imagemagick", "parse_imagemagick"]

# "WxH[+X+Y]:" or "W:" geometry, then the numbers; see ImageMagick's AcquireKernelInfo.
_IM_GEOMETRY = re.compile(
    r"^\s*(?P<width>\d+)(?:x(?P<height>\d+))?(?P<origin>[+-]\d+[+-]\d+)?(?P<flags>[@<>^!%]*)\s*:(?P<values>.*)$",
    re.DOTALL,
)
_IM_OLD_STYLE = re.compile(r"^[\s,]*[+-]?(?:\d|\.\d)[\d\s,.eE+-]*$")


def looks_like_imagemagick(text: str) -> bool:
    """Whether ``text`` is meant as an ImageMagick kernel (starts with a size or a number).

    Parameters
    ----------
    text : str

    Returns
    -------
    bool
    """
    return bool(_IM_GEOMETRY.match(text) or _IM_OLD_STYLE.match(text))


def parse_imagemagick(text: str) -> Filter:
    """A :class:`Filter` from an ImageMagick user-defined kernel string.

    Accepts the two forms ImageMagick's ``-morphology Convolve`` takes:

    * ``"WxH[+X+Y]: v, v, ..."`` -- ``W*H`` numbers row by row (``"W:"`` means
      ``WxW``), the origin at ``+X+Y`` (``+0+0`` the top-left) or by default the
      centre (for even sizes the pixel just above/left of it);
    * ``"v, v, ..."`` -- an odd square number of values (9, 25, 49, ...).

    Numbers are separated by commas and/or white space.  ``nan`` marks a tap that
    is not part of the kernel, which for a convolution is a weight of 0.  The
    kernel is written for convolution (ImageMagick's ``Convolve`` rotates it; use
    ``operation`` ``correlate`` in a TOML file for its ``Correlate``), and is
    zero-padded so that its origin becomes the centre of an odd-sized kernel.

    Parameters
    ----------
    text : str

    Returns
    -------
    Filter
        One kernel, written for convolution.

    Raises
    ------
    KernelFileError
        Wrong number of values, non-numbers, an origin outside the kernel, several
        kernels (``;``), rotation flags (``@ < >``), or a kernel over the size limit.

    Examples
    --------
    >>> from convfx.banks import parse_imagemagick
    >>> parse_imagemagick("3x3: -1,0,1 -2,0,2 -1,0,1").kernels[0].weights
    array([[ 1.,  0., -1.],
           [ 2.,  0., -2.],
           [ 1.,  0., -1.]])
    """
    where = f"ImageMagick kernel {text.strip()!r:.60}"
    if ";" in text:
        raise KernelFileError(f"{where}: several kernels separated by ';' are not supported; give one")
    match = _IM_GEOMETRY.match(text)
    if match:
        if match["flags"]:
            raise KernelFileError(f"{where}: rotation/scaling flags {match['flags']!r} are not supported")
        width = int(match["width"])
        height = int(match["height"] or width)
        numbers = _im_numbers(match["values"], where)
        if width < 1 or height < 1 or len(numbers) != width * height:
            raise KernelFileError(f"{where}: expected {width}x{height} = {width * height} values, found {len(numbers)}")
        if match["origin"]:
            x, y = (int(v) for v in re.findall(r"[+-]\d+", match["origin"]))
            if not (0 <= x < width and 0 <= y < height):
                raise KernelFileError(f"{where}: origin +{x}+{y} is outside the {width}x{height} kernel")
        else:
            x, y = (width - 1) // 2, (height - 1) // 2
    else:
        numbers = _im_numbers(text, where)
        side = math.isqrt(len(numbers))
        if side * side != len(numbers) or side % 2 == 0:
            raise KernelFileError(
                f"{where}: expected an odd square number of values (9, 25, 49, ...) or a 'WxH:' size, found {len(numbers)}"
            )
        width = height = side
        x = y = side // 2
    values = np.array(numbers, dtype=np.float64).reshape(height, width)
    values = np.where(np.isnan(values), 0.0, values)  # ImageMagick's "nan": no tap (inf stays, and is refused)
    # Our "same" geometry puts the origin of an odd kernel at its centre: pad with
    # zero taps (which change nothing) until the requested origin is the centre.
    # For a convolution the origin mirrors with the kernel, hence width-1-2x.
    left, right = max(width - 1 - 2 * x, 0), max(2 * x - (width - 1), 0)
    top, bottom = max(height - 1 - 2 * y, 0), max(2 * y - (height - 1), 0)
    values = np.pad(values, ((top, bottom), (left, right)))
    values = checked_matrix(values, where)
    kernel = Kernel(name="kernel", values=frozen_copy(values), operation="convolve")
    return Filter(
        name="kernel",
        description=f"ImageMagick kernel {width}x{height}",
        kernels=(kernel,),
        output_range=default_range(values),
        source="ImageMagick string",
    )


def _im_numbers(text: str, where: str) -> list[float]:
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    if not tokens:
        raise KernelFileError(f"{where}: expected numbers, found none")
    numbers = []
    for token in tokens:
        if token.lower() == "nan":  # ImageMagick's "no tap here"
            numbers.append(math.nan)
        elif is_number_text(token):
            numbers.append(float(token))  # 1e999 becomes inf, which checked_matrix refuses
        else:
            raise KernelFileError(f"{where}: expected a number, found {token!r}")
    return numbers
