"""Reading and writing image files: the one place that knows file formats and BGR.

Reading gives a :class:`Picture`: RGB (or gray) pixels as ``uint8`` or ``uint16``
with the EXIF orientation applied, and the alpha channel kept apart so that filters
never touch it.  Before any pixel is decoded, the size in the header is checked
against a pixel limit (a decompression-bomb guard).  Writing encodes in memory,
writes a temporary file in the destination folder and renames it over the target,
so that a failure or Ctrl-C never leaves a half-written image behind.

Every reader of a file in convfx first checks that it is a regular file
(:func:`check_regular_file`: a FIFO would block, a device never end), and no read
here takes more than the file's header promises within :mod:`convfx.limits`.

Pillow decodes and encodes everything except 16-bit colour, which Pillow narrows
to 8 bits; OpenCV handles that, and its BGR channel order never leaves this module.
This module must not filter or change pixel values beyond bit-depth conversion,
and every error a user can cause is a one-line :class:`~convfx.errors.FileError`
naming the file.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import math
import os
import re
import stat
import struct
import sys
import tempfile
import threading
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, TypeVar

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .checks import checked_int
from .errors import ConvfxError, FileError, ParameterError
# DEFAULT_MAX_PIXELS is read_image's default, and importable from here by every caller
# that passes a max_pixels on to it.
from .limits import DEFAULT_MAX_PIXELS, MAX_ARRAY_FILE_BYTES, MAX_ARRAY_VALUES, MAX_IMAGE_EXTRA_BYTES, MAX_NPY_HEADER_BYTES

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "Picture",
    "OutputExistsError",
    "read_image",
    "write_image",
    "encode_image",
    "write_bytes_atomically",
    "remove_partial_writes",
    "read_arrays",
    "check_regular_file",
    "check_source",
    "check_destination",
    "output_dtype",
    "convert_depth",
]

#: Pillow formats tried on reading (the JPEG reader also takes cameras' MPO files).
READ_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
#: Output file suffix -> format.  Only PNG and TIFF keep 16 bits per sample;
#: JPEG and BMP have no alpha channel (it is dropped).
WRITE_FORMATS = {
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
}
_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
_ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")
# Widest and tallest image each format can hold (libjpeg, libwebp); the others allow 2**31.
_MAX_SIDE = {"JPEG": 65_500, "WEBP": 16_383}

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


class OutputExistsError(FileError):
    """The output file exists and overwriting was not asked for."""


@dataclass(eq=False)
class Picture:
    """Decoded pixels of one image file.

    Attributes
    ----------
    pixels : ndarray, shape (H, W) or (H, W, 3), uint8 or uint16
        Gray or RGB, upright (EXIF orientation applied).
    alpha : ndarray, shape (H, W), same dtype as ``pixels``, or None
        Opacity, kept apart so that filters pass it through untouched.
    icc_profile : bytes or None
        The embedded colour profile, written back to the output where possible.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.imageio import Picture
    >>> picture = Picture(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> picture.pixels.shape, picture.alpha is None
    ((2, 3, 3), True)
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    icc_profile: bytes | None = None

    @property
    def max_value(self) -> int:
        """Full scale of the pixels: 255 or 65535."""
        return int(np.iinfo(self.pixels.dtype).max)


# --------------------------------------------------------------------------- reading


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


def check_source(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is an existing, non-empty regular file; else a FileError.

    Cheap (one ``stat``), so callers can fail before any expensive work.
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
                "(a guard against decompression bombs; raise it with max_pixels / --max-pixels)"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's own bomb warning: our limit applies
                pixels, alpha = _decode_upright(image, path)
        except FileError:
            raise
        except _DECODE_ERRORS as exc:
            raise FileError(f"{path}: truncated or corrupt image data ({_reason(exc)})") from None
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
        stream = open(path, "rb")
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
            raise FileError(f"{path}: cannot read the image header ({_reason(exc)})") from None
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


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


def _opencv_reason(exc: cv2.error) -> str:
    """One readable line for a ``cv2.error``, whose text is a multi-line source location."""
    if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):
        return "over OpenCV's pixel limit; raise it with the OPENCV_IO_MAX_IMAGE_PIXELS environment variable"
    return f"OpenCV: {getattr(exc, 'err', '') or _reason(exc)}"


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


def _turn_upright(
    pixels: np.ndarray, alpha: np.ndarray | None, orientation: int
) -> tuple[np.ndarray, np.ndarray | None]:
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
            _stderr_scratch = (os.getpid(), tempfile.TemporaryFile())
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
    if image.format == "TIFF":
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
        raise FileError(f"{path}: cannot decode the 16-bit colour data ({_opencv_reason(exc)})") from None
    if array is None or array.dtype != np.uint16:
        raise FileError(f"{path}: cannot decode the 16-bit colour data")
    if array.ndim == 2:
        return array, None
    rgb = np.ascontiguousarray(array[..., 2::-1])  # BGR(A) -> RGB
    alpha = np.ascontiguousarray(array[..., 3]) if array.shape[2] == 4 else None
    if mode == "LA":
        return np.ascontiguousarray(rgb[..., 0]), alpha
    return rgb, alpha


# --------------------------------------------------------------------------- writing


def output_dtype(path: str | os.PathLike, source_dtype: np.dtype) -> np.dtype:
    """The dtype an image of ``source_dtype`` is written in to ``path``.

    ``uint16`` stays ``uint16`` in PNG and TIFF; everything else is ``uint8``.
    """
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if np.dtype(source_dtype) == np.uint16 and fmt in _SIXTEEN_BIT_FORMATS:
        return np.dtype(np.uint16)
    return np.dtype(np.uint8)


def convert_depth(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Rescale ``uint8`` <-> ``uint16`` pixels to full scale (x257 or /257, rounded)."""
    dtype = np.dtype(dtype)
    if array.dtype == dtype:
        return array
    if array.dtype == np.uint8 and dtype == np.uint16:
        return array.astype(np.uint16) * np.uint16(257)
    if array.dtype == np.uint16 and dtype == np.uint8:
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise ParameterError(f"dtype: expected uint8 or uint16 pixels, found {array.dtype} -> {dtype}")


def check_destination(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check that an image can be written to ``path``, before any work is done.

    Raises
    ------
    ParameterError
        If the suffix is not one of :data:`WRITE_FORMATS`.
    FileError
        If the folder does not exist, ``path`` is a folder.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if path.suffix.lower() not in WRITE_FORMATS:
        raise ParameterError(
            f"output: {path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {sorted(WRITE_FORMATS)}"
        )
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise FileError(f"{path}: cannot write: the folder {folder} {reason}")
    if path.is_dir():
        raise FileError(f"{path}: is a folder, expected an image file name")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; overwrite it with --force (overwrite=True)")
    return path


def encode_image(
    pixels: np.ndarray,
    format: str,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode pixels as the bytes of an image file.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, 3), uint8 or uint16
        Gray or RGB.  ``uint16`` is kept in PNG and TIFF and narrowed elsewhere.
    format : {"PNG", "TIFF", "JPEG", "BMP", "WEBP"}
    alpha : ndarray, shape (H, W), optional
        Dropped for JPEG and BMP, which have no alpha channel.
    icc_profile : bytes, optional
        Embedded in 8-bit files if it describes the pixels' colour space: an
        RGB profile with ``(H, W, 3)`` pixels, a gray one with ``(H, W)``
        pixels.  Any other profile (an sRGB profile with a gray edge map, a
        CMYK profile with the RGB pixels decoded from a CMYK JPEG) would
        misdescribe the pixels, or make the file unreadable, and is dropped.

    Returns
    -------
    bytes

    Raises
    ------
    ParameterError
        Pixels or alpha of the wrong dtype or shape.
    FileError
        The format cannot hold the image (JPEG: at most 65,500 pixels a side,
        WebP: 16,383) or the encoder failed; the message names no file.
    """
    data = _encode_image(pixels, format, alpha=alpha, icc_profile=icc_profile)
    return data if isinstance(data, bytes) else data.tobytes()


def _encode_image(
    pixels: np.ndarray,
    format: str,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    reuse_pixels: bool = False,
) -> bytes | memoryview:
    """:func:`encode_image`, returning OpenCV's buffer as it is (no copy into bytes).

    ``reuse_pixels``: the caller has no further use for ``pixels``, so colour
    pixels may be turned to OpenCV's BGR order in place instead of in a copy.
    """
    if pixels.dtype not in (np.uint8, np.uint16) or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ParameterError(f"pixels: expected uint8/uint16 (H, W) or (H, W, 3), found {pixels.dtype} {pixels.shape}")
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ParameterError(f"alpha: expected shape {pixels.shape[:2]}, found {alpha.shape}")
    height, width = pixels.shape[:2]
    if format in _MAX_SIDE and max(height, width) > _MAX_SIDE[format]:
        raise FileError(
            f"{width}x{height} pixels is too large for {format}, which allows at most {_MAX_SIDE[format]:,} pixels a side"
        )
    # WebP has no gray: gray pixels become an RGB file, which an RGB profile describes.
    if icc_profile and not _profile_describes(icc_profile, gray=pixels.ndim == 2 and format != "WEBP"):
        icc_profile = None
    if format not in _ALPHA_FORMATS:
        alpha = None
    if pixels.dtype == np.uint16 and format not in _SIXTEEN_BIT_FORMATS:
        pixels = convert_depth(pixels, np.uint8)
    if alpha is not None:
        alpha = convert_depth(alpha, pixels.dtype)
    gray_alpha = alpha is not None and pixels.ndim == 2
    if pixels.dtype == np.uint16 or (format == "PNG" and not icc_profile and not gray_alpha):
        # libpng through OpenCV: 16-bit colour (Pillow has none), and 8-bit PNG,
        # which it encodes about twice as fast as Pillow at the same settings.
        # (OpenCV has no gray+alpha: 8-bit gray+alpha stays gray+alpha through Pillow.)
        return _encode_with_opencv(pixels, alpha, format, reuse_pixels=reuse_pixels)
    if gray_alpha and format == "WEBP":  # WebP has no gray: RGBA
        pixels = np.dstack([pixels] * 3)
    array = pixels if alpha is None else np.dstack([pixels, alpha])
    buffer = io.BytesIO()
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if format == "JPEG":
        options.update(quality=95, subsampling=0)
    elif format == "WEBP":
        options.update(quality=95)
    elif format == "TIFF":
        options.update(compression="tiff_deflate")
    elif format == "PNG":
        options.update(compress_type=zlib.Z_RLE)  # as _PNG_OPTIONS
    try:
        Image.fromarray(np.ascontiguousarray(array)).save(buffer, format=format, **options)
    except (OSError, ValueError) as exc:
        raise FileError(f"cannot encode a {width}x{height} {format} image ({_reason(exc)})") from None
    return buffer.getvalue()


def _profile_describes(icc_profile: bytes, *, gray: bool) -> bool:
    """Whether an ICC profile's colour space (header bytes 16-20) is the file's own: gray or RGB."""
    if len(icc_profile) < 128 or icc_profile[36:40] != b"acsp":  # not an ICC profile at all
        return False
    return icc_profile[16:20] == (b"GRAY" if gray else b"RGB ")


# zlib level 6 with the run-length strategy: several times faster than the default
# strategy for files a few percent larger (photos, blurs and edge maps;
# benchmarks/bench_batch.py compares them), and encoding is most of a batch run.
_PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]


def _encode_with_opencv(
    pixels: np.ndarray, alpha: np.ndarray | None, format: str, *, reuse_pixels: bool = False
) -> memoryview:
    """PNG (8 or 16 bit) or 16-bit TIFF through OpenCV; pixels RGB, returned the file's bytes."""
    if alpha is not None and pixels.ndim == 2:
        pixels = np.dstack([pixels] * 3)  # OpenCV writes no gray+alpha: make it RGBA
    if pixels.ndim == 3 and alpha is None:
        source = np.ascontiguousarray(pixels)
        # In place when the pixels are ours to change (a copy, or given up by the
        # caller): the output image is not held twice.
        in_place = (source is not pixels or reuse_pixels) and source.flags.writeable
        pixels = cv2.cvtColor(source, cv2.COLOR_RGB2BGR, dst=source if in_place else None)  # one pass
    elif pixels.ndim == 3:
        pixels = np.dstack([pixels[..., ::-1], alpha])  # RGBA -> BGRA for OpenCV
    suffix, options = (".png", _PNG_OPTIONS) if format == "PNG" else (".tif", [])
    try:
        ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(pixels), options)
    except cv2.error as exc:
        ok, reason = False, f" ({_opencv_reason(exc)})"
    else:
        reason = ""
    if not ok:
        raise FileError(f"cannot encode a {pixels.dtype} {format} image of shape {pixels.shape}{reason}")
    return memoryview(encoded.reshape(-1))


