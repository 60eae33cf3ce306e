"""What convfx's own processes set for themselves: the allocator keeps the memory it frees.

The command line's process and the batch pool's workers call
:func:`keep_freed_memory` when they start; the library never does, since it is
a policy of the whole process and a caller's process is the caller's.

This module must not import anything but the standard library.
"""

from __future__ import annotations

import sys

__all__ = ["KEPT_BLOCK_BYTES", "keep_freed_memory"]

#: Freed blocks up to this size stay with the process, for its next arrays.
KEPT_BLOCK_BYTES = 1 << 28

# glibc's mallopt parameters (<malloc.h>).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """Have this process's allocator keep and reuse the memory it frees (blocks up to 256 MiB).

    By default glibc gives every large freed block back to the system at once, so
    each photo's arrays are fresh memory that the kernel maps and zeroes page by
    page: a tenth of the time of a run over photos.  One run's arrays have the
    same sizes from strip to strip and from file to file, so the process keeps
    them instead; its memory stays at the high-water mark it reaches anyway.

    Returns
    -------
    bool
        False where there is nothing to set (not glibc, e.g. macOS or musl).

    Examples
    --------
    >>> import sys
    >>> keep_freed_memory() or not sys.platform.startswith("linux")  # doctest: +SKIP
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, KEPT_BLOCK_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, KEPT_BLOCK_BYTES))
