"""Figures of a sliding window, step by step, for ``convfx explain conv`` and ``convfx explain pool``.

Numbered cells: the window on the padded input, what it multiplies or pools, the
output filling up, and the output-size formula with the numbers filled in; as
one frame per step (an animated GIF) or every step in one strip.  Every number is
coloured on one scale (:func:`value_norm`) that a colour bar explains.  The
convolutional layer in 3-D (:func:`volume_frame_figure`, :func:`volume_strip_figure`)
draws its volumes with :mod:`convfx.plots.volumes`.

This module must not compute the steps (that is :mod:`convfx.explain`, which
checks them against the real engines) nor write files except through
:func:`convfx.plots.save_figure` and :func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps as matplotlib_colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize, SymLogNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
from matplotlib.patheffects import withStroke
from matplotlib.textpath import TextPath
from matplotlib.ticker import FuncFormatter, NullLocator
from PIL import Image

from .. import explain as explain_steps
from .. import imageio
from ..errors import ParameterError
from .figures import (
    DIVERGING,
    PLOT_SUFFIXES,
    SAVE_DPI,
    SIGNED_LEGEND,
    TEXT_POINTS,
    check_figure_path,
    figure_bytes,
    refuse_existing,
    save_figure,
)
from .volumes import (
    DEPTH_SLANT,
    KERNEL_BOX_COLOUR,
    KERNEL_BOX_WORDS,
    Oblique,
    depth_origins,
    draw_axes_key,
    draw_box,
    draw_outline,
    draw_sheet,
    draw_volume_edges,
)

__all__ = ["EXPLAIN_SUFFIXES", "explain_frame_figure", "explain_gif_bytes", "explain_strip_figure", "save_explanation"]


def _cell_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _signed_text(value: float) -> str:
    """A term of a sum as written: negative numbers in brackets, ``2 + (-3)``."""
    text = _cell_text(value)
    return f"({text})" if value < 0 else text


# Frames: the sliding window and the cell it fills.
_FRAME = "black"
# Cells outside the window (strip panels) and padding: grey, not coloured by value.
_FADED, _FADED_TEXT, _GHOST_TEXT = "#eeeeee", "#888888", "#bbbbbb"
# The largest number a linear colour scale shows well next to +-1.
_LINEAR_UP_TO = 12.0
# Output cells not computed yet.
_NOT_YET = "#f4f4f4"


def value_norm(values: Iterable[np.ndarray]) -> Normalize:
    """The one colour scale of every number of an explanation: symmetric about 0, 0 white.

    Inputs (0..9), kernel weights (-2..2), products and sums differ by an order of
    magnitude; on a linear scale the kernel would be white.  Beyond ``+-1`` the
    scale is logarithmic, which keeps +-1 visibly tinted and the largest sums
    darkest; numbers that all stay small (pooling 0..9) keep a linear scale.
    """
    limit = max(max((float(np.max(np.abs(v))) for v in values if np.size(v)), default=1.0), 1.0)
    if limit <= _LINEAR_UP_TO:
        return Normalize(vmin=-limit, vmax=limit)
    return SymLogNorm(linthresh=1.0, linscale=0.6, vmin=-limit, vmax=limit, base=10)


def _value_colours(values: np.ndarray, norm: Normalize) -> np.ndarray:
    return matplotlib_colormaps[DIVERGING](norm(values))


def _text_colour(value: float, norm: Normalize) -> str:
    return "white" if abs(float(norm(value)) - 0.5) > 0.3 else "black"


def _number_grid(
    ax: Axes,
    values: np.ndarray,
    title: str,
    norm: Normalize,
    *,
    shown: np.ndarray | None = None,
    faded: np.ndarray | None = None,
    ghost: np.ndarray | None = None,
    bold: np.ndarray | None = None,
    box: tuple[int, int, int, int] | None = None,
    fontsize: float = TEXT_POINTS + 0.5,
    gid: str | None = None,
) -> None:
    """A matrix drawn as cells coloured by value on ``norm`` (red positive, blue negative), with their numbers.

    ``shown``: cells with a number (others blank); ``faded``: grey cell and text;
    ``ghost``: fainter text still (padding); ``bold``: bold numbers; ``box``:
    ``(top, left, height, width)`` framed in black.
    """
    values = np.asarray(values, dtype=np.float64)
    shown = np.ones(values.shape, bool) if shown is None else shown
    colours = _value_colours(values, norm)
    colours[~shown] = to_rgba("white")
    if faded is not None:
        colours[faded] = to_rgba(_FADED)
    image = ax.imshow(colours, interpolation="nearest")
    if gid is not None:
        image.set_gid(gid)
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
            color=_GHOST_TEXT if faint else (_FADED_TEXT if grey else _text_colour(value, norm)),
            fontweight="bold" if bold is not None and bold[r, c] else "normal",
        )
    # Cell borders as plain lines: a minor-tick grid is slow to draw, and every GIF frame has one.
    rows, columns = values.shape
    ax.vlines(np.arange(columns + 1) - 0.5, -0.5, rows - 0.5, color="white", linewidth=1)
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, columns - 0.5, color="white", linewidth=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if box is not None:
        top, left, height, width = box
        # Above the cell borders (lines draw over patches by default).
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=_FRAME, linewidth=3.0, zorder=3))
    ax.set_title(title, fontsize=TEXT_POINTS + 1)


def _padding_mask(explanation: explain_steps.Explanation | explain_steps.VolumeExplanation) -> np.ndarray:
    """``(n + 2p, n + 2p)``: True on the padding (of every channel, for a volume)."""
    p = explanation.padding
    mask = np.ones(explanation.padded.shape[:2], bool)
    mask[p : p + explanation.image.shape[0], p : p + explanation.image.shape[1]] = False
    return mask


def _drawing_axes(
    figure: Figure, rectangle: tuple[float, float, float, float], x: tuple[float, float], y: tuple[float, float]
) -> Axes:
    """An axes for a drawing in cell units: ``rectangle`` of the figure, limits ``x`` and ``y``, equal scales, no frame."""
    ax = figure.add_axes(rectangle)
    ax.set_xlim(*x)
    ax.set_ylim(*y)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _explanation_norm(e: explain_steps.Explanation) -> Normalize:
    arrays = [e.padded, e.output] + [step.terms for step in e.steps]
    arrays += [a for a in (e.kernel, e.correlation) if a is not None]
    return value_norm(arrays)


def _step_sentence(explanation: explain_steps.Explanation, step: explain_steps.Step) -> str:
    where = f"y[{step.row}, {step.column}]"
    if explanation.kernel is not None:
        total = float(step.terms.sum())
        return f"{where} = sum of products + bias = {_cell_text(total)} + {_signed_text(explanation.bias)} = {_cell_text(step.value)}"
    if explanation.operation == "max pooling":
        return f"{where} = largest in the window = {_cell_text(step.value)}"
    return f"{where} = {_cell_text(step.terms.sum())} / {step.terms.size} = {_cell_text(step.value)}"


def _value_colour_bar(figure: Figure, norm: Normalize, **where: Any) -> Colorbar:
    """The colour bar of every number, its ticks plain numbers (0, +-1, +-10 and the ends)."""
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=DIVERGING), **where)
    assert norm.vmax is not None  # value_norm scales every norm it makes
    limit = float(norm.vmax)
    steps = (1.0, 10.0, 100.0) if isinstance(norm, SymLogNorm) else (limit / 2,)
    ticks = [t for t in steps if t < 0.8 * limit] + [limit]
    bar.set_ticks([-t for t in reversed(ticks)] + [0.0] + ticks)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _cell_text(round(value, 2))))
    bar.ax.yaxis.set_minor_locator(NullLocator())
    scale = " (log scale beyond ±1)" if isinstance(norm, SymLogNorm) else ""
    bar.set_label(f"every number's colour{scale}:\n{SIGNED_LEGEND}", fontsize=TEXT_POINTS + 0.5)
    bar.ax.tick_params(labelsize=TEXT_POINTS)
    return bar


def _legend(figure: Figure, norm: Normalize, axes: Iterable[Axes], frames: str) -> None:
    """The colour bar of every number in the figure, and ``frames``: what the frames and grey cells mean."""
    _value_colour_bar(figure, norm, ax=list(axes), shrink=0.85, pad=0.02)
    figure.supxlabel(frames, fontsize=TEXT_POINTS + 0.5)


def explain_frame_figure(explanation: explain_steps.Explanation, index: int, *, cell: float = 0.34) -> Figure:
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
        Panels, left to right: input (padding greyed, window framed); for
        convolution the kernel as written and, with ``flip``, rotated 180 degrees;
        the products (or the pooling window); the output filled up to this step;
        for convolution, the cross-correlation of the same numbers to compare.
        Every number is coloured on one scale, explained by a colour bar.  The
        title holds the step's arithmetic (with the bias where it is added) and
        the output-size formula with the numbers filled in.
    """
    e = explanation
    step = e.steps[index]
    norm = _explanation_norm(e)
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
    figure = Figure(figsize=(cell * sum(widths) + 0.75 * len(panels) + 2.0, cell * height + 2.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), gridspec_kw={"width_ratios": widths})
    done = np.zeros(e.output.shape, bool)
    done.flat[: index + 1] = True
    for ax, (_, what) in zip(axes, panels):
        if what == "input":
            title = f"input {e.image.shape[0]}x{e.image.shape[1]}" + (f",\npadded by {e.padding}" if e.padding else "")
            _number_grid(
                ax,
                e.padded,
                title,
                norm,
                faded=_padding_mask(e),
                ghost=_padding_mask(e),
                box=(step.top, step.left, k, k),
                gid="input",
            )
        elif what == "kernel":
            assert e.kernel is not None  # the panel is there only for a kernel
            title = "kernel as written" if e.correlation is not None else "kernel"
            _number_grid(ax, e.kernel, f"{title}\nbias b = {_cell_text(e.bias)}", norm, gid="kernel")
        elif what == "applied":
            assert e.applied is not None  # as the kernel
            _number_grid(ax, e.applied, "rotated 180°\n(what slides)", norm, gid="applied")
        elif what == "terms":
            if e.kernel is not None:
                total = float(step.terms.sum())
                _number_grid(ax, step.terms, f"window x kernel\nsum {_cell_text(total)}", norm, gid="products")
            else:
                winner = np.zeros(step.terms.shape, bool)
                if e.operation == "max pooling":
                    winner.flat[int(np.argmax(step.terms))] = True
                summary = f"max {_cell_text(step.value)}" if e.operation == "max pooling" else f"mean {_cell_text(step.value)}"
                _number_grid(ax, step.terms, f"window\n{summary}", norm, bold=winner, gid="window")
        elif what == "output":
            title = f"output {m}x{m}" + ("\n(sum + bias)" if e.kernel is not None else "")
            _number_grid(ax, e.output, title, norm, shown=done, box=(step.row, step.column, 1, 1), gid="output")
        else:
            assert e.correlation is not None  # the last panel is there only for a correlation
            differs = ~np.isclose(e.correlation, e.output)
            _number_grid(
                ax,
                e.correlation,
                "cross-correlation\n(bold: differs)",
                norm,
                bold=differs,
                box=(step.row, step.column, 1, 1),
                gid="correlation",
            )
    padding = "" if e.kernel is None else ";   grey: padding (zeros)"
    _legend(figure, norm, axes, f"black frame: the window, and the output cell it fills{padding};   empty: not computed yet")
    figure.suptitle(
        f"{e.operation}: n={e.image.shape[0]}, k={k}, s={e.stride}, p={e.padding}  --  step {index + 1} of {len(e.steps)}\n"
        f"{_step_sentence(e, step)}\n{e.formula}",
        fontsize=TEXT_POINTS + 2,
    )
    return figure


