"""Figures of what a network learned: its kernels beside classic ones, and how they changed in training.

This module must not match kernels, score them or compute feature maps (that is
:mod:`convfx.compare`, whose :class:`~convfx.compare.Comparison` it draws), nor
write files except through :func:`convfx.plots.save_figure` and
:func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .. import color, compare, effects, imageio, learned, ranges
from ..errors import ParameterError
from .figures import DIVERGING, figure_bytes, image_panel, refuse_existing, save_figure

__all__ = ["default_photo", "compare_figure", "evolution_figure", "evolution_gif_bytes", "save_compare_figures"]


def _diverging(ax, kernel: np.ndarray, title: str = "", *, fontsize: int = 8) -> None:
    """A kernel in red (positive) and blue (negative), 0 exactly mid-grey-white."""
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_title(title, fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])


def _colour_patch(kernel: np.ndarray) -> np.ndarray:
    """An RGB kernel ``(3, kh, kw)`` as colours: 0 is mid-grey, each channel's sign its own hue."""
    limit = float(np.abs(kernel).max()) or 1.0
    return np.clip(0.5 + 0.5 * np.moveaxis(kernel, 0, -1) / limit, 0, 1)


def _stretched(response: np.ndarray) -> np.ndarray:
    """A response shown between its 1st and 99th percentiles, so one outlier does not grey out the rest."""
    low, high = np.percentile(response, [1, 99])
    return np.clip((response - low) / ((high - low) or 1.0), 0, 1)


def default_photo() -> np.ndarray:
    """The photo compare figures use when none is given: scikit-image's ``chelsea`` (bundled, RGB uint8)."""
    from skimage import data

    return data.chelsea()


def compare_figure(result: compare.Comparison, image: np.ndarray | None = None, *, boundary: str = "reflect") -> Figure:
    """Learned kernels beside their best classic matches, and both applied to a photo.

    Parameters
    ----------
    result : convfx.compare.Comparison
        From :func:`convfx.compare.compare_model`.
    image : ndarray, shape (H, W) or (H, W, 3), uint8, optional
        The photo; default :func:`default_photo`.
    boundary : str, optional
        See :func:`convfx.apply`.

    Returns
    -------
    matplotlib.figure.Figure
        One column per learned kernel.  Rows: the kernel (channel mean, red
        positive, blue negative, 0 white), its colours for an RGB kernel (0 is
        mid-grey), the best classic match as it was matched (rotated/flipped, with
        the sign), the layer's feature map on the photo
        (:func:`convfx.learned.learned_responses`: normalised input, bias, as the
        conv layer) and the matched classic kernel on the photo's luminance
        (:func:`convfx.apply`), each stretched between its 1st and 99th percentiles.
        The two photo rows are left out for a layer whose input is not 1 or 3
        channels (a deeper layer sees feature maps, not photos).
    """
    weights = result.weights
    image = default_photo() if image is None else np.asarray(image)
    # A deeper layer (C input channels other than 1 or 3) sees feature maps, not photos.
    on_photo = weights.channels in (1, 3)
    if on_photo:
        maps = learned.learned_responses(image, weights, full_scale=ranges.dtype_full_scale(image.dtype), boundary=boundary)
        luminance = color.to_luminance(image) / ranges.dtype_full_scale(image.dtype)
    rgb = weights.channels == 3
    kernel_rows = 3 if rgb else 2
    photo_rows = 2 if on_photo else 0
    count = len(result.matches)
    height, width = image.shape[:2]
    panel = 1.9
    photo_height = panel * height / width
    figure = Figure(
        figsize=(panel * count + 0.9, panel * kernel_rows + photo_rows * photo_height + 1.4), layout="constrained"
    )
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        kernel_rows + photo_rows, count, squeeze=False, height_ratios=[1.0] * kernel_rows + [height / width] * photo_rows
    )
    for k, match in enumerate(result.matches):
        kernel = weights.weight[k].astype(np.float64)
        row = 0
        channel = "" if not rgb else "\nmean of R, G, B"
        _diverging(axes[row, k], kernel.mean(axis=0), f"learned #{k}, norm {match.norm:.2g}{channel}")
        if rgb:
            row += 1
            axes[row, k].imshow(_colour_patch(kernel), interpolation="nearest")
            axes[row, k].set_title("as colours (grey = 0)", fontsize=8)
            axes[row, k].set_axis_off()
        transform = "" if match.transform == "identity" else f" {match.transform}"
        sign = " x -1" if match.sign < 0 else ""
        _diverging(axes[row + 1, k], match.classic, f"{match.name}{transform}{sign}\nsimilarity {match.similarity:.2f}")
        if not on_photo:
            continue
        image_panel(axes[row + 2, k], _stretched(maps[:, :, k]), f"#{k} on the photo", vmin=0, vmax=1)
        classic = effects.apply(luminance, match.classic, boundary=boundary)
        image_panel(axes[row + 3, k], _stretched(classic), "the match on the photo", vmin=0, vmax=1)
    accuracy = "" if result.accuracy is None else f", held-out accuracy {100 * result.accuracy:.1f}%"
    figure.suptitle(
        f"{Path(weights.source).name} {weights.key} {tuple(weights.weight.shape)}{accuracy}\n"
        f"mean best |cosine| {result.score:.2f} (random kernels {result.baseline}); "
        f"plain standard-5x5 {result.plain_score:.2f} (random {result.plain_baseline})",
        fontsize=10,
    )
    return figure


