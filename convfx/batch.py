"""Batch runs: one effect over whole folders, in parallel, resumable, interruptible.

:func:`run_batch` is the library behind ``convfx batch``.  It

* walks the inputs (files, and folders recursively), keeps the images that pass
  ``include`` / ``exclude`` and mirrors each folder's tree under the output folder,
  naming each output ``<stem>_<effect>.png`` and disambiguating collisions by a
  fixed rule (see :func:`plan_batch`);
* refuses an output folder equal to or inside an input folder, and never writes
  to an input;
* renders every file with :func:`convfx.effects.render_file` (decode, filter,
  encode, atomic write) in a pool of worker processes, one per core by default,
  or on a Dask distributed cluster (``scheduler=``), keeping going past bad files;
* records a run manifest (``convfx-manifest.json`` in the output folder) so that
  a rerun skips what is already done with the same effect and parameters;
* stops promptly on Ctrl-C or SIGTERM: the workers are ended, their temporary
  files removed, the manifest left consistent, and :class:`BatchInterrupted`
  (a ``KeyboardInterrupt``) raised with the partial summary;
* filters images larger than a memory budget in horizontal strips with a halo
  (:func:`render_in_tiles`), with the same result as filtering them whole
  (effects with a non-local detector, such as Canny, are always filtered whole).

The manifest
------------
A JSON object: ``convfx_manifest`` (format version 1), ``convfx_version``, the
``effect`` as written, its resolved ``parameters`` (steps with their kernel
sizes, ``boundary``, ``output_range``, ``gray``) and their ``fingerprint``
(SHA-256 of the kernels' exact weights, detectors' settings and the options that
change pixels), and
``files``: output path relative to the output folder -> ``source`` (absolute),
``size`` and ``mtime_ns`` of the source when planned, ``fingerprint``,
``status`` (``done``, ``failed`` with a ``reason``, or ``pending`` while a run
is under way).  A file is skipped when its entry is ``done`` with the same
fingerprint, source, size and mtime and the output still exists; everything
else is redone.  ``max_pixels``, ``workers`` and the memory budget change no
pixel and are not part of the fingerprint; neither is the convfx version, so an
upgrade does not redo a finished folder (``force=True`` does).  An existing
output that the manifest does not know is never replaced without ``force``.

This module must not decode, filter or encode pixels itself (that is
:mod:`convfx.effects` and :mod:`convfx.imageio`), nor print: progress and the
summary go through callbacks and return values.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import functools
import gc
import hashlib
import importlib.util
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import __version__, effects, imageio
from .banks import OUTPUT_RANGES
from .conv import BOUNDARIES
from .errors import ConvfxError, FileError, ParameterError

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "IMAGE_SUFFIXES",
    "MANIFEST_NAME",
    "SCHEDULER_ENVIRONMENT_VARIABLE",
    "BatchJob",
    "FileOutcome",
    "BatchSummary",
    "BatchInterrupted",
    "SchedulerError",
    "parse_byte_size",
    "plan_batch",
    "run_batch",
    "tile_halo",
    "tileable",
    "strip_rows",
    "render_in_tiles",
    "render_file_in_tiles",
]

#: Per-worker memory budget for filtering one image (512 MB): images whose
#: filtering would need more are filtered in strips.  ``--memory-budget``.
DEFAULT_MEMORY_BUDGET = 512 * 1000**2

#: Files with these suffixes (any case) are taken from folders; files named
#: explicitly are taken whatever their suffix.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")

#: The run manifest, in the output folder.
MANIFEST_NAME = "convfx-manifest.json"
_MANIFEST_FORMAT = 1

#: Where ``convfx batch`` reads a Dask scheduler address when ``--scheduler`` is not given.
SCHEDULER_ENVIRONMENT_VARIABLE = "CONVFX_SCHEDULER"

# What running on a cluster without the [dask] extra says, wherever that is found out.
_NO_DASK = "scheduler: running on a Dask cluster needs dask.distributed: pip install 'convfx[dask]'"

# Seconds a terminated worker gets before it is killed outright.
_TERMINATE_GRACE = 2.0


class SchedulerError(ConvfxError):
    """Dask is not installed, or its scheduler cannot be reached (exit code 2)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file.

    Attributes
    ----------
    source : Path
        The input file (or a folder that could not be listed).
    destination : Path or None
        The output image; ``None`` for a folder that could not be listed.
    status : {"done", "skipped", "failed"}
    reason : str
        Why it failed (one line naming the file), or why it was skipped.
    """

    source: Path
    destination: Path | None
    status: str
    reason: str = ""


@dataclass
class BatchSummary:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    outdir, manifest : Path
        The output folder and the manifest in it.
    done, skipped, failed : list of FileOutcome
        Rendered now; already done with the same parameters; failed, with reasons.
    interrupted : bool
        The run was stopped by Ctrl-C / SIGTERM before every file was tried.
    seconds : float
        Wall-clock time of the run.
    """

    outdir: Path
    manifest: Path
    done: list[FileOutcome] = field(default_factory=list)
    skipped: list[FileOutcome] = field(default_factory=list)
    failed: list[FileOutcome] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing failed and the run was not interrupted."""
        return not self.failed and not self.interrupted


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run; ``summary`` says what was finished."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__("interrupted")
        self.summary = summary


# --------------------------------------------------------------------------- sizes


_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>(?:[kmgt]i?)?b?)\s*$", re.IGNORECASE)
_UNIT_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_byte_size(text: str | int) -> int:
    """Parse a memory size such as ``"512MB"``, ``"2GiB"``, ``"64k"`` or ``"1000000"``.

    ``k``/``KB``, ``M``/``MB``, ``G``/``GB``, ``T``/``TB`` are powers of 1000;
    ``KiB``, ``MiB``, ``GiB``, ``TiB`` powers of 1024; a bare number is bytes.
    Case and spaces do not matter.

    Raises
    ------
    ParameterError
        Not a size, or zero.

    Examples
    --------
    >>> parse_byte_size("512MB"), parse_byte_size("1 GiB"), parse_byte_size("64k")
    (512000000, 1073741824, 64000)
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        value = int(text)
    else:
        match = _SIZE.match(str(text))
        if match is None:
            raise ParameterError(f"memory_budget: expected a size such as '512MB' or '2GiB', found {text!r}")
        unit = match["unit"].lower()
        base = 1024 if "i" in unit else 1000
        value = int(float(match["number"]) * base ** _UNIT_POWERS[unit.rstrip("ib")])
    if value < 1:
        raise ParameterError(f"memory_budget: expected at least 1 byte, found {text!r}")
    return value


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class BatchJob:
    """One planned file: where it is read from and written to.

    Attributes
    ----------
    source : Path
        Absolute input path.
    destination : Path
        Absolute output path, inside the output folder.
    output : str
        ``destination`` relative to the output folder, ``/``-separated: the
        manifest key.
    size, mtime_ns : int or None
        ``stat`` of the source when planned (``None`` if it could not be read).
    """

    source: Path
    destination: Path
    output: str
    size: int | None
    mtime_ns: int | None


