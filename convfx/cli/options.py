"""Command-line options that several commands share, written once.

The effect argument's help, the choices of ``--boundary`` and ``--range`` as typer
enums (:func:`choices`, from the library's lists), the effect options of ``apply``
and ``batch`` so that both commands read the same, and the shipped models as help
text.  Defaults come from the library (:func:`library_default`), never from a table
of the CLI's own.

This module must not import the network, matplotlib or anything slow: every
command module imports it to build the command line.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..conv import BOUNDARIES
from ..models import DEFAULT_MODEL, SHIPPED_MODELS
from ..ranges import OUTPUT_RANGES

__all__ = [
    "EFFECT_HELP",
    "FORCE_HELP",
    "SHIPPED_MODELS_HELP",
    "DEFAULT_MODEL_HELP",
    "Boundary",
    "OutputRange",
    "KernelScale",
    "DEFAULT_KERNEL_SCALE",
    "choices",
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


class Choice(str, enum.Enum):
    """The base of every choice option: a member's value is the word typed on the command line.

    The members come from the library's lists at run time (:func:`choices`); to the
    type checker every choice type is this class, with a ``str`` value.
    """


def choices(name: str, values: Iterable[str]) -> type[Choice]:
    """An Enum of ``values`` (each its own name and value), which typer turns into validated, listed choices."""
    # Enum's functional API; the stubs see only str's constructor on this str mix-in.
    return Choice(name, [(value, value) for value in values])  # type: ignore[call-overload]


if TYPE_CHECKING:
    Boundary = Choice
    OutputRange = Choice
else:
    Boundary = choices("Boundary", BOUNDARIES)
    OutputRange = choices("OutputRange", OUTPUT_RANGES)
#: The colour scales of kernel figures, as :data:`convfx.plots.KERNEL_SCALES` has them.  Written
#: here because importing the plots loads matplotlib, which no command should pay for before it
#: draws; tests/test_cli_help.py keeps the two equal, the default too.
if TYPE_CHECKING:
    KernelScale = Choice
else:
    KernelScale = choices("KernelScale", ("shared", "per-kernel"))
DEFAULT_KERNEL_SCALE = KernelScale("shared")

#: What every --force says.
FORCE_HELP = "Overwrite OUTPUT if it exists."

#: Help of the EFFECT argument of ``apply`` and ``batch``.
EFFECT_HELP = (
    "A filter or detector name (see `convfx filters`), a chain applied left to right ('gaussian_blur,sobel'), "
    "parameters ('gaussian_blur:sigma=2,size=9', 'canny:sigma=2,low=0.05'), a kernel file "
    "(.toml/.json/.npy/.npz, 'bank.toml#name') or an ImageMagick kernel ('3x3: -1,0,1 -2,0,2 -1,0,1')."
)


def _one_of(names: Iterable[str]) -> str:
    """``"'photos', 'digits' or 'shapes'"``."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


#: The shipped models a MODEL may name, from the library's list.
SHIPPED_MODELS_HELP = _one_of(SHIPPED_MODELS)
#: The sentence that says which model a command uses when none is named.
DEFAULT_MODEL_HELP = f"Default: the shipped {DEFAULT_MODEL} model."

# The effect options of `convfx apply` and `convfx batch`.
BoundaryOption = Annotated[
    Boundary,
    typer.Option(help="How pixels beyond the border are made; 'reflect' mirrors without repeating the edge."),
]
RangeOption = Annotated[
    OutputRange | None,
    typer.Option(
        "--range",
        help="Float response -> pixels: abs (|r|), clip (r in 0..max), signed (0 is mid-grey), "
        "normalize (0.5th..99.5th percentile stretched to 0..max), minmax (min..max), "
        "binary (an edge detector's map, 8-bit). Default: the filter's own.",
        show_default=False,
    ),
]
GrayOption = Annotated[
    bool | None,
    typer.Option("--gray/--color", help="Filter the luminance only, or every colour channel. Default: the filter's own."),
]
MaxPixelsOption = Annotated[
    int,
    typer.Option(min=1, help="Refuse images of more pixels than this before decoding them (decompression-bomb guard)."),
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
