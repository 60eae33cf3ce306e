"""Commands that filter images: ``apply``, ``filters``, ``show``.

Each command parses its options, calls one library function and reports; the
maths lives in :mod:`convfx.effects`, reading and writing one file in
:mod:`convfx.render`, the kernels in :mod:`convfx.banks` and the drawings in
:mod:`convfx.plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import banks, batch, effects, imageio, render, steps
from .app import EXIT_FAILED, EXIT_USAGE, app, console, fail, reporting_errors, say, warn
from .options import (
    EFFECT_HELP,
    Boundary,
    BoundaryOption,
    GrayOption,
    MaxPixelsOption,
    MemoryBudgetOption,
    RangeOption,
    library_default,
)

# The default of the library function the command calls.
_DEFAULT_BOUNDARY = Boundary(library_default(render.render_file, "boundary"))


@app.command("apply")
def apply_command(
    effect: Annotated[str, typer.Argument(metavar="EFFECT", help=EFFECT_HELP, show_default=False)],
    inputs: Annotated[
        list[Path],
        # readable=False: convfx reports an unreadable file itself, in one line (exit 1).
        typer.Argument(
            metavar="INPUT", help="Image file to filter (JPEG, PNG, TIFF, BMP, WebP).", show_default=False, readable=False
        ),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            help="Output image; its suffix picks the format. Default: <stem>_<effect>.png next to INPUT.",
            show_default=False,
        ),
    ] = None,
    boundary: BoundaryOption = _DEFAULT_BOUNDARY,
    output_range: RangeOption = None,
    gray: GrayOption = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite OUTPUT if it exists (never the input).")] = False,
    max_pixels: MaxPixelsOption = imageio.DEFAULT_MAX_PIXELS,
    memory_budget: MemoryBudgetOption = batch.format_byte_size(library_default(render.render_file, "memory_budget")),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No 'wrote' line and no warnings (errors still go to stderr).")
    ] = False,
) -> None:
    """Apply a named filter, a chain or your own kernel to an image.

    Examples:

        convfx apply sobel samples/chelsea.jpg     (writes samples/chelsea_sobel.png)

        convfx apply gaussian_blur,sobel photo.jpg -o edges.png --range normalize

        convfx apply canny:sigma=2,low=0.05 photo.jpg     (a 0/255 edge map)

        convfx apply "3x3: 0,-1,0 -1,5,-1 0,-1,0" photo.png --gray

        convfx apply kirsch big.tif --memory-budget 256MB     (filtered in strips, same result)
    """
    with reporting_errors():
        if len(inputs) != 1:
            fail(
                f"INPUT: expected one image file, found {len(inputs)}; for several files or folders use "
                "`convfx batch EFFECT INPUTS... -o OUTDIR`",
                EXIT_USAGE,
            )
        budget = batch.parse_byte_size(memory_budget)
        try:
            written = render.render_file(
                inputs[0],
                output,
                effect,
                boundary=boundary.value,
                output_range=None if output_range is None else output_range.value,
                gray=gray,
                max_pixels=max_pixels,
                overwrite=force,
                memory_budget=budget,
                warn=None if quiet else warn,
            )
        except MemoryError:
            # One line, as for any file that fails; the budget bounds only the filtering.
            fail(
                f"{inputs[0]}: not enough memory to render it "
                "(a lower --memory-budget helps when filtering is what does not fit)",
                EXIT_FAILED,
            )
    if not quiet:
        say(f"wrote {written}")


@app.command("filters")
def filters_command(
    family: Annotated[
        Optional[str],
        typer.Option(help="Only this bank: basic, blur, edges, sharpen or stylize.", show_default=False),
    ] = None,
) -> None:
    """List every named filter and edge detector with its family, size and description.

    Detectors (canny, marr_hildreth) are non-linear: their size column says
    "detector" and `convfx show NAME` lists their parameters.

    Example:

        convfx filters --family edges
    """
    from rich.table import Table  # only this command draws a table

    with reporting_errors():
        filters = banks.list_filters(family)
    detectors = {item.name: item for item in steps.list_detectors(family)}
    # One list in (family, name) order, so detectors sit with the filters of their family.
    rows: list[banks.Filter | steps.Detector] = sorted(
        [*filters, *detectors.values()], key=lambda item: (item.family, item.name)
    )
    table = Table(title="convfx filters", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("family")
    table.add_column("size", no_wrap=True)
    table.add_column("range")
    table.add_column("description")
    for item in rows:
        size = "detector" if isinstance(item, steps.Detector) else item.size_label
        table.add_row(item.name, item.family, size, item.output_range, item.description)
    console.print(table)


@app.command("show")
def show_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A filter name, or any EFFECT that `convfx apply` takes.", show_default=False)
    ],
    plot: Annotated[
        Optional[Path],
        typer.Option(help="Also draw the kernel(s) to this file (.png, .svg, .pdf), with a colour bar.", show_default=False),
    ] = None,
    scale: Annotated[
        Optional[str],
        typer.Option(
            help="--plot colours: 'shared' (one scale for every kernel, so weak kernels look weak; the default) "
            "or 'per-kernel' (each kernel stretched to its own largest weight).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """Print a filter's kernels exactly as they touch the pixels (after any flip).

    Examples:

        convfx show sobel

        convfx show gaussian_blur:sigma=1.5 --plot gaussian.png

        convfx show gaussian_blur,sobel --plot chain.png --scale per-kernel
    """
    with reporting_errors():
        effect = effects.parse_effect(name)
        text = "\n\n".join(effects.format_step(step) for step in effect.steps)
        written = None
        if plot is not None:
            from .. import plots  # matplotlib is slow to import; only --plot needs it

            # None: the library's own default scale.
            options = {} if scale is None else {"scale": scale}
            written = plots.save_kernel_plot(effect, plot, overwrite=force, **options)
    say(text)
    if written is not None:
        say(f"wrote {written}")
