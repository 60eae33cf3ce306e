"""Figures of a trained network: one image's tour through every layer, the network as volumes, the confusion matrix.

This module must not run the network or count predictions (that is
:mod:`convfx.nn.inspect` and :func:`convfx.nn.evaluate`), nor write files except
through :func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator

from ..nn import inspect as nn_inspect
from .figures import DIVERGING, TEXT_POINTS, save_figure, signed_norm
from .volumes import KERNEL_BOX_COLOUR, KERNEL_BOX_WORDS, POOL_WINDOW_COLOUR, draw_axes_key

__all__ = ["confusion_matrix_figure", "tour_figure", "save_tour", "network_figure", "save_network_figure"]


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
        return {"cmap": "magma", "norm": Normalize(0.0, high if high > 0 else 1.0)}
    return {"cmap": DIVERGING, "norm": signed_norm(max(abs(low), abs(high)))}


#: What each kind of layer does, in words, for the tour's row titles.
_LAYER_WORDS = {
    "Conv2d": "convolution",
    "ReLU": "ReLU: negatives set to 0",
    "PReLU": "PReLU: negatives scaled down",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "MaxPool2d": "max pooling",
    "AvgPool2d": "average pooling",
    "Flatten": "flattened into one vector",
    "Linear": "fully connected",
    "BatchNorm1d": "batch normalisation",
}


def _shape_words(shape: Sequence[int]) -> str:
    """A layer's output in words: ``(6, 28, 28)`` -> ``"6 maps of 28x28"``, ``(120,)`` -> ``"120 numbers"``."""
    if len(shape) == 3:
        depth, height, width = (int(n) for n in shape)
        return f"{depth} map{'s' * (depth != 1)} of {width}x{height}"
    return f"{int(np.prod(shape))} numbers"


def _row_title(layer: nn_inspect.FeatureMap) -> str:
    words = _LAYER_WORDS.get(layer.kind, layer.kind)
    lenet = f"{layer.lenet_name} " if layer.lenet_name else ""
    return f"{lenet}{layer.name}: {words}  \u2192  {_shape_words(layer.values.shape)}"


def _true_label(tour: nn_inspect.Tour) -> str | None:
    """The image's true class when the tour knows it (``Tour.true_label``, a held-out image's), else None.

    Read with a default: a Tour made before the field existed has none.
    """
    label = getattr(tour, "true_label", None)
    return None if label is None else str(label)


def _map_colour_bar(
    panel: SubFigure,
    options: dict,
    axes: Iterable[Axes] | None = None,
    *,
    cax: Axes | None = None,
    label: str | None = None,
) -> None:
    """The colour bar of one row: beside ``axes``, or horizontal in ``cax`` (a vector's short row)."""
    signed = options["cmap"] == DIVERGING
    mappable = ScalarMappable(**options)
    if cax is not None:
        bar = panel.colorbar(mappable, cax=cax, orientation="horizontal")
        bar.ax.xaxis.set_major_locator(MaxNLocator(3))
    else:
        assert axes is not None  # a row of maps has its axes, a vector's row its cax
        bar = panel.colorbar(mappable, ax=list(axes), shrink=0.9, aspect=8, pad=0.01)
        bar.ax.yaxis.set_major_locator(MaxNLocator(4))
    bar.ax.tick_params(labelsize=TEXT_POINTS)
    text = label or ("red positive\nblue negative" if signed else "value\n(0 black)")
    bar.set_label(text, fontsize=TEXT_POINTS)


# Class names longer than this are shortened with an ellipsis in the tour's labels.
_CLASS_NAME_CHARACTERS = 20

# The tour's geometry, in inches: the figure's width; the share of it the strips and
# bars take (the rest is their colour bars); the height of a row of maps, of a vector's
# strip with its title and ticks, and of the softmax's bars without their labels.
_TOUR_WIDTH = 12.0
_STRIP_RATIOS = (14.0, 1.6)
_MAPS_ROW, _VECTOR_ROW, _BARS_ROW = 1.25, 1.05, 1.9
_LABEL_POINTS = TEXT_POINTS + 0.5


