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

    Examples
    --------
    >>> import convfx
    >>> try:
    ...     convfx.correlate([[1.0, 2.0]], [[1.0]], stride=0)
    ... except convfx.ConvfxError as error:
    ...     print(type(error).__name__, error.exit_code, isinstance(error, ValueError))
    ParameterError 2 True
    """

    exit_code: int = 2


class ParameterError(ConvfxError, ValueError):
    """A parameter has the right type but an invalid value or shape.

    Examples
    --------
    >>> import convfx
    >>> try:
    ...     convfx.correlate([[1.0, 2.0]], [[1.0]], boundary="mirror")
    ... except convfx.ParameterError as error:
    ...     print(str(error).split(";")[0])
    boundary: invalid value 'mirror'
    """


class ParameterTypeError(ConvfxError, TypeError):
    """A parameter has the wrong type (complex or object dtype, a string for a number...).

    Examples
    --------
    >>> import numpy as np
    >>> import convfx
    >>> try:
    ...     convfx.correlate(np.ones((3, 3), dtype=complex), [[1.0]])
    ... except convfx.ParameterTypeError as error:
    ...     print(isinstance(error, TypeError))
    True
    """


class FileError(ConvfxError, OSError):
    """A file cannot be read, decoded or written.  The message names the file.

    Examples
    --------
    >>> import convfx
    >>> try:
    ...     convfx.read_image("no-such-photo.jpg")
    ... except convfx.FileError as error:
    ...     print(error.exit_code, isinstance(error, OSError))
    1 True
    """

    exit_code = 1
