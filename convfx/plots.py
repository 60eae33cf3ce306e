"""Every figure convfx draws: kernel drawings, the README gallery, Canny's stages, learned vs classic kernels.

Figures are built on matplotlib's object API with the Agg canvas, so nothing here
needs a screen, touches pyplot's global state or changes the user's backend.  This
module must not compute filters itself (it calls :func:`convfx.effects.apply` and
:func:`convfx.edges.canny_stages`, :mod:`convfx.compare` for learned kernels) nor write files except through
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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure
from PIL import Image

from . import compare, edges, effects, imageio
from .conv import BOUNDARIES
from .errors import ParameterError

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
    "main",
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
        ax.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
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
    _gray_panel(axes[2], stages.gx, "2. gx = sobel_x (red: brighter right)", cmap="RdBu_r", vmin=-limit, vmax=limit)
    _gray_panel(axes[3], stages.gy, "2. gy = sobel_y (red: brighter below)", cmap="RdBu_r", vmin=-limit, vmax=limit)
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
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
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
    """
    weights = result.weights
    image = default_photo() if image is None else np.asarray(image)
    maps = compare.learned_responses(image, weights, full_scale=effects.dtype_full_scale(image.dtype), boundary=boundary)
    luminance = effects.to_luminance(image) / effects.dtype_full_scale(image.dtype)
    rgb = weights.channels == 3
    rows = 5 if rgb else 4
    count = len(result.matches)
    height, width = image.shape[:2]
    panel = 1.9
    photo_height = panel * height / width
    figure = Figure(
        figsize=(panel * count + 0.9, panel * (rows - 2) + 2 * photo_height + 1.4), layout="constrained"
    )
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        rows, count, squeeze=False, height_ratios=[1.0] * (rows - 2) + [height / width] * 2
    )
    for k, match in enumerate(result.matches):
        kernel = weights.weight[k].astype(np.float64)
        row = 0
        channel = "" if not rgb else " (mean of R,G,B)"
        _diverging(axes[row, k], kernel.mean(axis=0), f"learned #{k}{channel}")
        if rgb:
            row += 1
            axes[row, k].imshow(_colour_patch(kernel), interpolation="nearest")
            axes[row, k].set_title("as colours (grey = 0)", fontsize=8)
            axes[row, k].set_axis_off()
        transform = "" if match.transform == "identity" else f" {match.transform}"
        sign = " x -1" if match.sign < 0 else ""
        _diverging(axes[row + 1, k], match.classic, f"{match.name}{transform}{sign}\nsimilarity {match.similarity:.2f}")
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


def write_readme_figures(
    samples: str | os.PathLike = "samples",
    *,
    sample: str = "chelsea.jpg",
    out: str | os.PathLike | None = None,
) -> list[Path]:
    """Regenerate the README figures: ``gallery.png``, ``kernels.png`` and ``canny_stages.png``.

    Parameters
    ----------
    samples : path-like
        The repository's ``samples/`` folder.
    sample : str
        The photo (in ``samples``) that the gallery filters and Canny explains.
    out : path-like, optional
        Destination folder, created if missing; default ``samples/readme``.

    Returns
    -------
    list of Path
        The files written (replaced if they existed).
    """
    samples = Path(samples)
    out = Path(out) if out is not None else samples / "readme"
    out.mkdir(parents=True, exist_ok=True)
    picture = imageio.read_image(samples / sample)
    written = [
        save_figure(gallery_figure(picture.pixels), out / "gallery.png", overwrite=True, colors=256),
        save_figure(
            kernel_figure(",".join(README_KERNELS), title="Kernels as applied to the pixels (correlation)"),
            out / "kernels.png",
            overwrite=True,
            colors=64,
        ),
        save_figure(canny_figure(picture.pixels, sigma=2.0), out / "canny_stages.png", overwrite=True, colors=128),
    ]
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
