"""Every figure convfx draws: kernel drawings, the README gallery, Canny's stages, learned vs classic kernels.

Figures are built on matplotlib's object API with the Agg canvas, so nothing here
needs a screen, touches pyplot's global state or changes the user's backend.  This
module must not compute filters itself (it calls :func:`convfx.effects.apply` and
:func:`convfx.edges.canny_stages`, :mod:`convfx.compare` for learned kernels, :mod:`convfx.nn.inspect`
for feature maps, :mod:`convfx.explain` for sliding-window steps) nor write files except through
:func:`convfx.imageio.write_bytes_atomically`.

``python -m convfx.plots`` regenerates the README figures in ``samples/readme/``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib import colormaps as matplotlib_colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure
from PIL import Image

from . import compare, edges, effects, imageio, models
from .conv import BOUNDARIES
from .errors import ParameterError
from . import explain as explain_steps  # issue 7: sliding-window animations
from .nn import inspect as nn_inspect  # issue 7: summary and feature-map tour

# Signed values (kernels, derivatives, pre-activation maps): blue negative, red
# positive, and 0 a neutral light grey, so that "nothing" never looks like a colour.
DIVERGING = "coolwarm"

__all__ = [
    "GALLERY_EFFECTS",
    "PLOT_SUFFIXES",
    "kernel_figure",
    "gallery_figure",
    "canny_figure",
    "save_canny_stages",
    "figure_bytes",
    "save_figure",
    "save_kernel_plot",
    "write_readme_figures",
    "default_photo",
    "compare_figure",
    "evolution_figure",
    "evolution_gif_bytes",
    "save_compare_figures",
    "write_compare_figures",
    "main",
    "tour_figure",
    "save_tour",
    "explain_frame_figure",
    "explain_gif_bytes",
    "explain_strip_figure",
    "save_explanation",
    "write_network_figures",
    "confusion_matrix_figure",
    "README_FIGURE_GROUPS",
]

#: The README gallery: one photo through these, next to the original.
GALLERY_EFFECTS = ("sobel", "laplacian", "gaussian_blur", "sharpen", "emboss")
#: Kernels drawn in the README's kernel figure.
README_KERNELS = ("sobel_x", "laplacian", "gaussian_blur", "sharpen", "emboss")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

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
        panels.append((f"{name} ({effect.output_range})", effects.map_range(response, effect.output_range)))
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


def _gray_panel(ax, pixels: np.ndarray, title: str, **imshow) -> None:
    ax.imshow(pixels, cmap=imshow.pop("cmap", "gray"), interpolation="antialiased", **imshow)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


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
    scale = edges._full_scale(full_scale, image.dtype)
    height, width = image.shape[:2]
    panel = 3.6
    figure = Figure(figsize=(3 * panel, 3 * (panel * height / width + 0.35) + 0.3), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 3).ravel()
    shown = np.clip(image / scale, 0, 1)
    _gray_panel(axes[0], shown, "input", vmin=0, vmax=1)
    _gray_panel(axes[1], np.clip(stages.smoothed, 0, 1), f"1. smoothed: Gaussian, sigma={sigma:g}", vmin=0, vmax=1)
    # One colour scale for both derivatives, so their strengths compare; a high
    # percentile rather than the maximum, so that one hard edge does not grey out the rest.
    limit = float(np.percentile(np.abs(np.concatenate([stages.gx.ravel(), stages.gy.ravel()])), 99.5)) or 1.0
    _gray_panel(axes[2], stages.gx, "2. gx = sobel_x (red: brighter right)", cmap=DIVERGING, vmin=-limit, vmax=limit)
    _gray_panel(axes[3], stages.gy, "2. gy = sobel_y (red: brighter below)", cmap=DIVERGING, vmin=-limit, vmax=limit)
    top = float(np.percentile(stages.magnitude, 99.5)) or 1.0
    _gray_panel(axes[4], stages.magnitude, "3. magnitude sqrt(gx^2 + gy^2)", vmin=0, vmax=top)
    hue = (stages.direction + np.pi) / (2 * np.pi)
    value = np.clip(stages.magnitude / top, 0, 1)
    _gray_panel(axes[5], hsv_to_rgb(np.dstack([hue, np.ones_like(hue), value])), "4. direction (hue), magnitude (brightness)")
    _gray_panel(axes[6], stages.suppressed, "5. after non-maximum suppression", vmin=0, vmax=top)
    levels = np.zeros(stages.strong.shape + (3,), dtype=np.float32)
    levels[stages.weak] = (1.0, 0.55, 0.0)
    levels[stages.strong] = (1.0, 1.0, 1.0)
    _gray_panel(axes[7], levels, f"6. strong >= {stages.high:.3g} (white), weak >= {stages.low:.3g} (orange)")
    _gray_panel(axes[8], stages.edges, f"7. hysteresis: edges ({int(stages.edges.sum())} pixels)", vmin=0, vmax=1)
    thresholds = f"quantiles low={low}, high={high}" if quantile else f"low={stages.low:g}, high={stages.high:g}"
    figure.suptitle(f"Canny, sigma={sigma:g}, {thresholds}, mode={mode}", fontsize=11)
    return figure


def figure_bytes(figure: Figure, format: str = "png", *, dpi: int = 100, colors: int | None = None) -> bytes:
    """Render a figure to the bytes of a file.

    ``colors`` reduces a PNG to a palette of that many colours, which keeps
    photo grids small enough to commit (a few hundred KB instead of over a MB).
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi)
    if format != "png" or colors is None:
        return buffer.getvalue()
    buffer.seek(0)
    with Image.open(buffer) as rendered:
        palette = rendered.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_figure(
    figure: Figure,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    dpi: int = 100,
    colors: int | None = None,
) -> Path:
    """Write a figure atomically; the suffix (.png, .svg, .pdf) picks the format.

    Raises
    ------
    ParameterError
        Unsupported suffix.
    FileError
        Folder missing or not writable; :class:`convfx.imageio.OutputExistsError`
        if the file exists and not ``overwrite``.
    """
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ParameterError(f"plot: {path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {list(PLOT_SUFFIXES)}")
    if path.exists() and not overwrite:
        raise imageio.OutputExistsError(f"{path}: already exists; overwrite it with --force (overwrite=True)")
    data = figure_bytes(figure, path.suffix.lower()[1:], dpi=dpi, colors=colors)
    return imageio.write_bytes_atomically(path, data, overwrite=overwrite)


