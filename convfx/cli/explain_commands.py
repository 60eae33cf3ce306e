"""Commands that draw how an operation works, stage by stage: the ``explain`` group.

``convfx explain canny`` draws every stage of the Canny detector, ``explain conv``
a kernel sliding over an input (in 3-D with ``--channels``/``--filters``) and
``explain pool`` a pooling window; the group is a typer sub-app.  Each command parses its options, calls one function of
:mod:`convfx.plots` and reports; the maths lives in :mod:`convfx.edges` (canny) and
:mod:`convfx.explain` (conv, pool).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import edges, explain, imageio
from .app import Command, Group, Input, app, reporting_errors, say
from .options import FORCE_HELP, Boundary, Choice, MaxPixelsOption, choices, library_default

explain_app = typer.Typer(
    name="explain",
    cls=Group,
    help="Draw how an operation works, stage by stage, to an image file.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(explain_app, name="explain")

if TYPE_CHECKING:
    CannyMode = Choice
    PoolMode = Choice
else:
    CannyMode = choices("CannyMode", edges.CANNY_MODES)
    PoolMode = choices("PoolMode", explain.POOL_MODES)


def _canny_threshold_help(index: int) -> str:
    """``"Default: 0.1 (0.8 with --quantile)."``, from the library's two pairs of thresholds."""
    return f"Default: {edges.CANNY_THRESHOLDS[index]:g} ({edges.CANNY_QUANTILES[index]:g} with --quantile)."


@explain_app.command("canny", cls=Command)
def canny_command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="Image to detect edges in (JPEG, PNG, TIFF, BMP, WebP).", show_default=False, readable=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Figure to write (.png, .svg, .pdf). Default: <stem>_canny_stages.png next to INPUT.",
            show_default=False,
        ),
    ] = None,
    sigma: Annotated[float, typer.Option(help="Gaussian smoothing in pixels (0: none).")] = library_default(edges.canny, "sigma"),
    low: Annotated[
        float | None,
        typer.Option(
            help="Weak-edge threshold, a fraction of full scale (or a quantile).  " + _canny_threshold_help(0),
            show_default=False,
        ),
    ] = library_default(edges.canny, "low"),
    high: Annotated[
        float | None,
        typer.Option(help="Strong-edge threshold.  " + _canny_threshold_help(1), show_default=False),
    ] = library_default(edges.canny, "high"),
    quantile: Annotated[
        bool, typer.Option("--quantile/--absolute", help="Read --low/--high as quantiles of the gradient magnitude.")
    ] = library_default(edges.canny, "quantile"),
    mode: Annotated[
        CannyMode, typer.Option(help="Colour: edges of the luminance, or of the strongest channel per pixel.")
    ] = CannyMode(library_default(edges.canny, "mode")),
    boundary: Annotated[Boundary, typer.Option(help="How pixels beyond the border are made.")] = Boundary(
        library_default(edges.canny, "boundary")
    ),
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
    max_pixels: MaxPixelsOption = imageio.DEFAULT_MAX_PIXELS,
) -> None:
    """Draw every stage of the Canny edge detector on an image.

    Smoothed, gx, gy, magnitude, direction, after non-maximum suppression,
    strong/weak pixels and the final edges.  The options are the parameters of the
    canny effect of `convfx apply`, with the same defaults.

    Examples:

        convfx explain canny samples/chelsea.jpg -o stages.png

        convfx explain canny photo.jpg --sigma 2 --low 0.8 --high 0.95 --quantile
    """
    from .. import plots  # matplotlib is slow to import; only this command needs it

    with reporting_errors(Input(source, "an image file"), destination="--output"):
        written = plots.save_canny_stages(
            source,
            output,
            overwrite=force,
            max_pixels=max_pixels,
            sigma=sigma,
            low=low,
            high=high,
            quantile=quantile,
            mode=mode.value,
            boundary=boundary.value,
        )
    say(f"wrote {written}")


# Sizes are validated by convfx.explain, not by typer, so that the message can say
# what the other options make possible (a padding below the kernel's side, ...).
_EXPLAIN_OUTPUT_HELP = "A .gif animation (one frame per output cell) or a .png/.svg/.pdf strip of every step."
_PIXELS = f"random integers {explain.PIXEL_VALUES[0]}..{explain.PIXEL_VALUES[1] - 1}"
_WEIGHTS = f"{explain.WEIGHT_VALUES[0]}..{explain.WEIGHT_VALUES[1] - 1}"
_MILLISECONDS_HELP = "GIF: time per frame in milliseconds (the last is held 3x)."


def _conv_default(name: str) -> Any:
    return library_default(explain.explain_conv, name)


def _pool_default(name: str) -> Any:
    return library_default(explain.explain_pool, name)


