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

import signal
import sys
import threading

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


def main(argv: list[str] | None = None) -> None:
    """Run the app on ``argv`` (default ``sys.argv``); Ctrl-C and SIGTERM exit with code 130.

    The console script and ``python -m convfx`` reach it through
    :func:`convfx.__main__.main`, which installs the same SIGTERM handling before
    this package is imported.  Running out of memory anywhere is one line and
    exit code 1, like a file that failed.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # as convfx.__main__ does before this package loads
    try:
        result = app(args=argv, prog_name="convfx", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("convfx: interrupted", markup=False)
        exec("")  # forget the interrupt CPython may remember (see convfx.__main__), so the code is 130
        sys.exit(EXIT_INTERRUPTED)
    except exceptions.ClickException as error:  # any other click error (usage errors are one line already: Group.main)
        error.show()
        sys.exit(error.exit_code)
    except typer.Exit as error:
        sys.exit(error.exit_code)
    except MemoryError:
        sys.stderr.write(f"convfx: error: {OUT_OF_MEMORY}\n")  # plain: printing must not need memory
        sys.exit(EXIT_FAILED)
    sys.exit(result if isinstance(result, int) else 0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