def explain_gif_bytes(
    explanation: explain_steps.Explanation | explain_steps.VolumeExplanation,
    *,
    milliseconds: int = explain_steps.FRAME_MILLISECONDS,
) -> bytes:
    """The steps as an animated GIF: exactly one frame per output cell, the last held 3x longer.

    Frames are :func:`explain_frame_figure` (for a :class:`~convfx.explain.VolumeExplanation`,
    :func:`volume_frame_figure`), at :data:`~convfx.plots.figures.SAVE_DPI`.

    Parameters
    ----------
    explanation : Explanation or VolumeExplanation
    milliseconds : int, optional
        How long each frame shows.

    Returns
    -------
    bytes
    """
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int) or milliseconds < 1:
        raise ParameterError(f"milliseconds: expected an int >= 1, found {milliseconds!r}")

    def draw(index: int) -> Figure:
        if isinstance(explanation, explain_steps.VolumeExplanation):
            return volume_frame_figure(explanation, index)
        return explain_frame_figure(explanation, index)

    frames = []
    for index in range(len(explanation.steps)):
        with Image.open(io.BytesIO(figure_bytes(draw(index), dpi=SAVE_DPI))) as frame:
            frames.append(frame.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    durations = [milliseconds] * (len(frames) - 1) + [3 * milliseconds]
    out = io.BytesIO()
    # disposal=1 and optimize=False: every step is kept as its own frame (Pillow would
    # otherwise merge frames it finds identical, and the frame count is part of the contract).
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False, disposal=1
    )
    return out.getvalue()


