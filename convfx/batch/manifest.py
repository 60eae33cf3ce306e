"""The run manifest of a batch run, the fingerprint of its parameters, and the output-folder lock.

The manifest
------------
``convfx-manifest.json`` in the output folder, a JSON object: ``convfx_manifest``
(format version 1), ``convfx_version``, the ``effect`` as written, its resolved
``parameters`` (steps with their kernel sizes, ``boundary``, ``output_range``,
``gray``) and their ``fingerprint`` (SHA-256 of the kernels' exact weights,
detectors' settings and fingerprints (a learned step's weights) and the options
that change pixels), ``updated`` (UTC, ISO
8601), and ``files``: output path relative to the output folder -> ``source``
(absolute), ``size`` and ``mtime_ns`` of the source when planned,
``fingerprint``, ``status`` (``done``, ``failed`` with a ``reason``, or
``pending`` while a run is under way).

A file is skipped when its entry is ``done`` with the same fingerprint, source,
size and mtime and the output still exists (:func:`still_done`); everything else
is redone.  ``max_pixels``, ``workers`` and the memory budget change no pixel and
are not part of the fingerprint; neither is the convfx version, so an upgrade
does not redo a finished folder.

One run writes to an output folder at a time: :func:`locked_folder` holds an
exclusive lock on it while the run lasts.

This module must not render, walk folders or run workers, nor print.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, effects, imageio, steps
from ..checks import nesting_depth
from ..errors import FileError
from ..limits import MAX_MANIFEST_BYTES, MAX_NESTING_DEPTH
from .plan import BatchJob

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_FORMAT",
    "Manifest",
    "fingerprint_parameters",
    "manifest_header",
    "file_entry",
    "still_done",
    "locked_folder",
]

#: The run manifest, in the output folder.
MANIFEST_NAME = "convfx-manifest.json"
#: The manifest's format version, ``convfx_manifest`` in the file.
MANIFEST_FORMAT = 1


def fingerprint_parameters(effect: effects.Effect, boundary: str, output_range: str, gray: bool) -> tuple[dict, str]:
    """Readable parameters for the manifest and the digest of everything that changes pixels.

    Parameters
    ----------
    effect : Effect
    boundary : str
    output_range : str
    gray : bool

    Returns
    -------
    parameters : dict
        The steps (name, parameters, kernel sizes, how they combine), ``boundary``,
        ``output_range`` and ``gray``, as written in the manifest.
    fingerprint : str
        ``"sha256:"`` and the hex digest of the kernels' exact weights, the
        detectors' settings and the options.
    """
    digest = hashlib.sha256()
    for step in effect.steps:
        if isinstance(step, steps.Detector):
            # Its thresholds and modes change the pixels, not only its kernels.
            digest.update(f"detector {step.name} {json.dumps(step.settings, sort_keys=True)}\n".encode())
            if step.fingerprint:  # and a learned step's weights
                digest.update(f"detector fingerprint {step.fingerprint}\n".encode())
        digest.update(f"step {step.combine}\n".encode())
        for kernel in step.kernels:
            weights = np.ascontiguousarray(kernel.weights, dtype=np.float64)
            digest.update(f"kernel {weights.shape}\n".encode() + weights.tobytes())
    digest.update(json.dumps([boundary, output_range, gray, "png"]).encode())
    parameters = {
        "steps": [
            {
                "name": step.name,
                "parameters": dict(step.settings if isinstance(step, steps.Detector) else step.parameters),
                "kernels": ["x".join(map(str, kernel.shape)) for kernel in step.kernels],
                "combine": step.combine,
            }
            for step in effect.steps
        ],
        "boundary": boundary,
        "output_range": output_range,
        "gray": gray,
    }
    return parameters, "sha256:" + digest.hexdigest()


def manifest_header(effect: effects.Effect, parameters: dict, fingerprint: str) -> dict[str, Any]:
    """Everything in the manifest but ``updated`` and ``files``.

    Parameters
    ----------
    effect : Effect
    parameters, fingerprint
        As :func:`fingerprint_parameters` returns them.

    Returns
    -------
    dict
        JSON-ready.
    """
    return {
        "convfx_manifest": MANIFEST_FORMAT,
        "convfx_version": __version__,
        "effect": effect.spec,
        "parameters": parameters,
        "fingerprint": fingerprint,
    }


class Manifest:
    """The run manifest: read at the start, rewritten atomically during and after the run.

    Parameters
    ----------
    path : Path
        The manifest file; read if it exists.
    header : dict
        From :func:`manifest_header`.

    Attributes
    ----------
    files : dict
        Output path relative to the output folder -> its entry (:func:`file_entry`).

    Raises
    ------
    FileError
        The file exists but is not a readable convfx manifest: not a regular file
        (a FIFO, a device), over :data:`~convfx.limits.MAX_MANIFEST_BYTES`, not
        JSON, nested deeper than :data:`~convfx.limits.MAX_NESTING_DEPTH`, or not
        a convfx manifest.  The message says to move it away; it is never changed.
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.files: dict[str, dict[str, Any]] = {}
        self._written_at = 0.0
        self._write_seconds = 0.0
        if path.exists():
            self.files = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        afresh = "move it away to start afresh"
        try:
            imageio.check_regular_file(self.path, what="a run manifest", max_bytes=MAX_MANIFEST_BYTES)
        except FileError as exc:
            raise FileError(f"{exc}; {afresh}") from None
        try:
            with open(self.path, "rb") as stream:
                text = stream.read(MAX_MANIFEST_BYTES + 1)
            if len(text) > MAX_MANIFEST_BYTES:  # it grew since it was checked
                raise ValueError(f"more than {MAX_MANIFEST_BYTES:,} bytes")
            data = json.loads(text.decode("utf-8"))
            if nesting_depth(data, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH:
                raise ValueError(f"nested more than {MAX_NESTING_DEPTH} deep")
        except RecursionError:
            reason = f"nested more than {MAX_NESTING_DEPTH} deep"
            raise FileError(f"{self.path}: cannot read the run manifest ({reason}); {afresh}") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise FileError(f"{self.path}: cannot read the run manifest ({reason}); {afresh}") from None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("convfx_manifest") != MANIFEST_FORMAT or not isinstance(files, dict):
            raise FileError(f"{self.path}: not a convfx run manifest (format {MANIFEST_FORMAT}); move it away to start afresh")
        return {key: value for key, value in files.items() if isinstance(value, dict)}

    def write(self) -> None:
        """Write the whole manifest atomically."""
        document = dict(self.header)
        document["updated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        document["files"] = dict(sorted(self.files.items()))
        started = time.monotonic()
        # File names that are not valid UTF-8 hold lone surrogates (os.fsdecode): they
        # are written as JSON escapes (\udcXX), which read back as the same names.
        data = (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
        imageio.write_bytes_atomically(self.path, data, overwrite=True)
        self._written_at = time.monotonic()
        self._write_seconds = self._written_at - started

    def write_now_and_then(self) -> None:
        """Write if a second has passed, and at most 10% of the time for large manifests."""
        if time.monotonic() - self._written_at >= max(1.0, 10 * self._write_seconds):
            self.write()


def file_entry(job: BatchJob, fingerprint: str, status: str, reason: str = "") -> dict[str, Any]:
    """The manifest entry of one file: its source as planned, the fingerprint, the status.

    Parameters
    ----------
    job : BatchJob
    fingerprint : str
    status : str
        ``"done"`` or ``"failed"``.
    reason : str, optional
        The one-line reason a file failed.

    Returns
    -------
    dict
        JSON-ready.
    """
    entry: dict[str, Any] = {
        "source": str(job.source),
        "size": job.size,
        "mtime_ns": job.mtime_ns,
        "fingerprint": fingerprint,
        "status": status,
    }
    if reason:
        entry["reason"] = reason
    return entry


def still_done(entry: dict[str, Any], job: BatchJob, fingerprint: str) -> bool:
    """Whether ``entry`` says ``job`` was done with this fingerprint from the same, unchanged source.

    Parameters
    ----------
    entry : dict
        The file's entry in the manifest.
    job : BatchJob
    fingerprint : str
        This run's fingerprint.

    Returns
    -------
    bool
    """
    return (
        entry.get("status") == "done"
        and entry.get("fingerprint") == fingerprint
        and entry.get("source") == str(job.source)
        and job.size is not None
        and entry.get("size") == job.size
        and entry.get("mtime_ns") == job.mtime_ns
    )


# The descriptors of the folder locks this process holds.  A forked child (a batch
# worker) closes its copies at once: a flock belongs to the open file, shared by
# every copy, so a child that kept one would keep the folder locked after the run.
_HELD_LOCKS: set[int] = set()


def _drop_inherited_locks() -> None:
    for descriptor in _HELD_LOCKS:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextlib.contextmanager
def locked_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder: one batch run writes there at a time.

    The lock is this process's own: processes forked while it is held (the
    workers) do not keep it.

    Parameters
    ----------
    folder : Path

    Raises
    ------
    FileError
        Another run holds the folder.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise FileError(f"{folder}: another convfx batch run is writing to this folder") from None
        _HELD_LOCKS.add(descriptor)
        yield
    finally:
        _HELD_LOCKS.discard(descriptor)
        os.close(descriptor)  # releases the lock
