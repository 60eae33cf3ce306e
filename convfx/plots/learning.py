"""Figures of what a network learned: its kernels beside classic ones, and how they changed in training.

This module must not match kernels, score them or compute feature maps (that is
:mod:`convfx.compare`, whose :class:`~convfx.compare.Comparison` it draws), nor
write files except through :func:`convfx.plots.save_figure` and
:func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image

from .. import color, compare, effects, imageio, kernel_classes, learned, ranges
from ..errors import ParameterError
from .figures import (
    DIVERGING,
    SAVE_DPI,
    SIGNED_LEGEND,
    TEXT_POINTS,
    figure_bytes,
    image_panel,
    kernel_limits,
    refuse_existing,
    save_figure,
    signed_colour_bar,
    signed_norm,
)

__all__ = [
    "default_photo",
    "compare_figure",
    "evolution_figure",
    "evolution_frame_figure",
    "evolution_gif_bytes",
    "save_compare_figures",
]


def _kernel_panel(
    ax: Axes,
    kernel: np.ndarray,
    limit: float,
    title: str = "",
    *,
    fontsize: float = TEXT_POINTS + 0.5,
    fontweight: str = "normal",
) -> None:
    """A kernel in red (positive) and blue (negative) on the symmetric scale ``-limit .. limit``, 0 white."""
    ax.imshow(kernel, cmap=DIVERGING, norm=signed_norm(limit), interpolation="nearest")
    ax.set_title(title, fontsize=fontsize, fontweight=fontweight)
    ax.set_xticks([])
    ax.set_yticks([])


def _row_label(ax: Axes, text: str) -> None:
    """What a row of panels shows, written left of its first panel (which may have no axis to label)."""
    ax.text(-0.08, 0.5, text, transform=ax.transAxes, rotation=90, ha="right", va="center", fontsize=TEXT_POINTS + 1)


def _colour_patch(kernel: np.ndarray, limit: float) -> np.ndarray:
    """An RGB kernel ``(3, kh, kw)`` as colours on the scale ``limit``: 0 is mid-grey, each channel's sign its own hue."""
    return np.clip(0.5 + 0.5 * np.moveaxis(kernel, 0, -1) / limit, 0, 1)


def _stretched(response: np.ndarray) -> np.ndarray:
    """A response shown between its 1st and 99th percentiles, so one outlier does not grey out the rest."""
    low, high = np.percentile(response, [1, 99])
    return np.clip((response - low) / ((high - low) or 1.0), 0, 1)


def _norm(values: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(values))))


def _scaled_to(classic: np.ndarray, norm: float) -> np.ndarray:
    """``classic`` with the Euclidean norm ``norm``: drawn beside a learned kernel on its scale."""
    own = _norm(classic)
    return classic * (norm / own) if own > 0 else classic


# The symmetries of the square by their keys in convfx.compare.TRANSFORMS, in words.
_TRANSFORM_WORDS = {
    "identity": "",
    "rot90": "turned 90°",
    "rot180": "turned 180°",
    "rot270": "turned 270°",
    "flip_lr": "mirrored left-right",
    "flip_ud": "mirrored top-bottom",
    "transpose": "mirrored on the diagonal",
    "anti_transpose": "mirrored on the anti-diagonal",
}


def plain_transform(transform: str, sign: int) -> str:
    """How a classic kernel was moved to match, in words: ``"turned 90°, sign flipped"`` ("" for none)."""
    words = [_TRANSFORM_WORDS.get(transform, transform.replace("_", " "))]
    if sign < 0:
        words.append("sign flipped")
    return ", ".join(word for word in words if word)


def _reference_name(name: str) -> str:
    """A reference kernel's name as a reader says it: ``"sobel5 22.5deg"`` -> ``"sobel5 22.5°"``."""
    return name.replace("deg", "°")