def _text_inches(text: str, points: float) -> float:
    """Width of one line of ``text`` at ``points`` in the default font, in inches."""
    return TextPath((0, 0), text, size=points).get_extents().width / 72 if text else 0.0


def _spoken(name: str) -> str:
    """A class name as a reader says it: ``"hubble_deep_field"`` -> ``"hubble deep field"``."""
    return str(name).replace("_", " ")


def _tick_name(name: str) -> str:
    """A class name as a tick label: spoken, at most :data:`_CLASS_NAME_CHARACTERS` characters (an ellipsis cuts it)."""
    name = _spoken(name)
    return name if len(name) <= _CLASS_NAME_CHARACTERS else name[: _CLASS_NAME_CHARACTERS - 1] + "\u2026"


def _class_labels(class_names: Sequence[str]) -> tuple[list[str], bool, float]:
    """The tour's class labels, whether they fit across one cell each, and the inches they need below the axis.

    A name fits across if it takes at most 85 % of its cell (the strip's width,
    less a tenth for the figure's margins and the colour bar's gap, over the number
    of classes); else every name is written upwards.
    """
    labels = [_tick_name(name) for name in class_names]
    cell = _TOUR_WIDTH * _STRIP_RATIOS[0] / sum(_STRIP_RATIOS) * 0.9 / max(len(labels), 1)
    widest = max((_text_inches(label, _LABEL_POINTS) for label in labels), default=0.0)
    across = widest <= 0.85 * cell
    return labels, across, (0.3 if across else widest + 0.15)


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
        Titled with the image, its true label when the tour has one, and the
        prediction.  One row per layer, labelled ``C1 conv1: convolution → 6 maps of
        28x28`` and so on: maps ``(D, H, W)`` as D images sharing one colour scale (red
        positive, blue negative, white 0 when the layer has negative values, else
        black 0 to bright), vectors ``(F,)`` as a one-row strip, each row with its
        colour bar; then the class probabilities as bars, the prediction in
        orange and the true class outlined.  The last strip (the scores, one cell
        per class) sits exactly above the bars.  Class names are written across
        when they fit under their cell, else upwards (then only under the bars),
        shortened past 20 characters with an ellipsis;
        the figure grows to hold them.
    """
    truth = _true_label(tour)
    best = tour.prediction
    classes = len(tour.probabilities)
    labels, across, label_height = _class_labels(tour.class_names)
    planes = [("input", tour.image)] + [(m, m.values) for m in tour.maps if np.ndim(m.values) == 3]
    vectors = [m for m in tour.maps if np.ndim(m.values) != 3]
    # The vectors and the bars share one grid, so that their left and right edges line up
    # and each class's bar stands under its score.
    strip_heights = [_VECTOR_ROW] * len(vectors)
    if vectors and across:
        strip_heights[-1] += label_height  # the scores carry the names too
    block = sum(strip_heights) + _BARS_ROW + label_height
    heights = [_MAPS_ROW] * len(planes) + [block]
    figure = Figure(figsize=(_TOUR_WIDTH, sum(heights) + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    # matplotlib's stub types subfigures() as SubFigure | ndarray whatever the grid; two rows or more are an array.
    panels: np.ndarray = figure.subfigures(len(heights), 1, height_ratios=heights)  # type: ignore[assignment]
    for panel, (layer, values) in zip(panels, planes):
        if isinstance(layer, str):
            channels, height, width = values.shape
            colour_kind = {1: "gray", 3: "RGB"}.get(channels, f"{channels} channels")
            label = f"input image: {width}x{height} pixels, {colour_kind}  ({tour.source or 'an image'})"
        else:
            label = _row_title(layer)
        panel.suptitle(label, x=0.005, ha="left", fontsize=TEXT_POINTS + 1.5, fontweight="bold")
        axes = panel.subplots(1, max_maps, squeeze=False)[0]
        if isinstance(layer, str) and values.shape[0] == 3:
            axes[0].imshow(np.clip(np.moveaxis(values, 0, 2), 0, 1), interpolation="nearest")
            shown = 1
            options = None
        else:
            options = {"cmap": "gray", "norm": Normalize(0.0, 1.0)} if isinstance(layer, str) else _signed_or_not(values)
            shown = min(len(values), max_maps)
            for ax, plane in zip(axes, values[:shown]):
                ax.imshow(plane, interpolation="nearest", **options)
        for ax in axes:
            ax.set_axis_off()
        for k, ax in enumerate(axes[:shown]):
            if not isinstance(layer, str):
                ax.set_title(f"#{k}", fontsize=TEXT_POINTS, pad=1)
        if options is not None:
            _map_colour_bar(panel, options, axes, label="pixel" if isinstance(layer, str) else None)
    panel = panels[-1]
    # Ratios of the strips and bars themselves: their titles and tick labels get their own room.
    grid = panel.add_gridspec(
        len(vectors) + 1, 2, width_ratios=list(_STRIP_RATIOS), height_ratios=[0.35] * len(vectors) + [_BARS_ROW - 0.5]
    )
    for row, layer in enumerate(vectors):
        ax, cax = panel.add_subplot(grid[row, 0]), panel.add_subplot(grid[row, 1])
        label = _row_title(layer)
        if layer is tour.maps[-1]:
            order = "" if across else ", in the order of the bars below"
            label += f"  (the score of each class{order}; the softmax turns them into probabilities)"
        ax.set_title(label, loc="left", fontsize=TEXT_POINTS + 1.5, fontweight="bold")
        options = _signed_or_not(layer.values)
        ax.imshow(layer.values[None, :], aspect="auto", interpolation="nearest", **options)
        ax.set_yticks([])
        if layer is tour.maps[-1]:  # the scores: one cell per class, above its bar
            ax.set_xticks(np.arange(len(layer.values)), labels if across else [])
        ax.tick_params(labelsize=TEXT_POINTS, length=2)
        _map_colour_bar(panel, options, cax=cax)
    ax = panel.add_subplot(grid[-1, 0])
    positions = np.arange(classes)
    colours = ["tab:orange" if k == best else "tab:blue" for k in positions]
    bars = ax.bar(positions, tour.probabilities, color=colours)
    predicted = _spoken(tour.class_names[best])
    handles = [Patch(facecolor="tab:orange", label=f"predicted: {predicted!r}")]
    true_name = None if truth is None else _spoken(truth)
    if truth is not None and truth in tour.class_names:
        true_index = tour.class_names.index(truth)
        bars[true_index].set_edgecolor("black")
        bars[true_index].set_linewidth(2.5)
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=2.5, label=f"true class: {true_name!r}"))
    # On the side away from the tall bar, so that it hides none of them.
    side = "upper left" if best >= classes / 2 else "upper right"
    ax.legend(handles=handles, fontsize=_LABEL_POINTS, loc=side)
    ax.set_xticks(positions, labels, fontsize=_LABEL_POINTS, rotation=0 if across else 90)
    ax.set_xlim(-0.5, classes - 0.5)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability", fontsize=_LABEL_POINTS)
    ax.tick_params(axis="y", labelsize=TEXT_POINTS)
    ax.set_title(
        f"softmax: the probability of each of the {classes} classes", loc="left", fontsize=TEXT_POINTS + 1.5, fontweight="bold"
    )
    verdict = f"predicted {predicted!r} (probability {tour.probabilities[best]:.2f})"
    if truth is not None:
        verdict = f"true label {true_name!r}, {verdict}" + ("" if truth == tour.class_names[best] else ": wrong")
    # An image whose class the tour knows is a held-out one (digit:N, photo:N): say so.
    image = tour.source or "an image"
    image = image if truth is None else f"The held-out image {image}"
    figure.suptitle(
        f"{image} through the network, layer by layer: {verdict}",
        fontsize=TEXT_POINTS + 4,
    )
    return figure


# --------------------------------------------------------------------------- the network as volumes

# Colours of the network drawing, by role (the legend names them).
_INPUT_FILL = "#c6dbef"
_MAPS_FILL = "#fdd0a2"
_VECTOR_FILL = "#d9d9d9"
_KERNEL_BOX = KERNEL_BOX_COLOUR  # the kernel box and the value it makes, as in `convfx explain conv --channels`
_POOL_WINDOW = POOL_WINDOW_COLOUR  # the pooling window and the value it makes
# Inches per pixel of a map's side, per unit of a vector, and the room between drawings.
_PIXEL = 0.055
_UNIT = 0.018
_GAP = 1.15


def _planes(ax: Axes, left: float, bottom: float, side_h: float, side_w: float, depth: int, fill: str, name: str) -> float:
    """D maps as squares, the first in front, each further one up and to the right; returns the step between them."""
    step = min(0.1, 0.9 / max(depth, 1))
    for d in reversed(range(depth)):
        patch = Rectangle(
            (left + d * step, bottom + d * step),
            side_w,
            side_h,
            facecolor=fill,
            edgecolor="#444444",
            linewidth=0.8,
            zorder=1 + (depth - d) * 0.01,
        )
        patch.set_gid(f"{name}-plane-{d}")
        ax.add_patch(patch)
    return step


def _operation_words(row: nn_inspect.LayerSummary) -> str | None:
    """What a layer does on the way from one drawn volume to the next, in words (None: nothing to say)."""
    if row.kind == "Conv2d" and row.kernel is not None:
        extra = "" if row.stride is None or row.stride == (1, 1) else f", stride {row.stride[0]}"
        extra += "" if row.padding is None or row.padding == (0, 0) else f", padding {row.padding[0]}"
        return f"{row.kernel[0]}x{row.kernel[1]} convolution{extra}"
    if row.kind in ("MaxPool2d", "AvgPool2d") and row.pool is not None:
        return f"{row.pool[0]}x{row.pool[1]} {'max' if row.kind == 'MaxPool2d' else 'average'} pooling"
    if row.kind == "Flatten":
        return "flatten"
    if row.kind == "Linear":
        return "full connection"
    if row.kind in _LAYER_WORDS and row.kind not in ("BatchNorm1d",):
        return row.kind
    return None


def network_figure(rows: Sequence[nn_inspect.LayerSummary], *, title: str | None = None) -> Figure:
    """A LeNet drawn as its chain of volumes, as in LeCun et al. (1998), from its layers' actual shapes.

    Parameters
    ----------
    rows : sequence of convfx.nn.inspect.LayerSummary
        From :func:`convfx.nn.inspect.summarize`: the ``"input"`` row first.
    title : str, optional
        Default names the input.

    Returns
    -------
    matplotlib.figure.Figure
        The input and every convolution and pooling output as D maps of W x H
        (drawn to scale, width right, height up, depth up and to the right, as in
        :func:`convfx.plots.explain.volume_frame_figure`), labelled ``C1: 6@28x28``
        and so on; at each convolution's input, the kernel box (k x k x D, green)
        it reads, joined to the output cell it fills; at each pooling's input, the
        window (purple) on one map, joined likewise; the fully connected layers as
        bars (``F5: 120``...).  The operations between them are written
        underneath; a legend names the colours and arrows name width, height and
        depth.  Maps have gids ``"<name>-plane-<d>"`` (``input``, ``C1``...),
        kernel boxes ``"kernel-box-<name>"``, pooling windows
        ``"pool-window-<name>"``, bars ``"<name>-bar"``.
    """
    figure = Figure(figsize=(16, 5.6))  # resized to the drawing at the end
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_aspect("equal")
    ax.set_axis_off()

    drawn: list[dict] = []  # each drawn volume or bar: its name, geometry and the operations that led to it
    pending: list[str] = []
    x = 1.4  # right of the key naming the directions
    baseline = 0.0
    for row in rows:
        words = _operation_words(row) if row.name != "input" else None
        if words:
            pending.append(words)  # in the order the layers apply them
        if row.name != "input" and not row.lenet_name:
            continue
        name = row.lenet_name or "input"
        if len(row.output_shape) == 3:
            depth, height, width = row.output_shape
            side_h, side_w = height * _PIXEL, width * _PIXEL
            fill = _INPUT_FILL if name == "input" else _MAPS_FILL
            step = _planes(ax, x, baseline, side_h, side_w, depth, fill, name)
            extent = side_w + step * (depth - 1)
            top = baseline + side_h + step * (depth - 1)
            drawn.append(
                {
                    "row": row,
                    "name": name,
                    "left": x,
                    "width": extent,
                    "top": top,
                    "side": (side_h, side_w),
                    "step": step,
                    "depth": depth,
                    "ops": pending,
                }
            )
        else:
            (units,) = row.output_shape
            bar_h = max(units * _UNIT, 0.3)
            patch = Rectangle((x, baseline), 0.22, bar_h, facecolor=_VECTOR_FILL, edgecolor="#444444", linewidth=0.8)
            patch.set_gid(f"{name}-bar")
            ax.add_patch(patch)
            extent, top = 0.22, baseline + bar_h
            drawn.append({"row": row, "name": name, "left": x, "width": extent, "top": top, "ops": pending})
        label = f"{name}: {row.shape}" if name != "input" else f"input: {row.shape}"
        ax.text(x + extent / 2, top + 0.12, label, ha="center", va="bottom", fontsize=TEXT_POINTS + 2.5, fontweight="bold")
        pending = []
        x += extent + _GAP + (0.35 if len(row.output_shape) == 1 else 0.0)

    # What happens between two drawings, and where a kernel or a pooling window reads.
    for before, after in zip(drawn, drawn[1:]):
        middle = (before["left"] + before["width"] + after["left"]) / 2
        ax.text(middle, -0.15, ",\nthen ".join(after["ops"]), ha="center", va="top", fontsize=TEXT_POINTS + 1)
        row = after["row"]
        if "side" in before and "side" in after and row.kind in ("Conv2d", "MaxPool2d", "AvgPool2d"):
            k = row.kernel if row.kind == "Conv2d" else row.pool
            colour = _KERNEL_BOX if row.kind == "Conv2d" else _POOL_WINDOW
            gid = f"{'kernel-box' if row.kind == 'Conv2d' else 'pool-window'}-{after['name']}"
            side_h, side_w = before["side"]
            size = (k[1] * _PIXEL, k[0] * _PIXEL)
            # The window near the top-left of the front map, and its box through all the maps.
            corner = (
                before["left"] + 0.25 * side_w,
                before["top"] - before["step"] * (before["depth"] - 1) - 0.2 * side_h - size[1],
            )
            # A kernel reads every map, a box through the volume; a pooling window reads one map.
            depth_shift = before["step"] * (before["depth"] - 1) if row.kind == "Conv2d" else 0.0
            for shift in {depth_shift, 0.0}:
                rect = Rectangle(
                    (corner[0] + shift, corner[1] + shift),
                    size[0],
                    size[1],
                    fill=False,
                    edgecolor=colour,
                    linewidth=2.0,
                    zorder=5,
                )
                rect.set_gid(gid)
                ax.add_patch(rect)
            for dx, dy in ((0, 0), (size[0], 0), (0, size[1]), (size[0], size[1])) if depth_shift else ():
                (line,) = ax.plot(
                    [corner[0] + dx, corner[0] + dx + depth_shift],
                    [corner[1] + dy, corner[1] + dy + depth_shift],
                    color=colour,
                    linewidth=1.4,
                    zorder=5,
                )
                line.set_gid(gid)
            # ... joined to the one value it makes in the next volume's front map.
            a_h, a_w = after["side"]
            target = (
                after["left"] + 0.25 * a_w + 0.5 * _PIXEL,
                after["top"] - after["step"] * (after["depth"] - 1) - 0.2 * a_h - 0.5 * _PIXEL,
            )
            for dx, dy in ((size[0], 0), (size[0], size[1])):
                ax.plot(
                    [corner[0] + dx, target[0]],
                    [corner[1] + dy, target[1]],
                    color=colour,
                    linewidth=1.0,
                    linestyle=(0, (4, 2)),
                    zorder=5,
                )
            ax.add_patch(
                Rectangle((target[0] - 0.5 * _PIXEL, target[1] - 0.5 * _PIXEL), _PIXEL, _PIXEL, facecolor=colour, zorder=6)
            )
            what = f"{k[0]}x{k[1]}x{before['depth']} kernel" if row.kind == "Conv2d" else f"{k[0]}x{k[1]} window"
            ax.text(
                corner[0] + size[0] / 2,
                corner[1] - 0.05,
                what,
                ha="center",
                va="top",
                fontsize=TEXT_POINTS,
                color=colour,
                zorder=6,
            )
        elif "side" not in after:
            # Every unit of a fully connected layer reads every value before it.
            for y in (0.0, before["top"]):
                ax.plot(
                    [before["left"] + before["width"], after["left"]],
                    [y, after["top"] / 2],
                    color="#999999",
                    linewidth=0.6,
                    zorder=0,
                )

    # Arrows naming the directions, beside the input: the same key as the layer's exploded view.
    draw_axes_key(ax, (0.05, 0.0), length=0.55, fontsize=TEXT_POINTS)
    first = drawn[0]
    right = drawn[-1]["left"] + drawn[-1]["width"] + 0.6
    top = max(d["top"] for d in drawn) + 0.45
    bottom = -0.75
    ax.set_xlim(-0.1, right)
    ax.set_ylim(bottom, top)
    handles = [
        Patch(facecolor=_INPUT_FILL, edgecolor="#444444", label=f"input image ({first['row'].shape}: channels@width x height)"),
        Patch(facecolor=_MAPS_FILL, edgecolor="#444444", label="feature maps (depth@width x height)"),
        Patch(facecolor="none", edgecolor=_KERNEL_BOX, linewidth=2, label=f"{KERNEL_BOX_WORDS}, and the output cell it fills"),
        Patch(
            facecolor="none",
            edgecolor=_POOL_WINDOW,
            linewidth=2,
            label="pooling window: k x k on one map, and the output cell it fills",
        ),
        Patch(facecolor=_VECTOR_FILL, edgecolor="#444444", label="fully connected layer (units)"),
    ]
    figure.legend(handles=handles, loc="lower center", ncol=3, fontsize=TEXT_POINTS + 1, frameon=False)
    figure.suptitle(title or f"LeNet-5 as a chain of volumes, input {first['row'].shape}", fontsize=TEXT_POINTS + 4)
    # The axes' data units are inches: the figure is the drawing, a title above and the legend below.
    legend, heading = 0.7, 0.45
    width, height = right + 0.1, top - bottom
    figure.set_size_inches(width, height + legend + heading)
    ax.set_position((0, legend / (height + legend + heading), 1, height / (height + legend + heading)))
    return figure


def save_network_figure(
    rows: Sequence[nn_inspect.LayerSummary], path: str | os.PathLike, *, title: str | None = None, overwrite: bool = False
) -> Path:
    """Draw :func:`network_figure` to ``path`` (.png, .svg, .pdf).

    Parameters
    ----------
    rows : sequence of LayerSummary
    path : str or path-like
    title : str, optional
    overwrite : bool, optional

    Returns
    -------
    Path
        ``path``.
    """
    return save_figure(network_figure(rows, title=title), path, overwrite=overwrite)


def save_tour(tour: nn_inspect.Tour, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Draw :func:`tour_figure` to ``path`` (.png, .svg, .pdf).

    Parameters
    ----------
    tour : Tour
    path : str or path-like
    overwrite : bool, optional

    Returns
    -------
    Path
        ``path``.
    """
    return save_figure(tour_figure(tour), path, overwrite=overwrite)
