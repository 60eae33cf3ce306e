"""The file system side of every read and write: regular files only, atomic writes, cleaning up after them.

Every reader of a file in convfx first checks that it is a regular file
(:func:`check_regular_file`: a FIFO would block, a device never end).  Every
writer writes a temporary file in the destination folder and renames it over the
target (:func:`write_bytes_atomically`), so that a failure or Ctrl-C never leaves
a half-written file behind; :func:`remove_partial_writes` removes what a killed
process left.

This module must not know file formats, decode or encode anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConvfxError, FileError
from .formats import OutputExistsError

_FILE_TYPES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def check_regular_file(
    path: str | os.PathLike,
    *,
    what: str,
    error: type[ConvfxError] = FileError,
    max_bytes: int | None = None,
) -> int:
    """The size in bytes of ``path`` if it is a regular file (or a link to one), within ``max_bytes``.

    Every reader of a file calls this before it opens it: opening a FIFO waits
    for a writer that may never come, and a device such as ``/dev/zero`` never
    ends.  Cheap: one ``stat``.  An empty file passes (its size is 0); what that
    means is the caller's to say.

    Parameters
    ----------
    path : path-like
    what : str
        What was expected, with its article, for the messages (``"an image file"``).
    error : ConvfxError subclass, optional
        Raised on failure: :class:`FileError` (exit code 1) for files being
        processed, a usage error (exit code 2) for a file named as an option.
    max_bytes : int, optional
        Refuse a larger file.

    Returns
    -------
    int
        The size in bytes.

    Raises
    ------
    error
        ``path: no such file``, ``path: cannot read: Permission denied``,
        ``path: is a folder, expected ...``, ``path: not a regular file (a FIFO),
        expected ...``, or ``path: 150,000,000 bytes is over the limit of ...``.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a folder, expected {what}")
    if not stat.S_ISREG(info.st_mode):
        kind = _FILE_TYPES.get(stat.S_IFMT(info.st_mode), "a special file")
        raise error(f"{path}: not a regular file ({kind}), expected {what}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(f"{path}: {info.st_size:,} bytes is over the limit of {max_bytes:,} bytes for {what}")
    return info.st_size


def _file_mode() -> int:
    # mkstemp creates 0600 files; finished images get the usual 0666 & ~umask.
    # The umask can only be read by setting it, so do that once.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def write_bytes_atomically(path: str | os.PathLike, data: bytes | memoryview, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Without ``overwrite`` the final step is a hard link, which fails if ``path``
    appeared in the meantime, so another process's file is never replaced.

    Parameters
    ----------
    path : str or path-like
    data : bytes or memoryview
    overwrite : bool, optional

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileError
        Folder missing or not writable, disk full, ...
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{_temporary_stem(path.name)}.", suffix=".part")
    except OSError as exc:
        raise FileError(f"{path}: cannot write in the folder {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, _FILE_MODE)
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
    except FileExistsError:
        raise OutputExistsError(f"{path}: already exists; pass overwrite=True to replace it") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return path


def remove_partial_writes(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Delete the temporary files that interrupted writes to ``paths`` left behind.

    :func:`write_bytes_atomically` removes its temporary file itself, unless its
    process is killed between creating and renaming it; whoever stopped that
    process calls this afterwards.  Each folder is listed once.

    Parameters
    ----------
    paths : iterable of str or path-like
        The files whose writes were interrupted.

    Returns
    -------
    list of Path
        The files removed.
    """
    names_by_folder: dict[Path, set[str]] = {}
    for path in paths:
        path = Path(path)
        names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = []
    for folder, names in names_by_folder.items():
        stems = {_temporary_stem(name) for name in names}
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            # mkstemp names them ".<name>.<random>.part" (see write_bytes_atomically).
            if entry.startswith(".") and entry.endswith(".part") and entry[1:-5].rpartition(".")[0] in stems:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / entry)
                    removed.append(folder / entry)
    return removed


def _temporary_stem(name: str) -> str:
    """What a temporary file for ``name`` is named after: the name itself, or for a
    name near the 255-byte limit (the temporary one adds ~15 bytes), its start and a
    digest, so that every name that may be written can be written."""
    if len(os.fsencode(name)) <= 200:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    return os.fsdecode(os.fsencode(name)[:100]) + "~" + digest


def _link_new(temporary: str, path: Path) -> None:
    """Give the finished temporary file its name, refusing to replace an existing file."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        # Some filesystems (FAT, some network shares) have no hard links: fall
        # back to check-then-rename, which leaves only a tiny race open.
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(temporary, path)