def _library_name(name: str) -> str:
    """A filter's name as the second row titles it: ``"relief (from 3x3)"`` -> ``"relief (3x3, resampled)"``."""
    return re.sub(r" \(from (\d+x\d+)\)", r" (\1, resampled)", name)


def _kernels_words(shape: tuple[int, ...], key: str) -> str:
    """``(6, 1, 5, 5)``, ``"conv1.weight"`` -> ``"6 learned 5x5 kernels of conv1 (gray input)"``."""
    count, channels, height, width = (int(n) for n in shape)
    seen = {1: "gray input", 3: "RGB input"}.get(channels, f"{channels} input channels")
    return f"{count} learned {height}x{width} kernels of {key.removesuffix('.weight')} ({seen})"


def class_label(kind: kernel_classes.KernelClass) -> str:
    """A kernel's class and what decided it, in three short lines (a colour-opponent edge detector says so elsewhere).

    The pattern named is the nearest of the class's own reference set
    (:mod:`convfx.kernel_sets`), which decides the class; it need not be the
    closest filter of the whole library that the figure's second row shows.
    ``"edge detector\nnearest edge pattern:\nsobel5 22.5° (0.74)"``,
    ``"smoothing\nnearest blur:\ngaussian sigma 2 (0.95)"``, or for "other"
    which test it failed.
    """
    if kind.kind == "edge detector":
        return f"edge detector\nnearest edge pattern:\n{_reference_name(kind.derivative)} ({kind.derivative_similarity:.2f})"
    if kind.kind == "smoothing":
        return f"smoothing\nnearest blur:\n{_reference_name(kind.blur)} ({kind.blur_similarity:.2f})"
    limit = kernel_classes.SIMILARITY_LIMIT
    if kind.mean_ratio <= kernel_classes.MEAN_RATIO_LIMIT:
        return f"other\nsums to about 0, but no edge\npattern with similarity ≥ {limit}\n(best {kind.derivative_similarity:.2f})"
    if kind.minority <= kernel_classes.MINORITY_LIMIT:
        return f"other\none sign, but no blur with\nsimilarity ≥ {limit} (best {kind.blur_similarity:.2f})"
    return "other\nneither sums to about 0\nnor has one sign"


def _count_line(result: compare.Comparison) -> str:
    """The count of edge detectors next to what random kernels reach: the figure's headline."""
    count = len(result.classes)
    baseline = result.class_baseline
    return (
        f"{result.edge_detectors} of {count} kernels are edge detectors; "
        f"random kernels: {baseline.mean_edge_detectors:.2f} edge detectors out of {count} on average ({baseline.draws} draws)"
    )


