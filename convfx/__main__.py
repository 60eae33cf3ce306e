"""The command line's entry point: ``python -m convfx`` and the ``convfx`` console script.

It installs the handling of SIGTERM before anything heavy is imported, then
imports the command line inside the same handling of Ctrl-C as the commands, so
that an interruption during start-up (the libraries take most of a second to
load) ends in one line and exit code 130, like one during a command, never in a
traceback.  This module must stay cheap to import: the standard library only,
imported inside :func:`main`.  The process being convfx's own, it also has its
allocator keep the memory it frees (:func:`convfx.process.keep_freed_memory`).
"""

from __future__ import annotations

import sys

#: The exit code of an interrupted run (Ctrl-C or SIGTERM), as the shells' 128 + SIGINT.
EXIT_INTERRUPTED = 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line on ``sys.argv``; SIGTERM and Ctrl-C end it with exit code 130."""
    try:
        import signal

        try:
            signal.signal(signal.SIGTERM, _interrupt)  # first: before the libraries load
        except ValueError:  # not the main thread (an embedding program): its signals are its own
            pass
        from .process import keep_freed_memory

        keep_freed_memory()  # this process is convfx's own (see convfx.process)
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("convfx: interrupted\n")
        # CPython remembers a KeyboardInterrupt that escaped code run by exec() of a
        # string (dataclasses and named tuples are made that way while modules import)
        # and then ends the process by SIGINT, whatever the exit code; running any
        # string forgets it.
        exec("")
        sys.exit(EXIT_INTERRUPTED)
    run()


if __name__ == "__main__":
    main()
