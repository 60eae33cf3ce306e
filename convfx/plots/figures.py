"""What every convfx figure shares: the Agg canvas, the colour rules, and writing a figure to a file.

Figures are built on matplotlib's object API with the Agg canvas, so nothing in
:mod:`convfx.plots` needs a screen, touches pyplot's global state or changes the
user's backend.  :func:`figure_bytes` renders a figure (optionally
palette-reduced), :func:`save_figure` writes it atomically; the drawing modules
beside this one use :data:`DIVERGING` for signed values and :func:`image_panel`
for pictures.

This module must not compute anything it draws, nor write files except through
:func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from .. import imageio
from ..errors import ParameterError

__all__ = ["DIVERGING", "PLOT_SUFFIXES", "figure_bytes", "save_figure", "refuse_existing", "image_panel"]


#: The colour map of signed values (kernels, derivatives, pre-activation maps): blue
#: negative, red positive, and 0 a neutral light grey, so that "nothing" never looks
#: like a colour.
DIVERGING = "coolwarm"

#: What :func:`save_figure` writes, by suffix.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


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
    refuse_existing(path, overwrite=overwrite)
    data = figure_bytes(figure, path.suffix.lower()[1:], dpi=dpi, colors=colors)
    return imageio.write_bytes_atomically(path, data, overwrite=overwrite)


def refuse_existing(path: Path, *, overwrite: bool) -> None:
    """Refuse to replace ``path`` unless ``overwrite``, before anything is drawn.

    Raises
    ------
    convfx.imageio.OutputExistsError
        ``path`` exists and not ``overwrite``.
    """
    if path.exists() and not overwrite:
        raise imageio.OutputExistsError(f"{path}: already exists; overwrite it with --force (overwrite=True)")


def image_panel(ax: Axes, pixels: np.ndarray, title: str, **imshow) -> None:
    """Draw a picture without axes: gray unless ``cmap`` is given, smoothed when scaled down.

    ``pixels`` is (H, W) or (H, W, 3); ``imshow`` takes matplotlib's ``imshow``
    options (``vmin``, ``vmax``, ``cmap``).
    """
    ax.imshow(pixels, cmap=imshow.pop("cmap", "gray"), interpolation="antialiased", **imshow)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