def default_photo() -> np.ndarray:
    """The photo compare figures use when none is given: scikit-image's ``chelsea`` (bundled, RGB uint8).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    from skimage import data

    return data.chelsea()


def _scale_words(scale: str) -> str:
    if scale == "shared":
        return "one colour scale for every kernel"
    return "each kernel stretched to its own largest weight"


def compare_figure(
    result: compare.Comparison,
    image: np.ndarray | None = None,
    *,
    boundary: str = "reflect",
    scale: str = "shared",
) -> Figure:
    """Learned kernels beside their best classic matches, and both applied to a photo.

    Parameters
    ----------
    result : convfx.compare.Comparison
        From :func:`convfx.compare.compare_model`.
    image : ndarray, shape (H, W) or (H, W, 3), uint8, optional
        The photo; default :func:`default_photo`.
    boundary : str, optional
        See :func:`convfx.apply`.
    scale : {"shared", "per-kernel"}, optional
        Colours of the kernels: one symmetric scale for every kernel (default;
        a kernel the network hardly uses looks faint), or each kernel stretched
        to its own largest weight.

    Returns
    -------
    matplotlib.figure.Figure
        One column per learned kernel, titled with its number, its class
        (:attr:`~convfx.compare.Comparison.classes`: edge detector, smoothing or
        other, and the pattern of that class's reference set that decided it)
        and its size (L2 norm).  Rows: the kernel (channel mean for RGB; red positive,
        blue negative, white 0, with a colour bar); its colours for an RGB
        kernel (0 is mid-grey); the closest classic filter, of every kernel
        :func:`convfx.compare.classic_kernels` holds (which may differ from the
        pattern that decided the class), as it was matched (turned, mirrored,
        sign flipped: in words), scaled to the learned kernel's size so that
        both share the colour bar, with its similarity; the layer's feature map on the photo
        (:func:`convfx.learned.learned_responses`: normalised input, bias, as the
        conv layer) and the matched classic kernel on the photo's luminance
        (:func:`convfx.apply`), each stretched between its 1st and 99th
        percentiles, titled with the kernel's number and class.  The two photo rows
        are left out for a layer whose input is not 1 or 3 channels (a deeper
        layer sees feature maps, not photos).  The title holds the count of edge
        detectors next to what random kernels reach, and the mean
        similarity next to that of random kernels.

    Raises
    ------
    ParameterError
        ``scale`` not one of :data:`~convfx.plots.figures.KERNEL_SCALES`.
    """
    weights = result.weights
    shown = [weights.weight[k].astype(np.float64).mean(axis=0) for k in range(len(result.matches))]
    limits = kernel_limits(shown, scale)
    # The colour rendering shows every channel, whose weights can exceed their mean's.
    colour_limits = kernel_limits([weights.weight[k] for k in range(len(result.matches))], scale)
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
    panel = 2.1
    photo_height = panel * height / width
    figure = Figure(
        figsize=(panel * count + 2.2, (panel + 0.7) * kernel_rows + photo_rows * (photo_height + 0.3) + 1.5),
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        kernel_rows + photo_rows, count, squeeze=False, height_ratios=[1.0] * kernel_rows + [height / width] * photo_rows
    )
    for k, match in enumerate(result.matches):
        kernel = weights.weight[k].astype(np.float64)
        row = 0
        kind = result.classes[k]
        opponent = "colour-opponent\n" if kind.kind == "edge detector" and kind.opponent else ""
        title = f"#{k}: {class_label(kind)}\n{opponent}size (L2 norm) {match.norm:.2g}"
        _kernel_panel(axes[row, k], shown[k], limits[k], title, fontweight="bold" if kind.kind == "edge detector" else "normal")
        if rgb:
            row += 1
            axes[row, k].imshow(_colour_patch(kernel, colour_limits[k]), interpolation="nearest")
            axes[row, k].set_xticks([])
            axes[row, k].set_yticks([])
        how = plain_transform(match.transform, match.sign)
        classic = _scaled_to(match.classic, _norm(shown[k]))
        classic_limit = limits[k] if scale == "shared" else float(np.max(np.abs(classic))) or 1.0
        title = f"{_library_name(match.name)}\n{how or 'as it is'}\nsimilarity {match.similarity:.2f} (cosine)"
        _kernel_panel(axes[row + 1, k], classic, classic_limit, title)
        if not on_photo:
            continue
        image_panel(axes[row + 2, k], _stretched(maps[:, :, k]), f"#{k}: {kind.kind}", vmin=0, vmax=1)
        response = effects.apply(luminance, match.classic, boundary=boundary)
        image_panel(axes[row + 3, k], _stretched(response), f"#{k}'s closest classic filter", vmin=0, vmax=1)
    labels = ["learned kernel" + ("\n(mean of R, G, B)" if rgb else "") + "\n(title: its class and the\npattern that decided it)"]
    if rgb:
        labels.append(
            "learned kernel in colour\n(R, G, B weights: 0 = grey,\npositive adds that colour,\nnegative takes it away)"
        )
    labels.append("closest classic filter\n(of every filter convfx has;\nscaled to the same size)")
    if on_photo:
        labels += ["learned kernel\non the photo", "closest classic filter\non the photo"]
    for row, label in enumerate(labels):
        _row_label(axes[row, 0], label)
    kernel_axes = [axes[0, :], axes[kernel_rows - 1, :]]
    if scale == "shared":
        bar = signed_colour_bar(figure, signed_norm(limits[0]), np.concatenate(kernel_axes).tolist(), "weight", shrink=0.9)
    else:
        bar = signed_colour_bar(figure, signed_norm(1.0), np.concatenate(kernel_axes).tolist(), "weight", shrink=0.9)
        bar.set_label(f"weight / the kernel's largest |weight|:\n{SIGNED_LEGEND}", fontsize=TEXT_POINTS + 1)
    if on_photo:
        grey = figure.colorbar(
            ScalarMappable(norm=Normalize(0, 1), cmap="gray"), ax=axes[kernel_rows:, :].ravel().tolist(), shrink=0.9, ticks=[0, 1]
        )
        grey.ax.set_yticklabels(["low", "high"], fontsize=TEXT_POINTS)
        grey.set_label("response (each map stretched\nbetween its 1st and 99th percentile)", fontsize=TEXT_POINTS + 1)
    accuracy = "" if result.accuracy is None else f", held-out accuracy {100 * result.accuracy:.1f}%"
    figure.suptitle(
        f"{Path(weights.source).name}: the {_kernels_words(weights.weight.shape, weights.key)}{accuracy}, "
        "beside the closest classic filters\n"
        f"{_count_line(result)}\n"
        f"mean similarity to the closest classic filter {result.score:.2f} (cosine, 1 = same pattern; random kernels "
        f"{result.baseline.mean:.2f} ± {result.baseline.sd:.2f}).  {_scale_words(scale).capitalize()}.",
        fontsize=TEXT_POINTS + 3,
    )
    return figure


def _epochs_shown(count: int, most: int) -> list[int]:
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def evolution_figure(result: compare.Comparison, *, most: int = 9, scale: str = "shared") -> Figure:
    """How conv1 changes during training: kernels per epoch and the score per epoch.

    Parameters
    ----------
    result : convfx.compare.Comparison
        Of a model trained with ``--snapshots`` (``result.evolution`` is set).
    most : int, optional
        Largest number of epochs drawn as kernel columns (evenly spaced, first
        and last included); the score curve shows every epoch.
    scale : {"shared", "per-kernel"}, optional
        One symmetric colour scale for every kernel of every epoch (default), or
        each kernel of each epoch stretched to its own largest weight.

    Returns
    -------
    matplotlib.figure.Figure
        One row per kernel (channel mean; red positive, blue negative, white 0,
        with a colour bar) labelled with its class at the end, one column per
        shown epoch headed with its count of edge detectors and mean similarity;
        under them the two scores per epoch with what random kernels reach as a
        band, and the count of edge detectors per epoch with the random
        initialisations' average.

    Raises
    ------
    ParameterError
        If the model has no snapshots, or ``scale`` is not one of
        :data:`~convfx.plots.figures.KERNEL_SCALES`.
    """
    snapshots, evolution = _snapshots(result)
    epochs = _epochs_shown(len(snapshots), most)
    count = snapshots.shape[1]
    means = snapshots.mean(axis=2)  # (E, F, kh, kw): the channel mean, as compared
    limits = np.reshape(kernel_limits(list(means.reshape(-1, *means.shape[2:])), scale), means.shape[:2])
    panel = 1.15
    figure = Figure(figsize=(panel * len(epochs) + 2.4, panel * count + 5.2), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(count + 2, len(epochs), height_ratios=[1.0] * count + [2.4, 1.6])
    kernel_axes = []
    for column, epoch in enumerate(epochs):
        for k in range(count):
            ax = figure.add_subplot(grid[k, column])
            edges = int(evolution[epoch, 2])
            detectors = f"{edges} edge detector{'s' * (edges != 1)}"
            title = f"epoch {epoch}\n{detectors}\nsimilarity {evolution[epoch, 0]:.2f}" if k == 0 else ""
            _kernel_panel(ax, means[epoch, k], float(limits[epoch, k]), title)
            if column == 0:
                ax.set_ylabel(f"#{k}: {result.classes[k].kind}\n(at the end)", fontsize=TEXT_POINTS)
            kernel_axes.append(ax)
    if scale == "shared":
        signed_colour_bar(figure, signed_norm(float(limits.max())), kernel_axes, "weight", shrink=0.8)
    else:
        bar = signed_colour_bar(figure, signed_norm(1.0), kernel_axes, "weight", shrink=0.8)
        bar.set_label(f"weight / the kernel's largest |weight|:\n{SIGNED_LEGEND}", fontsize=TEXT_POINTS + 1)
    curve = figure.add_subplot(grid[count, :])
    x = np.arange(len(snapshots))
    count_axis = figure.add_subplot(grid[count + 1, :], sharex=curve)
    count_axis.step(x, evolution[:, 2], where="mid", color="tab:green", label="edge detectors among the kernels")
    count_axis.axhline(
        result.class_baseline.mean_edge_detectors,
        color="tab:green",
        linestyle="--",
        alpha=0.6,
        label=f"random initialisations: {result.class_baseline.mean_edge_detectors:.2f} on average",
    )
    count_axis.set_ylim(-0.2, count + 0.2)
    count_axis.set_yticks(range(0, count + 1, max(1, count // 6)))
    count_axis.set_ylabel(f"edge detectors\n(of {count})", fontsize=TEXT_POINTS + 1)
    count_axis.set_xlabel("epoch (0 = the random initialisation)", fontsize=TEXT_POINTS + 1)
    count_axis.tick_params(labelsize=TEXT_POINTS)
    # Above the axes, where it hides no step: the plateau at the end is the result.
    count_axis.legend(fontsize=TEXT_POINTS, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    curve.axhspan(
        result.baseline.mean - result.baseline.sd, result.baseline.mean + result.baseline.sd, color="tab:blue", alpha=0.15
    )
    curve.plot(x, evolution[:, 0], "o-", color="tab:blue", markersize=3, label="closest classic filter, any rotation or mirror")
    curve.axhspan(
        result.plain_baseline.mean - result.plain_baseline.sd,
        result.plain_baseline.mean + result.plain_baseline.sd,
        color="tab:orange",
        alpha=0.15,
    )
    curve.plot(x, evolution[:, 1], "s-", color="tab:orange", markersize=3, label="the six standard 5x5 kernels, as they are")
    curve.plot([], [], color="grey", alpha=0.3, linewidth=8, label="bands: what random kernels reach (mean ± sd)")
    curve.set_ylabel("mean similarity\n(cosine)", fontsize=TEXT_POINTS + 1)
    curve.set_ylim(0, 1)
    curve.tick_params(labelsize=TEXT_POINTS)
    curve.legend(fontsize=TEXT_POINTS, loc="lower right")
    figure.suptitle(
        f"{Path(result.weights.source).name}: the first layer's kernels from random to trained\n{_scale_words(scale)}",
        fontsize=TEXT_POINTS + 3,
    )
    return figure


def _snapshots(result: compare.Comparison) -> tuple[np.ndarray, np.ndarray]:
    """conv1's weight snapshots ``(E, F, C, kh, kw)`` and the scores per epoch, or a ParameterError."""
    model = result.weights.model
    snapshots = None if model is None else model.snapshots.get("conv1.weight")
    if snapshots is None or result.evolution is None:
        raise ParameterError(
            f"{result.weights.source}: no conv1 snapshots; train with `convfx train --snapshots` to draw the evolution"
        )
    return np.asarray(snapshots, dtype=np.float64), result.evolution


def evolution_frame_figure(result: compare.Comparison, epoch: int, *, scale: str = "shared") -> Figure:
    """One epoch of the evolution: the kernels (channel mean) with a colour bar and the score, for one GIF frame.

    ``scale`` as for :func:`evolution_figure`; ``"shared"`` is one scale over every
    epoch, so that the kernels visibly grow or fade from frame to frame.

    Parameters
    ----------
    result : Comparison
        With the kernels of every epoch.
    epoch : int
    scale : str, optional

    Returns
    -------
    Figure
    """
    snapshots, evolution = _snapshots(result)
    means = snapshots.mean(axis=2)
    count = means.shape[1]
    limits = np.reshape(kernel_limits(list(means.reshape(-1, *means.shape[2:])), scale), means.shape[:2])
    figure = Figure(figsize=(max(1.25 * count + 1.9, 6.2), 2.3), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, count, squeeze=False)[0]
    for k, ax in enumerate(axes):
        _kernel_panel(ax, means[epoch, k], float(limits[epoch, k]), f"#{k}")
    if scale == "shared":
        bar = signed_colour_bar(figure, signed_norm(float(limits.max())), axes.tolist(), "weight", shrink=0.9)
    else:
        bar = signed_colour_bar(figure, signed_norm(1.0), axes.tolist(), "weight", shrink=0.9)
    bar.set_label("weight\nred positive\nblue negative", fontsize=TEXT_POINTS)
    figure.suptitle(
        f"epoch {epoch} of {len(snapshots) - 1}: {int(evolution[epoch, 2])} of {count} edge detectors "
        f"(random: {result.class_baseline.mean_edge_detectors:.2f}); similarity {evolution[epoch, 0]:.2f}",
        fontsize=TEXT_POINTS + 1.5,
    )
    return figure


def evolution_gif_bytes(result: compare.Comparison, *, milliseconds: int = 400, scale: str = "shared") -> bytes:
    """The evolution as an animated GIF: one frame per epoch (:func:`evolution_frame_figure`).

    Parameters
    ----------
    result : Comparison
        With the kernels of every epoch.
    milliseconds : int, optional
        How long each frame shows.
    scale : str, optional
        As for :func:`evolution_figure`.

    Returns
    -------
    bytes
    """
    snapshots, _ = _snapshots(result)
    frames = []
    for epoch in range(len(snapshots)):
        with Image.open(io.BytesIO(figure_bytes(evolution_frame_figure(result, epoch, scale=scale), dpi=SAVE_DPI))) as frame:
            frames.append(frame.convert("RGB").quantize(colors=128))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=milliseconds, loop=0)
    return out.getvalue()


