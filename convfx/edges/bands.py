"""Bands of whole rows of an image, worked on by several threads (Canny's per-pixel stages).

This module must not compute anything of its own: it hands each band to the task
it is given and collects the results in order.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2

#: Canny works on bands of rows of about this many pixels (their temporaries stay
#: in cache); on strips of about STRIP_PIXELS when each filters its own rows
#: (fewer calls of the filters, and fewer halo rows filtered twice); and on one
#: thread below PARALLEL_MIN_PIXELS (threads cost more).
BAND_PIXELS = 1 << 16
STRIP_PIXELS = 1 << 18
PARALLEL_MIN_PIXELS = 1 << 17


class Bands:
    """Bands of whole rows of an ``(H, W)`` image, worked on by several threads.

    Per-pixel stages run band by band: a band of some ten thousand pixels keeps
    its temporaries in cache, not main memory; and numpy and OpenCV release the
    GIL, so the bands spread over as many threads as OpenCV uses
    (``cv2.getNumThreads()``, which ``convfx batch`` lowers in its workers).
    Every band writes only its own rows, so the result does not depend on which
    thread did which band.  Use as a context manager: the threads live for one
    detector call (a pool kept between calls would not survive a fork).
    """

    def __init__(self, height: int, width: int, *, strips: bool = False) -> None:
        rows = max(1, (STRIP_PIXELS if strips else BAND_PIXELS) // (width + 2))
        self.slices = [slice(start, min(start + rows, height)) for start in range(0, height, rows)]
        threads = cv2.getNumThreads() if height * width >= PARALLEL_MIN_PIXELS else 1
        self.threads = max(1, min(threads, len(self.slices)))
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> Bands:
        if self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="convfx-canny")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def map(self, task: Callable[[slice], Any]) -> list[Any]:
        """``[task(rows) for rows in self.slices]``, the bands shared among the threads."""
        results: list[Any] = [None] * len(self.slices)
        if self._pool is None:
            return [task(rows) for rows in self.slices]
        lock = threading.Lock()
        taken = itertools.count()

        def work() -> None:
            while True:
                with lock:
                    index = next(taken)
                if index >= len(self.slices):
                    return
                results[index] = task(self.slices[index])

        # The helpers run in a copy of this thread's context (numpy's errstate lives there).
        helpers = [self._pool.submit(contextvars.copy_context().run, work) for _ in range(self.threads - 1)]
        try:
            work()
        finally:
            for helper in helpers:
                helper.result()
        return results
