"""Colour to luminance: the one conversion every gray path uses.

``--gray`` effects, the edge detectors, learned filters of a gray model and the
network tour all turn RGB into luminance the same way, with the weights Pillow's
``convert("L")`` and OpenCV's ``COLOR_RGB2GRAY`` use, so results match what users
compare with.

This module must not filter, read files or know about effects or networks; it
imports only numpy and :mod:`convfx.errors`.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["LUMINANCE_WEIGHTS", "to_luminance"]

#: ITU-R BT.601 luma weights for R, G, B.
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)


def to_luminance(image: np.ndarray) -> np.ndarray:
    """Luminance ``0.299 R + 0.587 G + 0.114 B`` of an RGB image.

    Parameters
    ----------
    image : array_like, shape (H, W, 3) or (H, W)
        RGB, any real dtype; a 2-D image is returned unchanged (as float).

    Returns
    -------
    ndarray, shape (H, W)
        float64 for float64 input, float32 otherwise, in the input's units.

    Notes
    -----
    Computed as ``(0.299 R + 0.587 G) + 0.114 B``, each product and sum rounded
    in the output dtype, element by element: the same bits on every machine (a
    matrix product would round as the BLAS library does, which differs between
    processors), and what the compiled conversion of :func:`convfx.canny`
    reproduces.

    Examples
    --------
    >>> import numpy as np
    >>> to_luminance(np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]))
    array([[0.299, 0.114]])
    """
    array = np.asarray(image)
    dtype = np.float64 if array.dtype.kind == "f" and array.dtype.itemsize == 8 else np.float32  # '>f8' too
    if array.ndim == 2:
        return array.astype(dtype, copy=False)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ParameterError(f"image: gray needs shape (H, W) or (H, W, 3) RGB, found shape {array.shape}")
    red, green, blue = np.asarray(LUMINANCE_WEIGHTS, dtype=dtype)
    out = np.multiply(array[:, :, 0], red, dtype=dtype)
    out += np.multiply(array[:, :, 1], green, dtype=dtype)
    out += np.multiply(array[:, :, 2], blue, dtype=dtype)
    return out
