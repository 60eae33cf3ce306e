"""Every figure convfx draws: kernel drawings and the README gallery.

Figures are built on matplotlib's object API with the Agg canvas, so nothing here
needs a screen, touches pyplot's global state or changes the user's backend.  This
module must not compute filters itself (it calls :func:`convfx.effects.apply`) nor
write files except through :func:`convfx.imageio.write_bytes_atomically`.

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
from matplotlib.figure import Figure
from PIL import Image

from . import effects, imageio
from .errors import ParameterError

__all__ = [
    "GALLERY_EFFECTS",
    "PLOT_SUFFIXES",
    "kernel_figure",
    "gallery_figure",
    "figure_bytes",
    "save_figure",
    "save_kernel_plot",
    "write_readme_figures",
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


def write_readme_figures(
    samples: str | os.PathLike = "samples",
    *,
    sample: str = "chelsea.jpg",
    out: str | os.PathLike | None = None,
) -> list[Path]:
    """Regenerate the README figures: ``gallery.png`` and ``kernels.png``.

    Parameters
    ----------
    samples : path-like
        The repository's ``samples/`` folder.
    sample : str
        The photo (in ``samples``) that the gallery filters.
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