def save_kernel_plot(effect: effects.EffectLike, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Draw an effect's kernels (:func:`kernel_figure`) to ``path``."""
    return save_figure(kernel_figure(effect), path, overwrite=overwrite)


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
    detector = effects.get_detector("canny").with_parameters(
        {"sigma": sigma, "low": low, "high": high, "quantile": quantile, "mode": mode}
    )
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    source = imageio.check_source(source)
    destination = source.with_name(f"{source.stem}_canny_stages.png") if destination is None else Path(destination)
    if destination.suffix.lower() not in PLOT_SUFFIXES:
        raise ParameterError(f"output: {destination}: unsupported file type {destination.suffix or '(none)'!r}; expected one of {list(PLOT_SUFFIXES)}")
    if destination.exists() and not overwrite:
        raise imageio.OutputExistsError(f"{destination}: already exists; overwrite it with --force (overwrite=True)")
    picture = imageio.read_image(source, max_pixels=max_pixels)
    figure = canny_figure(picture.pixels, boundary=boundary, **detector.settings)
    return save_figure(figure, destination, overwrite=overwrite)


# --------------------------------------------------------------------------- learned vs classic kernels


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
        (:func:`convfx.compare.learned_responses`: normalised input, bias, as the
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
        maps = compare.learned_responses(image, weights, full_scale=effects.dtype_full_scale(image.dtype), boundary=boundary)
        luminance = effects.to_luminance(image) / effects.dtype_full_scale(image.dtype)
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
        _gray_panel(axes[row + 2, k], _stretched(maps[:, :, k]), f"#{k} on the photo", vmin=0, vmax=1)
        classic = effects.apply(luminance, match.classic, boundary=boundary)
        _gray_panel(axes[row + 3, k], _stretched(classic), "the match on the photo", vmin=0, vmax=1)
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
        if destination.exists() and not overwrite:
            raise imageio.OutputExistsError(f"{destination}: already exists; overwrite it with --force (overwrite=True)")
        return imageio.write_bytes_atomically(destination, evolution_gif_bytes(result), overwrite=overwrite)
    figure = evolution_figure(result) if evolution else compare_figure(result, image)
    return save_figure(figure, destination, overwrite=overwrite, colors=128)


README_FIGURE_GROUPS = ("filters", "network", "compare")


def write_readme_figures(
    samples: str | os.PathLike = "samples",
    *,
    sample: str = "chelsea.jpg",
    out: str | os.PathLike | None = None,
    groups: Sequence[str] = README_FIGURE_GROUPS,
) -> list[Path]:
    """Regenerate the README figures: ``gallery.png``, ``kernels.png``, ``canny_stages.png``, :func:`write_network_figures` and :func:`write_compare_figures`.

    Parameters
    ----------
    samples : path-like
        The repository's ``samples/`` folder.
    sample : str
        The photo (in ``samples``) that the gallery filters and Canny explains.
    out : path-like, optional
        Destination folder, created if missing; default ``samples/readme``.
    groups : sequence of {"filters", "network", "compare"}
        Which figures: the gallery, kernels and Canny stages; the tour and the
        convolution animation; the learned-vs-classic figures.

    Returns
    -------
    list of Path
        The files written (replaced if they existed).
    """
    samples = Path(samples)
    out = Path(out) if out is not None else samples / "readme"
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(groups) - set(README_FIGURE_GROUPS))
    if unknown:
        raise ParameterError(f"groups: unknown {unknown}; expected some of {list(README_FIGURE_GROUPS)}")
    picture = imageio.read_image(samples / sample)
    written: list[Path] = []
    if "filters" in groups:
        written += [
            save_figure(gallery_figure(picture.pixels), out / "gallery.png", overwrite=True, colors=256),
            save_figure(
                kernel_figure(",".join(README_KERNELS), title="Kernels as applied to the pixels (correlation)"),
                out / "kernels.png",
                overwrite=True,
                colors=64,
            ),
            save_figure(canny_figure(picture.pixels, sigma=2.0), out / "canny_stages.png", overwrite=True, colors=128),
        ]
    if "network" in groups:
        written += write_network_figures(out)  # skips the tour without the shipped model
    if "compare" in groups:
        written += write_compare_figures(out, image=picture.pixels)
    return written


def write_compare_figures(out: str | os.PathLike, *, image: np.ndarray | None = None) -> list[Path]:
    """The README's learned-vs-classic figures, from the shipped models (``python -m convfx.plots``).

    Writes ``compare.png`` and ``evolution.png`` (the digits model, the issue's
    target) and ``compare_shapes.png`` (the RGB shapes model) into ``out``; the
    same figures as ``convfx compare digits -o compare.png``,
    ``convfx compare digits --evolution -o evolution.png`` and
    ``convfx compare shapes -o compare_shapes.png``, for ``image`` (default
    :func:`default_photo`).
    """
    out = Path(out)
    digits, shapes = compare.compare_model("digits"), compare.compare_model("shapes")
    return [
        save_figure(compare_figure(digits, image), out / "compare.png", overwrite=True, colors=128),
        save_figure(evolution_figure(digits), out / "evolution.png", overwrite=True, colors=64),
        save_figure(compare_figure(shapes, image), out / "compare_shapes.png", overwrite=True, colors=128),
    ]


# --------------------------------------------------------------------------- training (issue 5)


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


# --------------------------------------------------------------------------- inside the network (issue 7)


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


def _cell_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _number_grid(
    ax,
    values: np.ndarray,
    title: str,
    *,
    shown: np.ndarray | None = None,
    faded: np.ndarray | None = None,
    ghost: np.ndarray | None = None,
    bold: np.ndarray | None = None,
    box: tuple[int, int, int, int] | None = None,
    cmap: str = "Blues",
    limits: tuple[float, float] | None = None,
    fontsize: float = 8,
) -> None:
    """A matrix drawn as coloured cells with their numbers.

    ``shown``: cells with a number (others blank); ``faded``: grey background and
    text; ``ghost``: fainter still (padding); ``bold``: bold numbers; ``box``:
    ``(top, left, height, width)`` outlined in red.  Colours use only the paler part
    of ``cmap`` so that black numbers stay readable on every cell.
    """
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=np.float64)
    shown = np.ones(values.shape, bool) if shown is None else shown
    low, high = limits if limits is not None else (float(values.min()), float(values.max()))
    colours = np.where(shown, values, np.nan)
    if faded is not None:
        colours = np.where(faded, np.nan, colours)
    cm = matplotlib_colormaps[cmap].with_extremes(bad="#eeeeee")
    spread = high - low + 1
    ax.imshow(colours, cmap=cm, vmin=low - 0.3 * spread, vmax=high + 1.0 * spread, interpolation="nearest")
    for (r, c), value in np.ndenumerate(values):
        if not shown[r, c]:
            continue
        grey = faded is not None and faded[r, c]
        faint = ghost is not None and ghost[r, c]
        ax.text(
            c,
            r,
            _cell_text(value),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#cccccc" if faint else ("#888888" if grey else "black"),
            fontweight="bold" if bold is not None and bold[r, c] else "normal",
        )
    # Cell borders as plain lines: minor-tick grids cost a third of each GIF frame.
    rows, columns = values.shape
    ax.vlines(np.arange(columns + 1) - 0.5, -0.5, rows - 0.5, color="white", linewidth=1)
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, columns - 0.5, color="white", linewidth=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if box is not None:
        top, left, height, width = box
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor="tab:red", linewidth=2.2))
    ax.set_title(title, fontsize=8)


