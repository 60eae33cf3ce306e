"""Commands that filter images: ``apply``, ``filters``, ``show``.

Each command parses its options, calls one library function and reports; the
maths lives in :mod:`convfx.effects`, reading and writing one file in
:mod:`convfx.render`, the kernels in :mod:`convfx.banks` and the drawings in
:mod:`convfx.plots`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import banks, batch, effects, render, steps
from .app import EXIT_FAILED, EXIT_USAGE, Command, Input, app, console, fail, reporting_errors, say, warn
from .options import (
    DEFAULT_KERNEL_SCALE,
    EFFECT_HELP,
    Boundary,
    BoundaryOption,
    Choice,
    GrayOption,
    KernelScale,
    MaxPixelsOption,
    MemoryBudgetOption,
    RangeOption,
    choices,
    library_default,
)

# The default of the library function the command calls.
_DEFAULT_BOUNDARY = Boundary(library_default(render.render_file, "boundary"))

# The families of the shipped filters and detectors, as the registry has them.
_FAMILIES = sorted({item.family for item in banks.list_filters()} | {item.family for item in steps.list_detectors()})
if TYPE_CHECKING:
    Family = Choice
else:
    Family = choices("Family", _FAMILIES)


@app.command("apply", cls=Command)
def apply_command(
    effect: Annotated[str, typer.Argument(metavar="EFFECT", help=EFFECT_HELP, show_default=False)],
    source: Annotated[
        Path,
        # readable=False: convfx reports an unreadable file itself, in one line (exit 1); a missing one,
        # a folder or a FIFO is a usage error (exit 2).
        typer.Argument(
            metavar="INPUT",
            help="The image file to filter (JPEG, PNG, TIFF, BMP, WebP); for a folder or several files, `convfx batch`.",
            show_default=False,
            readable=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Output image; its suffix picks the format. Default: <stem>_<effect>.png next to INPUT.",
            show_default=False,
        ),
    ] = None,
    boundary: BoundaryOption = _DEFAULT_BOUNDARY,
    output_range: RangeOption = None,
    gray: GrayOption = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite OUTPUT if it exists (never the input).")] = False,
    max_pixels: MaxPixelsOption = library_default(render.render_file, "max_pixels"),
    memory_budget: MemoryBudgetOption = batch.format_byte_size(library_default(render.render_file, "memory_budget")),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No 'wrote' line and no warnings (errors still go to stderr).")
    ] = False,
) -> None:
    """Apply a named filter, a chain or your own kernel to an image.

    One image in, one image out, written atomically; the input is never modified.
    `convfx batch` takes the same EFFECT and options for whole folders.

    Examples:

        convfx apply sobel samples/chelsea.jpg  # writes samples/chelsea_sobel.png

        convfx apply gaussian_blur,sobel photo.jpg -o edges.png --range normalize

        convfx apply canny:sigma=2,low=0.05 photo.jpg  # a 0/255 edge map

        convfx apply "3x3: 0,-1,0 -1,5,-1 0,-1,0" photo.png --gray

        convfx apply kirsch big.tif --memory-budget 256MB  # strips, same result
    """
    if os.path.isdir(source):
        fail(
            f"INPUT: {source} is a folder, expected an image file; to filter every image in it use "
            f"`convfx batch {shlex.quote(effect)} {shlex.quote(str(source))} -o OUTDIR`",
            EXIT_USAGE,
        )
    with reporting_errors(Input(source, "an image file"), source="INPUT", destination="--output"):
        budget = batch.parse_byte_size(memory_budget)
        try:
            written = render.render_file(
                source,
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
                f"{source}: not enough memory to render it (a lower --memory-budget helps when filtering is what does not fit)",
                EXIT_FAILED,
            )
    if not quiet:
        say(f"wrote {written}")


@app.command("filters", cls=Command)
def filters_command(
    family: Annotated[Family | None, typer.Option(help="Only the filters of this family.", show_default=False)] = None,
) -> None:
    """List every named filter and edge detector with its family, size and description.

    Edge detectors are non-linear: their size column says "detector", and
    `convfx show NAME` lists their parameters.

    Examples:

        convfx filters

        convfx filters --family edges
    """
    from .tables import Column, print_table  # only the commands that print a table need it

    with reporting_errors():
        filters = banks.list_filters(None if family is None else family.value)
    detectors = {item.name: item for item in steps.list_detectors(None if family is None else family.value)}
    # One list in (family, name) order, so detectors sit with the filters of their family.
    items: list[banks.Filter | steps.Detector] = sorted(
        [*filters, *detectors.values()], key=lambda item: (item.family, item.name)
    )
    columns = [Column("name", style="bold"), Column("family"), Column("size"), Column("range"), Column("description")]
    rows = [
        [
            item.name,
            item.family,
            "detector" if isinstance(item, steps.Detector) else item.size_label,
            item.output_range,
            item.description,
        ]
        for item in items
    ]
    print_table(console, columns, rows, title="convfx filters")


@app.command("show", cls=Command)
def show_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A filter name, or any EFFECT that `convfx apply` takes.", show_default=False)
    ],
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Also draw the kernel(s) to this file (.png, .svg, .pdf), with a colour bar.", show_default=False
        ),
    ] = None,
    scale: Annotated[
        KernelScale,
        typer.Option(
            help="--plot colours: shared (one scale for every kernel, so weak kernels look weak) "
            "or per-kernel (each kernel stretched to its own largest weight).",
        ),
    ] = DEFAULT_KERNEL_SCALE,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """Print a filter's kernels exactly as they touch the pixels (after any flip).

    A chain prints each step's kernels in order; a detector prints its parameters.

    Examples:

        convfx show sobel

        convfx show gaussian_blur:sigma=1.5 --plot gaussian.png

        convfx show gaussian_blur,sobel --plot chain.png --scale per-kernel
    """
    with reporting_errors(effect="NAME", path="--plot"):
        effect = effects.parse_effect(name)
        text = "\n\n".join(effects.format_step(step) for step in effect.steps)
        written = None
        if plot is not None:
            from .. import plots  # matplotlib is slow to import; only --plot needs it

            written = plots.save_kernel_plot(effect, plot, scale=scale.value, overwrite=force)
    say(text)
    if written is not None:
        say(f"wrote {written}")