def write_image(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    overwrite: bool = False,
    reuse_pixels: bool = False,
) -> Path:
    """Write pixels to ``path`` atomically; the format follows the suffix.

    The file is encoded in memory, written to a temporary file in the same
    folder and renamed over ``path``, so ``path`` is either the old file (or
    absent) or the complete new one.

    Parameters
    ----------
    path : str or path-like
        The output file; its suffix is one of :data:`WRITE_FORMATS`.
    pixels : ndarray, shape (H, W) or (H, W, 3), uint8 or uint16
        Gray or RGB.
    alpha : ndarray, shape (H, W), optional
        Written where the format has an alpha channel.
    icc_profile : bytes, optional
        Usually :attr:`Picture.icc_profile` of the input.  Embedded only if its
        colour space is the output's: an RGB profile with RGB pixels, a gray
        profile with gray pixels; otherwise (a gray result from an RGB photo,
        RGB pixels from a CMYK JPEG) the file gets no profile.  See
        :func:`encode_image`.
    overwrite : bool, optional
        Replace an existing ``path``.
    reuse_pixels : bool, optional
        The caller has no further use for ``pixels``: the encoder may change
        them (reorder colour channels in place) instead of copying the image.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unsupported suffix, or pixels of the wrong dtype/shape.
    FileError
        Folder missing or not writable, disk full, image too large for the
        format or not encodable.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import numpy as np
    >>> import tempfile
    >>> from pathlib import Path
    >>> import convfx
    >>> folder = Path(tempfile.mkdtemp())
    >>> pixels = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    >>> convfx.write_image(folder / "ramp.png", pixels).name    # 16-bit PNG
    'ramp.png'
    >>> convfx.read_image(folder / "ramp.png").pixels.dtype
    dtype('uint16')
    >>> try:
    ...     convfx.write_image(folder / "ramp.png", pixels)      # an existing file
    ... except convfx.FileError:
    ...     print("refused")
    refused
    """
    path = check_destination(path, overwrite=overwrite)
    try:
        data = _encode_image(
            pixels, WRITE_FORMATS[path.suffix.lower()], alpha=alpha, icc_profile=icc_profile, reuse_pixels=reuse_pixels
        )
    except FileError as exc:
        raise FileError(f"{path}: {exc}") from None
    return write_bytes_atomically(path, data, overwrite=overwrite)


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
        raise OutputExistsError(f"{path}: already exists; overwrite it with --force (overwrite=True)") from None
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
    member = key + ".npy" if key + ".npy" in archive.zip.namelist() else key
    with archive.zip.open(member) as stream:
        try:
            return _read_npy_header(stream, key)
        except ValueError as exc:  # the member is no .npy at all
            raise _BadHeader(f"member {member!r} is not a numpy array ({exc})") from None


def _read_npy_header(stream: BinaryIO, key: str | None = None) -> _NpyHeader:
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
