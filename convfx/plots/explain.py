"""Figures of a sliding window, step by step, for ``convfx explain conv`` and ``convfx explain pool``.

Numbered cells: the window on the padded input, what it multiplies or pools, the
output filling up, and the output-size formula with the numbers filled in; as
one frame per step (an animated GIF) or every step in one strip.

This module must not compute the steps (that is :mod:`convfx.explain`, which
checks them against the real engines) nor write files except through
:func:`convfx.plots.save_figure` and :func:`convfx.imageio.write_bytes_atomically`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib import colormaps as matplotlib_colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .. import explain as explain_steps
from .. import imageio
from ..errors import ParameterError
from .figures import PLOT_SUFFIXES, figure_bytes, refuse_existing, save_figure

__all__ = ["EXPLAIN_SUFFIXES", "explain_frame_figure", "explain_gif_bytes", "explain_strip_figure", "save_explanation"]


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
    # Cell borders as plain lines: a minor-tick grid is slow to draw, and every GIF frame has one.
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
    refuse_existing(path, overwrite=overwrite)
    if suffix == ".gif":
        return imageio.write_bytes_atomically(path, explain_gif_bytes(explanation, milliseconds=milliseconds), overwrite=overwrite)
    return save_figure(explain_strip_figure(explanation), path, overwrite=overwrite, colors=64)
