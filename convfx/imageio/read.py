"""Reading image files: the header checked against a pixel limit, then decoded upright, alpha apart.

Reading gives a :class:`~convfx.imageio.formats.Picture`: RGB (or gray) pixels as
``uint8`` or ``uint16`` with the EXIF orientation applied, and the alpha channel
kept apart so that filters never touch it.  Before any pixel is decoded, the size
in the header is checked against a pixel limit (a decompression-bomb guard), and
no read takes more than the file's header promises within :mod:`convfx.limits`.
Pillow decodes everything except 16-bit colour, which Pillow narrows to 8 bits,
and complete 8-bit JPEGs, which OpenCV decodes with fewer copies (its libjpeg
warnings are caught: they mean corrupt data).

This module must not write files, nor change pixel values beyond bit-depth conversion.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from ..checks import checked_int
from ..errors import FileError, ParameterError
from ..limits import DEFAULT_MAX_PIXELS, MAX_IMAGE_EXTRA_BYTES
from .files import check_regular_file
from .formats import READ_FORMATS, Picture, opencv_reason, reason

# What a damaged file makes Pillow or zlib raise while decoding (struct.error: a
# short EXIF block).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, IndexError, KeyError, TypeError, struct.error)

_ORIENTATION_TAG = 0x0112
# EXIF orientation -> how to turn the stored pixels upright (as PIL.ImageOps.exif_transpose).
_ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def check_source(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is an existing, non-empty regular file; else a FileError.

    Cheap (one ``stat``), so callers can fail before any expensive work.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Path
    """
    path = Path(path)
    if check_regular_file(path, what="an image file") == 0:
        raise FileError(f"{path}: empty file (0 bytes), expected an image")
    return path


def read_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Picture:
    """Read a JPEG, PNG, TIFF, BMP or WebP file into a :class:`Picture`.

    Parameters
    ----------
    path : str or path-like
        The image file.
    max_pixels : int, optional
        Refuse images with more pixels than this, checked from the header before
        decoding (default :data:`convfx.limits.DEFAULT_MAX_PIXELS`).

    Returns
    -------
    Picture
        Gray images as ``(H, W)``, everything else (palette, CMYK, ...) as RGB
        ``(H, W, 3)``; ``uint16`` for 16-bit files, ``uint8`` otherwise; alpha
        apart (also from a PNG's tRNS chunk, which makes one palette entry,
        gray level or RGB colour transparent); the EXIF orientation applied once.

    Raises
    ------
    FileError
        Missing file, folder, empty file, not an image, unsupported format or
        pixel type, truncated or corrupt data, or more than ``max_pixels``.
    ParameterError
        If ``max_pixels`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> import skimage.data
    >>> import tempfile
    >>> from pathlib import Path
    >>> import convfx
    >>> path = Path(tempfile.mkdtemp()) / "camera.png"
    >>> _ = convfx.write_image(path, skimage.data.camera())
    >>> picture = convfx.read_image(path)
    >>> picture.pixels.shape, picture.pixels.dtype, picture.alpha is None
    ((512, 512), dtype('uint8'), True)
    """
    path = check_source(path)
    checked_int(max_pixels, "max_pixels", minimum=1, type_error=ParameterError)
    with _open_header(path) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise FileError(
                f"{path}: {width}x{height} = {width * height:,} pixels is over the limit of {max_pixels:,} "
                "(a guard against decompression bombs; raise it with max_pixels=)"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's own bomb warning: our limit applies
                pixels, alpha = _decode_upright(image, path)
        except FileError:
            raise
        except _DECODE_ERRORS as exc:
            raise FileError(f"{path}: truncated or corrupt image data ({reason(exc)})") from None
        icc_profile = image.info.get("icc_profile") or None
    return Picture(pixels=pixels, alpha=alpha, icc_profile=icc_profile)


@contextlib.contextmanager
def _open_header(path: Path) -> Iterator[Image.Image]:
    """Open ``path`` with Pillow, which reads the header only; its errors become FileErrors.

    Pillow is given a file object, not the path: from a path it memory-maps
    uncompressed single-strip TIFFs, and Pillow 11 to 13 map them with the size
    already turned by the orientation tag, which scrambles orientations 5 to 8.
    """
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed by the with below; opened apart to name the error)
    except OSError as exc:
        raise FileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with stream:
        try:
            with _pillow_checks_off():
                # Only the formats convfx supports are tried: less foreign code on odd files.
                image = Image.open(stream, formats=READ_FORMATS)
        except UnidentifiedImageError:
            raise FileError(f"{path}: not a recognised image (expected JPEG, PNG, TIFF, BMP or WebP)") from None
        except _DECODE_ERRORS + (Image.DecompressionBombError,) as exc:
            raise FileError(f"{path}: cannot read the image header ({reason(exc)})") from None
        with image:
            yield image


