"""The numbers Canny's per-pixel stages share: pixel states and boundary codes.

Both implementations of those stages (:mod:`.loops`, compiled, and
:mod:`.vectorised`, numpy) and their caller (:mod:`.suppression`) read them
here.  This module must hold nothing but constants.
"""

from __future__ import annotations

#: The pixels of the state map non-maximum suppression writes, and the bit
#: hysteresis adds to those it keeps.
NOT_EDGE, WEAK, STRONG, KEPT = 0, 1, 2, 4

#: The boundaries as the per-pixel stages know them (a position in this tuple).
BOUNDARY_CODES = ("constant", "wrap", "reflect", "edge", "symmetric")
CONSTANT, WRAP, REFLECT = 0, 1, 2
