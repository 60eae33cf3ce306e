"""What reading and writing share: the formats, the decoded :class:`Picture`, one-line error reasons.

This module must not open, decode or encode a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import FileError

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


def reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


def opencv_reason(exc: cv2.error) -> str:
    """One readable line for a ``cv2.error``, whose text is a multi-line source location."""
    if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):
        return "over OpenCV's pixel limit; raise it with the OPENCV_IO_MAX_IMAGE_PIXELS environment variable"
    return f"OpenCV: {getattr(exc, 'err', '') or reason(exc)}"