_PILLOW_LIMIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _pillow_checks_off() -> Iterator[None]:
    """Switch off Pillow's own decompression-bomb check while opening a file.

    Pillow refuses images above twice its global ``Image.MAX_IMAGE_PIXELS`` inside
    ``Image.open``; convfx checks the header size against its own, overridable
    limit instead, so Pillow's global is lifted for the duration of the (lazy,
    header-only) open and restored afterwards.
    """
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _decode_upright(image: Image.Image, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels and alpha of an opened image, in RGB order, with the EXIF orientation applied once.

    The decoders disagree on orientation: Pillow's TIFF loader turns the pixels
    upright itself and deletes the tag, its other loaders leave both as stored;
    OpenCV's TIFF decoder applies the TIFF tag whatever the flags, while its
    JPEG decoder (with ``IMREAD_IGNORE_ORIENTATION``) and its PNG decoder (with
    ``IMREAD_UNCHANGED``) ignore EXIF.  So the tag is read before decoding and
    applied only to pixels that are still as stored.
    """
    orientation = _orientation(image)
    pixels = _decode_jpeg_with_opencv(image, path)
    if pixels is not None:
        return _turn_upright(pixels, None, orientation)
    mode = image.mode
    if mode in ("RGB", "RGBA", "LA") and _bits_per_sample(image, path) == 16:
        # Pillow decodes 16-bit colour as 8-bit.  Decode once with Pillow anyway, so a
        # damaged file fails here with a clean message instead of libpng printing
        # to stderr, then take the full 16 bits from OpenCV.
        image.load()
        pixels, alpha = _decode_16bit_colour(image, path)
        if image.format == "TIFF":
            return pixels, alpha  # already upright: OpenCV applied the TIFF tag
        return _turn_upright(pixels, alpha, orientation)
    pixels, alpha = _decode(image, path)
    if _orientation(image) != orientation:
        return pixels, alpha  # Pillow's loader turned them and removed the tag (TIFF)
    return _turn_upright(pixels, alpha, orientation)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation of an opened image: 1 (as stored) when it has none or its EXIF is unreadable.

    Pillow raises whatever its EXIF parser meets (``struct.error`` for a block of
    four bytes, ``SyntaxError`` for a bad byte order); a damaged EXIF block says
    nothing about the pixels, which decode as stored.
    """
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - any failure of the metadata parser means "no orientation"
        return 1
    return value if isinstance(value, int) else 1


def _turn_upright(pixels: np.ndarray, alpha: np.ndarray | None, orientation: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``pixels`` and ``alpha`` as stored, turned as EXIF ``orientation`` asks (1 or unknown: unchanged)."""
    turn = _ORIENTATIONS.get(orientation)
    if turn is None:
        return pixels, alpha
    return np.ascontiguousarray(turn(pixels)), None if alpha is None else np.ascontiguousarray(turn(alpha))


def _whole_file_bytes(image: Image.Image, *, sample_bytes: int) -> int:
    """The most bytes a decoder that reads the whole file accepts for ``image``.

    Twice the pixels' bytes (``sample_bytes`` a sample) plus
    :data:`~convfx.limits.MAX_IMAGE_EXTRA_BYTES`: room for metadata and a camera's
    second picture (a JPEG of pure noise at quality 100 is 1.4 times its pixels),
    not for gigabytes of padding after the image (which Pillow, reading as it
    decodes, never touches).
    """
    return 2 * image.width * image.height * len(image.getbands()) * sample_bytes + MAX_IMAGE_EXTRA_BYTES


def _read_whole(path: Path, limit: int, *, end: bytes = b"") -> np.ndarray | None:
    """The bytes of ``path`` as uint8, or None if it holds more than ``limit`` or does not end with ``end``.

    The size and the end are checked with a seek, before anything is read.
    """
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit or size < len(end):
            return None
        if end:
            stream.seek(size - len(end))
            if stream.read(len(end)) != end:
                return None
            stream.seek(0)
        data = stream.read(size)
    return np.frombuffer(data, dtype=np.uint8) if len(data) == size else None


# OpenCV 4.10 and later decode colour JPEGs straight to RGB (libjpeg-turbo's own
# output order): no BGR copy to convert.
_IMREAD_COLOR_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)


def _decode_jpeg_with_opencv(image: Image.Image, path: Path) -> np.ndarray | None:
    """A complete 8-bit gray or RGB JPEG decoded by OpenCV, or None for Pillow to do it.

    Both decode with libjpeg-turbo's defaults, to the same pixels
    (``tests/test_imageio.py`` checks), but OpenCV hands them over without
    Pillow's two extra copies: 5 ms instead of 20 ms for a 1920x1080 photo, which
    is a tenth of a batch run.  Only files that end with the JPEG end-of-image
    marker, and are not much larger than their pixels (:func:`_whole_file_bytes`),
    take this path, so a file cut short still fails in Pillow with its clean
    message.  A file cut short *and* given an end marker decodes with only a
    libjpeg warning and grey where the data stopped (Pillow accepts it silently):
    that warning is caught (:func:`_libjpeg_warnings`) and makes it a FileError.
    The pixels are as stored (EXIF orientation ignored), as Pillow's JPEG loader
    gives them.
    """
    if image.format != "JPEG" or image.mode not in ("L", "RGB"):
        return None
    data = _read_whole(path, _whole_file_bytes(image, sample_bytes=1), end=b"\xff\xd9")
    if data is None or data.size < 4:
        return None
    gray = image.mode == "L"
    colour = cv2.IMREAD_COLOR if _IMREAD_COLOR_RGB is None else _IMREAD_COLOR_RGB
    flags = (cv2.IMREAD_GRAYSCALE if gray else colour) | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        pixels, corrupt = _libjpeg_warnings(lambda: cv2.imdecode(data, flags))
    except cv2.error:
        # Over OpenCV's own pixel limit (CV_IO_MAX_IMAGE_PIXELS, 2**30 unless the
        # OPENCV_IO_MAX_IMAGE_PIXELS environment variable says otherwise), which
        # convfx's max_pixels may allow; Pillow has no such limit.
        return None
    if corrupt:
        raise FileError(f"{path}: truncated or corrupt image data (libjpeg: {corrupt})")
    if pixels is None or pixels.shape[:2] != (image.height, image.width):
        return None
    return pixels if gray or _IMREAD_COLOR_RGB is not None else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


# libjpeg's warnings (jerror.h) that mean pixels are missing or wrong: the data
# ends early, cannot be decoded, or is out of order.  Its other warnings
# ("extraneous bytes before marker", "bad ICC marker", an unknown JFIF revision)
# leave every pixel decoded and are not reported.
_LIBJPEG_CORRUPT = re.compile(
    r"premature end|bad huffman code|instead of rst|invalid sos parameters|inconsistent progression|arithcode", re.IGNORECASE
)
_LIBJPEG_WARNING = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS|Inconsistent progression|Warning: unknown JFIF|"
    r"Application transferred too|Unsupported marker)",
    re.IGNORECASE,
)
_STDERR_LOCK = threading.Lock()
_stderr_scratch: tuple[int, BinaryIO] | None = None  # (process id, file): a forked child makes its own

_Result = TypeVar("_Result")


def _libjpeg_warnings(decode: Callable[[], _Result]) -> tuple[_Result, str]:
    """``decode()``'s result and the first libjpeg warning it printed that means corrupt data ('' if none).

    libjpeg (inside OpenCV) reports a damaged file it can still decode only by
    printing its first warning on file descriptor 2, so that descriptor points at
    a scratch file while ``decode`` runs (a few microseconds of system calls
    around a decode of milliseconds).  What else lands there meanwhile (another
    thread's output, libjpeg's harmless warnings aside) is written back to
    stderr.  Threads take turns, as they share the descriptor.
    """
    global _stderr_scratch
    with _STDERR_LOCK:
        if _stderr_scratch is None or _stderr_scratch[0] != os.getpid():
            _stderr_scratch = (os.getpid(), tempfile.TemporaryFile())  # noqa: SIM115  (kept for the process)
        scratch = _stderr_scratch[1].fileno()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all: nothing can be printed, nothing caught
            return decode(), ""
        os.ftruncate(scratch, 0)
        os.lseek(scratch, 0, os.SEEK_SET)
        try:
            os.dup2(scratch, 2)
            try:
                result = decode()
            finally:
                os.dup2(saved, 2)
        finally:
            os.close(saved)
        length = os.lseek(scratch, 0, os.SEEK_CUR)
        if not length:
            return result, ""
        os.lseek(scratch, 0, os.SEEK_SET)
        printed = os.read(scratch, min(length, 1 << 16)).decode("utf-8", "replace")
    corrupt, other = "", []
    for line in printed.splitlines(keepends=True):
        if _LIBJPEG_CORRUPT.search(line) and _LIBJPEG_WARNING.match(line.strip()):
            corrupt = corrupt or line.strip()
        elif not _LIBJPEG_WARNING.match(line.strip()):
            other.append(line)
    if other:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write("".join(other))
    return result, corrupt


def _decode(image: Image.Image, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels and alpha of an opened Pillow image (8-bit or 16-bit gray), in RGB order."""
    mode = image.mode
    transparent = _transparent_colour(image, path)  # before converting: "1" -> "L" keeps no tRNS
    if mode == "1":
        image = image.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("La", "RGBa"):  # premultiplied alpha
        image = image.convert("LA" if mode == "La" else "RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    array = np.asarray(image)
    if image.mode == "F":
        raise FileError(f"{path}: 32-bit floating-point images are not supported (expected 8 or 16 bits per sample)")
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit gray; Pillow may hand it over as 32-bit integers.
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise FileError(f"{path}: 32-bit integer images are not supported (expected 8 or 16 bits per sample)")
        pixels = array.astype(np.uint16)
        return pixels, _transparent_colour_alpha(pixels, transparent)
    if image.mode == "LA":
        return array[..., 0].copy(), array[..., 1].copy()
    if image.mode == "RGBA":
        return array[..., :3].copy(), array[..., 3].copy()
    pixels = np.array(array)
    return pixels, _transparent_colour_alpha(pixels, transparent)


def _transparent_colour(image: Image.Image, path: Path) -> int | tuple[int, ...] | None:
    """The one gray level or RGB colour that a PNG's tRNS chunk makes transparent, on the decoded scale.

    Palette images are left out: converting them to RGBA applies their tRNS.
    """
    value = image.info.get("transparency")
    if image.format != "PNG" or image.mode not in ("1", "L", "I", "I;16", "RGB") or value is None:
        return None
    if image.mode == "L" and isinstance(value, int):
        # Pillow scales 2- and 4-bit gray to 0..255 but hands over the tRNS level unscaled.
        bits = _bits_per_sample(image, path)
        if bits in (2, 4):
            value *= 255 // (2**bits - 1)
    return value


def _transparent_colour_alpha(pixels: np.ndarray, colour: int | tuple[int, ...] | None) -> np.ndarray | None:
    """Alpha that is 0 where ``pixels`` are ``colour`` and opaque elsewhere; None without a colour."""
    if colour is None:
        return None
    matches = pixels == np.asarray(colour)  # a level out of range matches nothing
    if pixels.ndim == 3:
        matches = matches.all(axis=2)
    return np.where(matches, 0, np.iinfo(pixels.dtype).max).astype(pixels.dtype)


def _bits_per_sample(image: Image.Image, path: Path) -> int:
    if image.format == "PNG":
        with open(path, "rb") as handle:  # IHDR is always the first chunk: depth at byte 24
            header = handle.read(25)
        return header[24] if len(header) == 25 else 8
    if isinstance(image, TiffImagePlugin.TiffImageFile):  # Pillow's TIFF format
        bits = image.tag_v2.get(258, 8)
        return int(max(bits) if isinstance(bits, tuple) else bits)
    return 8


def _decode_16bit_colour(image: Image.Image, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    mode = image.mode
    # Read whole (not cv2.imread: it fails on non-ASCII paths on Windows), so bounded.
    limit = _whole_file_bytes(image, sample_bytes=2)
    data = _read_whole(path, limit)
    if data is None:
        raise FileError(
            f"{path}: the file is far larger than its {image.width}x{image.height} pixels need "
            f"(over {limit:,} bytes); refused rather than read whole"
        )
    try:
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        # Pillow, which has no pixel limit, would narrow the pixels to 8 bits: no fallback.
        raise FileError(f"{path}: cannot decode the 16-bit colour data ({opencv_reason(exc)})") from None
    if array is None or array.dtype != np.uint16:
        raise FileError(f"{path}: cannot decode the 16-bit colour data")
    if array.ndim == 2:
        return array, None
    rgb = np.ascontiguousarray(array[..., 2::-1])  # BGR(A) -> RGB
    alpha = np.ascontiguousarray(array[..., 3]) if array.shape[2] == 4 else None
    if mode == "LA":
        return np.ascontiguousarray(rgb[..., 0]), alpha
    return rgb, alpha