@explain_app.command("conv", cls=Command)
def conv_command(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help=_EXPLAIN_OUTPUT_HELP)] = Path("conv.gif"),
    size: Annotated[int, typer.Option(help=f"Side n of the square input (1..{explain.MAX_SIZE}), {_PIXELS}.")] = _conv_default(
        "size"
    ),
    kernel: Annotated[int, typer.Option(help=f"Side k of the square kernel, random integers {_WEIGHTS}.")] = _conv_default(
        "kernel"
    ),
    stride: Annotated[int, typer.Option(help="Step s between window positions.")] = _conv_default("stride"),
    padding: Annotated[int, typer.Option(help="Zeros p added on every side (0..k-1).")] = _conv_default("padding"),
    flip: Annotated[
        bool,
        typer.Option(
            "--flip/--no-flip",
            help="Convolution (kernel rotated 180 degrees), shown next to cross-correlation of the same numbers.",
        ),
    ] = _conv_default("flip"),
    bias: Annotated[
        float | None,
        typer.Option(
            help=f"Added to every sum, as a CNN layer adds its b.  Default: seeded integers in {_WEIGHTS}.", show_default=False
        ),
    ] = _conv_default("bias"),
    channels: Annotated[
        int | None,
        typer.Option(
            help=f"Draw the layer in 3-D: an input of this depth C (1..{explain.MAX_CHANNELS}) and kernels of "
            f"k x k x C, summed over depth.  Default with --filters: "
            f"{library_default(explain.explain_volume, 'channels')}.",
            show_default=False,
        ),
    ] = None,
    filters: Annotated[
        int | None,
        typer.Option(
            help=f"3-D: this many kernels F (1..{explain.MAX_FILTERS}), the depth of the output.  Default with "
            f"--channels: {library_default(explain.explain_volume, 'filters')}.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the input, the kernel(s) and the bias.")] = _conv_default("seed"),
    milliseconds: Annotated[int, typer.Option(help=_MILLISECONDS_HELP)] = explain.FRAME_MILLISECONDS,
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
) -> None:
    """Animate a kernel sliding over a padded input: window, products, bias, output cell, size formula.

    With --channels or --filters, the layer in 3-D: the input as C stacked
    channels, a k x k x C kernel box summed over all of them plus the bias into
    one value, and F kernels filling an output of depth F.  The numbers come
    from convfx's own correlate/convolve.

    Examples:

        convfx explain conv --size 7 --kernel 3 --stride 2 --padding 1 -o conv.gif

        convfx explain conv --flip -o flip.png

        convfx explain conv --channels 3 --filters 2 --size 5 -o layer.gif
    """
    from .. import plots  # matplotlib is slow to import; only this command needs it

    with reporting_errors(path="--output"):
        steps: explain.Explanation | explain.VolumeExplanation
        if channels is None and filters is None:
            steps = explain.explain_conv(
                size=size, kernel=kernel, stride=stride, padding=padding, flip=flip, bias=bias, seed=seed
            )
        else:
            # An option left out takes the library's default depth.
            steps = explain.explain_volume(
                size=size,
                kernel=kernel,
                stride=stride,
                padding=padding,
                channels=library_default(explain.explain_volume, "channels") if channels is None else channels,
                filters=library_default(explain.explain_volume, "filters") if filters is None else filters,
                flip=flip,
                bias=bias,
                seed=seed,
            )
        written = plots.save_explanation(steps, output, overwrite=force, milliseconds=milliseconds)
    _report(steps, written)


@explain_app.command("pool", cls=Command)
def pool_command(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help=_EXPLAIN_OUTPUT_HELP)] = Path("pool.gif"),
    mode: Annotated[PoolMode, typer.Option(help="The largest value of each window, or their mean.")] = PoolMode(
        _pool_default("mode")
    ),
    size: Annotated[int, typer.Option(help=f"Side n of the square input (1..{explain.MAX_SIZE}), {_PIXELS}.")] = _pool_default(
        "size"
    ),
    kernel: Annotated[int, typer.Option(help="Side k of the pooling window.")] = _pool_default("kernel"),
    stride: Annotated[
        int | None, typer.Option(help="Step s between windows.  Default: the window size.", show_default=False)
    ] = _pool_default("stride"),
    seed: Annotated[int, typer.Option(help="Seeds the input.")] = _pool_default("seed"),
    milliseconds: Annotated[int, typer.Option(help=_MILLISECONDS_HELP)] = explain.FRAME_MILLISECONDS,
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
) -> None:
    """Animate a pooling window (max or average) sliding over an input, one output cell per frame.

    The numbers come from the network's own MaxPool2d/AvgPool2d.

    Examples:

        convfx explain pool --mode max -o pool.gif

        convfx explain pool --mode avg --size 7 --kernel 3 --stride 2 -o pool.png
    """
    from .. import plots  # matplotlib is slow to import; only this command needs it

    with reporting_errors(path="--output"):
        steps = explain.explain_pool(size=size, kernel=kernel, stride=stride, mode=mode.value, seed=seed)
        written = plots.save_explanation(steps, output, overwrite=force, milliseconds=milliseconds)
    _report(steps, written)


def _report(steps: explain.Explanation | explain.VolumeExplanation, written: Path) -> None:
    """One line: what was explained and where it went."""
    shape = "x".join(str(n) for n in steps.output.shape)
    say(f"{steps.operation}: {len(steps.steps)} steps, output {shape}; wrote {written}")
