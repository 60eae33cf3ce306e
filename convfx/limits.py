"""Resource bounds: how large an input convfx accepts before doing any work on it.

Every bound that protects memory or time from a hostile or mistaken input is a
named constant here, so that the README can state them in one table and every
module checks the same number.  Inputs beyond a bound are refused with one line
naming the parameter or file, before anything is allocated or parsed.

This module must not import anything: every layer of convfx may import it.
"""

from __future__ import annotations

#: Characters of an effect specification (``"gaussian_blur:sigma=2,sobel"``),
#: checked before it is split or matched by any regular expression.
MAX_EFFECT_SPEC_CHARS = 4096

#: Values that one call of the convolution engine may hold in its padded image
#: and its output together (8 GiB of float32), checked before padding.
MAX_PADDED_VALUES = 2**31

#: Characters of a memory size written as text (``"512MB"``), checked before it is parsed.
MAX_BYTE_SIZE_CHARS = 64
