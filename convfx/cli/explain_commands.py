"""Commands that draw how an operation works, stage by stage: the ``explain`` group.

``convfx explain canny`` draws every stage of the Canny detector; the group is a
typer sub-app so that later operations (``explain conv``, ``explain pool``) join it
as sibling commands.  Each command parses its options, calls one function of
:mod:`convfx.plots` and reports; the maths lives in :mod:`convfx.edges`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import edges, imageio
from .app import app, console, reporting_errors
from .image_commands import Boundary

explain_app = typer.Typer(
    name="explain",
    help="Draw how an operation works, stage by stage, to an image file.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(explain_app, name="explain")

CannyMode = enum.Enum("CannyMode", {name: name for name in edges.CANNY_MODES}, type=str)  # type: ignore[misc]


@explain_app.command("canny")
def canny_command(
    source: Annotated[
        Path, typer.Argument(metavar="INPUT", help="Image to detect edges in (JPEG, PNG, TIFF, BMP, WebP).", show_default=False)
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            help="Figure to write (.png, .svg, .pdf). Default: <stem>_canny_stages.png next to INPUT.",
            show_default=False,
        ),
    ] = None,
    sigma: Annotated[float, typer.Option(help="Gaussian smoothing in pixels (0: none).")] = 1.0,
    low: Annotated[
        Optional[float],
        typer.Option(help="Weak-edge threshold, a fraction of full scale (default 0.1; 0.8 with --quantile).", show_default=False),
    ] = None,
    high: Annotated[
        Optional[float],
        typer.Option(help="Strong-edge threshold (default 0.2; 0.9 with --quantile).", show_default=False),
    ] = None,
    quantile: Annotated[
        bool, typer.Option("--quantile/--absolute", help="Read --low/--high as quantiles of the gradient magnitude.")
    ] = False,
    mode: Annotated[
        CannyMode, typer.Option(help="Colour: edges of the luminance, or of the strongest channel per pixel.")
    ] = CannyMode("luminance"),
    boundary: Annotated[Boundary, typer.Option(help="How pixels beyond the border are made.")] = Boundary("reflect"),
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite OUTPUT if it exists.")] = False,
    max_pixels: Annotated[
        int, typer.Option(min=1, help="Refuse larger images before decoding them (decompression-bomb guard).")
    ] = imageio.DEFAULT_MAX_PIXELS,
) -> None:
    """Draw every stage of the Canny edge detector on an image.

    Smoothed, gx, gy, magnitude, direction, after non-maximum suppression,
    strong/weak pixels and the final edges, with the same parameters as
    `convfx apply canny:sigma=2,low=0.05`.

    Examples:

        convfx explain canny samples/chelsea.jpg -o stages.png

        convfx explain canny photo.jpg --sigma 2 --low 0.8 --high 0.95 --quantile
    """
    from .. import plots  # matplotlib is slow to import; only this command needs it

    with reporting_errors():
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
    console.print(f"wrote {written}", markup=False, highlight=False, soft_wrap=True)
