"""Which implementation of Canny's per-pixel stages runs: numpy's, or numba's compiled loops.

Both give the same bits (tested).  The compiled loops (:mod:`.loops`) are two
to three times quicker per pixel, but a process pays once, on first use, for
loading numba and linking their machine code: about half a second to a second,
longer than Canny takes on a dozen photos with numpy (:mod:`.vectorised`).  So
a process starts with numpy and switches to the compiled loops once Canny has
worked on :data:`COMPILE_AFTER_PIXELS` pixels, about the time their start-up
costs: the rule for renting skis until the rent would have bought them, which
never costs more than twice the better choice made in hindsight.  One photo
from the command line stays quick to start; a long batch, a server or a loop
in a notebook gets the compiled speed after its first few dozen megapixels.

This module must not compute anything: it only counts pixels and chooses.
"""

from __future__ import annotations

import threading
from types import ModuleType

from . import vectorised

#: Pixels a process runs through numpy's implementation before it loads the compiled one.
COMPILE_AFTER_PIXELS = 40_000_000

_lock = threading.Lock()
_pixels_seen = 0


def per_pixel_stages(pixels: int) -> ModuleType:
    """The implementation for a Canny call on ``pixels`` pixels, counted towards the switch.

    Returns
    -------
    module
        :mod:`.loops` once this process has asked for :data:`COMPILE_AFTER_PIXELS`
        pixels before this call, else :mod:`.vectorised`.
    """
    global _pixels_seen  # noqa: PLW0603 (the process's count is the point)
    with _lock:
        compiled = _pixels_seen >= COMPILE_AFTER_PIXELS
        _pixels_seen += pixels
    if not compiled:
        return vectorised
    from . import loops  # numba loads here, once

    return loops