def _padding_mask(explanation: explain_steps.Explanation) -> np.ndarray:
    p = explanation.padding
    mask = np.ones(explanation.padded.shape, bool)
    mask[p : p + explanation.image.shape[0], p : p + explanation.image.shape[1]] = False
    return mask


def _step_sentence(explanation: explain_steps.Explanation, step: explain_steps.Step) -> str:
    where = f"y[{step.row}, {step.column}]"
    if explanation.kernel is not None:
        return f"{where} = sum of products = {_cell_text(step.value)}"
    if explanation.operation == "max pooling":
        return f"{where} = max of window = {_cell_text(step.value)}"
    return f"{where} = {_cell_text(step.terms.sum())} / {step.terms.size} = {_cell_text(step.value)}"


def explain_frame_figure(explanation: explain_steps.Explanation, index: int, *, cell: float = 0.3) -> Figure:
    """One step of a sliding window: the window on the (padded) input, what it sums, the output so far.

    Parameters
    ----------
    explanation : convfx.explain.Explanation
        From :func:`convfx.explain.explain_conv` or :func:`convfx.explain.explain_pool`.
    index : int
        The step, ``0 <= index < len(explanation.steps)``.
    cell : float, optional
        Inches per matrix cell.

    Returns
    -------
    Figure
        Panels, left to right: input (padding greyed, window in red); for
        convolution the kernel as written and, with ``flip``, rotated 180 degrees;
        the products (or the pooling window); the output filled up to this step;
        for convolution, the cross-correlation of the same numbers to compare.
        The title holds the output-size formula with the numbers filled in.
    """
    e = explanation
    step = e.steps[index]
    k, m = e.window_size, e.output.shape[0]
    panels: list[tuple[int, object]] = [(e.padded.shape[1], "input")]
    if e.kernel is not None:
        panels.append((k, "kernel"))
        if e.correlation is not None:
            panels.append((k, "applied"))
    panels += [(k, "terms"), (m, "output")]
    if e.correlation is not None:
        panels.append((m, "correlation"))
    widths = [n for n, _ in panels]
    height = max(e.padded.shape[0], 1)
    figure = Figure(figsize=(cell * sum(widths) + 0.5 * len(panels) + 0.4, cell * height + 1.3), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), gridspec_kw={"width_ratios": widths})
    value_limits = (float(e.output.min()), float(e.output.max()))
    done = np.zeros(e.output.shape, bool)
    done.flat[: index + 1] = True
    for ax, (_, what) in zip(axes, panels):
        if what == "input":
            title = f"input {e.image.shape[0]}x{e.image.shape[1]}" + (f", padded by {e.padding}" if e.padding else "")
            _number_grid(ax, e.padded, title, faded=_padding_mask(e), ghost=_padding_mask(e), box=(step.top, step.left, k, k), cmap="Greys")
        elif what == "kernel":
            title = "kernel as written" if e.correlation is not None else "kernel"
            _number_grid(ax, e.kernel, title, cmap="PuOr")
        elif what == "applied":
            _number_grid(ax, e.applied, "rotated 180°\n(what slides)", cmap="PuOr")
        elif what == "terms":
            if e.kernel is not None:
                _number_grid(ax, step.terms, f"window x kernel\nsum = {_cell_text(step.value)}", cmap="Oranges")
            else:
                winner = np.zeros(step.terms.shape, bool)
                if e.operation == "max pooling":
                    winner.flat[int(np.argmax(step.terms))] = True
                _number_grid(ax, step.terms, f"window\n{_step_sentence(e, step).split(' = ', 1)[1]}", bold=winner, cmap="Oranges")
        elif what == "output":
            _number_grid(
                ax, e.output, f"output {m}x{m}", shown=done, box=(step.row, step.column, 1, 1), cmap="Greens", limits=value_limits
            )
        else:
            differs = ~np.isclose(e.correlation, e.output)
            _number_grid(
                ax,
                e.correlation,
                "cross-correlation\n(bold: differs)",
                bold=differs,
                box=(step.row, step.column, 1, 1),
                cmap="Purples",
            )
    figure.suptitle(
        f"{e.operation}: n={e.image.shape[0]}, k={k}, s={e.stride}, p={e.padding}  --  step {index + 1}/{len(e.steps)}: "
        f"{_step_sentence(e, step)}\n{e.formula}",
        fontsize=9,
    )
    return figure


