"""What every edge detector does to its input first, and the rounding it tolerates.

The image check (a real ``(H, W)`` or ``(H, W, C)`` array), its luminance in the
compute dtype, and the bound below which a response is rounding noise (a tie, or
no response at all), shared by :mod:`.gradient` (Canny) and :mod:`.laplacian`
(Marr-Hildreth).

This module must not filter, threshold or detect anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import real_array
from ..color import to_luminance
from ..conv import compute_dtype
from ..errors import ParameterError

#: Relative differences below this many units of rounding (of the compute dtype)
#: are ties: a symmetric step gives two equal magnitudes, or two equal |LoG|,
#: that rounding would otherwise split at random from row to row.
TIE_EPSILONS = 64


def checked_image(image: Any) -> np.ndarray:
    array = real_array(image, "image")
    if array.ndim not in (2, 3):
        raise ParameterError(f"image: expected a non-empty (H, W) or (H, W, C) array, found shape {array.shape}")
    return array


def gray(image: np.ndarray, mode_hint: str) -> np.ndarray:
    """(H, W) float luminance of a gray, one-channel or RGB image."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image.astype(compute_dtype(image.dtype), copy=False)
    if image.shape[2] != 3:
        raise ParameterError(f"image: the luminance needs (H, W) or (H, W, 3) RGB, found shape {image.shape}{mode_hint}")
    return to_luminance(image)


def rounding(dtype: np.dtype, scale: float) -> float:
    """Bound on the rounding error of a filter whose terms sum (in absolute value) to ``scale``."""
    return TIE_EPSILONS * float(np.finfo(dtype).eps) * scale
