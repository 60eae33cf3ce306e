"""Figures of a trained network: one image's tour through every layer, and the confusion matrix.

This module must not run the network or count predictions (that is
:mod:`convfx.nn.inspect` and :func:`convfx.nn.evaluate`), nor write files except
through :func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..nn import inspect as nn_inspect
from .figures import DIVERGING, save_figure

__all__ = ["confusion_matrix_figure", "tour_figure", "save_tour"]


def confusion_matrix_figure(
    confusion: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Draw a confusion matrix: true classes on rows, predictions on columns.

    Parameters
    ----------
    confusion : ndarray, shape (K, K)
        Counts, ``confusion[true, predicted]``.
    class_names : sequence of K str
    title : str, optional
        Default: the overall accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        Cells shaded by the fraction of their row (so small classes show as clearly
        as large ones), each labelled with its count; the diagonal is correct.
    """
    confusion = np.asarray(confusion)
    k = confusion.shape[0]
    totals = confusion.sum(axis=1, keepdims=True)
    fractions = confusion / np.maximum(totals, 1)
    size = min(12.0, 2.0 + 0.5 * k)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    long_names = max(map(len, class_names)) > 2
    ax.set_xticks(range(k), labels=list(class_names), rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(range(k), labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        for row in range(k):
            for column in range(k):
                count = int(confusion[row, column])
                if count:
                    color = "white" if fractions[row, column] > 0.5 else "black"
                    ax.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    accuracy = np.trace(confusion) / max(int(confusion.sum()), 1)
    ax.set_title(title or f"accuracy {accuracy:.2%} ({int(np.trace(confusion))}/{int(confusion.sum())})")
    figure.colorbar(image, ax=ax, label="fraction of the true class", shrink=0.8)
    return figure


def _signed_or_not(values: np.ndarray) -> dict:
    """imshow options shared by one layer's maps: diverging around 0 if signed, else 0..max."""
    low, high = float(np.min(values)), float(np.max(values))
    if low >= 0:
        return {"cmap": "magma", "vmin": 0.0, "vmax": high if high > 0 else 1.0}
    extent = max(abs(low), abs(high)) or 1.0
    return {"cmap": DIVERGING, "vmin": -extent, "vmax": extent}


def tour_figure(tour: nn_inspect.Tour, *, max_maps: int = 16) -> Figure:
    """One image's path through a LeNet: every layer's output in order, then the softmax.

    Parameters
    ----------
    tour : convfx.nn.inspect.Tour
        From :func:`convfx.nn.inspect.tour`.
    max_maps : int, optional
        Feature maps drawn per layer (LeNet has at most 16).

    Returns
    -------
    Figure
        One row per layer, labelled ``C1 conv1 (Conv2d)  6@28x28`` and so on: maps
        ``(D, H, W)`` as D images sharing one colour scale (diverging around 0 when
        the layer has negative values), vectors ``(F,)`` as a one-row strip, and
        the class probabilities as a bar chart.
    """
    rows = [("input", tour.image)] + [(m, m.values) for m in tour.maps]
    heights = [1.0 if np.ndim(values) == 3 else 0.5 for _, values in rows] + [2.0]
    figure = Figure(figsize=(11, sum(heights) + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subfigures(len(heights), 1, height_ratios=heights)
    for panel, (layer, values) in zip(panels, rows):
        if isinstance(layer, str):
            label = f"input  {nn_inspect.shape_text(values.shape)}  ({tour.source or 'image'})"
        else:
            label = f"{layer.lenet_name + ' ' if layer.lenet_name else ''}{layer.name} ({layer.kind})  {layer.shape}"
        panel.suptitle(label, x=0.005, ha="left", fontsize=8, fontweight="bold")
        if np.ndim(values) == 3:
            axes = panel.subplots(1, max_maps, squeeze=False)[0]
            if isinstance(layer, str) and values.shape[0] == 3:
                axes[0].imshow(np.clip(np.moveaxis(values, 0, 2), 0, 1), interpolation="nearest")
                shown = 1
            else:
                options = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if isinstance(layer, str) else _signed_or_not(values)
                shown = min(len(values), max_maps)
                for ax, plane in zip(axes, values[:shown]):
                    ax.imshow(plane, interpolation="nearest", **options)
            for ax in axes:
                ax.set_axis_off()
            for k, ax in enumerate(axes[:shown]):
                if not isinstance(layer, str):
                    ax.set_title(f"#{k}", fontsize=6, pad=1)
        else:
            ax = panel.subplots()
            ax.imshow(values[None, :], aspect="auto", interpolation="nearest", **_signed_or_not(values))
            ax.set_yticks([])
            if layer is tour.maps[-1]:  # the logits: one cell per class, so name them
                ax.set_xticks(np.arange(len(values)), tour.class_names, rotation=0 if len(values) <= 12 else 90)
            ax.tick_params(labelsize=6, length=2)
    ax = panels[-1].subplots()
    positions = np.arange(len(tour.probabilities))
    colours = ["tab:orange" if k == tour.prediction else "tab:blue" for k in positions]
    ax.bar(positions, tour.probabilities, color=colours)
    ax.set_xticks(positions, tour.class_names, fontsize=7, rotation=0 if len(tour.class_names) <= 12 else 90)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability", fontsize=7)
    ax.tick_params(labelsize=7)
    best = tour.prediction
    panels[-1].suptitle(
        f"softmax  {len(tour.probabilities)}: predicted {tour.class_names[best]!r} (p = {tour.probabilities[best]:.2f})",
        x=0.005,
        ha="left",
        fontsize=8,
        fontweight="bold",
    )
    return figure


def save_tour(tour: nn_inspect.Tour, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Draw :func:`tour_figure` to ``path`` (.png, .svg, .pdf), PNGs with a 128-colour palette."""
    return save_figure(tour_figure(tour), path, overwrite=overwrite, colors=128)