def explain_gif_bytes(explanation: explain_steps.Explanation, *, milliseconds: int = 700) -> bytes:
    """The steps as an animated GIF: exactly one frame per output cell, the last held 3x longer."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int) or milliseconds < 1:
        raise ParameterError(f"milliseconds: expected an int >= 1, found {milliseconds!r}")
    frames = []
    for index in range(len(explanation.steps)):
        with Image.open(io.BytesIO(figure_bytes(explain_frame_figure(explanation, index), dpi=80))) as frame:
            frames.append(frame.convert("RGB").quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    durations = [milliseconds] * (len(frames) - 1) + [3 * milliseconds]
    out = io.BytesIO()
    # disposal=1 and optimize=False: every step is kept as its own frame (Pillow would
    # otherwise merge frames it finds identical, and the frame count is part of the contract).
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False, disposal=1)
    return out.getvalue()


def explain_strip_figure(explanation: explain_steps.Explanation, *, cell: float = 0.2) -> Figure:
    """Every step at once: a grid of the input with the window, laid out like the output.

    The panel in row ``i``, column ``j`` computes ``y[i, j]``: the window is boxed
    and its cells show the products (pooling: the window, its maximum in bold).  A
    header row shows the kernel(s), the output and, for convolution, the
    cross-correlation of the same numbers; the title holds the output-size formula.
    """
    e = explanation
    m = e.output.shape[0]
    side = e.padded.shape[0]
    panel = cell * side + 0.35
    header = cell * max(e.window_size, m) * 1.3 + 0.9
    figure = Figure(figsize=(max(panel * m, 6.0), panel * m + header + 0.5), layout="constrained")
    FigureCanvasAgg(figure)
    top, grid = figure.subfigures(2, 1, height_ratios=[header, panel * m])
    header_items: list[tuple[np.ndarray, str, str, dict]] = []
    if e.kernel is not None:
        header_items.append((e.kernel, "kernel" if e.correlation is None else "kernel as written", "PuOr", {}))
        if e.correlation is not None:
            header_items.append((e.applied, "rotated 180° (slides)", "PuOr", {}))
    header_items.append((e.output, f"output ({e.operation})", "Greens", {}))
    if e.correlation is not None:
        header_items.append((e.correlation, "cross-correlation (bold: differs)", "Purples", {"bold": ~np.isclose(e.correlation, e.output)}))
    axes = top.subplots(1, len(header_items), squeeze=False, gridspec_kw={"width_ratios": [a.shape[1] for a, *_ in header_items]})[0]
    for ax, (values, title, cmap, extra) in zip(axes, header_items):
        _number_grid(ax, values, title, cmap=cmap, **extra)
    top.suptitle(f"{e.operation}: n={e.image.shape[0]}, k={e.window_size}, s={e.stride}, p={e.padding}\n{e.formula}", fontsize=9)
    cells = grid.subplots(m, m, squeeze=False)
    faded = _padding_mask(e)
    fontsize = 6 if side <= 9 else 5
    for step in e.steps:
        shown = e.padded.copy()
        inside = np.zeros(shown.shape, bool)
        inside[step.top : step.top + e.window_size, step.left : step.left + e.window_size] = True
        shown[inside] = step.terms.ravel()
        bold = inside.copy()
        if e.operation == "max pooling":
            bold[:] = False
            r, c = np.unravel_index(int(np.argmax(step.terms)), step.terms.shape)
            bold[step.top + r, step.left + c] = True
        _number_grid(
            cells[step.row, step.column],
            shown,
            _step_sentence(e, step).replace("sum of products", "sum"),
            faded=~inside,
            ghost=faded & ~inside,
            bold=bold,
            box=(step.top, step.left, e.window_size, e.window_size),
            cmap="Oranges",
            fontsize=fontsize,
        )
        cells[step.row, step.column].title.set_fontsize(7)
    return figure


#: What ``save_explanation`` writes, by suffix.
EXPLAIN_SUFFIXES = (".gif",) + PLOT_SUFFIXES


def save_explanation(
    explanation: explain_steps.Explanation,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    milliseconds: int = 700,
) -> Path:
    """Write an explanation: ``.gif`` -> :func:`explain_gif_bytes`, ``.png/.svg/.pdf`` -> :func:`explain_strip_figure`.

    Raises
    ------
    ParameterError
        Unsupported suffix (the message lists the valid ones).
    FileError
        Folder missing; :class:`convfx.imageio.OutputExistsError` if the file exists
        and not ``overwrite``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPLAIN_SUFFIXES:
        raise ParameterError(f"output: {path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {list(EXPLAIN_SUFFIXES)}")
    if path.exists() and not overwrite:
        raise imageio.OutputExistsError(f"{path}: already exists; overwrite it with --force (overwrite=True)")
    if suffix == ".gif":
        return imageio.write_bytes_atomically(path, explain_gif_bytes(explanation, milliseconds=milliseconds), overwrite=overwrite)
    return save_figure(explain_strip_figure(explanation), path, overwrite=overwrite, colors=64)