def save_compare_figures(
    result: compare.Comparison,
    destination: str | os.PathLike,
    *,
    image: np.ndarray | None = None,
    evolution: bool = False,
    scale: str = "shared",
    overwrite: bool = False,
) -> Path:
    """Draw :func:`compare_figure` (or, with ``evolution``, :func:`evolution_figure`) to ``destination``.

    ``destination`` may be ``.png``, ``.svg``, ``.pdf``; with ``evolution`` also
    ``.gif`` (animated, :func:`evolution_gif_bytes`).
    ``scale`` is the kernels' colour scale, ``"shared"`` or ``"per-kernel"``.

    Parameters
    ----------
    result : Comparison
    destination : str or path-like
    image : ndarray, optional
        The photo the learned kernels are shown on (:func:`default_photo` if None).
    evolution : bool, optional
    scale : str, optional
    overwrite : bool, optional

    Returns
    -------
    Path
        ``destination``.
    """
    destination = Path(destination)
    if evolution and destination.suffix.lower() == ".gif":
        refuse_existing(destination, overwrite=overwrite)
        return imageio.write_bytes_atomically(destination, evolution_gif_bytes(result, scale=scale), overwrite=overwrite)
    figure = evolution_figure(result, scale=scale) if evolution else compare_figure(result, image, scale=scale)
    return save_figure(figure, destination, overwrite=overwrite)
