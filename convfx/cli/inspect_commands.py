"""Commands that look inside a trained LeNet: ``summary`` and ``tour``.

Each command parses its options, calls :mod:`convfx.nn.inspect` (and, for the
pictures, :func:`convfx.plots.save_network_figure` and :func:`convfx.plots.save_tour`) and reports; the layer shapes, counts and
activations are computed there, never here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import imageio
from .app import Command, app, console, model_input, reporting_errors, say
from .options import DEFAULT_MODEL_HELP, FORCE_HELP, SHIPPED_MODELS_HELP, MaxPixelsOption

_MODEL_HELP = f"A model file from `convfx train`, or {SHIPPED_MODELS_HELP} (the shipped models).  {DEFAULT_MODEL_HELP}"


def _pair(value: tuple[int, int] | None, *, square: bool = False) -> str:
    """``(5, 5)`` -> ``"5x5"`` (square) or ``"5"``; unequal pairs as ``"3x5"``; None -> ``""``."""
    if value is None:
        return ""
    if value[0] == value[1] and not square:
        return str(value[0])
    return f"{value[0]}x{value[1]}"


@app.command("summary", cls=Command)
def summary_command(
    model_path: Annotated[
        Path | None, typer.Argument(metavar="MODEL", help=_MODEL_HELP, show_default=False, readable=False)
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also draw the network as its chain of volumes (D@WxH, kernel boxes, fully connected bars) "
            "to this file (.png, .svg, .pdf).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """Each layer of a LeNet with its output shape (D@WxH), hyper-parameters and parameter count.

    The table is read from the model file; --plot draws the same chain of layers.

    Examples:

        convfx summary

        convfx summary shapes  # the shipped shapes model

        convfx summary model.npz --plot lenet.png
    """
    from ..models import resolve_model
    from ..nn import inspect as nn_inspect
    from .tables import Column, print_table

    with reporting_errors(model_input(model_path), model="MODEL", path="MODEL"):
        model = nn_inspect.load_model(model_path)
        rows = nn_inspect.summarize(model)
        total = nn_inspect.total_parameters(model)
        written = None
        if plot is not None:
            from .. import plots  # matplotlib is slow to import; only --plot needs it

            name = resolve_model(model_path).name
            title = f"{name}: LeNet-5 as a chain of volumes, input {rows[0].shape}"
            written = plots.save_network_figure(rows, plot, title=title, overwrite=force)
    source = resolve_model(model_path)  # the file that was read
    columns = [
        Column("layer"),
        Column("type"),
        Column("output", justify="right"),
        Column("kernel", justify="right"),
        Column("stride", justify="right"),
        Column("pad", justify="right"),
        Column("pool", justify="right"),
        Column("params", justify="right"),
    ]
    cells = [
        [
            f"{row.name} ({row.lenet_name})" if row.lenet_name else row.name,
            row.kind,
            row.shape,
            _pair(row.kernel, square=True),
            _pair(row.stride),
            _pair(row.padding),
            _pair(row.pool, square=True),
            f"{row.parameters:,}" if row.parameters else "-",
        ]
        for row in rows
    ]
    footer = ["total", "", "", "", "", "", "", f"{total:,}"]
    say(f"{source}: LeNet-5, {model.activation}, {model.pooling} pooling")
    print_table(console, columns, cells, footer=footer, compact=True)
    classes = ", ".join(model.class_names)
    say(
        f"input {model.in_channels}@32x32 ({'gray' if model.in_channels == 1 else 'RGB'}), "
        f"{model.num_classes} classes: {classes}; {total:,} trainable parameters"
    )
    if written is not None:
        say(f"wrote {written}")


@app.command("tour", cls=Command)
def tour_command(
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            "-i",
            metavar="IMAGE",
            help="A photo (resized to 32x32; gray for a gray model), digit:N (the N-th held-out bundled digit) "
            "or photo:N (the N-th held-out patch of the bundled photos).  Default: a held-out image of the data "
            "the model was trained on (photos, digits).",
            show_default=False,
        ),
    ] = None,
    model_path: Annotated[
        Path | None, typer.Argument(metavar="MODEL", help=_MODEL_HELP, show_default=False, readable=False)
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Figure to write (.png, .svg, .pdf).")] = Path(
        "tour.png"
    ),
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
    max_pixels: MaxPixelsOption = imageio.DEFAULT_MAX_PIXELS,
) -> None:
    """Run one image through a LeNet and draw every layer's feature maps, then the softmax.

    The figure follows the image from the 32x32 input the network sees, through
    every layer as the network computes it, to the probability of each class.

    Examples:

        convfx tour  # the photos model on a held-out photo patch

        convfx tour digits --image digit:7 -o tour.png

        convfx tour shapes --image samples/rocket.jpg -o rocket_tour.png
    """
    from .. import plots  # matplotlib is slow to import; only this command needs it
    from ..nn import inspect as nn_inspect

    with reporting_errors(model_input(model_path), model="MODEL", path="MODEL", plot="--output"):
        plots.check_figure_path(output, name="output")
        result = nn_inspect.tour_file(model_path, image, max_pixels=max_pixels)
        written = plots.save_tour(result, output, overwrite=force)
    best = result.prediction
    truth = "" if result.true_label is None else f", true label {result.true_label!r}"
    say(f"{result.source}: predicted {result.class_names[best]!r} (p = {result.probabilities[best]:.2f}){truth}; wrote {written}")
