"""Numpy array files (``.npy`` / ``.npz``) read without pickle, their headers checked before their data.

The one reader of numpy files behind models, conv weights and kernel files.

This module must not unpickle anything, nor read images.
"""

from __future__ import annotations

import ast
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import FileError, ParameterError
from ..limits import MAX_ARRAY_FILE_BYTES, MAX_ARRAY_VALUES, MAX_NPY_HEADER_BYTES
from .files import check_regular_file


def read_arrays(
    path: str | os.PathLike,
    *,
    what: str = ".npz file",
    error: type[FileError] | type[ParameterError] = FileError,
    max_values: int = MAX_ARRAY_VALUES,
    max_bytes: int = MAX_ARRAY_FILE_BYTES,
    max_arrays: int | None = None,
) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file (or the one array of a ``.npy``, under the file's stem), never unpickling.

    The one reader of numpy files behind models (:meth:`convfx.nn.LeNet.load`),
    conv weights (:func:`convfx.nn.weights.load_weights`) and kernel files
    (:func:`convfx.load_bank`): ``np.load(..., allow_pickle=False)``, with every
    way it can fail turned into one line naming the file.  Every array's header is
    read first and checked against the limits below, before any data is
    decompressed: a few kilobytes of ``.npz`` can otherwise inflate to gigabytes.

    Parameters
    ----------
    path : path-like
        A regular file (:func:`check_regular_file`).
    what : str, optional
        What the caller expected, for the messages (".npz model file", ...).
    error : exception class, optional
        Raised on failure: :class:`FileError` (exit code 1) for files being
        processed, :class:`~convfx.banks.KernelFileError` (exit code 2) for a file
        the user named as an option.
    max_values : int, optional
        Refuse an array with more values than this.
    max_bytes : int, optional
        Refuse a file whose arrays together decode to more bytes than this (wide
        items such as 2 kB records count here, not in ``max_values``).
    max_arrays : int, optional
        Refuse an ``.npz`` with more arrays than this.

    Returns
    -------
    dict of str to ndarray
        In the file's order; empty for an empty ``.npz``.

    Raises
    ------
    error
        Not a regular file; not a numpy file; pickled objects; a header over
        :data:`~convfx.limits.MAX_NPY_HEADER_BYTES` or unreadable; an array or the
        file over the limits.
    """
    path = Path(path)
    check_regular_file(path, what=f"a {what}", error=error)
    total = 0

    def check(key: str, header: _NpyHeader) -> None:
        nonlocal total
        if header.dtype.hasobject:
            raise error(f"{path}: holds pickled Python objects, which convfx never loads")
        values = header.values
        if values > max_values:
            raise error(
                f"{path}: array {key!r} has shape {header.shape}, more than {max_values:,} values (refused before reading it)"
            )
        total += values * header.dtype.itemsize
        if total > max_bytes:
            raise error(
                f"{path}: array {key!r} of shape {header.shape} and dtype {header.dtype.str} takes the file's arrays "
                f"past {max_bytes:,} bytes (refused before reading it)"
            )

    try:
        with open(path, "rb") as stream:
            if stream.read(6) == b"\x93NUMPY":  # a .npy: numpy would allocate what its header claims
                stream.seek(0)
                check(path.stem, _read_npy_header(stream))
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            return {path.stem: loaded}
        with loaded:
            if max_arrays is not None and len(loaded.files) > max_arrays:
                raise error(f"{path}: holds {len(loaded.files):,} arrays, more than {max_arrays:,}")
            for key in loaded.files:
                check(key, _npz_member_header(loaded, key))
            return {key: loaded[key] for key in loaded.files}
    except (FileError, ParameterError):  # ours, from the checks
        raise
    except _BadHeader as exc:
        raise error(f"{path}: {exc}") from None
    except MemoryError:
        raise error(f"{path}: not enough memory to read it") from None
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, expected a {what}") from None
    except ValueError as exc:
        if "object arrays" in str(exc).lower():
            raise error(f"{path}: holds pickled Python objects, which convfx never loads") from None
        # numpy takes any file that is neither .npy nor a zip archive for a pickle.
        raise error(f"{path}: not a readable {what} (neither a numpy array nor a zip archive of them)") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise error(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from None


class _BadHeader(Exception):
    """A ``.npy`` header that is refused: too long, unreadable, or describing no array."""


@dataclass(frozen=True)
class _NpyHeader:
    """What a ``.npy`` header says: the array's shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def values(self) -> int:
        return math.prod(self.shape)


def _npz_member_header(archive: np.lib.npyio.NpzFile, key: str) -> _NpyHeader:
    """The ``.npy`` header of an ``.npz`` member, read without decompressing the data."""
    assert archive.zip is not None  # None only once the archive is closed
    member = key + ".npy" if key + ".npy" in archive.zip.namelist() else key
    with archive.zip.open(member) as stream:
        try:
            return _read_npy_header(stream, key)
        except ValueError as exc:  # the member is no .npy at all
            raise _BadHeader(f"member {member!r} is not a numpy array ({exc})") from None


def _read_npy_header(stream: IO[bytes], key: str | None = None) -> _NpyHeader:
    """The header at the start of ``stream``, in any ``.npy`` format version; the data is not read.

    The header's length (2 bytes in format 1.0, 4 in 2.0 and 3.0, which allow
    4 GiB) is checked against :data:`~convfx.limits.MAX_NPY_HEADER_BYTES` before
    the header is read; then it is a Python dict literal, read with
    ``ast.literal_eval`` as numpy does (Latin-1 before 3.0, UTF-8 in 3.0).
    """
    where = f"array {key!r}: " if key is not None else ""
    magic = stream.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise ValueError("no .npy magic number")
    major, minor = magic[6], magic[7]
    if major not in (1, 2, 3) or minor != 0:
        raise _BadHeader(f"{where}unsupported .npy format version {major}.{minor}")
    field = stream.read(2 if major == 1 else 4)
    length = int.from_bytes(field, "little")
    if length > MAX_NPY_HEADER_BYTES:
        raise _BadHeader(f"{where}a .npy header of {length:,} bytes is over the limit of {MAX_NPY_HEADER_BYTES:,}")
    text = stream.read(length)
    if len(field) != (2 if major == 1 else 4) or len(text) != length:
        raise _BadHeader(f"{where}the .npy header is cut short")
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise _BadHeader(f"{where}unreadable .npy header ({type(exc).__name__})") from None
    shape = header.get("shape") if isinstance(header, dict) else None
    if not isinstance(shape, tuple) or not all(isinstance(side, int) and side >= 0 for side in shape):
        raise _BadHeader(f"{where}no valid shape in the .npy header {header!r:.80}")
    try:
        dtype = np.lib.format.descr_to_dtype(header.get("descr"))
    except (TypeError, ValueError, KeyError) as exc:
        raise _BadHeader(f"{where}no valid dtype in the .npy header ({type(exc).__name__})") from None
    return _NpyHeader(shape, dtype)
