"""One image file from disk to disk: read, filter, map to pixels, write atomically.

:func:`render_file` is the single-file pipeline behind ``convfx apply`` and every
file of a batch run; :func:`filter_and_map` is its in-memory middle
(``map_range(apply(pixels))``), and :func:`default_output_path` names the output
when none is given.

Images too large to filter in one piece within a memory budget are filtered in
horizontal strips with a halo of context rows (:func:`render_in_tiles`; every
:func:`render_file` does so), with the same pixels as filtering them whole;
:func:`tile_halo`, :func:`tileable` and :func:`strip_rows` say how.  Effects whose
every output pixel comes from its own window are filtered in strips of a few
megabytes whatever the budget, because that is faster: the strips' float
responses stay in cache and reuse the same memory.

This module must not slide kernels or map ranges itself (that is
:mod:`convfx.effects`), decode or encode files (:mod:`convfx.imageio`), walk
folders or run workers (:mod:`convfx.batch`), or print.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import effects, imageio, ranges
from .banks import Filter
from .checks import checked_int
from .conv import BOUNDARIES, compute_dtype, windowed
from .errors import FileError, ParameterError

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "default_output_path",
    "filter_and_map",
    "render_file",
    "tile_halo",
    "tileable",
    "strip_rows",
    "render_in_tiles",
    "render_file_in_tiles",
]

#: Memory that filtering one image may take (512 MB): images whose filtering
#: would need more are filtered in strips.  ``--memory-budget`` of ``convfx apply``
#: and ``convfx batch``.
DEFAULT_MEMORY_BUDGET = 512 * 1000**2

# Strips chosen for speed (see render_in_tiles) have a float response of about
# this many bytes: large enough that numpy asks the system for huge pages (from
# 4 MiB on), which makes fresh memory several times cheaper to touch, and small
# enough to be reused from strip to strip instead of growing with the image.
_FAST_STRIP_RESPONSE_BYTES = 8 * 2**20
# ... and at least this many times the halo, so that the rows filtered twice stay few.
_FAST_STRIP_HALOS = 16


# --------------------------------------------------------------------------- one file


def default_output_path(source: str | os.PathLike, effect: effects.EffectLike) -> Path:
    """Where ``convfx apply`` writes by default: ``<stem>_<effect>.png`` next to ``source``.

    PNG because it is lossless (edge maps are ruined by JPEG) and keeps 16 bits.
    The effect's label is at most :data:`convfx.effects.MAX_SLUG_CHARS`
    characters (a long chain's ends in a hash, see :attr:`convfx.effects.Effect.slug`).

    Parameters
    ----------
    source : str or path-like
        The input image.
    effect : str or Effect
        As :func:`convfx.apply` takes it.

    Returns
    -------
    Path

    Examples
    --------
    >>> from convfx.render import default_output_path
    >>> default_output_path("photos/cat.jpg", "gaussian_blur,sobel").as_posix()
    'photos/cat_gaussian_blur-sobel.png'
    """
    source = Path(source)
    return source.with_name(f"{source.stem}_{effects.parse_effect(effect).slug}.png")


def filter_and_map(
    pixels: np.ndarray,
    effect: effects.EffectLike,
    *,
    boundary: str = "reflect",
    gray: bool | None = None,
    output_range: str | None = None,
    dtype: np.dtype | type = np.uint8,
    source_max: float | None = None,
) -> np.ndarray:
    """``map_range(apply(pixels, effect), output_range)``: image pixels in, output pixels out.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        The image, any real dtype.
    effect, boundary, gray
        As :func:`convfx.effects.apply`.
    output_range, dtype, source_max
        As :func:`convfx.ranges.map_range`; ``output_range=None`` is the effect's own.

    Returns
    -------
    ndarray of ``dtype``
        Shaped as :func:`convfx.effects.apply` returns it.
    """
    parsed = effects.parse_effect(effect)
    policy = parsed.resolve_output_range(output_range)
    response = effects.apply(pixels, parsed, boundary=boundary, gray=gray)
    return ranges.map_range(response, policy, dtype=dtype, source_max=source_max)


def render_file(
    source: str | os.PathLike,
    destination: str | os.PathLike | None,
    effect: effects.EffectLike,
    *,
    boundary: str = "reflect",
    output_range: str | None = None,
    gray: bool | None = None,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
    overwrite: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    render: Callable[..., np.ndarray] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Read one image, apply an effect, map the range and write the result atomically.

    The single-file pipeline behind ``convfx apply``.  A plain top-level function
    of plain (picklable) arguments, so a process pool can call it per file.
    Cheap checks come first (effect, options, input present, output writable),
    then the decode; nothing is written unless everything succeeded, and the
    input is never written to.

    Parameters
    ----------
    source : str or path-like
        Image to read (see :func:`convfx.imageio.read_image`).
    destination : str or path-like or None
        Image to write; the suffix picks the format.  ``None``:
        :func:`default_output_path`, ``<stem>_<effect>.png`` next to ``source``.  16-bit input stays 16-bit
        in PNG and TIFF.  Alpha is copied through unfiltered (dropped in JPEG/BMP).
    effect : str, path-like, ndarray, Filter or Effect
        See :func:`convfx.effects.parse_effect`.
    boundary : str, optional
        See :func:`convfx.effects.apply`.
    output_range : {"abs", "clip", "signed", "normalize", "minmax", "binary"}, optional
        Default: the effect's own (``abs`` for derivatives, ``clip`` for blurs
        and sharpen, ``binary`` for edge detectors); see :func:`convfx.ranges.map_range`.
        ``binary`` is only for effects that end in an edge detector, and its maps
        are written as 8-bit 0/255 whatever the input depth.
    gray : bool, optional
        Filter the luminance only; default: the effect's own choice.
    max_pixels : int, optional
        Decompression-bomb guard; see :func:`convfx.imageio.read_image`.
    overwrite : bool, optional
        Replace an existing ``destination``.
    memory_budget : int, optional
        Bytes that filtering may use beyond the decoded image and the output
        pixels (default :data:`DEFAULT_MEMORY_BUDGET`); an image whose filtering
        would need more is filtered in strips, with the same result (see
        :func:`render_in_tiles`).  Peak memory is about the decoded image, the
        output and this budget (plus a few megabytes of the codecs' own
        buffers): the decoded pixels are let go before the output is encoded,
        which converts it in place.
    render : callable, optional
        What turns the decoded pixels into output pixels, called as
        ``render(pixels, effect, boundary=, gray=, output_range=, dtype=, source_max=)``;
        default :func:`render_in_tiles` with ``memory_budget``.
    warn : callable, optional
        Called, after the file is written, with one line for anything the output
        lost without failing: the input's alpha channel in a JPEG or BMP, which
        have none (``convfx apply`` prints it as a warning).

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ParameterError
        Bad effect, option, or output suffix; ``destination`` is the input
        (exit code 2).
    FileError
        The input cannot be read or the output cannot be written (exit code 1);
        :class:`convfx.imageio.OutputExistsError` if it exists and not ``overwrite``.
    MemoryError
        The image and its output do not fit in memory (a smaller budget helps
        only with what lies between them).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = convfx.write_image(folder / "cat.png", skimage.data.chelsea())
    >>> convfx.render_file(folder / "cat.png", None, "sobel").name   # next to the input
    'cat_sobel.png'
    >>> convfx.render_file(folder / "cat.png", folder / "edges.jpg", "canny:sigma=2").suffix
    '.jpg'
    """
    parsed = effects.parse_effect(effect)
    policy = parsed.resolve_output_range(output_range)
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    memory_budget = checked_int(memory_budget, "memory_budget", minimum=1, expected="a number of bytes >= 1")
    if render is None:
        render = functools.partial(render_in_tiles, memory_budget=memory_budget)
    source = imageio.check_source(source)
    destination = default_output_path(source, parsed) if destination is None else Path(destination)
    try:
        same = (destination.exists() and os.path.samefile(source, destination)) or destination.resolve() == source.resolve()
    except OSError as exc:  # a name too long for the file system, a folder that cannot be entered
        raise FileError(f"{destination}: cannot use this output name: {exc.strerror or exc}") from None
    if same:
        raise ParameterError(f"output: {destination} is the input file; convfx never overwrites its input")
    imageio.check_destination(destination, overwrite=overwrite)
    picture = imageio.read_image(source, max_pixels=max_pixels)
    # An edge map has two levels; 16 bits would only make the file bigger.
    dtype = np.dtype(np.uint8) if policy == "binary" else imageio.output_dtype(destination, picture.pixels.dtype)
    pixels = render(
        picture.pixels, parsed, boundary=boundary, gray=gray, output_range=policy, dtype=dtype, source_max=picture.max_value
    )
    alpha, icc_profile = picture.alpha, picture.icc_profile
    del picture  # the decoded pixels are not needed while the output is encoded
    # A montage of feature maps (learned:MODEL) is not the photo's shape: its alpha would not fit.
    alpha = alpha if alpha is None or pixels.shape[:2] == alpha.shape[:2] else None
    written = imageio.write_image(
        destination, pixels, alpha=alpha, icc_profile=icc_profile, overwrite=overwrite, reuse_pixels=True
    )
    format = imageio.WRITE_FORMATS.get(destination.suffix.lower())
    if alpha is not None and format in _FORMATS_WITHOUT_ALPHA and warn is not None:
        warn(f"{destination}: {format} has no alpha channel; the input's transparency was dropped")
    return written


#: Output formats that hold no alpha channel (imageio drops it when writing them).
_FORMATS_WITHOUT_ALPHA = ("JPEG", "BMP")


# --------------------------------------------------------------------------- strips with a halo


def tile_halo(effect: effects.EffectLike) -> int:
    """Rows of context a strip needs on each side: the chain's total kernel radius.

    Each step of a chain spreads the influence of a pixel by its kernel's radius
    (``kh // 2`` rows, the larger side of an even kernel), so a strip filtered
    with this many extra rows above and below has exact values in its middle.

    Parameters
    ----------
    effect : str or Effect

    Returns
    -------
    int
    """
    parsed = effects.parse_effect(effect)
    return sum(max((kernel.shape[0] for kernel in step.kernels), default=0) // 2 for step in parsed.steps)


def tileable(effect: effects.EffectLike) -> bool:
    """Whether every output pixel depends only on a neighbourhood, so strips give the same result.

    True for filters and chains of them; false when a step says it is not local
    (a detector's hysteresis or automatic thresholds see the whole image).

    Parameters
    ----------
    effect : str or Effect

    Returns
    -------
    bool
    """
    return all(getattr(step, "local", True) for step in effects.parse_effect(effect).steps)


def _windowed(effect: effects.Effect, pixel_dtype: np.dtype) -> bool:
    """Whether every step of ``effect`` is a filter whose kernels are computed window by window."""
    dtype = compute_dtype(pixel_dtype)
    return tileable(effect) and all(
        isinstance(step, Filter) and all(windowed(kernel.weights, dtype=dtype) for kernel in step.kernels)
        for step in effect.steps
    )


def _bytes_per_sample(effect: effects.Effect) -> int:
    """Estimated peak bytes per image sample while filtering and mapping an image.

    float32 throughout: the converted input, one response per kernel of the
    widest step (twice that for ``max``, which stacks them), the combined result
    or mapping copy, the previous step's response in a chain, and the 1-byte
    output (ranking a response for ``normalize`` works in fixed-size chunks).
    Gray filtering needs about a third; the estimate errs on the large side, and
    ``tests/test_render.py`` holds the tiled peak to the budget.
    """
    widest = max(len(step.kernels) * (2 if step.combine == "max" else 1) for step in effect.steps)
    float_copies = 2 + widest + (len(effect.steps) > 1)
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
        Default: the effect's own.  Every range maps a strip in the same memory
        (a float32 copy), so it does not change the answer.

    Returns
    -------
    int
        At least 1 (a budget too small for one row plus the halo is exceeded
        rather than failing); at least ``H`` when the whole image fits.
    """
    parsed = effects.parse_effect(effect)
    width = shape[1]
    channels = shape[2] if len(shape) == 3 else 1
    row_bytes = width * channels * _bytes_per_sample(parsed)
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
        As :func:`convfx.ranges.map_range`; ``output_range`` defaults to the effect's own.
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

    ``normalize`` and ``minmax`` stretch limits found in the whole response
    (:func:`convfx.ranges.stretch_limits`): ``normalize``'s percentiles are
    counted in two passes over the strips and ``minmax``'s extremes in one, and
    the mapping is done in a last pass, so those ranges cost three (two) times
    the filtering, but never the memory of the whole float response.

    An effect that is not :func:`tileable` (Canny's hysteresis follows edges
    across the whole image) is filtered in one piece, whatever the budget.
    An effect whose every kernel is computed window by window
    (:func:`convfx.conv.windowed`, all the shipped filters) is filtered in strips
    of a few megabytes even when the whole would fit the budget, unless its range is
    ``normalize``: the results are bit-identical, and strips are faster (their
    memory is reused instead of fresh, and nearer the cache).

    Peak memory is about the budget plus the output array (1 or 2 bytes per
    sample); the input is held by the caller.
    """
    parsed = effects.parse_effect(effect)
    policy = parsed.resolve_output_range(output_range)
    pixels = np.asarray(pixels)
    if pixels.ndim not in (2, 3):
        raise ParameterError(f"pixels: expected shape (H, W) or (H, W, C), found shape {pixels.shape}")
    height = pixels.shape[0]
    rows = strip_rows(pixels.shape, parsed, memory_budget=memory_budget, output_range=policy)
    if policy != "normalize" and _windowed(parsed, pixels.dtype):
        # Faster in strips, and the same (normalize would filter twice).
        samples_per_row = pixels.shape[1] * (pixels.shape[2] if pixels.ndim == 3 else 1)
        fast_rows = _FAST_STRIP_RESPONSE_BYTES // (samples_per_row * compute_dtype(pixels.dtype).itemsize)
        rows = min(rows, max(fast_rows, _FAST_STRIP_HALOS * tile_halo(parsed), 1))
    if rows >= height or not tileable(parsed):
        response = effects.apply(pixels, parsed, boundary=boundary, gray=gray)
        return ranges.map_range(response, policy, dtype=dtype, source_max=source_max)
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
    if policy in ranges.STRETCHES:
        # The whole response's limits, found strip by strip (one or two passes).
        limits = ranges.stretch_limits(lambda: (strip_response(top, bottom) for top, bottom in strips), policy)
    out: np.ndarray | None = None
    for top, bottom in strips:
        response = strip_response(top, bottom)
        mapped = ranges.map_range(response, policy, dtype=dtype, source_max=source_max, limits=limits)
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
    """:func:`render_file` with its ``memory_budget``: the name the batch workers call.

    The same checks, reading, filtering (in strips when the image needs more than
    the budget) and atomic writing; the output is the same file.

    Parameters
    ----------
    source, destination : str or path-like
    effect : str or Effect
    boundary, output_range, gray, max_pixels, overwrite, memory_budget
        As for :func:`render_file`.

    Returns
    -------
    Path
        ``destination``.
    """
    return render_file(
        source,
        destination,
        effect,
        boundary=boundary,
        output_range=output_range,
        gray=gray,
        max_pixels=max_pixels,
        overwrite=overwrite,
        memory_budget=memory_budget,
    )
