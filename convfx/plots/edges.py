"""The figure of Canny's stages, for ``convfx explain canny``.

This module must not detect edges itself (the stages come from
:func:`convfx.edges.canny_stages`) nor write files except through
:func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from .. import edges, imageio, ranges, steps
from ..conv import BOUNDARIES
from ..errors import ParameterError
from .figures import DIVERGING, PLOT_SUFFIXES, image_panel, refuse_existing, save_figure

__all__ = ["canny_figure", "save_canny_stages"]


def canny_figure(
    image: np.ndarray,
    *,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    quantile: bool = False,
    mode: str = "luminance",
    boundary: str = "reflect",
    full_scale: float | None = None,
) -> Figure:
    """Every stage of :func:`convfx.canny` on one image, as a 3 x 3 grid.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        The photo (any dtype; shown scaled by its full scale).
    sigma, low, high, quantile, mode, boundary, full_scale
        As for :func:`convfx.canny`.

    Returns
    -------
    matplotlib.figure.Figure
        Input; smoothed; ``gx`` and ``gy`` (red positive, blue negative, same
        scale); magnitude; direction as hue with the magnitude as brightness;
        the magnitude after non-maximum suppression; strong (white) and weak
        (orange) pixels; the final edges.  3.6 inches per panel across, 100 dpi
        when saved with :func:`save_figure`.
    """
    image = np.asarray(image)
    stages = edges.canny_stages(
        image, sigma=sigma, low=low, high=high, quantile=quantile, mode=mode, boundary=boundary, full_scale=full_scale
    )
    # canny_stages has checked full_scale; None is the dtype's white, as there.
    scale = ranges.dtype_full_scale(image.dtype) if full_scale is None else float(full_scale)
    height, width = image.shape[:2]
    panel = 3.6
    figure = Figure(figsize=(3 * panel, 3 * (panel * height / width + 0.35) + 0.3), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 3).ravel()
    shown = np.clip(image / scale, 0, 1)
    image_panel(axes[0], shown, "input", vmin=0, vmax=1)
    image_panel(axes[1], np.clip(stages.smoothed, 0, 1), f"1. smoothed: Gaussian, sigma={sigma:g}", vmin=0, vmax=1)
    # One colour scale for both derivatives, so their strengths compare; a high
    # percentile rather than the maximum, so that one hard edge does not grey out the rest.
    limit = float(np.percentile(np.abs(np.concatenate([stages.gx.ravel(), stages.gy.ravel()])), 99.5)) or 1.0
    image_panel(axes[2], stages.gx, "2. gx = sobel_x (red: brighter right)", cmap=DIVERGING, vmin=-limit, vmax=limit)
    image_panel(axes[3], stages.gy, "2. gy = sobel_y (red: brighter below)", cmap=DIVERGING, vmin=-limit, vmax=limit)
    top = float(np.percentile(stages.magnitude, 99.5)) or 1.0
    image_panel(axes[4], stages.magnitude, "3. magnitude sqrt(gx^2 + gy^2)", vmin=0, vmax=top)
    hue = (stages.direction + np.pi) / (2 * np.pi)
    value = np.clip(stages.magnitude / top, 0, 1)
    image_panel(axes[5], hsv_to_rgb(np.dstack([hue, np.ones_like(hue), value])), "4. direction (hue), magnitude (brightness)")
    image_panel(axes[6], stages.suppressed, "5. after non-maximum suppression", vmin=0, vmax=top)
    levels = np.zeros(stages.strong.shape + (3,), dtype=np.float32)
    levels[stages.weak] = (1.0, 0.55, 0.0)
    levels[stages.strong] = (1.0, 1.0, 1.0)
    image_panel(axes[7], levels, f"6. strong >= {stages.high:.3g} (white), weak >= {stages.low:.3g} (orange)")
    image_panel(axes[8], stages.edges, f"7. hysteresis: edges ({int(stages.edges.sum())} pixels)", vmin=0, vmax=1)
    thresholds = f"quantiles low={low}, high={high}" if quantile else f"low={stages.low:g}, high={stages.high:g}"
    figure.suptitle(f"Canny, sigma={sigma:g}, {thresholds}, mode={mode}", fontsize=11)
    return figure


def save_canny_stages(
    source: str | os.PathLike,
    destination: str | os.PathLike | None = None,
    *,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    quantile: bool = False,
    mode: str = "luminance",
    boundary: str = "reflect",
    overwrite: bool = False,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
) -> Path:
    """Read an image and draw :func:`canny_figure` of it to ``destination`` (``convfx explain canny``).

    Parameters
    ----------
    source : path-like
        The image (see :func:`convfx.imageio.read_image`).
    destination : path-like, optional
        ``.png``, ``.svg`` or ``.pdf``; default ``<stem>_canny_stages.png`` next to ``source``.
    sigma, low, high, quantile, mode, boundary
        See :func:`convfx.canny`; checked before the image is decoded.
    overwrite : bool, optional
        Replace an existing ``destination``.
    max_pixels : int, optional
        Decompression-bomb guard.

    Returns
    -------
    Path
        ``destination``.
    """
    detector = steps.get_detector("canny").with_parameters(
        {"sigma": sigma, "low": low, "high": high, "quantile": quantile, "mode": mode}
    )
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    source = imageio.check_source(source)
    destination = source.with_name(f"{source.stem}_canny_stages.png") if destination is None else Path(destination)
    if destination.suffix.lower() not in PLOT_SUFFIXES:
        raise ParameterError(f"output: {destination}: unsupported file type {destination.suffix or '(none)'!r}; expected one of {list(PLOT_SUFFIXES)}")
    refuse_existing(destination, overwrite=overwrite)
    picture = imageio.read_image(source, max_pixels=max_pixels)
    figure = canny_figure(picture.pixels, boundary=boundary, **detector.settings)
    return save_figure(figure, destination, overwrite=overwrite)
