"""A whole batch run: :func:`run_batch`, its summary, and stopping it cleanly on Ctrl-C or SIGTERM.

:func:`run_batch` checks the options, plans the files (:mod:`.plan`), takes the
output folder's lock and reads its manifest (:mod:`.manifest`), skips what is
already done, renders the rest on an executor (:mod:`.executors`), and records
each outcome in the manifest as it arrives.  An interrupted run ends its
workers, removes their temporary files, leaves the manifest consistent and
raises :class:`BatchInterrupted` with the partial :class:`BatchSummary`.

This module must not decode, filter or encode pixels (:mod:`convfx.render`), nor
print: progress and the summary go through callbacks and return values.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import effects, imageio
from ..checks import quoted
from ..conv import BOUNDARIES
from ..errors import FileError, ParameterError
from ..limits import MAX_BYTE_SIZE_CHARS
from ..render import DEFAULT_MEMORY_BUDGET
from .executors import RenderSettings, RenderTask, check_scheduler_address, executor_for
from .manifest import MANIFEST_NAME, Manifest, file_entry, fingerprint_parameters, locked_folder, manifest_header, still_done
from .plan import IMAGE_SUFFIXES, plan_inputs

__all__ = [
    "FileOutcome",
    "BatchSummary",
    "BatchInterrupted",
    "parse_byte_size",
    "format_byte_size",
    "run_batch",
]


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

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "photos").mkdir()
    >>> _ = convfx.write_image(folder / "photos" / "cat.png", skimage.data.chelsea())
    >>> from convfx.batch import run_batch
    >>> outcome = run_batch("sobel", [folder / "photos"], folder / "edges", workers=1).done[0]
    >>> outcome.status, outcome.destination.name
    ('done', 'cat_sobel.png')
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

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "photos").mkdir()
    >>> _ = convfx.write_image(folder / "photos" / "cat.png", skimage.data.chelsea())
    >>> from convfx.batch import run_batch
    >>> summary = run_batch("sobel", [folder / "photos"], folder / "edges", workers=1)
    >>> len(summary.done), len(summary.skipped), summary.ok, summary.manifest.name
    (1, 0, True, 'convfx-manifest.json')
    >>> len(run_batch("sobel", [folder / "photos"], folder / "edges", workers=1).skipped)   # resumed
    1
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
    """Ctrl-C or SIGTERM stopped the run; ``summary`` says what was finished.

    Parameters
    ----------
    summary : BatchSummary
        What was done, skipped and failed before the run stopped; files in
        progress stay ``pending`` in the manifest.

    Examples
    --------
    >>> from pathlib import Path
    >>> from convfx.batch import BatchInterrupted, BatchSummary
    >>> stopped = BatchInterrupted(BatchSummary(Path("edges"), Path("edges/convfx-manifest.json"), interrupted=True))
    >>> isinstance(stopped, KeyboardInterrupt), stopped.summary.ok
    (True, False)
    """

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__("interrupted")
        self.summary = summary


# --------------------------------------------------------------------------- sizes


# Matched against the stripped text: no two parts can match the same characters,
# so nothing backtracks over a long run of spaces.
_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>(?:[kmgt]i?)?b?)$", re.IGNORECASE)
_UNIT_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_byte_size(text: str | int) -> int:
    """Parse a memory size such as ``"512MB"``, ``"2GiB"``, ``"64k"`` or ``"1000000"``.

    ``k``/``KB``, ``M``/``MB``, ``G``/``GB``, ``T``/``TB`` are powers of 1000;
    ``KiB``, ``MiB``, ``GiB``, ``TiB`` powers of 1024; a bare number is bytes.
    Case and spaces do not matter.

    Parameters
    ----------
    text : str or int
        A size with an optional unit, or a number of bytes.

    Returns
    -------
    int
        Bytes, > 0.

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
        text = str(text)
        match = _SIZE.match(text.strip()) if len(text) <= MAX_BYTE_SIZE_CHARS else None
        if match is None:
            raise ParameterError(f"memory_budget: expected a size such as '512MB' or '2GiB', found {quoted(text)}")
        unit = match["unit"].lower()
        base = 1024 if "i" in unit else 1000
        value = int(float(match["number"]) * base ** _UNIT_POWERS[unit.rstrip("ib")])
    if value < 1:
        raise ParameterError(f"memory_budget: expected at least 1 byte, found {quoted(text)}")
    return value


def format_byte_size(value: int) -> str:
    """A byte count in the largest power-of-1000 unit that writes it exactly: ``512000000`` -> ``"512MB"``.

    The inverse of :func:`parse_byte_size` for whole numbers of bytes; what
    ``convfx batch --help`` shows as the default budget.

    Parameters
    ----------
    value : int
        Bytes, >= 0.

    Returns
    -------
    str
        The number and its unit, without a space (``"512MB"``).

    Examples
    --------
    >>> format_byte_size(512_000_000), format_byte_size(1500), format_byte_size(64_000)
    ('512MB', '1500B', '64kB')
    """
    for unit, power in (("TB", 4), ("GB", 3), ("MB", 2), ("kB", 1)):
        if value % 1000**power == 0:
            return f"{value // 1000**power}{unit}"
    return f"{value}B"


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


