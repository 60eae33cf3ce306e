"""The typer application object and the one way commands report errors.

Commands live in sibling modules (one per group) and register themselves on
``app``.  A command parses its options, calls one library function and reports; it
does no maths.  Library errors (:class:`convfx.ConvfxError`) become one line on
stderr and an exit code, never a traceback.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, NoReturn

import typer
from rich.console import Console

from ..errors import ConvfxError

app = typer.Typer(
    name="convfx",
    help="Exact, fast convolution filters for photos, and a numpy CNN that learns its own.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK = 0
EXIT_FAILED = 1  # some files failed
EXIT_USAGE = 2  # bad options or arguments
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM

#: What running out of memory says (exit code 1).
OUT_OF_MEMORY = "out of memory: the input needs more than this machine can give; try a smaller image"


def say(text: str) -> None:
    """Print one line of a command's report on stdout, as is.

    Not rich markup (a file named ``[draft].png`` must print as named), no
    highlighting, and long paths wrap instead of being cut.
    """
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """Print ``convfx: warning: message`` on stderr: something was lost, and the command goes on."""
    err_console.print(f"convfx: warning: {message}", markup=False)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``convfx: error: message`` on stderr and exit with ``code``."""
    err_console.print(f"convfx: error: {message}", markup=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and their exit code; running out of memory is exit code 1."""
    try:
        yield
    except ConvfxError as error:
        fail(str(error), error.exit_code)
    except MemoryError:
        fail(OUT_OF_MEMORY, EXIT_FAILED)
    except KeyboardInterrupt:
        err_console.print("convfx: interrupted", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
