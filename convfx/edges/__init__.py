"""Edge detectors built on the filter banks: Canny, Marr-Hildreth, difference of Gaussians.

Each detector is a pipeline of linear filters convfx already ships -- the bank's
``gaussian_blur`` rebuilt with a sigma, ``sobel_x`` / ``sobel_y``, ``log`` and
``dog`` -- applied by :func:`convfx.effects.apply` through the one engine
(:func:`convfx.correlate`), followed by a few non-linear steps: non-maximum
suppression, double threshold and hysteresis (Canny), zero crossings with a slope
threshold (Marr-Hildreth).  :func:`canny_stages` returns every intermediate array;
``convfx explain canny`` draws them.

Importing this package (which ``import convfx`` does) registers ``canny`` and
``marr_hildreth`` as effect detectors (:mod:`convfx.steps`), so they work wherever
an effect name does:
``convfx apply canny:sigma=2,low=0.05 photo.jpg``, chains (``gaussian_blur,canny``),
``convfx batch`` and ``convfx.apply(image, "canny", sigma=2)``.  ``dog`` is linear,
so it stays a bank filter (``dog:sigma=2,k=1.6``); :func:`dog` is its wrapper.

Thresholds are fractions of full scale (:func:`convfx.ranges.dtype_full_scale`:
255 for ``uint8``, 65535 for ``uint16``, 1 for floats), as in scikit-image, so the
same numbers work on 8-bit, 16-bit and float images.

The package, by job:

* :mod:`.gradient` -- Canny: its parameters, smoothing and Sobel gradients, the
  pipeline and :class:`CannyStages`;
* :mod:`.suppression` -- Canny's per-pixel stages: the magnitude with its
  boundary frame, non-maximum suppression, hysteresis;
* :mod:`.loops` and :mod:`.vectorised` -- those stages compiled by numba, and
  as numpy operations (the same bits); :mod:`.engines` -- which one a call
  runs; :mod:`.codes` -- the constants both share;
* :mod:`.bands` -- bands (and strips) of rows shared among threads, for those stages;
* :mod:`.laplacian` -- Marr-Hildreth (zero crossings of the LoG) and DoG;
* :mod:`.inputs` -- what both detectors share: the image check, the luminance,
  the rounding bound below which a response is noise.

Nothing here may slide, build or hard-code a kernel (blur and derivatives come
from the banks), read or write files, or draw.
"""

from __future__ import annotations

from .gradient import (
    CANNY_MODES,
    CANNY_QUANTILES,
    CANNY_THRESHOLDS,
    CANNY_TRUNCATE,
    CannyStages,
    canny,
    canny_smoothing,
    canny_stages,
)
from .laplacian import MARR_HILDRETH_AUTO, dog, marr_hildreth

__all__ = [
    "CANNY_MODES",
    "CANNY_THRESHOLDS",
    "CANNY_QUANTILES",
    "CANNY_TRUNCATE",
    "MARR_HILDRETH_AUTO",
    "CannyStages",
    "canny",
    "canny_stages",
    "canny_smoothing",
    "marr_hildreth",
    "dog",
]
