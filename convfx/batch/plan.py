"""What a batch run reads and writes: walking the inputs, include/exclude patterns, output names.

:func:`plan_batch` lists the files a run would render and where each output
goes, without touching any file: folders are walked recursively, each file is
kept or left out by glob patterns, each folder's tree is mirrored under the
output folder, and colliding output names are told apart by a fixed rule.  An
output folder equal to or inside an input folder is refused here, before
anything is created.

This module must not create, read or write image files (that is
:mod:`convfx.render`), keep the manifest (:mod:`.manifest`) or run anything
(:mod:`.executors`, :mod:`.run`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import effects
from ..errors import ParameterError

__all__ = ["IMAGE_SUFFIXES", "BatchJob", "Plan", "plan_batch", "plan_inputs"]

#: Files with these suffixes (any case) are taken from folders; files named
#: explicitly are taken whatever their suffix.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


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

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "photos").mkdir()
    >>> _ = convfx.write_image(folder / "photos" / "cat.png", skimage.data.chelsea())
    >>> from convfx.batch import plan_batch
    >>> job = plan_batch("sobel", [folder / "photos"], folder / "edges")[0]
    >>> job.source.name, job.output
    ('cat.png', 'cat_sobel.png')
    """

    source: Path
    destination: Path
    output: str
    size: int | None
    mtime_ns: int | None


@dataclass(frozen=True)
class Plan:
    """The planned jobs and the folders that could not be listed.

    Attributes
    ----------
    jobs : list of BatchJob
        Sorted by output path.
    unlisted : list of (Path, str)
        A folder that could not be listed, and why (one line naming it).
    """

    jobs: list[BatchJob]
    unlisted: list[tuple[Path, str]]


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
        No inputs, an input that does not exist, ``outdir`` equal to or inside an
        input folder, or an output that would replace a file given as an input.

    Notes
    -----
    Outputs are named ``<stem>_<effect slug>.png``.  When several sources give the
    same output path (``a.jpg`` and ``a.png`` both give ``a_sobel.png``; compared
    case-insensitively), they are sorted by their absolute source path: the first
    keeps the name, each following one gets its source suffix in the name,
    ``a_png_sobel.png``, and, if that is taken too, ``-2``, ``-3``, ... before
    ``.png``.  The same set of sources always gives the same names.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "photos").mkdir()
    >>> _ = convfx.write_image(folder / "photos" / "cat.png", skimage.data.chelsea())
    >>> (folder / "photos" / "2024").mkdir()
    >>> _ = convfx.write_image(folder / "photos" / "2024" / "dog.jpg", skimage.data.astronaut())
    >>> from convfx.batch import plan_batch
    >>> [job.output for job in plan_batch("gaussian_blur,sobel", [folder / "photos"], folder / "out")]
    ['2024/dog_gaussian_blur-sobel.png', 'cat_gaussian_blur-sobel.png']
    """
    return plan_inputs(effects.parse_effect(effect), inputs, outdir, include=include, exclude=exclude).jobs


def plan_inputs(
    effect: effects.Effect,
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    include: Sequence[str],
    exclude: Sequence[str],
) -> Plan:
    """:func:`plan_batch` for a parsed effect, with the folders that could not be listed.

    Parameters
    ----------
    effect : Effect
    inputs : sequence of str or path-like
    outdir : str or path-like
    include, exclude : sequence of str
        As for :func:`plan_batch`.

    Returns
    -------
    Plan
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if not inputs:
        raise ParameterError("inputs: expected at least one image file or folder, found none")
    include = _patterns(include, "include")
    exclude = _patterns(exclude, "exclude")
    outdir = Path(os.path.abspath(outdir))
    real_outdir = Path(os.path.realpath(outdir))
    found: list[tuple[Path, PurePosixPath]] = []  # (source, path relative to its input root)
    unlisted: list[tuple[Path, str]] = []
    input_folders: list[tuple[Path, Path]] = []  # (as given, real)
    input_files: list[Path] = []  # named one by one: they may sit in OUTDIR
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
                input_files.append(path)
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
    _refuse_inputs_as_outputs(jobs, input_files)
    return Plan(jobs, unlisted)


def _refuse_inputs_as_outputs(jobs: list[BatchJob], input_files: list[Path]) -> None:
    """Refuse a run that would write over a file it was given as an input.

    A file named on the command line may sit in OUTDIR, where an output can take its
    name (``in/a.jpg`` and ``out/a_sobel.png`` both given, with ``-o out``).  Files
    from input folders cannot: OUTDIR and every output are outside those folders.
    Compared by real path (symbolic links resolved) and by file identity (hard links).
    """
    if not input_files:
        return
    real_inputs = {Path(os.path.realpath(path)): path for path in input_files}
    identities = {}
    for path in input_files:
        try:
            info = path.stat()
        except OSError:
            continue  # rendering reports why
        identities[(info.st_dev, info.st_ino)] = path
    for job in jobs:
        source = real_inputs.get(Path(os.path.realpath(job.destination)))
        if source is None and identities:
            try:
                info = job.destination.stat()
            except OSError:  # no such output yet: it cannot be an input
                continue
            source = identities.get((info.st_dev, info.st_ino))
        if source is not None:
            named = "" if source == job.destination else f" (given as {source})"
            raise ParameterError(
                f"output: {job.destination} is also an input{named}; convfx never writes over its inputs. "
                "Choose an output folder that holds none of the files given"
            )


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
    root: Path, include: tuple[str, ...], exclude: tuple[str, ...], unlisted: list[tuple[Path, str]]
) -> Iterator[tuple[Path, PurePosixPath]]:
    def unreadable(error: OSError) -> None:
        folder = Path(error.filename) if error.filename else root
        unlisted.append((folder, f"{folder}: cannot list the folder: {error.strerror or error}"))

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
        size: int | None
        mtime_ns: int | None
        try:
            info = source.stat()
            size, mtime_ns = info.st_size, info.st_mtime_ns
        except OSError:
            size = mtime_ns = None  # rendering reports why
        jobs.append(BatchJob(source, outdir / output, output, size, mtime_ns))
    return jobs
