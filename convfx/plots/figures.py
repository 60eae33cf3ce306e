"""What every convfx figure shares: the Agg canvas, the colour rules, and writing a figure to a file.

Figures are built on matplotlib's object API with the Agg canvas, so nothing in
:mod:`convfx.plots` needs a screen, touches pyplot's global state or changes the
user's backend.  :func:`figure_bytes` renders a figure (full colour unless
palette-reduced on request), :func:`save_figure` writes it atomically; the drawing modules
beside this one use :data:`DIVERGING` for signed values (with
:func:`signed_norm` and :func:`signed_colour_bar`, so that every signed figure
says what its colours mean), :func:`kernel_limits` for the one-scale rule of
kernels, :data:`TEXT_POINTS` for text that stays readable, and
:func:`image_panel` for pictures.

This module must not compute anything it draws, nor write files except through
:func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image

from .. import imageio
from ..checks import choice
from ..errors import ParameterError

__all__ = [
    "DIVERGING",
    "SIGNED_LEGEND",
    "KERNEL_SCALES",
    "PLOT_SUFFIXES",
    "PALETTES",
    "SAVE_DPI",
    "MIN_TEXT_PIXELS",
    "TEXT_POINTS",
    "figure_bytes",
    "save_figure",
    "check_figure_path",
    "refuse_existing",
    "image_panel",
    "signed_norm",
    "signed_colour_bar",
    "kernel_limits",
    "check_kernel_scale",
]


#: The colour map of signed values (kernels, derivatives, pre-activation maps): blue
#: negative, red positive, and 0 white, so that "nothing" never looks like a colour
#: and a switched-off kernel looks switched off.
DIVERGING = "RdBu_r"

#: How every diverging colour bar says what its colours mean.
SIGNED_LEGEND = "red positive, blue negative, white 0"

#: How the kernels of one figure share colours.  ``"shared"`` draws them all on one
#: symmetric scale (a kernel with small weights looks faint, as it acts), ``"per-kernel"``
#: stretches each to its own largest weight (its pattern shows, its strength does not).
KERNEL_SCALES = ("shared", "per-kernel")

#: What :func:`save_figure` writes, by suffix.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

#: Dots per inch of saved figures (and of GIF frames).
SAVE_DPI = 100

#: The smallest text any figure draws, in pixels at :data:`SAVE_DPI`.
MIN_TEXT_PIXELS = 10

#: Font size in points of the smallest text: :data:`MIN_TEXT_PIXELS` at :data:`SAVE_DPI`,
#: rounded up to a half point.
TEXT_POINTS = float(np.ceil(2 * MIN_TEXT_PIXELS * 72 / SAVE_DPI) / 2)


#: How :func:`figure_bytes` picks a palette: median cut keeps smooth greys, an octree
#: keeps every hue (a colour wheel, a direction map), which median cut merges.
PALETTES = {"median-cut": Image.Quantize.MEDIANCUT, "octree": Image.Quantize.FASTOCTREE}


def figure_bytes(
    figure: Figure, format: str = "png", *, dpi: int = SAVE_DPI, colors: int | None = None, palette: str = "median-cut"
) -> bytes:
    """Render a figure to the bytes of a file.

    A PNG is full colour: RGB, or RGBA when the figure has transparent pixels
    (the opaque alpha channel of an ordinary figure is dropped, which saves a
    tenth of the file).  ``colors`` reduces it to a palette of that many colours
    instead, chosen by ``palette`` (:data:`PALETTES`): smaller, but a palette
    bands smooth gradients (a blurred photo, a colour bar).

    Parameters
    ----------
    figure : Figure
    format : str, optional
        A matplotlib output format (``"png"``, ``"svg"``, ``"pdf"``).
    dpi : int, optional
    colors : int, optional
    palette : str, optional

    Returns
    -------
    bytes
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi)
    if format != "png":
        return buffer.getvalue()
    buffer.seek(0)
    with Image.open(buffer) as rendered:
        if colors is not None:
            encoded = rendered.convert("RGB").quantize(
                colors=colors, method=PALETTES[choice(palette, "palette", PALETTES)], dither=Image.Dither.NONE
            )
        elif rendered.mode == "RGBA" and rendered.getchannel("A").getextrema() == (255, 255):
            encoded = rendered.convert("RGB")
        else:
            encoded = rendered.copy()
    out = io.BytesIO()
    encoded.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_figure(
    figure: Figure,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    dpi: int = SAVE_DPI,
    colors: int | None = None,
    palette: str = "median-cut",
) -> Path:
    """Write a figure atomically; the suffix (.png, .svg, .pdf) picks the format.

    ``dpi``, ``colors`` and ``palette`` as for :func:`figure_bytes`.

    Parameters
    ----------
    figure : Figure
    path : str or path-like
    overwrite : bool, optional
    dpi : int, optional
    colors : int, optional
    palette : str, optional

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unsupported suffix, or ``path`` is a folder.
    FileError
        Folder missing or not writable; :class:`convfx.imageio.OutputExistsError`
        if the file exists and not ``overwrite``.
    """
    path = check_figure_path(path)
    refuse_existing(path, overwrite=overwrite)
    data = figure_bytes(figure, path.suffix.lower()[1:], dpi=dpi, colors=colors, palette=palette)
    return imageio.write_bytes_atomically(path, data, overwrite=overwrite)