def write_network_figures(out: str | os.PathLike, *, image: str = "digit:1") -> list[Path]:
    """The README pictures of issue 7: ``explain_conv.gif`` and ``tour.png``.

    ``tour.png`` needs the shipped digits model; without it (a fresh checkout before
    the model is trained) it is skipped, not an error.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_explanation(explain_steps.explain_conv(size=7, kernel=3, stride=2, padding=1), out / "explain_conv.gif", overwrite=True)]
    model_path = models.shipped_model("digits")
    if model_path.is_file():
        model = nn_inspect.load_model(model_path)
        picture = nn_inspect.load_tour_image(image, channels=model.in_channels)
        written.append(save_tour(nn_inspect.tour(model, picture, source=image), out / "tour.png", overwrite=True))
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m convfx.plots [--samples DIR] [--sample FILE] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m convfx.plots", description="Regenerate the README figures.")
    parser.add_argument("--samples", default="samples", help="the samples folder (default: samples)")
    parser.add_argument("--sample", default="chelsea.jpg", help="photo used by the gallery (default: chelsea.jpg)")
    parser.add_argument("--out", default=None, help="output folder (default: SAMPLES/readme)")
    args = parser.parse_args(argv)
    for path in write_readme_figures(args.samples, sample=args.sample, out=args.out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
