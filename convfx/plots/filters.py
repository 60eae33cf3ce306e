"""Figures of filters: kernels as they touch the pixels, and a photo through several filters.

This module must not compute filters itself (it calls :func:`convfx.effects.apply`
and :func:`convfx.ranges.map_range`) nor write files except through
:func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import effects, ranges
from ..errors import ParameterError
from .figures import DIVERGING, save_figure

__all__ = ["GALLERY_EFFECTS", "kernel_figure", "gallery_figure", "save_kernel_plot"]


#: The README gallery: one photo through these, next to the original.
GALLERY_EFFECTS = ("sobel", "laplacian", "gaussian_blur", "sharpen", "emboss")


# Kernels up to this many taps get their values written in the cells.
_ANNOTATE_MAX_TAPS = 81


def _grid(count: int, max_columns: int) -> tuple[int, int]:
    columns = min(count, max_columns)
    return math.ceil(count / columns), columns


def _short(value: float) -> str:
    return f"{value:.3g}" if value != int(value) else str(int(value))


def kernel_figure(effect: effects.EffectLike, *, title: str | None = None) -> Figure:
    """Draw every kernel of an effect as the correlation kernel that is applied.

    Parameters
    ----------
    effect : str, Filter, Effect or ndarray
        Anything :func:`convfx.effects.parse_effect` takes.
    title : str, optional
        Figure title; default names the effect.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per kernel; a diverging colour map centred on 0 (red positive,
        blue negative) and, for kernels up to 9x9, the values in the cells.
    """
    parsed = effects.parse_effect(effect)
    kernels = [(step, kernel) for step in parsed.steps for kernel in step.kernels]
    rows, columns = _grid(len(kernels), 5)
    figure = Figure(figsize=(2.8 * columns, 2.9 * rows + 0.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (step, kernel) in zip(axes, kernels):
        weights = kernel.weights
        limit = float(np.abs(weights).max()) or 1.0
        ax.imshow(weights, cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest")
        if weights.size <= _ANNOTATE_MAX_TAPS:
            for (i, j), value in np.ndenumerate(weights):
                colour = "white" if abs(value) > 0.6 * limit else "black"
                ax.text(j, i, _short(value), ha="center", va="center", fontsize=8, color=colour)
        label = kernel.name if len(step.kernels) > 1 or kernel.name == step.name else f"{step.name}: {kernel.name}"
        ax.set_title(f"{label} ({weights.shape[0]}x{weights.shape[1]})", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(kernels) :]:
        ax.set_axis_off()
    figure.suptitle(title or f"{parsed.spec}: kernels as applied (correlation)", fontsize=11)
    return figure


def gallery_figure(
    image: np.ndarray,
    effect_names: Sequence[str] = GALLERY_EFFECTS,
    *,
    boundary: str = "reflect",
    columns: int = 3,
) -> Figure:
    """The original image next to its filtered versions, as a picture grid.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3), uint8
        The photo.
    effect_names : sequence of str
        Effects to show, each mapped with its own default output range.
    boundary : str, optional
        See :func:`convfx.apply`.
    columns : int, optional
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if image.dtype != np.uint8:
        raise ParameterError(f"image: expected uint8 pixels for the gallery, found {image.dtype}")
    panels = [("original", image)]
    for name in effect_names:
        effect = effects.parse_effect(name)
        response = effects.apply(image, effect, boundary=boundary)
        panels.append((f"{name} ({effect.output_range})", ranges.map_range(response, effect.output_range)))
    rows, columns = _grid(len(panels), columns)
    height, width = image.shape[:2]
    panel_width = 3.0
    figure = Figure(figsize=(panel_width * columns, rows * (panel_width * height / width + 0.3)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (title, pixels) in zip(axes, panels):
        ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255, interpolation="lanczos")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    return figure


def save_kernel_plot(effect: effects.EffectLike, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Draw an effect's kernels (:func:`kernel_figure`) to ``path``."""
    return save_figure(kernel_figure(effect), path, overwrite=overwrite)