@dataclass(frozen=True)
class _Plan:
    jobs: list[BatchJob]
    unlisted: list[FileOutcome]  # folders that could not be read


def plan_batch(
    effect: effects.EffectLike,
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[BatchJob]:
    """List the files a batch run reads and the outputs it writes, without touching any.

    Parameters
    ----------
    effect : str, path-like, ndarray, Filter or Effect
        See :func:`convfx.effects.parse_effect`; its slug names the outputs.
    inputs : sequence of path-like
        Image files and folders.  A folder is walked recursively (symbolic links
        to folders are not followed; names starting with ``.`` are skipped) and
        its images (:data:`IMAGE_SUFFIXES`) are written to the same relative
        place under ``outdir``; a file is written to the top of ``outdir``.
    outdir : path-like
        The output folder; must not be an input folder or inside one.
    include, exclude : sequence of str
        Glob patterns, matched case-insensitively against a file's path relative
        to its input folder and against its name (``*`` also matches ``/``).
        With ``include``, a file must match one of them; a file, or a folder
        (with everything below it), matching one of ``exclude`` is left out.

    Returns
    -------
    list of BatchJob
        Sorted by output path.

    Raises
    ------
    ParameterError
        No inputs, an input that does not exist, or ``outdir`` equal to or inside
        an input folder.

    Notes
    -----
    Outputs are named ``<stem>_<effect slug>.png``.  When several sources give the
    same output path (``a.jpg`` and ``a.png`` both give ``a_sobel.png``; compared
    case-insensitively), they are sorted by their absolute source path: the first
    keeps the name, each following one gets its source suffix in the name,
    ``a_png_sobel.png``, and, if that is taken too, ``-2``, ``-3``, ... before
    ``.png``.  The same set of sources always gives the same names.
    """
    return _plan(effects.parse_effect(effect), inputs, outdir, include=include, exclude=exclude).jobs


def _plan(
    effect: effects.Effect,
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    include: Sequence[str],
    exclude: Sequence[str],
) -> _Plan:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if not inputs:
        raise ParameterError("inputs: expected at least one image file or folder, found none")
    include = _patterns(include, "include")
    exclude = _patterns(exclude, "exclude")
    outdir = Path(os.path.abspath(outdir))
    real_outdir = Path(os.path.realpath(outdir))
    found: list[tuple[Path, PurePosixPath]] = []  # (source, path relative to its input root)
    unlisted: list[FileOutcome] = []
    input_folders: list[tuple[Path, Path]] = []  # (as given, real)
    for raw in inputs:
        path = Path(os.path.abspath(raw))
        try:
            is_folder = path.is_dir()
        except OSError as exc:  # a parent folder that cannot be entered
            raise ParameterError(f"inputs: {raw}: cannot access it: {exc.strerror or exc}") from None
        if is_folder:
            real = Path(os.path.realpath(path))
            input_folders.append((path, real))
            if real_outdir == real or real in real_outdir.parents:
                raise ParameterError(
                    f"output: {outdir} is {'the input folder' if real_outdir == real else 'inside the input folder'} "
                    f"{path}; the run would read its own outputs. Choose an output folder outside the inputs"
                )
            found.extend(_walk(path, include, exclude, unlisted))
        elif path.exists() or path.is_symlink():
            relative = PurePosixPath(path.name)
            if _selected(relative, include, exclude):
                found.append((path, relative))
        else:
            raise ParameterError(f"inputs: {raw}: no such file or folder")
    jobs = _name_outputs(found, effect.slug, outdir)
    # Where each output really lands, symlinks below OUTDIR resolved: inside an input
    # folder, the run would write into its inputs (and read its outputs next time).
    real_parents: dict[Path, Path] = {}
    for job in jobs if input_folders else ():
        parent = job.destination.parent
        if parent not in real_parents:
            real_parents[parent] = Path(os.path.realpath(parent))
        landing = real_parents[parent]
        for folder, real in input_folders:
            if landing == real or real in landing.parents:
                raise ParameterError(
                    f"output: {job.destination} would be written inside the input folder {folder}; "
                    "choose an output folder that does not contain the inputs"
                )
    return _Plan(jobs, unlisted)


def _patterns(patterns: Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(patterns, str):
        patterns = [patterns]
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ParameterError(f"{name}: expected non-empty glob patterns such as '*.jpg', found {pattern!r}")
    return tuple(p.strip().casefold() for p in patterns)


def _matches(relative: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    text, name = relative.as_posix().casefold(), relative.name.casefold()
    return any(fnmatch.fnmatchcase(text, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _selected(relative: PurePosixPath, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if include and not _matches(relative, include):
        return False
    return not _matches(relative, exclude)


def _walk(
    root: Path, include: tuple[str, ...], exclude: tuple[str, ...], unlisted: list[FileOutcome]
) -> Iterator[tuple[Path, PurePosixPath]]:
    def unreadable(error: OSError) -> None:
        folder = Path(error.filename) if error.filename else root
        reason = f"{folder}: cannot list the folder: {error.strerror or error}"
        unlisted.append(FileOutcome(folder, None, "failed", reason))

    for folder, folders, names in os.walk(root, onerror=unreadable):
        here = PurePosixPath(Path(folder).relative_to(root).as_posix())
        # Sorted and pruned in place: os.walk then visits only these, in this order.
        folders[:] = sorted(d for d in folders if not d.startswith(".") and not _matches(here / d, exclude))
        for name in sorted(names):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES:
                continue
            relative = here / name
            if _selected(relative, include, exclude):
                yield Path(folder) / name, relative


def _name_outputs(found: list[tuple[Path, PurePosixPath]], slug: str, outdir: Path) -> list[BatchJob]:
    by_output: dict[str, list[tuple[Path, PurePosixPath]]] = {}
    seen: set[tuple[Path, str]] = set()
    for source, relative in found:
        natural = (relative.parent / f"{relative.stem}_{slug}.png").as_posix()
        if (source, natural) in seen:  # the same file named twice (a folder and one of its files)
            continue
        seen.add((source, natural))
        by_output.setdefault(natural.casefold(), []).append((source, relative))
    taken = set(by_output)
    named: list[tuple[Path, PurePosixPath, str]] = []
    others: list[tuple[Path, PurePosixPath]] = []
    for group in by_output.values():
        group.sort(key=lambda item: str(item[0]))
        first_source, first_relative = group[0]
        named.append((first_source, first_relative, (first_relative.parent / f"{first_relative.stem}_{slug}.png").as_posix()))
        others.extend(group[1:])
    # In source order, whatever the order of the inputs, so that the numbers are stable.
    for source, relative in sorted(others, key=lambda item: str(item[0])):
        extension = relative.suffix[1:].lower() or "noext"
        stem = (relative.parent / f"{relative.stem}_{extension}_{slug}").as_posix()
        candidate, number = f"{stem}.png", 2
        while candidate.casefold() in taken:
            candidate, number = f"{stem}-{number}.png", number + 1
        taken.add(candidate.casefold())
        named.append((source, relative, candidate))
    jobs = []
    for source, _, output in sorted(named, key=lambda item: item[2]):
        try:
            info = source.stat()
            size, mtime_ns = info.st_size, info.st_mtime_ns
        except OSError:
            size = mtime_ns = None  # rendering reports why
        jobs.append(BatchJob(source, outdir / output, output, size, mtime_ns))
    return jobs


# --------------------------------------------------------------------------- tiling


def tile_halo(effect: effects.EffectLike) -> int:
    """Rows of context a strip needs on each side: the chain's total kernel radius.

    Each step of a chain spreads the influence of a pixel by its kernel's radius
    (``kh // 2`` rows, the larger side of an even kernel), so a strip filtered
    with this many extra rows above and below has exact values in its middle.
    """
    parsed = effects.parse_effect(effect)
    return sum(max((kernel.shape[0] for kernel in step.kernels), default=0) // 2 for step in parsed.steps)


def tileable(effect: effects.EffectLike) -> bool:
    """Whether every output pixel depends only on a neighbourhood, so strips give the same result.

    True for filters and chains of them; false when a step says it is not local
    (a detector's hysteresis or automatic thresholds see the whole image).
    """
    return all(getattr(step, "local", True) for step in effects.parse_effect(effect).steps)


def _bytes_per_sample(effect: effects.Effect, output_range: str) -> int:
    """Estimated peak bytes per image sample while filtering and mapping an image.

    float32 throughout: the converted input, one response per kernel of the
    widest step (twice that for ``max``, which stacks them), the combined result
    or mapping copy, the previous step's response in a chain, the strip's copy
    for ``normalize``, and the 1-byte output.  Against tracemalloc peaks (whole
    RGB image): 13 measured / 13 estimated for one kernel, 16 / 17 for sobel,
    20 / 21 for a two-step chain, 68 / 73 for kirsch's eight kernels.  Gray
    filtering needs about a third.
    """
    widest = max(len(step.kernels) * (2 if step.combine == "max" else 1) for step in effect.steps)
    float_copies = 2 + widest + (len(effect.steps) > 1) + (output_range == "normalize")
    return 4 * float_copies + 1


def strip_rows(
    shape: tuple[int, ...],
    effect: effects.EffectLike,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    output_range: str | None = None,
) -> int:
    """How many image rows one strip may have so that filtering it fits the budget.

    Parameters
    ----------
    shape : tuple, (H, W) or (H, W, C)
        Shape of the image's pixels.
    effect : str, Effect, ...
        See :func:`convfx.effects.parse_effect`.
    memory_budget : int, optional
        Bytes that filtering one strip (with its halo) may use.
    output_range : str, optional
        Default: the effect's own.

    Returns
    -------
    int
        At least 1 (a budget too small for one row plus the halo is exceeded
        rather than failing); at least ``H`` when the whole image fits.
    """
    parsed = effects.parse_effect(effect)
    policy = parsed.output_range if output_range is None else output_range
    width = shape[1]
    channels = shape[2] if len(shape) == 3 else 1
    row_bytes = width * channels * _bytes_per_sample(parsed, policy)
    return max(1, int(memory_budget // row_bytes) - 2 * tile_halo(parsed))


def render_in_tiles(
    pixels: np.ndarray,
    effect: effects.EffectLike,
    *,
    boundary: str = "reflect",
    gray: bool | None = None,
    output_range: str | None = None,
    dtype: np.dtype | type = np.uint8,
    source_max: float | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> np.ndarray:
    """Filter and map an image strip by strip: ``map_range(apply(pixels))`` in bounded memory.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        The image, any real dtype.
    effect, boundary, gray
        As :func:`convfx.effects.apply`.
    output_range, dtype, source_max
        As :func:`convfx.effects.map_range`; ``output_range`` defaults to the effect's own.
    memory_budget : int, optional
        Bytes that filtering one strip may use (see :func:`strip_rows`).

    Returns
    -------
    ndarray of ``dtype``, shape (H, W) or (H, W, C)
        Equal to ``map_range(apply(pixels, ...), ...)``: every strip is filtered
        with :func:`tile_halo` extra rows on each side (taken cyclically for
        ``boundary="wrap"``, cut at the image's own edges otherwise, where the
        boundary rule then pads exactly as for the whole image), and only its
        exact middle is kept.

    Notes
    -----
    Strips are full rows, so every pixel is computed by the same code with the
    same neighbours as in one piece: the results are bit-identical for kernels
    that OpenCV applies directly or separably (all the shipped filters).  Large
    non-separable kernels that the engine or OpenCV apply through a Fourier
    transform can differ in the last bits of the float response, which can move
    a rare pixel by one grey level.

    ``normalize`` needs the response's global minimum and maximum: they are
    found in a first pass over the strips and the mapping is done in a second,
    so that range costs twice the filtering (but never the memory of the whole
    float response).

    An effect that is not :func:`tileable` (Canny's hysteresis follows edges
    across the whole image) is filtered in one piece, whatever the budget.

    Peak memory is about the budget plus the output array (1 or 2 bytes per
    sample); the input is held by the caller.
    """
    parsed = effects.parse_effect(effect)
    policy = parsed.output_range if output_range is None else output_range
    if policy not in OUTPUT_RANGES:
        raise ParameterError(f"output_range: invalid value {policy!r}; expected one of {list(OUTPUT_RANGES)}")
    pixels = np.asarray(pixels)
    if pixels.ndim not in (2, 3):
        raise ParameterError(f"pixels: expected shape (H, W) or (H, W, C), found shape {pixels.shape}")
    height = pixels.shape[0]
    rows = strip_rows(pixels.shape, parsed, memory_budget=memory_budget, output_range=policy)
    if rows >= height or not tileable(parsed):
        response = effects.apply(pixels, parsed, boundary=boundary, gray=gray)
        return effects.map_range(response, policy, dtype=dtype, source_max=source_max)
    halo = tile_halo(parsed)
    strips = [(top, min(height, top + rows)) for top in range(0, height, rows)]

    def strip_response(top: int, bottom: int) -> np.ndarray:
        if boundary == "wrap":
            # Wrap pads with the opposite edge of the whole image: take the halo rows
            # cyclically, which makes the strip's own wrap padding irrelevant.
            region, offset = pixels[np.arange(top - halo, bottom + halo) % height], halo
        else:
            start = max(0, top - halo)
            region, offset = pixels[start : min(height, bottom + halo)], top - start
        response = effects.apply(region, parsed, boundary=boundary, gray=gray)
        return response[offset : offset + bottom - top]

    limits = None
    if policy == "normalize":
        low, high = math.inf, -math.inf
        for top, bottom in strips:
            response = strip_response(top, bottom)
            low, high = min(low, float(response.min())), max(high, float(response.max()))
            response_dtype = response.dtype
            del response
        limits = np.array([low, high], dtype=response_dtype)  # exact: they are response values
    out: np.ndarray | None = None
    for top, bottom in strips:
        response = strip_response(top, bottom)
        if limits is None:
            mapped = effects.map_range(response, policy, dtype=dtype, source_max=source_max)
        else:
            # map_range normalizes by the minimum and maximum of what it is given:
            # appending the global ones makes a strip map exactly as the whole would.
            values = np.concatenate([response.ravel(), limits])
            mapped = effects.map_range(values, policy, dtype=dtype, source_max=source_max)[:-2].reshape(response.shape)
            del values
        if out is None:
            out = np.empty((height,) + mapped.shape[1:], dtype=mapped.dtype)
        out[top:bottom] = mapped
        del response, mapped  # not alive while the next strip is filtered
    assert out is not None  # height >= 1, so there was a strip
    return out


def render_file_in_tiles(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    effect: effects.EffectLike,
    *,
    boundary: str = "reflect",
    output_range: str | None = None,
    gray: bool | None = None,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
    overwrite: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> Path:
    """:func:`convfx.effects.render_file` for images too large to filter in one piece.

    The same checks, reading and atomic writing (it *is* ``render_file``), with the
    filtering done by :func:`render_in_tiles`; the output is the same file.  The
    decoded image and the result are held whole (formats are decoded and encoded
    in one piece); the budget bounds everything in between, which is most of it
    (the float responses take 4 to 8 times the memory of ``uint8`` pixels).

    Returns
    -------
    Path
        ``destination``.
    """
    return effects.render_file(
        source,
        destination,
        effect,
        boundary=boundary,
        output_range=output_range,
        gray=gray,
        max_pixels=max_pixels,
        overwrite=overwrite,
        render=functools.partial(render_in_tiles, memory_budget=memory_budget),
    )


# --------------------------------------------------------------------------- one file (runs in workers)


@dataclass(frozen=True)
class _Settings:
    """What every file of a run is rendered with (picklable, sent with each task)."""

    effect: effects.Effect
    boundary: str
    output_range: str
    gray: bool
    max_pixels: int
    memory_budget: int


@dataclass(frozen=True)
class _Task:
    index: int
    source: Path
    destination: Path
    overwrite: bool
    settings: _Settings


def _render_task(task: _Task) -> tuple[int, str, str]:
    """Render one file; never raises for a bad file.  Returns ``(index, status, reason)``.

    A plain top-level function of picklable arguments, so that process pools and
    Dask workers can import and call it.
    """
    settings = task.settings
    options = dict(
        boundary=settings.boundary,
        output_range=settings.output_range,
        gray=settings.gray,
        max_pixels=settings.max_pixels,
        overwrite=task.overwrite,
    )
    try:
        folder = task.destination.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileError(f"{task.destination}: cannot create the output folder {folder}: {exc.strerror or exc}") from None
        # In one piece when it fits the budget (nearly always): render_in_tiles decides
        # from the decoded pixels, so the header is read once.
        render_file_in_tiles(task.source, task.destination, settings.effect, memory_budget=settings.memory_budget, **options)
    except ConvfxError as error:
        return task.index, "failed", str(error)
    except MemoryError:
        return task.index, "failed", f"{task.source}: out of memory (lower --memory-budget or --workers)"
    except Exception as error:  # a bug or an unexpected decoder error: report it, keep going
        return task.index, "failed", f"{task.source}: unexpected error: {type(error).__name__}: {error}"
    return task.index, "done", ""


# --------------------------------------------------------------------------- executors


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Serial:
    """Render in this process, one file after the other (``workers=1``)."""

    def __init__(self, tasks: list[_Task]) -> None:
        self.tasks = tasks
        self.running: set[int] = set()

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        for task in self.tasks:
            self.running.add(task.index)
            result = _render_task(task)  # Ctrl-C here: imageio removes its own temporary file
            self.running.discard(task.index)
            yield result

    def close(self) -> None:
        pass


def _worker_main(connection: multiprocessing.connection.Connection, threads: int | None) -> None:
    """Loop of one worker process: receive a task, render it, send the result back.

    ``threads``: OpenCV threads to set here, in a spawned worker; ``None`` in a
    forked one, which inherits the count set around the fork (:func:`_forking`).
    """
    # Ctrl-C goes to the whole process group: only the parent acts on it, and
    # ends the workers.  SIGTERM from the parent ends a worker at once; the parent
    # then removes its temporary file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if threads is not None:
        import cv2

        cv2.setNumThreads(threads)
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if task is None:
            return
        try:
            connection.send(_render_task(task))
        except OSError:  # the parent went away
            return


@contextlib.contextmanager
def _forking(threads: int) -> Iterator[None]:
    """Prepare this process to be forked into workers that use ``threads`` OpenCV threads.

    cv2.setNumThreads deadlocks in a forked child once the parent has run
    OpenCV's thread pool (tests/test_batch.py), so the count is set here, for the
    children to inherit, and restored after.  Freezing the garbage collector's
    objects keeps the children's collections from touching, and so copying,
    every page they share with the parent.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        cv2.setNumThreads(previous)


class _Worker:
    """One worker process and the task it is working on."""

    def __init__(self, context: Any, threads: int) -> None:
        self.connection, child = context.Pipe()
        forked = context.get_start_method() == "fork"
        self.process = context.Process(
            target=_worker_main, args=(child, None if forked else threads), name="convfx-batch-worker", daemon=True
        )
        with _forking(threads) if forked else contextlib.nullcontext():
            self.process.start()
        child.close()
        self.task: _Task | None = None


def _death_reason(task: _Task, exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        how = f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    else:
        how = f"exited with code {exitcode}"
    return f"{task.source}: the worker process {how} while rendering this file"


class _ProcessPool:
    """Render in worker processes, one task per worker at a time.

    Each worker has its own pipe, so the parent always knows which file a worker
    is on: a worker that dies (a decoder crash, the out-of-memory killer) fails
    exactly that file and is replaced.  The workers start in the constructor,
    before the caller starts any thread (a progress bar), because forking a
    process that runs threads is unsafe.  :meth:`close` ends them: politely
    after the last task, at once (SIGTERM, then SIGKILL) otherwise.
    """

    def __init__(self, tasks: list[_Task], workers: int) -> None:
        self.context = multiprocessing.get_context()
        self.threads = max(1, _available_cores() // workers)
        self.queue = deque(tasks)
        self.running: set[int] = set()
        self.finished = False
        self.pool: list[_Worker] = []
        try:
            for _ in range(min(workers, len(tasks))):
                self.pool.append(_Worker(self.context, self.threads))
        except BaseException:
            self.close()
            raise

    def _give(self, worker: _Worker) -> None:
        if self.queue:
            worker.task = self.queue.popleft()
            self.running.add(worker.task.index)
            worker.connection.send(worker.task)

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        for worker in self.pool:
            self._give(worker)
        while any(worker.task is not None for worker in self.pool):
            busy = [worker for worker in self.pool if worker.task is not None]
            ready = multiprocessing.connection.wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for position, worker in enumerate(self.pool):
                task = worker.task
                if task is None or (worker.connection not in ready and worker.process.sentinel not in ready):
                    continue
                result = None
                if worker.connection.poll():
                    with contextlib.suppress(EOFError, OSError):
                        result = worker.connection.recv()
                if result is None:  # it died before answering
                    worker.process.join(_TERMINATE_GRACE)
                    result = (task.index, "failed", _death_reason(task, worker.process.exitcode))
                    worker.connection.close()
                    # Forked while the caller's threads run: safe enough here, as the
                    # child only ever runs _worker_main (no printing, no locks of theirs).
                    worker = self.pool[position] = _Worker(self.context, self.threads)
                worker.task = None
                self.running.discard(task.index)
                # The next file first, so the worker is not idle while the caller
                # records this one (manifest, progress bar).
                self._give(worker)
                yield result
        self.finished = True

    def close(self) -> None:
        for worker in self.pool:
            if self.finished:
                with contextlib.suppress(OSError):
                    worker.connection.send(None)
            else:
                worker.process.terminate()
        deadline = time.monotonic() + _TERMINATE_GRACE
        for worker in self.pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self.pool = []


def _check_scheduler_address(address: str) -> None:
    """Refuse a malformed address at once: Client() would fail, then hang 40 s in its cleanup."""
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import backends
    except ImportError:
        raise SchedulerError(_NO_DASK) from None

    try:
        scheme, location = parse_address(address)
        # Protocols that can connect here: the network ones, in-process (a cluster
        # started by this process, as the tests do) and UCX when its package is
        # installed; anything else makes Client() fail, then hang in its cleanup.
        usable = {"tcp", "tls", "ws", "wss", "inproc"} | ({"ucx"} if importlib.util.find_spec("ucp") else set())
        usable &= set(backends)
        if scheme not in usable:
            raise ValueError(f"protocol {scheme!r}; expected one of {sorted(usable)}")
        if scheme == "inproc":
            if not location:
                raise ValueError("an in-process address names its scheduler: inproc://HOST/PID/N")
        else:
            host, port = parse_host_port(location)
            if not host or not 0 < port < 65536:
                raise ValueError(f"expected host:port with a port in 1..65535, found {location!r}")
    except ValueError as exc:
        raise SchedulerError(
            f"scheduler: {address!r} is not a Dask scheduler address such as tcp://host:8786 ({exc})"
        ) from None


class _DaskRun:
    """Render on a Dask cluster; the workers read and write the same paths.

    Tasks already running when the run is interrupted cannot be stopped from
    here: they finish their (atomic) write and stay ``pending`` in the manifest,
    to be redone next time.
    """

    def __init__(self, tasks: list[_Task], address: str) -> None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise SchedulerError(_NO_DASK) from None
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"scheduler: cannot connect to the Dask scheduler at {address!r}: {exc}") from None
        self.tasks = tasks
        self.futures: list[Any] = []
        self.running: set[int] = set()  # not used: nothing of a worker's can be cleaned from here

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        from dask.distributed import as_completed

        self.futures = self.client.map(_render_task, self.tasks, pure=False)
        task_of = {future.key: task for future, task in zip(self.futures, self.tasks)}
        for future in as_completed(self.futures, loop=self.client.loop):
            task = task_of[future.key]
            try:
                result = future.result()
            except Exception as error:  # KilledWorker, a lost worker, ...
                result = (task.index, "failed", f"{task.source}: the Dask task failed: {type(error).__name__}: {error}")
            yield result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.cancel(self.futures)
        self.client.close()


# --------------------------------------------------------------------------- manifest


def _fingerprint_parameters(effect: effects.Effect, boundary: str, output_range: str, gray: bool) -> tuple[dict, str]:
    """Readable parameters for the manifest and the digest of everything that changes pixels."""
    digest = hashlib.sha256()
    for step in effect.steps:
        if isinstance(step, effects.Detector):
            # Its thresholds and modes change the pixels, not only its kernels.
            digest.update(f"detector {step.name} {json.dumps(step.settings, sort_keys=True)}\n".encode())
        digest.update(f"step {step.combine}\n".encode())
        for kernel in step.kernels:
            weights = np.ascontiguousarray(kernel.weights, dtype=np.float64)
            digest.update(f"kernel {weights.shape}\n".encode() + weights.tobytes())
    digest.update(json.dumps([boundary, output_range, gray, "png"]).encode())
    parameters = {
        "steps": [
            {
                "name": step.name,
                "parameters": dict(step.settings if isinstance(step, effects.Detector) else step.parameters),
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


class _Manifest:
    """The run manifest: read at the start, rewritten atomically during and after the run."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.files: dict[str, dict[str, Any]] = {}
        self._written_at = 0.0
        self._write_seconds = 0.0
        if path.exists():
            self.files = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise FileError(f"{self.path}: cannot read the run manifest ({exc}); move it away to start afresh") from None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("convfx_manifest") != _MANIFEST_FORMAT or not isinstance(files, dict):
            raise FileError(f"{self.path}: not a convfx run manifest (format {_MANIFEST_FORMAT}); move it away to start afresh")
        return {key: value for key, value in files.items() if isinstance(value, dict)}

    def write(self) -> None:
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


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder: one batch run writes there at a time."""
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
        yield
    finally:
        os.close(descriptor)  # releases the lock


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM raise KeyboardInterrupt, like Ctrl-C, while the run lasts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while cleaning up, so that the cleanup finishes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# --------------------------------------------------------------------------- the run


def run_batch(
    effect: effects.EffectLike,
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    boundary: str = "reflect",
    output_range: str | None = None,
    gray: bool | None = None,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
    workers: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    on_start: Callable[[int, int], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> BatchSummary:
    """Apply one effect to every image in files and folders, in parallel, resumably.

    Parameters
    ----------
    effect : str, path-like, ndarray, Filter or Effect
        See :func:`convfx.effects.parse_effect` (``"sobel"``, ``"gaussian_blur,sobel"``, ...).
    inputs : sequence of path-like
        Image files and folders (walked recursively); see :func:`plan_batch`.
    outdir : path-like
        Output folder, created if needed; mirrors the input folders' trees.  Must
        not be an input folder or inside one.  Holds the manifest, ``convfx-manifest.json``.
    include, exclude : sequence of str
        Glob patterns selecting files; see :func:`plan_batch`.
    boundary, output_range, gray, max_pixels
        As :func:`convfx.effects.render_file`.
    workers : int, optional
        Worker processes; default one per available core.  ``1`` renders in this
        process.  Ignored with ``scheduler``.
    force : bool, optional
        Redo every file, and replace outputs that the manifest does not know.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``"tcp://host:8786"``): the
        files are listed here and rendered by the cluster's workers, which must
        see the inputs and ``outdir`` under the same paths.  Needs
        ``pip install 'convfx[dask]'``.
    memory_budget : int or str, optional
        Bytes that filtering one image may take in one worker (``"512MB"``,
        default :data:`DEFAULT_MEMORY_BUDGET`); larger images are filtered in
        strips with the same result (:func:`render_in_tiles`).
    on_start : callable(to_render, skipped), optional
        Called once the work is planned, before the first file is rendered.
    on_file : callable(FileOutcome), optional
        Called after each rendered (or failed) file, in the calling thread.

    Returns
    -------
    BatchSummary
        Done, skipped and failed files (with reasons).  Bad files do not stop the run.

    Raises
    ------
    ParameterError
        Bad effect or option, no inputs, a missing input, ``outdir`` inside an input.
    FileError
        ``outdir`` cannot be created, its manifest is not readable, or another
        run holds it.
    SchedulerError
        Dask is missing or its scheduler cannot be reached.
    BatchInterrupted
        Ctrl-C or SIGTERM: the workers were stopped, their temporary files
        removed and the manifest written (files being rendered stay ``pending``
        and are redone next time); ``.summary`` has what was finished.

    Examples
    --------
    >>> summary = run_batch("sobel", ["photos"], "edges", workers=4)  # doctest: +SKIP
    >>> len(summary.done), len(summary.failed)  # doctest: +SKIP
    (120, 0)
    """
    started = time.monotonic()
    parsed = effects.parse_effect(effect)
    policy = parsed.output_range if output_range is None else output_range
    if policy not in OUTPUT_RANGES:
        raise ParameterError(f"output_range: invalid value {policy!r}; expected one of {list(OUTPUT_RANGES)}")
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ParameterError(f"workers: expected an int >= 1, found {workers!r}")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ParameterError(f"max_pixels: expected an int >= 1, found {max_pixels!r}")
    budget = parse_byte_size(memory_budget)
    if not os.fspath(outdir).strip():
        raise ParameterError("output: expected an output folder, found an empty name")
    if scheduler is not None:
        _check_scheduler_address(scheduler)  # before anything is created
    resolved_gray = parsed.gray if gray is None else bool(gray)
    plan = _plan(parsed, inputs, outdir, include=include, exclude=exclude)
    outdir = Path(os.path.abspath(outdir))
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"{outdir}: cannot create the output folder: {exc.strerror or exc}") from None

    parameters, fingerprint = _fingerprint_parameters(parsed, boundary, policy, resolved_gray)
    header = {
        "convfx_manifest": _MANIFEST_FORMAT,
        "convfx_version": __version__,
        "effect": parsed.spec,
        "parameters": parameters,
        "fingerprint": fingerprint,
    }
    settings = _Settings(parsed, boundary, policy, resolved_gray, int(max_pixels), budget)
    summary = BatchSummary(outdir=outdir, manifest=outdir / MANIFEST_NAME, failed=list(plan.unlisted))
    with _locked(outdir):
        manifest = _Manifest(summary.manifest, header)
        tasks: list[_Task] = []
        jobs = plan.jobs
        # Temporary files of a run that was killed outright (SIGKILL, power cut) go first.
        imageio.remove_partial_writes([job.destination for job in jobs] + [summary.manifest])
        for index, job in enumerate(jobs):
            entry = manifest.files.get(job.output)
            try:
                exists = job.destination.is_file()
            except OSError as exc:  # a name too long, a subfolder that cannot be entered
                reason = f"{job.destination}: cannot check the output: {exc.strerror or exc}"
                summary.failed.append(FileOutcome(job.source, job.destination, "failed", reason))
                continue
            if not force and entry is not None and _still_done(entry, job, fingerprint) and exists:
                summary.skipped.append(FileOutcome(job.source, job.destination, "skipped", "done before with the same parameters"))
                continue
            if exists and entry is None and not force:
                reason = (
                    f"{job.destination}: already exists and was not written by a convfx batch run "
                    f"(no entry in {MANIFEST_NAME}); replace it with --force (force=True)"
                )
                summary.failed.append(FileOutcome(job.source, job.destination, "failed", reason))
                continue
            tasks.append(_Task(index, job.source, job.destination, exists or entry is not None, settings))
            manifest.files[job.output] = _entry(job, fingerprint, "pending")
        executor = _executor(tasks, scheduler, workers)
        try:
            with _sigterm_interrupts():
                manifest.write()
                if on_start is not None:
                    on_start(len(tasks), len(summary.skipped))
                for index, status, reason in executor:
                    job = jobs[index]
                    outcome = FileOutcome(job.source, job.destination, status, reason)
                    (summary.done if status == "done" else summary.failed).append(outcome)
                    manifest.files[job.output] = _entry(job, fingerprint, status, reason)
                    manifest.write_now_and_then()
                    if on_file is not None:
                        on_file(outcome)
                executor.close()
                manifest.write()
        except BaseException as error:
            with _signals_held():
                executor.close()  # ends the workers at once unless they had finished
                # A worker ended mid-write leaves its temporary file: remove it.
                imageio.remove_partial_writes([jobs[index].destination for index in executor.running])
                summary.interrupted = isinstance(error, KeyboardInterrupt)
                summary.seconds = time.monotonic() - started
                with contextlib.suppress(Exception):  # keep the first error
                    manifest.write()
            if isinstance(error, KeyboardInterrupt):
                raise BatchInterrupted(summary) from None
            raise
    summary.seconds = time.monotonic() - started
    return summary


def _executor(tasks: list[_Task], scheduler: str | None, workers: int | None) -> _Serial | _ProcessPool | _DaskRun:
    if scheduler:
        return _DaskRun(tasks, scheduler)
    workers = workers or _available_cores()
    if workers == 1 or len(tasks) <= 1:
        return _Serial(tasks)
    return _ProcessPool(tasks, workers)


def _still_done(entry: dict[str, Any], job: BatchJob, fingerprint: str) -> bool:
    return (
        entry.get("status") == "done"
        and entry.get("fingerprint") == fingerprint
        and entry.get("source") == str(job.source)
        and job.size is not None
        and entry.get("size") == job.size
        and entry.get("mtime_ns") == job.mtime_ns
    )


def _entry(job: BatchJob, fingerprint: str, status: str, reason: str = "") -> dict[str, Any]:
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