def _nothing_found(inputs: Sequence[str | os.PathLike], include: Sequence[str], exclude: Sequence[str]) -> str:
    """The one line that says a run found no image to render, and where it looked."""
    names = [os.fspath(item) for item in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    patterns = " that match --include/--exclude" if include or exclude else ""
    return (
        f"inputs: found no images{patterns} in {shown} (folders are searched for {' '.join(IMAGE_SUFFIXES)}, "
        "any case); nothing to do"
    )


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
        Image files and folders (walked recursively); see :func:`convfx.batch.plan_batch`.
    outdir : path-like
        Output folder, created if needed; mirrors the input folders' trees.  Must
        not be an input folder or inside one.  Holds the manifest, ``convfx-manifest.json``
        (see :mod:`convfx.batch.manifest`).
    include, exclude : sequence of str
        Glob patterns selecting files; see :func:`convfx.batch.plan_batch`.
    boundary, output_range, gray, max_pixels
        As :func:`convfx.render.render_file`.
    workers : int, optional
        Worker processes; default one per available core.  ``1`` renders in this
        process.  Ignored with ``scheduler``.
    force : bool, optional
        Redo every file, and replace outputs that the manifest does not know
        (without it, such an output is never replaced).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``"tcp://host:8786"``): the
        files are listed here and rendered by the cluster's workers, which must
        see the inputs and ``outdir`` under the same paths.  Needs
        ``pip install 'convfx[dask]'``.
    memory_budget : int or str, optional
        Bytes that filtering one image may take in one worker (``"512MB"``,
        default :data:`convfx.render.DEFAULT_MEMORY_BUDGET`); larger images are
        filtered in strips with the same result (:func:`convfx.render.render_in_tiles`;
        effects with a non-local detector, such as Canny, are always filtered whole).
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
        Bad effect or option, no inputs, a missing input, ``outdir`` inside an
        input, or inputs that hold no image to render (nothing is created then).
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
    policy = parsed.resolve_output_range(output_range)
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ParameterError(f"workers: expected an int >= 1, found {workers!r}")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ParameterError(f"max_pixels: expected an int >= 1, found {max_pixels!r}")
    budget = parse_byte_size(memory_budget)
    if not os.fspath(outdir).strip():
        raise ParameterError("output: expected an output folder, found an empty name")
    if os.path.lexists(outdir) and not os.path.isdir(outdir):
        raise ParameterError(f"output: {os.fspath(outdir)} is a file; expected a folder")
    if scheduler is not None:
        check_scheduler_address(scheduler)  # before anything is created
    resolved_gray = parsed.gray if gray is None else bool(gray)
    plan = plan_inputs(parsed, inputs, outdir, include=include, exclude=exclude)
    if not plan.jobs and not plan.unlisted:  # before the output folder is created
        raise ParameterError(_nothing_found(inputs, include, exclude))
    outdir = Path(os.path.abspath(outdir))
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"{outdir}: cannot create the output folder: {exc.strerror or exc}") from None

    parameters, fingerprint = fingerprint_parameters(parsed, boundary, policy, resolved_gray)
    settings = RenderSettings(parsed, boundary, policy, resolved_gray, int(max_pixels), budget)
    unlisted = [FileOutcome(folder, None, "failed", reason) for folder, reason in plan.unlisted]
    summary = BatchSummary(outdir=outdir, manifest=outdir / MANIFEST_NAME, failed=unlisted)
    with locked_folder(outdir):
        manifest = Manifest(summary.manifest, manifest_header(parsed, parameters, fingerprint))
        tasks: list[RenderTask] = []
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
            if not force and entry is not None and still_done(entry, job, fingerprint) and exists:
                summary.skipped.append(
                    FileOutcome(job.source, job.destination, "skipped", "done before with the same parameters")
                )
                continue
            if exists and entry is None and not force:
                reason = (
                    f"{job.destination}: already exists and was not written by a convfx batch run "
                    f"(no entry in {MANIFEST_NAME}); replace it with --force (force=True)"
                )
                summary.failed.append(FileOutcome(job.source, job.destination, "failed", reason))
                continue
            tasks.append(RenderTask(index, job.source, job.destination, exists or entry is not None, settings))
            manifest.files[job.output] = file_entry(job, fingerprint, "pending")
        executor = executor_for(tasks, scheduler, workers)
        try:
            with _sigterm_interrupts():
                manifest.write()
                if on_start is not None:
                    on_start(len(tasks), len(summary.skipped))
                for index, status, reason in executor:
                    job = jobs[index]
                    outcome = FileOutcome(job.source, job.destination, status, reason)
                    (summary.done if status == "done" else summary.failed).append(outcome)
                    manifest.files[job.output] = file_entry(job, fingerprint, status, reason)
                    manifest.write_now_and_then()
                    if on_file is not None:
                        on_file(outcome)
                executor.close()
                manifest.write()
        except BaseException as error:
            with _signals_held():
                executor.close()  # ends the workers at once unless they had finished
                # A worker ended mid-write leaves its temporary file, and so does a
                # manifest write interrupted between creating its file and the
                # cleanup that guards it: remove them.
                imageio.remove_partial_writes([jobs[index].destination for index in executor.running] + [summary.manifest])
                summary.interrupted = isinstance(error, KeyboardInterrupt)
                summary.seconds = time.monotonic() - started
                with contextlib.suppress(Exception):  # keep the first error
                    manifest.write()
            if isinstance(error, KeyboardInterrupt):
                raise BatchInterrupted(summary) from None
            raise
    summary.seconds = time.monotonic() - started
    return summary