def check_figure_path(path: str | os.PathLike[str], *, suffixes: Sequence[str] = PLOT_SUFFIXES, name: str = "plot") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it can name a figure file, checked before anything is drawn.

    Parameters
    ----------
    path : str or path-like
    suffixes : sequence of str, optional
        The suffixes the caller can write (default :data:`PLOT_SUFFIXES`).
    name : str, optional
        What the message calls the parameter (the command line spells it as its option).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        ``path`` is a folder, or its suffix is not in ``suffixes``.

    Examples
    --------
    >>> from convfx.plots import check_figure_path
    >>> check_figure_path("kernels.svg").name
    'kernels.svg'
    >>> check_figure_path("kernels.txt")
    Traceback (most recent call last):
    ...
    convfx.errors.ParameterError: plot: kernels.txt: unsupported file type '.txt'; expected one of ['.png', '.svg', '.pdf']
    """
    path = Path(path)
    if os.path.isdir(path):
        raise ParameterError(f"{name}: {path} is a folder; expected the name of a figure file ({'/'.join(suffixes)})")
    if path.suffix.lower() not in suffixes:
        raise ParameterError(
            f"{name}: {path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {list(suffixes)}"
        )
    return path


def refuse_existing(path: Path, *, overwrite: bool) -> None:
    """Refuse to replace ``path`` unless ``overwrite``, before anything is drawn.

    Parameters
    ----------
    path : Path
    overwrite : bool

    Raises
    ------
    convfx.imageio.OutputExistsError
        ``path`` exists and not ``overwrite``.
    """
    if os.path.lexists(path) and not overwrite:  # a dangling link too: the file would go where it points
        raise imageio.OutputExistsError(f"{path}: already exists; pass overwrite=True to replace it")


def image_panel(ax: Axes, pixels: np.ndarray, title: str, **imshow: Any) -> None:
    """Draw a picture without axes: gray unless ``cmap`` is given, smoothed when scaled down.

    ``pixels`` is (H, W) or (H, W, 3); ``imshow`` takes matplotlib's ``imshow``
    options (``vmin``, ``vmax``, ``cmap``).

    Parameters
    ----------
    ax : Axes
    pixels : ndarray, shape (H, W) or (H, W, 3)
    title : str
    **imshow
        Passed to ``ax.imshow``.
    """
    ax.imshow(pixels, cmap=imshow.pop("cmap", "gray"), interpolation="antialiased", **imshow)
    ax.set_title(title, fontsize=TEXT_POINTS + 1)
    ax.set_axis_off()


def signed_norm(limit: float) -> Normalize:
    """The colour scale of signed values: symmetric about 0, from ``-limit`` to ``limit`` (1 if ``limit`` is 0).

    Parameters
    ----------
    limit : float

    Returns
    -------
    matplotlib.colors.Normalize
    """
    limit = float(limit)
    limit = limit if np.isfinite(limit) and limit > 0 else 1.0
    return Normalize(vmin=-limit, vmax=limit)


def signed_colour_bar(
    figure: Figure,
    norm: Normalize,
    axes: Axes | list[Axes] | np.ndarray,
    what: str,
    *,
    cmap: str = DIVERGING,
    **options: Any,
) -> Colorbar:
    """A colour bar beside ``axes`` labelled ``"<what>: red positive, blue negative, white 0"``.

    Parameters
    ----------
    figure : Figure
    norm : Normalize
        The scale the panels were drawn with (:func:`signed_norm`).
    axes : Axes or sequence of Axes
        The panels the bar belongs to (room is taken from them).
    what : str
        What the values are (``"weight"``, ``"gx, gy"``...).
    cmap : str, optional
    **options
        Passed to :meth:`matplotlib.figure.Figure.colorbar` (``shrink``, ``location``...).

    Returns
    -------
    matplotlib.colorbar.Colorbar
    """
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, **options)
    bar.set_label(f"{what}: {SIGNED_LEGEND}", fontsize=TEXT_POINTS + 1)
    bar.ax.tick_params(labelsize=TEXT_POINTS)
    return bar


def check_kernel_scale(scale: str) -> str:
    """``scale`` if it is one of :data:`KERNEL_SCALES`; else :class:`ParameterError` listing them.

    Parameters
    ----------
    scale : str

    Returns
    -------
    str
    """
    return choice(scale, "scale", KERNEL_SCALES)


def kernel_limits(kernels: list[np.ndarray] | np.ndarray, scale: str) -> list[float]:
    """The symmetric colour limit of each kernel, by the one-scale rule.

    Parameters
    ----------
    kernels : sequence of ndarray
        The kernels of one figure, any shapes.
    scale : {"shared", "per-kernel"}
        ``"shared"``: every kernel gets the largest ``|weight|`` of them all;
        ``"per-kernel"``: each its own (see :data:`KERNEL_SCALES`).

    Returns
    -------
    list of float
        One limit per kernel, each > 0.

    Raises
    ------
    ParameterError
        ``scale`` not one of :data:`KERNEL_SCALES`.
    """
    check_kernel_scale(scale)
    own = [float(np.max(np.abs(k))) if np.size(k) else 0.0 for k in kernels]
    if scale == "shared":
        own = [max(own, default=0.0)] * len(own)
    return [limit if limit > 0 else 1.0 for limit in own]
