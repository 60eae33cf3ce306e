"""Exceptions raised by convfx.

Every error that a user can cause (a bad parameter, an unreadable file, an unknown
filter name) is a :class:`ConvfxError`, so that the command line can catch exactly
these, print their one-line message and exit with a code, while a genuine bug still
shows its traceback.  The parameter errors also derive from the built-in
``ValueError`` / ``TypeError`` so that library users can catch what they expect.
"""

from __future__ import annotations

__all__ = [
    "ConvfxError",
    "ParameterError",
    "ParameterTypeError",
    "FileError",
]


class ConvfxError(Exception):
    """Base class of every error convfx raises on purpose.

    ``exit_code`` is what the command line exits with: 2 for usage errors (a bad
    option, an unknown filter, a bad kernel file), 1 for a file that failed.
    """

    exit_code: int = 2


class ParameterError(ConvfxError, ValueError):
    """A parameter has the right type but an invalid value or shape."""


class ParameterTypeError(ConvfxError, TypeError):
    """A parameter has the wrong type (complex or object dtype, a string for a number...)."""


class FileError(ConvfxError, OSError):
    """A file cannot be read, decoded or written.  The message names the file."""

    exit_code = 1
