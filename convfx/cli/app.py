"""The typer application object and the one way commands report errors.

Commands live in sibling modules (one per group) and register themselves on
``app`` with ``cls=Command`` (:mod:`convfx.cli.click_classes`: plain words in
--help).  A command parses its options, calls one library function and reports; it
does no maths.  Library errors (:class:`convfx.ConvfxError`) become one line on
stderr and an exit code, never a traceback, and name the command line's options
(``--memory-budget``), never the library's keywords (``memory_budget``).  Every line
shows choices in plain words (``one of max, avg``) and a file name that is not
UTF-8 with its bytes escaped (``bad\\xe9.jpg``, :func:`~convfx.cli.click_classes.printable`).

Exit codes: 0 done, 2 a usage error, 1 a file that failed, 130 interrupted.  An
input named on the command line that does not exist or is not the kind of file
the command reads (a folder where an image is expected, a FIFO, a device) is a
usage error, refused before anything is written (:func:`check_input`); one that
exists and cannot be read, decoded or written is a failed file.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import stat
from collections.abc import Collection, Iterator, Mapping
from typing import Annotated, NamedTuple, NoReturn

import typer
from rich.console import Console

from .. import __version__
from ..errors import ConvfxError, FileError, ParameterError
from ..imageio import check_regular_file
from ..models import SHIPPED_MODELS
from .click_classes import Command, Group, get_current_context, one_of, option_spelling, printable

__all__ = [
    "app",
    "Command",
    "Group",
    "console",
    "err_console",
    "say",
    "warn",
    "fail",
    "reporting_errors",
    "check_input",
    "Input",
    "model_input",
    "cli_message",
    "file_message",
]

app = typer.Typer(
    name="convfx",
    cls=Group,
    help="Exact, fast convolution filters for photos, and a numpy CNN that learns its own.",
    no_args_is_help=True,
    add_completion=False,
    # -h is --help for the app and every command (the commands inherit it); no option of theirs is -h.
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        say(f"convfx {__version__}")
        raise typer.Exit(0)


@app.callback()
def _convfx(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print convfx's version and exit."),
    ] = False,
) -> None:
    """Exact, fast convolution filters for photos, and a numpy CNN that learns its own."""


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
    highlighting, and long paths wrap instead of being cut.  A name that is not
    UTF-8 shows its bytes escaped, as every message does (:func:`printable`).
    """
    console.print(printable(text), markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """Print ``convfx: warning: message`` on stderr: something was lost, and the command goes on."""
    err_console.print(f"convfx: warning: {printable(message)}", markup=False)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``convfx: error: message`` on stderr and exit with ``code``."""
    err_console.print(f"convfx: error: {printable(message)}", markup=False)
    raise typer.Exit(code)


def cli_message(message: str, spellings: Mapping[str, str], *, given: Collection[str] = ()) -> str:
    """A library message with its keywords spelt as the command line spells them.

    A leading ``name:``, a ``name=True``, a bare ``name=`` and a ``name (0.2)`` (a value shown) become the option or argument in
    ``spellings`` (``{"memory_budget": "--memory-budget", "overwrite": "--force"}``),
    unless the leading name is one of the values ``given`` on the command line: a
    file called ``output`` keeps its name.  A list of choices (``one of ['a', 'b']``,
    as the library writes it) is plain words: ``one of a, b``.

    >>> cli_message("memory_budget: expected a size, found 'x'", {"memory_budget": "--memory-budget"})
    "--memory-budget: expected a size, found 'x'"
    >>> cli_message("a.png: already exists; pass overwrite=True to replace it", {"overwrite": "--force"})
    'a.png: already exists; pass --force to replace it'
    >>> cli_message("a.png: 20 pixels is over the limit of 10 (raise it with max_pixels=)", {"max_pixels": "--max-pixels"})
    'a.png: 20 pixels is over the limit of 10 (raise it with --max-pixels)'
    >>> cli_message("low: expected at most high (0.2), found 2", {"low": "--low", "high": "--high"})
    '--low: expected at most --high (0.2), found 2'
    >>> cli_message("output: not a recognised image", {"output": "--output"}, given=["output"])
    'output: not a recognised image'
    >>> cli_message("plot: a.txt: unsupported file type '.txt'; expected one of ['.png', '.svg']", {"plot": "--plot"})
    "--plot: a.txt: unsupported file type '.txt'; expected one of .png, .svg"
    """
    head = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\[[0-9]+\])?:", message)
    if head and head.group(1) in spellings and head.group(1) not in given:
        message = spellings[head.group(1)] + message[len(head.group(1)) :]
    for name, spelling in spellings.items():
        message = re.sub(rf"\b{name}=True\b", spelling, message)
        message = re.sub(rf"\b{name}=(?![\w'\"])", spelling, message)  # "raise it with max_pixels="
        message = re.sub(rf"(?<![\w-]){name} \((?=-?[0-9.])", f"{spelling} (", message)  # "at most high (0.2)"
    return _CHOICE_LIST.sub(lambda found: one_of(ast.literal_eval(found.group(1))), message)


#: A list of choices as the library writes it: ``one of ['max', 'avg']``.
_CHOICE_LIST = re.compile(r"one of (\['[^'\\]*'(?:, '[^'\\]*')*\])")


def file_message(message: str, **aliases: str) -> str:
    """A file's message (``path: what went wrong``) with the keywords after its name spelt as options.

    The leading name is the file's and stays as it is; ``max_pixels=`` in the rest
    becomes ``--max-pixels`` when the command running now has that option.
    """
    head = message.split(":", 1)[0]
    return cli_message(message, _spellings(aliases), given=[head])


def _given_values() -> list[str]:
    """The values given to the command running now, as text: the files and words a message may start with."""
    context = get_current_context(silent=True)
    values: list[str] = []
    for value in ({} if context is None else context.params).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, (str, os.PathLike)):
                values.append(os.fspath(item))
    return values


def _spellings(aliases: Mapping[str, str]) -> dict[str, str]:
    """Keyword -> command-line spelling for the command running now: its parameters, then ``aliases``."""
    context = get_current_context(silent=True)
    params = [] if context is None else context.command.params
    spellings = {param.name: option_spelling(param) for param in params if param.name}
    if "force" in spellings:  # every command's --force is the library's overwrite=True
        spellings.setdefault("overwrite", spellings["force"])
    spellings.update(aliases)
    return spellings


class Input(NamedTuple):
    """A file named on the command line that a command reads, and what it must be (``"an image file"``).

    ``path`` None: not given (the command reads a default of its own).
    """

    path: str | os.PathLike | None
    what: str


def model_input(model: str | os.PathLike | None) -> Input:
    """The :class:`Input` a MODEL argument names: its file, or nothing for a shipped model's name or none given.

    A file that exists wins over a shipped name, as :func:`convfx.models.resolve_model` decides.
    """
    named = model is not None and (os.path.lexists(model) or str(model) not in SHIPPED_MODELS)
    return Input(model if named else None, "a model file")


def check_input(path: str | os.PathLike, *, what: str, folders: bool = False, argument: str | None = None) -> None:
    """Refuse, as a usage error (exit code 2), an input named on the command line that is not there or not a file.

    A path that does not exist, a folder (unless ``folders``), a FIFO or a device is
    a mistake in the command, told before anything is written: ``photo.jpg: no such
    file``, ``fifo: not a regular file (a FIFO), expected an image file``.  A file
    that exists is left to the reader: one that cannot be read or decoded is a
    failed file (exit code 1), and so is a path that cannot even be looked at
    (a folder on its way without search permission).

    Parameters
    ----------
    path : path-like
        The input, as given.
    what : str
        What the command expects, with its article (``"an image file"``).
    folders : bool, optional
        A folder is an input too (``convfx batch``).
    argument : str, optional
        The argument to name in front of the path (``INPUTS: a.jpg: no such file or folder``).
    """
    head = "" if argument is None else f"{argument}: "
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        fail(f"{head}{path}: no such file{' or folder' if folders else ''}", EXIT_USAGE)
    except (OSError, ValueError):  # cannot look (permissions, a loop of links, a NUL): the reader says why
        return
    if folders and stat.S_ISDIR(info.st_mode):
        return
    try:
        check_regular_file(path, what=what, error=ParameterError)
    except ParameterError as error:
        fail(f"{head}{error}", EXIT_USAGE)


@contextlib.contextmanager
def reporting_errors(*inputs: Input, **aliases: str) -> Iterator[None]:
    """Turn library errors into one line on stderr and their exit code; running out of memory is exit code 1.

    The message names the command's options and arguments, not the library's
    keywords: a parameter of the command keeps its name (``max_pixels`` is
    ``--max-pixels``), ``overwrite`` is ``--force``, and ``aliases`` name the rest
    (``reporting_errors(source="INPUT")``).

    ``inputs`` are the files named on the command line that the command reads
    (``reporting_errors(Input(source, "an image file"), source="INPUT")``): when a
    file fails, one of them that is missing or not a regular file is said instead,
    as a usage error (:func:`check_input`).  Checked only then, so that a bad
    option is still told first, as the library checks options before it reads.
    """
    try:
        yield
    except ConvfxError as error:
        if isinstance(error, FileError):
            for path, what in inputs:
                if path is not None:
                    check_input(path, what=what)
        # A file's message starts with its name, which may look like a keyword (a file called output).
        given = _given_values() if isinstance(error, FileError) else ()
        fail(cli_message(str(error), _spellings(aliases), given=given), error.exit_code)
    except MemoryError:
        fail(OUT_OF_MEMORY, EXIT_FAILED)
    except KeyboardInterrupt:
        err_console.print("convfx: interrupted", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
