"""Writing image files: the output dtype, encoding in memory (Pillow, or OpenCV for PNG and 16-bit), atomic writes.

Pixels arrive RGB (or gray); OpenCV's BGR order exists only inside
:func:`_encode_with_opencv`.  The bytes reach the disk through
:func:`~convfx.imageio.files.write_bytes_atomically`.

This module must not read images, nor change pixel values beyond bit-depth conversion.
"""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import DTypeLike
from PIL import Image

from ..errors import FileError, ParameterError
from .files import write_bytes_atomically
from .formats import WRITE_FORMATS, OutputExistsError, opencv_reason, reason

_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
_ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")
# Widest and tallest image each format can hold (libjpeg, libwebp); the others allow 2**31.
_MAX_SIDE = {"JPEG": 65_500, "WEBP": 16_383}


def output_dtype(path: str | os.PathLike, source_dtype: np.dtype) -> np.dtype:
    """The dtype an image of ``source_dtype`` is written in to ``path``.

    ``uint16`` stays ``uint16`` in PNG and TIFF; everything else is ``uint8``.

    Parameters
    ----------
    path : str or path-like
        Its suffix decides.
    source_dtype : dtype

    Returns
    -------
    dtype
    """
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if np.dtype(source_dtype) == np.uint16 and fmt in _SIXTEEN_BIT_FORMATS:
        return np.dtype(np.uint16)
    return np.dtype(np.uint8)


def convert_depth(array: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """Rescale ``uint8`` <-> ``uint16`` pixels to full scale (x257 or /257, rounded).

    Parameters
    ----------
    array : ndarray of uint8 or uint16
    dtype : dtype
        ``uint8`` or ``uint16``.

    Returns
    -------
    ndarray of ``dtype``
        ``array`` itself when it has that dtype already.
    """
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

    Parameters
    ----------
    path : str or path-like
    overwrite : bool, optional

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        If ``path`` is a folder, or its suffix is not one of :data:`WRITE_FORMATS`.
    FileError
        If the folder does not exist.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if os.path.isdir(path):  # before the suffix: a folder is not a file of the wrong type
        raise ParameterError(f"output: {path} is a folder; expected an image file name")
    if path.suffix.lower() not in WRITE_FORMATS:
        raise ParameterError(
            f"output: {path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {sorted(WRITE_FORMATS)}"
        )
    folder = path.parent
    if not os.path.isdir(folder):
        reason = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise FileError(f"{path}: cannot write: the folder {folder} {reason}")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(f"{path}: already exists; pass overwrite=True to replace it")
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
        raise FileError(f"cannot encode a {width}x{height} {format} image ({reason(exc)})") from None
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


def _encode_with_opencv(pixels: np.ndarray, alpha: np.ndarray | None, format: str, *, reuse_pixels: bool = False) -> memoryview:
    """PNG (8 or 16 bit) or 16-bit TIFF through OpenCV; pixels RGB, returned the file's bytes."""
    if alpha is not None and pixels.ndim == 2:
        pixels = np.dstack([pixels] * 3)  # OpenCV writes no gray+alpha: make it RGBA
    if pixels.ndim == 3 and alpha is None:
        source = np.ascontiguousarray(pixels)
        # In place when the pixels are ours to change (a copy, or given up by the
        # caller): the output image is not held twice.
        in_place = (source is not pixels or reuse_pixels) and source.flags.writeable
        pixels = cv2.cvtColor(source, cv2.COLOR_RGB2BGR, dst=source if in_place else None)  # one pass
    elif pixels.ndim == 3 and alpha is not None:
        pixels = np.dstack([pixels[..., ::-1], alpha])  # RGBA -> BGRA for OpenCV
    suffix, options = (".png", _PNG_OPTIONS) if format == "PNG" else (".tif", [])
    try:
        ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(pixels), options)
    except cv2.error as exc:
        ok, reason = False, f" ({opencv_reason(exc)})"
    else:
        reason = ""
    if not ok:
        raise FileError(f"cannot encode a {pixels.dtype} {format} image of shape {pixels.shape}{reason}")
    return encoded.reshape(-1).data


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
