"""The ``convfx`` command line.

One module per group of commands registers them on the shared typer ``app``:

* ``image_commands`` -- apply, filters, show;
* ``batch_commands`` -- batch: an effect over whole folders, in parallel, resumable;
* ``nn_commands``    -- train, evaluate;
* ``compare_commands`` -- compare, export-bank;
* ``inspect_commands`` -- summary, tour (inside a trained LeNet);
* ``explain_commands`` -- explain canny / conv / pool.

``options`` holds the options several commands share, and ``click_classes`` the
command classes that show plain words in --help and report usage errors in one line.

Nothing in the library imports this package.
"""

from __future__ import annotations

import copy
import os
import signal
import sys
import threading
from typing import Any, NoReturn, TextIO

import typer

# Importing a command module registers its commands; --help lists them in this order.
from . import (
    batch_commands,  # noqa: F401  (batch)
    compare_commands,  # noqa: F401  (compare, export-bank)
    explain_commands,  # noqa: F401  (explain canny|conv|pool)
    image_commands,  # noqa: F401  (apply, filters, show)
    inspect_commands,  # noqa: F401  (summary, tour)
    nn_commands,  # noqa: F401  (train, evaluate)
    studio_commands,  # noqa: F401  (studio: the interactive page)
)
from .app import EXIT_FAILED, EXIT_INTERRUPTED, OUT_OF_MEMORY, app, err_console
from .click_classes import exceptions

__all__ = ["app", "main"]


class _StdoutFailed(Exception):
    """A write to standard output failed (a full disk, a closed pipe): ``error`` says how."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _GuardedStdout:
    """``sys.stdout`` whose failed writes raise :class:`_StdoutFailed`, told apart from any other OSError.

    Everything but ``write`` and ``flush`` is the stream's own (``isatty``,
    ``encoding``, ``fileno``...), so rich and click see the same terminal.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise _StdoutFailed(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise _StdoutFailed(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _discard_stdout() -> None:
    """Point file descriptor 1 at the null device, so that Python's own flush at exit fails no more.

    What Python's documentation recommends after a broken pipe (the note on SIGPIPE in
    the ``signal`` module); a stream without a descriptor (a test's) is left alone.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    """Run the app on ``argv`` (default ``sys.argv``); Ctrl-C and SIGTERM exit with code 130.

    The console script and ``python -m convfx`` reach it through
    :func:`convfx.__main__.main`, which installs the same SIGTERM handling before
    this package is imported.  Running out of memory anywhere is one line and
    exit code 1, like a file that failed.  So is a failed write to standard output
    (``convfx: error: cannot write to standard output: No space left on device``),
    except a pipe closed by its reader (``convfx filters | head -1``): that ends
    quietly, with exit code 1, as Python's documentation recommends.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # as convfx.__main__ does before this package loads
    stdout = sys.stdout
    sys.stdout = _GuardedStdout(stdout)
    try:
        _run(argv)
    except _StdoutFailed as failure:
        sys.stdout = stdout
        _discard_stdout()
        if not isinstance(failure.error, BrokenPipeError):
            reason = failure.error.strerror or str(failure.error)
            sys.stderr.write(f"convfx: error: cannot write to standard output: {reason}\n")
        sys.exit(EXIT_FAILED)
    finally:
        sys.stdout = stdout


def _app_for(argv: list[str] | None) -> Any:
    """The app that runs ``argv``: ``app`` with only the command ``argv`` names, when it names one of its commands.

    typer builds the parameters of every command it knows before it runs one;
    building the other commands would be a good part of a short run's start-up.
    Anything else (``--help``, ``--version``, a group such as ``explain``, a
    mistyped name) runs on the whole ``app``.
    """
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or not isinstance(app, typer.Typer):
        return app
    named = [info for info in app.registered_commands if info.name == arguments[0]]
    if len(named) != 1:
        return app
    single = copy.copy(app)  # the same settings and callback (--version); app itself is left whole
    single.registered_commands = named
    single.registered_groups = []
    return single


def _run(argv: list[str] | None) -> None:
    try:
        result = _app_for(argv)(args=argv, prog_name="convfx", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("convfx: interrupted", markup=False)
        _exit(EXIT_INTERRUPTED)
    except exceptions.ClickException as error:  # any other click error (usage errors are one line already: Group.main)
        error.show()
        _exit(error.exit_code)
    except typer.Exit as error:
        _exit(error.exit_code)
    except MemoryError:
        sys.stderr.write(f"convfx: error: {OUT_OF_MEMORY}\n")  # plain: printing must not need memory
        _exit(EXIT_FAILED)
    sys.stdout.flush()  # here, where a failure is still reported
    # click returns the code of a typer.Exit (batch's 130 after an interrupt) when not standalone.
    _exit(result if isinstance(result, int) else 0)


def _exit(code: int) -> NoReturn:
    """``sys.exit(code)``, the code kept even after an interrupt that escaped code run by ``exec()``.

    CPython remembers a KeyboardInterrupt that escaped a string run by ``exec()``
    (dataclasses and named tuples are made that way while modules import) and
    ends a ``python -m convfx`` run by SIGINT whatever the exit code; running any
    string forgets it.  Every exit of the command line goes through here.
    """
    exec("")
    sys.exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