def _epochs_shown(count: int, most: int) -> list[int]:
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def evolution_figure(result: compare.Comparison, *, most: int = 9) -> Figure:
    """How conv1 changes during training: kernels per epoch and the score per epoch.

    Parameters
    ----------
    result : convfx.compare.Comparison
        Of a model trained with ``--snapshots`` (``result.evolution`` is set).
    most : int, optional
        Largest number of epochs drawn as kernel columns (evenly spaced, first
        and last included); the score curve shows every epoch.

    Returns
    -------
    matplotlib.figure.Figure
        One row per kernel (channel mean, each snapshot on its own colour scale),
        one column per shown epoch headed with the mean best similarity, and the
        two scores per epoch under it with the random baseline as a band.

    Raises
    ------
    ParameterError
        If the model has no snapshots.
    """
    snapshots = _snapshots(result)
    epochs = _epochs_shown(len(snapshots), most)
    count = snapshots.shape[1]
    panel = 1.05
    figure = Figure(figsize=(panel * len(epochs) + 0.8, panel * count + 2.4), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(count + 1, len(epochs), height_ratios=[1.0] * count + [2.0])
    for column, epoch in enumerate(epochs):
        for k in range(count):
            ax = figure.add_subplot(grid[k, column])
            title = f"epoch {epoch}\n{result.evolution[epoch, 0]:.2f}" if k == 0 else ""
            _diverging(ax, snapshots[epoch, k].mean(axis=0), title)
            if column == 0:
                ax.set_ylabel(f"#{k}", fontsize=8)
    curve = figure.add_subplot(grid[count, :])
    x = np.arange(len(snapshots))
    curve.axhspan(result.baseline.mean - result.baseline.sd, result.baseline.mean + result.baseline.sd, color="tab:blue", alpha=0.15)
    curve.plot(x, result.evolution[:, 0], "o-", color="tab:blue", markersize=3, label="best match, rotations/flips (band: random)")
    curve.axhspan(
        result.plain_baseline.mean - result.plain_baseline.sd,
        result.plain_baseline.mean + result.plain_baseline.sd,
        color="tab:orange",
        alpha=0.15,
    )
    curve.plot(x, result.evolution[:, 1], "s-", color="tab:orange", markersize=3, label="plain standard 5x5 (band: random)")
    curve.set_xlabel("epoch (0 = initialisation)", fontsize=8)
    curve.set_ylabel("mean |cosine|", fontsize=8)
    curve.set_ylim(0, 1)
    curve.tick_params(labelsize=7)
    curve.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"{Path(result.weights.source).name}: conv1 from random to trained", fontsize=10)
    return figure


def _snapshots(result: compare.Comparison) -> np.ndarray:
    model = result.weights.model
    snapshots = None if model is None else model.snapshots.get("conv1.weight")
    if snapshots is None or result.evolution is None:
        raise ParameterError(
            f"{result.weights.source}: no conv1 snapshots; train with `convfx train --snapshots` to draw the evolution"
        )
    return np.asarray(snapshots, dtype=np.float64)


def evolution_gif_bytes(result: compare.Comparison, *, milliseconds: int = 400) -> bytes:
    """The evolution as an animated GIF: one frame per epoch, the kernels and the score so far."""
    snapshots = _snapshots(result)
    count = snapshots.shape[1]
    frames = []
    for epoch in range(len(snapshots)):
        figure = Figure(figsize=(1.0 * count, 1.6), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, count, squeeze=False)[0]
        for k, ax in enumerate(axes):
            _diverging(ax, snapshots[epoch, k].mean(axis=0), f"#{k}")
        figure.suptitle(f"epoch {epoch}: mean best similarity {result.evolution[epoch, 0]:.2f}", fontsize=9)
        with Image.open(io.BytesIO(figure_bytes(figure, dpi=90))) as frame:
            frames.append(frame.convert("RGB").quantize(colors=64))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=milliseconds, loop=0)
    return out.getvalue()


def save_compare_figures(
    result: compare.Comparison,
    destination: str | os.PathLike,
    *,
    image: np.ndarray | None = None,
    evolution: bool = False,
    overwrite: bool = False,
) -> Path:
    """Draw :func:`compare_figure` (or, with ``evolution``, :func:`evolution_figure`) to ``destination``.

    ``destination`` may be ``.png``, ``.svg``, ``.pdf``; with ``evolution`` also
    ``.gif`` (animated, :func:`evolution_gif_bytes`).  PNGs are palette-reduced.
    """
    destination = Path(destination)
    if evolution and destination.suffix.lower() == ".gif":
        refuse_existing(destination, overwrite=overwrite)
        return imageio.write_bytes_atomically(destination, evolution_gif_bytes(result), overwrite=overwrite)
    figure = evolution_figure(result) if evolution else compare_figure(result, image)
    return save_figure(figure, destination, overwrite=overwrite, colors=128)
