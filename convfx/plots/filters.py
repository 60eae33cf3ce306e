"""Figures of filters: kernels as they touch the pixels, and a photo through several filters.

This module must not compute filters itself (it calls :func:`convfx.effects.apply`
and :func:`convfx.ranges.map_range`) nor write files except through
:func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import effects, ranges
from ..errors import ParameterError
from .figures import DIVERGING, SIGNED_LEGEND, TEXT_POINTS, kernel_limits, save_figure, signed_colour_bar, signed_norm

__all__ = ["GALLERY_EFFECTS", "kernel_figure", "gallery_figure", "save_kernel_plot"]


#: The README gallery: one photo through these, next to the original.
GALLERY_EFFECTS = ("sobel", "laplacian", "gaussian_blur", "sharpen", "emboss")


# Kernels up to this many taps get their values written in the cells.
_ANNOTATE_MAX_TAPS = 81


def _grid(count: int, max_columns: int) -> tuple[int, int]:
    columns = min(count, max_columns)
    return math.ceil(count / columns), columns


def _short(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if value != int(value) else str(int(value))


def kernel_figure(effect: effects.EffectLike, *, title: str | None = None, scale: str = "shared") -> Figure:
    """Draw every kernel of an effect as the correlation kernel that is applied.

    Parameters
    ----------
    effect : str, Filter, Effect or ndarray
        Anything :func:`convfx.effects.parse_effect` takes.
    title : str, optional
        Figure title; default names the effect in plain words.
    scale : {"shared", "per-kernel"}, optional
        One symmetric colour scale for every kernel (default), or each kernel
        stretched to its own largest weight (see :data:`KERNEL_SCALES`).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per kernel titled with its name, size and norm; a diverging
        colour map centred on 0 (red positive, blue negative, white 0) with a
        colour bar per scale and, for kernels up to 9x9, the values in the cells.

    Raises
    ------
    ParameterError
        ``scale`` not one of :data:`KERNEL_SCALES`.
    """
    parsed = effects.parse_effect(effect)
    kernels = [(step, kernel) for step in parsed.steps for kernel in step.kernels]
    limits = kernel_limits([kernel.weights for _, kernel in kernels], scale)
    rows, columns = _grid(len(kernels), 5)
    per_kernel = scale == "per-kernel"
    figure = Figure(figsize=((3.8 if per_kernel else 3.0) * columns + 1.0, 3.2 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (step, kernel), limit in zip(axes, kernels, limits):
        weights = kernel.weights
        norm = signed_norm(limit)
        ax.imshow(weights, cmap=DIVERGING, norm=norm, interpolation="nearest")
        if weights.size <= _ANNOTATE_MAX_TAPS:
            # Two significant digits in the narrower cells of wide kernels (`convfx show` prints them all).
            digits = 3 if weights.shape[1] <= 3 else 2
            for (i, j), value in np.ndenumerate(weights):
                colour = "white" if abs(value) > 0.6 * limit else "black"
                ax.text(j, i, _short(value, digits), ha="center", va="center", fontsize=TEXT_POINTS + 0.5, color=colour)
        label = kernel.name if len(step.kernels) > 1 or kernel.name == step.name else f"{step.name}: {kernel.name}"
        norm_value = float(np.sqrt(np.sum(np.square(weights))))
        ax.set_title(f"{label} ({weights.shape[0]}x{weights.shape[1]})\nnorm {norm_value:.3g}", fontsize=TEXT_POINTS + 2)
        ax.set_xticks([])
        ax.set_yticks([])
        if per_kernel:
            signed_colour_bar(figure, norm, ax, "weight", shrink=0.7).set_label("weight", fontsize=TEXT_POINTS + 1)
    for ax in axes[len(kernels) :]:
        ax.set_axis_off()
    if per_kernel:
        legend = f"each kernel on its own colour scale; {SIGNED_LEGEND}"
    else:
        signed_colour_bar(figure, signed_norm(limits[0]), axes[: len(kernels)].tolist(), "weight", shrink=0.8)
        legend = "one colour scale for every kernel"
    heading = title or f"{parsed.spec}: the kernels as they are applied to the pixels (correlation)"
    figure.suptitle(f"{heading}\n{legend}", fontsize=TEXT_POINTS + 3)
    return figure


# What each output range does to a response, in words, for the gallery's titles.
_RANGE_WORDS = {
    "abs": "absolute value: both signs bright",
    "clip": "clipped to 0..255",
    "signed": "0 shown as mid-grey",
    "normalize": "contrast stretched",
    "minmax": "stretched from min to max",
    "binary": "edges white",
}


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
        One panel per effect, titled with its name and what its output range
        does to the response, in words.
    """
    if image.dtype != np.uint8:
        raise ParameterError(f"image: expected uint8 pixels for the gallery, found {image.dtype}")
    panels = [("original", image)]
    for name in effect_names:
        effect = effects.parse_effect(name)
        response = effects.apply(image, effect, boundary=boundary)
        words = _RANGE_WORDS.get(effect.output_range, effect.output_range)
        panels.append((f"{name}\n{words}", ranges.map_range(response, effect.output_range)))
    rows, columns = _grid(len(panels), columns)
    height, width = image.shape[:2]
    panel_width = 3.0
    figure = Figure(figsize=(panel_width * columns, rows * (panel_width * height / width + 0.3)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (title, pixels) in zip(axes, panels):
        ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255, interpolation="lanczos")
        ax.set_title(title, fontsize=TEXT_POINTS + 2.5)
        ax.set_axis_off()
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    return figure


def save_kernel_plot(
    effect: effects.EffectLike, path: str | os.PathLike, *, scale: str = "shared", overwrite: bool = False
) -> Path:
    """Draw an effect's kernels (:func:`kernel_figure`, ``scale`` as there) to ``path``.

    Parameters
    ----------
    effect : str or Effect
    path : str or path-like
    scale : str, optional
    overwrite : bool, optional

    Returns
    -------
    Path
        ``path``.
    """
    return save_figure(kernel_figure(effect, scale=scale), path, overwrite=overwrite)