def explain_strip_figure(explanation: explain_steps.Explanation, *, cell: float = 0.3) -> Figure:
    """Every step at once: a grid of the input with the window, laid out like the output.

    The panel in row ``i``, column ``j`` computes ``y[i, j]``: the window is framed
    and its cells show the products (pooling: the window, its maximum in bold).  A
    header row shows the kernel(s), the output and, for convolution, the
    cross-correlation of the same numbers; the title holds the output-size formula.
    Every number is coloured on one scale, explained by a colour bar.

    Parameters
    ----------
    explanation : Explanation
    cell : float, optional
        Inches per drawn cell.

    Returns
    -------
    Figure
    """
    e = explanation
    norm = _explanation_norm(e)
    m = e.output.shape[0]
    side = e.padded.shape[0]
    panel = cell * side + 0.55
    header = cell * max(e.window_size, m) * 1.2 + 1.3
    figure = Figure(figsize=(max(panel * m, 6.0) + 1.8, panel * m + header + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    # matplotlib's stub types subfigures() as SubFigure | ndarray whatever the grid; 2x1 is an array.
    top, grid = figure.subfigures(2, 1, height_ratios=[header, panel * m])  # type: ignore[misc]
    header_items: list[tuple[np.ndarray, str, dict]] = []
    if e.kernel is not None:
        written = "kernel" if e.correlation is None else "kernel as written"
        header_items.append((e.kernel, f"{written}\nbias {_cell_text(e.bias)}", {}))
        if e.correlation is not None and e.applied is not None:
            header_items.append((e.applied, "rotated 180°\n(what slides)", {}))
    header_items.append((e.output, f"output ({e.operation})", {}))
    if e.correlation is not None:
        header_items.append((e.correlation, "cross-correlation\n(bold: differs)", {"bold": ~np.isclose(e.correlation, e.output)}))
    axes = top.subplots(
        1, len(header_items), squeeze=False, gridspec_kw={"width_ratios": [a.shape[1] for a, *_ in header_items]}
    )[0]
    for ax, (values, title, extra) in zip(axes, header_items):
        _number_grid(ax, values, title, norm, **extra)
    top.suptitle(
        f"{e.operation}: n={e.image.shape[0]}, k={e.window_size}, s={e.stride}, p={e.padding}\n{e.formula}",
        fontsize=TEXT_POINTS + 2,
    )
    cells = grid.subplots(m, m, squeeze=False)
    faded = _padding_mask(e)
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
        sentence = _step_sentence(e, step).replace("sum of products + bias = ", "").replace("largest in the window", "max")
        _number_grid(
            cells[step.row, step.column],
            shown,
            sentence,
            norm,
            faded=~inside,
            ghost=faded & ~inside,
            bold=bold,
            box=(step.top, step.left, e.window_size, e.window_size),
        )
    framed = "the window, its maximum in bold" if e.operation == "max pooling" else "the window"
    if e.kernel is not None:
        framed = "the window, its cells replaced by their products"
    _legend(figure, norm, list(axes), f"black frame: {framed};   grey: the rest of the input")
    return figure


# --------------------------------------------------------------------------- the layer in 3-D

# The 3-D drawing follows the network figure's convention (width right, height up, depth
# up and to the right) as an exploded view: the channels are pulled apart along depth so
# that every number shows.  Colours by role, the same as in the network figure (the legend
# names them): green the kernel box and the one value it makes.
_INPUT_EDGE = "#555555"
_BOX = KERNEL_BOX_COLOUR  # the kernel box and the output cell it fills
_PROJECTION = Oblique()
# Gap between two sheets pulled apart along depth, and between the columns of the drawing, in cells.
_SHEET_GAP = 1.3
_COLUMN_GAP = 1.6
# Height of one line of the drawing's titles, in cells.
_LINE = 0.5
# The words that say how the 3-D drawing of a layer relates to the network figure's volumes.
_EXPLODED_VIEW = "exploded view: the channels pulled apart along depth so that every number shows"


def _volume_norm(e: explain_steps.VolumeExplanation) -> Normalize:
    return value_norm([e.padded, e.kernels, e.output, e.bias] + [step.products for step in e.steps])


def _sheet_cells(
    values: np.ndarray, norm: Normalize, *, shown: np.ndarray | None = None, faded: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colours, texts and text colours of one sheet: blank cells white, faded ones grey."""
    colours = _value_colours(values, norm)
    texts = np.array([[_cell_text(v) for v in row] for row in values], dtype=object)
    text_colours = np.array([[_text_colour(v, norm) for v in row] for row in values], dtype=object)
    if faded is not None:
        colours[faded] = to_rgba(_FADED)
        text_colours[faded] = _GHOST_TEXT
    if shown is not None:
        colours[~shown] = to_rgba(_NOT_YET)
        texts[~shown] = ""
    return colours, texts, text_colours


def _stack(
    ax: Axes,
    values: np.ndarray,
    norm: Normalize,
    left: float,
    bottom: float,
    name: str,
    *,
    pitch: float,
    numbers: bool = True,
    faded: np.ndarray | None = None,
    shown: np.ndarray | None = None,
    fontsize: float = TEXT_POINTS + 0.5,
    projection: Oblique = _PROJECTION,
) -> list[tuple[float, float]]:
    """A volume ``(H, W, D)`` as D sheets pulled apart along depth, sheet 0 in front with its corner at ``(left, bottom)``.

    Returns the sheets' bottom-left corners, front to back (for boxes and edges);
    sheet ``d`` has gid ``"<name>-plane-<d>"``.
    """
    rows, columns, depth = values.shape
    origins = depth_origins(left, bottom, depth, pitch)
    for d, origin in enumerate(origins):
        colours, texts, text_colours = _sheet_cells(
            values[:, :, d], norm, shown=None if shown is None else shown[:, :, d], faded=faded
        )
        draw_sheet(
            ax,
            projection,
            origin,
            colours,
            texts=texts if numbers else None,
            text_colours=text_colours,
            fontsize=fontsize,
            edge=_INPUT_EDGE,
            gid=f"{name}-plane-{d}",
        )
    draw_volume_edges(ax, projection, origins, rows, columns)
    return origins


def _centre_text(ax: Axes, x: float, y: float, text: str, *, size: float = TEXT_POINTS + 1, **options: Any) -> None:
    ax.text(x, y, text, ha=options.pop("ha", "center"), va=options.pop("va", "bottom"), fontsize=size, **options)


def _sheet_label(ax: Axes, x: float, y: float, text: str, *, ha: str) -> None:
    """A sheet's name beside it, ringed in white: a depth edge passing behind it stops short of the letters."""
    ax.text(
        x,
        y,
        text,
        ha=ha,
        va="center",
        fontsize=TEXT_POINTS + 0.5,
        zorder=7,
        path_effects=[withStroke(linewidth=3, foreground="white")],
    )


def _name_input(
    ax: Axes,
    e: explain_steps.VolumeExplanation,
    inputs: Sequence[tuple[float, float]],
    stack_height: float,
    *,
    separator: str,
    projection: Oblique = _PROJECTION,
) -> None:
    """Each input sheet's channel, left of it, and the input volume's size above the back sheet."""
    size = e.padded.shape[0]
    for d, origin in enumerate(inputs):
        name = f"channel {d}" + (" (front)" if d == 0 and e.channels > 1 else "")
        _sheet_label(ax, origin[0] - 0.15, origin[1] + projection.height(size) / 2, name, ha="right")
    n = e.image.shape[0]
    padded = f"{separator}padded by {e.padding}" if e.padding else ""
    _centre_text(
        ax,
        inputs[-1][0] + projection.width(size, size) / 2,
        stack_height + 0.35,
        f"input volume {n}x{n}x{e.channels}{padded}",
        size=TEXT_POINTS + 1.5,
    )


def _volume_title(e: explain_steps.VolumeExplanation, step: explain_steps.VolumeStep, index: int) -> str:
    sums = " + ".join(_signed_text(v) for v in step.channel_sums)
    where = f"y[{step.row}, {step.column}] of output map {step.filter}"
    return (
        f"{e.operation} layer in 3-D, {_EXPLODED_VIEW}: {e.channels} input channel{'s' * (e.channels != 1)}, "
        f"{e.filters} kernel{'s' * (e.filters != 1)} of {e.window_size}x{e.window_size}x{e.channels}  --  "
        f"step {index + 1} of {len(e.steps)}\n"
        f"{where} = sum over the whole box + bias = {sums} + {_signed_text(e.bias[step.filter])} = {_cell_text(step.value)}\n"
        f"{e.formula}"
    )


def volume_frame_figure(explanation: explain_steps.VolumeExplanation, index: int, *, cell: float = 0.3) -> Figure:
    """One step of a convolutional layer in 3-D: the box in the input volume, its products, one summed value.

    Parameters
    ----------
    explanation : convfx.explain.VolumeExplanation
        From :func:`convfx.explain.explain_volume`.
    index : int
        The step, ``0 <= index < len(explanation.steps)``.
    cell : float, optional
        Inches per cell.

    Returns
    -------
    Figure
        An exploded view, in the network figure's directions (width right, height
        up, depth up and to the right) with the channels pulled apart along depth.
        Left to right, one row per input channel, channel 0 in front: the input
        volume (C sheets, padding grey) with the k x k x C kernel box at this step's
        position; the kernel (k x k x C, with its bias); the products channel by
        channel, each with its sum; then the sum over every channel plus the bias,
        and the output volume (F sheets) filled up to this step, the cell just
        computed framed in the kernel box's green.  One colour scale for every
        number (colour bar); a legend for the input and the kernel box; arrows
        naming width, height and depth.  Sheets have gids ``input-plane-c``,
        ``kernel-plane-c``, ``products-plane-c`` and ``output-plane-f``; the box's
        parts ``kernel-box``, the output cell ``output-cell``.
    """
    e = explanation
    step = e.steps[index]
    norm = _volume_norm(e)
    projection = _PROJECTION
    size, k, m = e.padded.shape[0], e.window_size, e.output.shape[0]
    channels, filters = e.channels, e.filters
    pitch = projection.height(size) + _SHEET_GAP
    shift = DEPTH_SLANT * pitch  # each row of the drawing (one channel) this much right of the one in front
    stack_height = (channels - 1) * pitch + projection.height(size)
    offset = (projection.height(size) - projection.height(k)) / 2  # the kernel's rows level with the input's middle
    inches = 1 / cell  # cells per inch: room for texts set in points

    x_input = 0.0
    x_kernel = x_input + projection.width(size, size) + _COLUMN_GAP + 0.8
    x_products = x_kernel + projection.width(k, k) + _COLUMN_GAP + 0.8
    x_sums = x_products + projection.width(k, k) + 0.4
    x_total = x_sums + (channels - 1) * shift + 1.0 * inches
    x_output = x_total + 2.6 * inches
    out_pitch = projection.height(m) + _SHEET_GAP
    out_shift = DEPTH_SLANT * out_pitch
    right = x_output + (filters - 1) * out_shift + projection.width(m, m) + 0.8 * inches

    # The output volume, one sheet per kernel, centred on the input's middle.
    middle = stack_height / 2
    out_height = (filters - 1) * out_pitch + projection.height(m)
    out_bottom = middle - out_height / 2

    left = -1.3 * inches  # room for the channels' names
    line = max(_LINE, 0.18 * inches)
    kernel_lines = 2 + (2 if e.correlation is not None else 0)
    top = (
        max(
            stack_height + 0.35 + line,
            offset + (channels - 1) * pitch + projection.height(k) + 0.35 + kernel_lines * line,
            out_bottom + out_height + 0.35 + 2 * line,
        )
        + 0.2
    )
    key = 0.35 * inches + 2.5  # under the stack: the arrows naming the directions
    # At least room for a readable colour bar beside the drawing.
    bottom = min(-key, out_bottom - 0.5, top - 2.6 * inches - key)
    width, height = right - left, top - bottom
    header, footer = 0.75, 0.45  # inches: the title; the legend
    bar = 1.5  # inches right of the drawing: the colour bar
    fig_width, fig_height = cell * width + bar + 0.2, cell * height + header + footer
    figure = Figure(figsize=(fig_width, fig_height))
    FigureCanvasAgg(figure)
    rectangle = (0.1 / fig_width, footer / fig_height, cell * width / fig_width, cell * height / fig_height)
    ax = _drawing_axes(figure, rectangle, (left, right), (bottom, top))

    # The input volume, the box at this step, and the names of the channels.
    inputs = _stack(ax, e.padded, norm, x_input, 0.0, "input", pitch=pitch, faded=_padding_mask(e))
    draw_box(ax, projection, inputs, size, (step.top, step.left, k, k), colour=_BOX, linewidth=2.6)
    _name_input(ax, e, inputs, stack_height, separator=", ")

    # The kernel, level with its channels, and the products.
    kernel = _stack(ax, e.applied[step.filter], norm, x_kernel, offset, "kernel", pitch=pitch)
    draw_box(ax, projection, kernel, k, (0, 0, k, k), colour=_BOX, linewidth=2.0)
    products = _stack(ax, step.products, norm, x_products, offset, "products", pitch=pitch)
    kernel_title = f"kernel {step.filter} of {filters}: {k}x{k}x{channels}\nbias b = {_cell_text(e.bias[step.filter])}"
    if e.correlation is not None:
        kernel_title += "\nrotated 180° in width and height,\nnot in depth"
    title_level = kernel[-1][1] + projection.height(k) + 0.35
    _centre_text(ax, kernel[-1][0] + projection.width(k, k) / 2, title_level, kernel_title)
    _centre_text(ax, products[-1][0] + projection.width(k, k) / 2, title_level, "window x kernel,\nchannel by channel")
    for d, (origin, total) in enumerate(zip(products, step.channel_sums)):
        level = origin[1] + projection.height(k) / 2
        ax.text(x_kernel - 0.9 + d * shift, level, "x", ha="center", va="center", fontsize=TEXT_POINTS + 4)
        ax.text(x_products - 0.9 + d * shift, level, "=", ha="center", va="center", fontsize=TEXT_POINTS + 4)
        ax.text(x_sums + d * shift, level, f"sum {_cell_text(total)}", ha="left", va="center", fontsize=TEXT_POINTS + 1)

    # The sum over the whole box, plus the bias: one number.
    sums = "\n".join(f"{'+ ' if d else '  '}{_signed_text(v)}   (channel {d})" for d, v in enumerate(step.channel_sums))
    ax.text(
        x_total,
        middle,
        f"sum over all {channels} channel{'s' * (channels != 1)}:\n{sums}\n+ {_signed_text(e.bias[step.filter])}   (bias)\n= {_cell_text(step.value)}",
        ha="left",
        va="center",
        fontsize=TEXT_POINTS + 1.5,
        family="monospace",
        bbox={"boxstyle": "round", "facecolor": "#f7f7f7", "edgecolor": _BOX},
    )

    # The output volume, filled up to this step.
    done = np.zeros(e.output.shape, bool)
    for earlier in e.steps[: index + 1]:
        done[earlier.row, earlier.column, earlier.filter] = True
    outputs = _stack(ax, e.output, norm, x_output, out_bottom, "output", pitch=out_pitch, shown=done)
    draw_outline(
        ax,
        projection,
        outputs[step.filter],
        m,
        (step.row, step.column, 1, 1),
        colour=_BOX,
        linewidth=3.0,
        gid="output-cell",
    )
    for f, origin in enumerate(outputs):
        _sheet_label(ax, origin[0] + projection.width(m, m) + 0.2, origin[1] + projection.height(m) / 2, f"map {f}", ha="left")
    _centre_text(
        ax,
        outputs[-1][0] + projection.width(m, m) / 2,
        out_bottom + out_height + 0.35,
        f"output volume {m}x{m}x{filters}\n(one map per kernel)",
        size=TEXT_POINTS + 1.5,
    )
    target = projection.cell(outputs[step.filter], m, step.row, step.column).mean(axis=0)
    ax.add_patch(
        FancyArrowPatch(
            (x_total + 2.0 * inches, middle),
            (target[0] - 0.3, target[1]),
            arrowstyle="-|>",
            mutation_scale=14,
            color=_BOX,
            linewidth=1.6,
            zorder=5,
        )
    )

    # What the directions, the colours and the frames mean.
    draw_axes_key(ax, (x_input + 0.2, -key + 0.6), length=2.0, fontsize=TEXT_POINTS + 0.5)
    handles = [
        Patch(facecolor="white", edgecolor=_INPUT_EDGE, label="input: one sheet per channel (grey: padding)"),
        Patch(
            facecolor="none",
            edgecolor=_BOX,
            linewidth=2.5,
            label=f"{KERNEL_BOX_WORDS} (here {k}x{k}x{channels}) at this step, and the output cell it fills",
        ),
    ]
    figure.legend(
        handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.01), ncol=2, fontsize=TEXT_POINTS + 0.5, frameon=False
    )
    bar_height = min(max(cell * stack_height, 2.4), fig_height - header - footer - cell * key + 0.6)
    bar_axes = figure.add_axes(
        (1 - (bar - 0.2) / fig_width, (footer + cell * key) / fig_height, 0.16 / fig_width, bar_height / fig_height)
    )
    _value_colour_bar(figure, norm, cax=bar_axes)
    figure.suptitle(_volume_title(e, step, index), fontsize=TEXT_POINTS + 2, y=1 - 0.08 / fig_height, va="top")
    return figure


def _text_cells(text: str, points: float, cell: float) -> float:
    """Width of the widest line of ``text`` at ``points``, in cells of ``cell`` inches."""
    return max(TextPath((0, 0), line, size=points).get_extents().width for line in text.split("\n")) / 72 / cell


def volume_strip_figure(explanation: explain_steps.VolumeExplanation, *, cell: float = 0.3) -> Figure:
    """Every step of a convolutional layer in 3-D at once: the volumes with their numbers, then one panel per output cell.

    Parameters
    ----------
    explanation : convfx.explain.VolumeExplanation
        From :func:`convfx.explain.explain_volume`.
    cell : float, optional
        Inches per cell of the volumes drawn with numbers.

    Returns
    -------
    Figure
        An exploded view in the directions of :func:`volume_frame_figure`.  At the
        top, the input volume, every kernel (k x k x C, with its bias) and the
        output volume, all with their numbers on one colour scale; under them, for
        each output map, one small drawing per output cell laid out like the map:
        the input volume with the kernel box where it computes that cell, and the
        sum per channel plus the bias.  Sheet gids as in :func:`volume_frame_figure`
        (``input-plane-c``, ``kernel-<f>-plane-c``, ``output-plane-f``); each small
        drawing's box ``kernel-box``.
    """
    e = explanation
    norm = _volume_norm(e)
    big = _PROJECTION
    small = Oblique(shear=big.shear, squash=big.squash, unit=0.3)
    size, k, m = e.padded.shape[0], e.window_size, e.output.shape[0]
    channels, filters = e.channels, e.filters
    inches = 1 / cell

    # The header: input | kernel 0 ... kernel F-1 | output, the front sheets' bottoms level.
    pitch = big.height(size) + _SHEET_GAP
    shift = DEPTH_SLANT * pitch
    out_pitch = big.height(m) + _SHEET_GAP
    offset = (big.height(size) - big.height(k)) / 2
    flipped = "\n(rotated 180°, not in depth)" if e.correlation is not None else ""
    kernel_titles = [f"kernel {f}, bias {_cell_text(e.bias[f])}{flipped}" for f in range(filters)]
    kernel_pitch = max(
        big.width(k, k) + _COLUMN_GAP + 0.8, max(_text_cells(t, TEXT_POINTS + 1, cell) for t in kernel_titles) + 0.6
    )
    stack_height = (channels - 1) * pitch + big.height(size)
    out_height = (filters - 1) * out_pitch + big.height(m)
    header_height = max(stack_height, out_height)
    # The output right of every kernel's back sheet, centred on the input's middle.
    x_output = big.width(size, size) + _COLUMN_GAP + filters * kernel_pitch + (channels - 1) * shift
    out_bottom = (stack_height - out_height) / 2
    header_right = x_output + (filters - 1) * DEPTH_SLANT * out_pitch + big.width(m, m) + 0.8 * inches
    # The steps: one panel per output cell, m x m per map.
    small_pitch = small.height(size) + 0.4
    panel_width = max(small.width(size, size) + (channels - 1) * DEPTH_SLANT * small_pitch + 0.6, 6.4)
    panel_height = (channels - 1) * small_pitch + small.height(size) + 2 * _LINE + 0.9
    block_height = m * panel_height + 1.0
    block_width = m * panel_width + 1.0
    # The maps' blocks side by side, in a figure no wider than the header or 45 cells.
    left = -1.3 * inches  # room for the channels' names
    per_row = max(1, min(filters, int(max(header_right - left, 45.0) // block_width)))
    right = max(header_right, per_row * block_width)
    width = right - left
    top = header_height + 2 * _LINE + 0.6
    key = 4.4  # under the header: the arrows naming the directions
    bottom = -key - math.ceil(filters / per_row) * block_height
    height = top - bottom
    bar = 1.5
    fig_width, fig_height = cell * width + bar + 0.2, cell * height + 1.3
    figure = Figure(figsize=(fig_width, fig_height))
    FigureCanvasAgg(figure)
    rectangle = (0.1 / fig_width, 0.5 / fig_height, cell * width / fig_width, cell * height / fig_height)
    ax = _drawing_axes(figure, rectangle, (left, right), (bottom, top))

    inputs = _stack(ax, e.padded, norm, 0.0, 0.0, "input", pitch=pitch, faded=_padding_mask(e))
    _name_input(ax, e, inputs, stack_height, separator=",\n")
    x = big.width(size, size) + _COLUMN_GAP
    for f in range(filters):
        kernel = _stack(ax, e.applied[f], norm, x, offset, f"kernel-{f}", pitch=pitch)
        _centre_text(ax, kernel[-1][0] + big.width(k, k) / 2, kernel[-1][1] + big.height(k) + 0.35, kernel_titles[f])
        x += kernel_pitch
    outputs = _stack(ax, e.output, norm, x_output, out_bottom, "output", pitch=out_pitch)
    for f, origin in enumerate(outputs):
        _sheet_label(ax, origin[0] + big.width(m, m) + 0.2, origin[1] + big.height(m) / 2, f"map {f}", ha="left")
    _centre_text(
        ax,
        outputs[-1][0] + big.width(m, m) / 2,
        outputs[-1][1] + big.height(m) + 0.35,
        f"output volume {m}x{m}x{filters}",
        size=TEXT_POINTS + 1.5,
    )

    # One small drawing per output cell: where the box is, and the sum it gives.
    draw_axes_key(ax, (0.2, -key + 0.9), length=1.6, fontsize=TEXT_POINTS + 0.5)
    y = -key
    for step in e.steps:
        block_left = (step.filter % per_row) * block_width
        if step.row == 0 and step.column == 0:
            block_top = y - (step.filter // per_row) * block_height
            ax.text(
                block_left + left + 0.2 if block_left == 0 else block_left - 0.6,
                block_top - 0.2,
                f"map {step.filter}: kernel {step.filter} at every position",
                ha="left",
                va="top",
                fontsize=TEXT_POINTS + 1.5,
                fontweight="bold",
            )
        panel_left = block_left + step.column * panel_width
        panel_top = block_top - 1.0 - step.row * panel_height
        front_bottom = panel_top - (channels - 1) * small_pitch - small.height(size)
        origins = depth_origins(panel_left, front_bottom, channels, small_pitch)
        for d, origin in enumerate(origins):
            colours = np.broadcast_to(to_rgba("#f2f2f2"), (size, size, 4)).copy()
            draw_sheet(ax, small, origin, colours, edge=_INPUT_EDGE, gid=f"step-plane-{d}")
        draw_box(ax, small, origins, size, (step.top, step.left, k, k), colour=_BOX, linewidth=1.8)
        sums = " + ".join(_signed_text(v) for v in step.channel_sums)
        ax.text(
            panel_left,
            front_bottom - 0.15,
            f"y[{step.row}, {step.column}] = {_cell_text(step.value)}\n= {sums} + {_signed_text(e.bias[step.filter])}",
            ha="left",
            va="top",
            fontsize=TEXT_POINTS,
        )
    bar_axes = figure.add_axes(
        (
            1 - (bar - 0.2) / fig_width,
            1 - (0.6 + min(cell * header_height, 4.0)) / fig_height,
            0.16 / fig_width,
            min(cell * header_height, 4.0) / fig_height,
        )
    )
    _value_colour_bar(figure, norm, cax=bar_axes)
    handles = [
        Patch(facecolor="white", edgecolor=_INPUT_EDGE, label="input: one sheet per channel (grey: padding)"),
        Patch(
            facecolor="none",
            edgecolor=_BOX,
            linewidth=2.5,
            label=f"{KERNEL_BOX_WORDS} (here {k}x{k}x{channels}) where it computes that cell",
        ),
    ]
    figure.legend(
        handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=2, fontsize=TEXT_POINTS + 0.5, frameon=False
    )
    figure.suptitle(
        f"{e.operation} layer in 3-D, {_EXPLODED_VIEW}: {channels} input channel{'s' * (channels != 1)}, "
        f"{filters} kernel{'s' * (filters != 1)} of {k}x{k}x{channels}, every step;\n"
        f"each output value = the sum over the whole box + the kernel's bias;  {e.formula}",
        fontsize=TEXT_POINTS + 2,
        y=1 - 0.05 / fig_height,
        va="top",
    )
    return figure


#: What ``save_explanation`` writes, by suffix.
EXPLAIN_SUFFIXES = (".gif",) + PLOT_SUFFIXES


def save_explanation(
    explanation: explain_steps.Explanation | explain_steps.VolumeExplanation,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    milliseconds: int = explain_steps.FRAME_MILLISECONDS,
) -> Path:
    """Write an explanation: ``.gif`` -> :func:`explain_gif_bytes`, ``.png/.svg/.pdf`` -> a strip of every step.

    The strip is :func:`explain_strip_figure`, or for a
    :class:`~convfx.explain.VolumeExplanation` :func:`convfx.plots.volumes.volume_strip_figure`.

    Parameters
    ----------
    explanation : Explanation or VolumeExplanation
    path : str or path-like
    overwrite : bool, optional
    milliseconds : int, optional
        How long each GIF frame shows.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unsupported suffix (the message lists the valid ones).
    FileError
        Folder missing; :class:`convfx.imageio.OutputExistsError` if the file exists
        and not ``overwrite``.
    """
    path = check_figure_path(path, suffixes=EXPLAIN_SUFFIXES, name="output")
    suffix = path.suffix.lower()
    refuse_existing(path, overwrite=overwrite)
    if suffix == ".gif":
        return imageio.write_bytes_atomically(
            path, explain_gif_bytes(explanation, milliseconds=milliseconds), overwrite=overwrite
        )
    if isinstance(explanation, explain_steps.VolumeExplanation):
        strip = volume_strip_figure(explanation)
    else:
        strip = explain_strip_figure(explanation)
    return save_figure(strip, path, overwrite=overwrite)
