"""Command-line options that several commands share, written once.

The effect argument's help, the choices of ``--boundary`` and ``--range`` as typer
enums, and the effect options of ``apply`` and ``batch``, so that both commands
read the same.  Defaults come from the library (:func:`library_default`), never
from a table of the CLI's own.

This module must not import the network, matplotlib or anything slow: every
command module imports it to build the command line.
"""

from __future__ import annotations

import enum
import inspect
from typing import Annotated, Any, Callable, Optional

import typer

from ..ranges import OUTPUT_RANGES
from ..conv import BOUNDARIES

__all__ = [
    "EFFECT_HELP",
    "Boundary",
    "OutputRange",
    "BoundaryOption",
    "RangeOption",
    "GrayOption",
    "MaxPixelsOption",
    "MemoryBudgetOption",
    "library_default",
]


def library_default(function: Callable[..., Any], name: str) -> Any:
    """The default of ``function``'s parameter ``name``: what the command shows in --help and passes on.

    Reading it from the library function the command calls keeps one source of
    truth; a changed default in the library changes the command line with it.
    """
    return inspect.signature(function).parameters[name].default


# Choices as Enums, which typer turns into validated, listed choices in --help.
Boundary = enum.Enum("Boundary", {name: name for name in BOUNDARIES}, type=str)  # type: ignore[misc]
OutputRange = enum.Enum("OutputRange", {name: name for name in OUTPUT_RANGES}, type=str)  # type: ignore[misc]

#: Help of the EFFECT argument of ``apply`` and ``batch``.
EFFECT_HELP = (
    "A filter or detector name (see `convfx filters`), a chain applied left to right ('gaussian_blur,sobel'), "
    "parameters ('gaussian_blur:sigma=2,size=9', 'canny:sigma=2,low=0.05'), a kernel file "
    "(.toml/.json/.npy/.npz, 'bank.toml#name') or an ImageMagick kernel ('3x3: -1,0,1 -2,0,2 -1,0,1')."
)

# The effect options of `convfx apply` and `convfx batch`.
BoundaryOption = Annotated[
    Boundary,
    typer.Option(help="How pixels beyond the border are made; 'reflect' mirrors without repeating the edge."),
]
RangeOption = Annotated[
    Optional[OutputRange],
    typer.Option(
        "--range",
        help="Float response -> pixels: abs (|r|), clip (r in 0..max), signed (0 is mid-grey), "
        "normalize (0.5th..99.5th percentile stretched to 0..max), minmax (min..max), "
        "binary (an edge detector's map, 8-bit). Default: the filter's own.",
        show_default=False,
    ),
]
GrayOption = Annotated[
    Optional[bool],
    typer.Option("--gray/--color", help="Filter the luminance only, or every colour channel. Default: the filter's own."),
]
MaxPixelsOption = Annotated[
    int,
    typer.Option(min=1, help="Refuse larger images before decoding them (decompression-bomb guard)."),
]
#: The default is the library's DEFAULT_MEMORY_BUDGET, written by each command as a size.
MemoryBudgetOption = Annotated[
    str,
    typer.Option(
        metavar="SIZE",
        help="Memory that filtering one image may use beyond the image and its output (512MB, 2GiB, ...); "
        "larger images are filtered in strips, with the same result.",
    ),
]
