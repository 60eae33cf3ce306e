"""The errors a studio request can cause, each with the HTTP status the page gets.

They are :class:`convfx.ConvfxError` subclasses like every error a user can cause,
with one line of message in the usual form (``name: what was expected, what was
found``); :mod:`convfx.studio.app` sends that line with ``http_status``.  Errors
raised by the library itself (an unknown filter, a bad parameter) carry no status
and are sent as 400 (usage) or 422 (a file that cannot be read).  This module must
not import the web libraries.
"""

from __future__ import annotations

from ..errors import ConvfxError, FileError, ParameterError

__all__ = ["RequestError", "NotFoundError", "TooLargeError", "UnreadableUploadError", "http_status"]


class RequestError(ParameterError):
    """A malformed request: bad JSON, a missing or ill-typed field (HTTP 400)."""

    http_status = 400


class NotFoundError(RequestError):
    """A photo or model the studio does not offer (HTTP 404)."""

    http_status = 404


class TooLargeError(RequestError):
    """A request body over its size limit (HTTP 413)."""

    http_status = 413


class UnreadableUploadError(FileError):
    """An uploaded file that is not an image convfx reads, or is over the pixel limit (HTTP 422)."""

    http_status = 422


def http_status(error: ConvfxError) -> int:
    """The HTTP status for ``error``: its own, else 400 for usage errors and 422 for files.

    Parameters
    ----------
    error : ConvfxError

    Returns
    -------
    int
    """
    status = getattr(error, "http_status", None)
    if isinstance(status, int):
        return status
    return 422 if isinstance(error, FileError) else 400
