"""Reading and writing files: the one place that knows image formats and BGR.

Reading gives a :class:`Picture`: RGB (or gray) pixels as ``uint8`` or ``uint16``
with the EXIF orientation applied, and the alpha channel kept apart so that filters
never touch it.  Before any pixel is decoded, the size in the header is checked
against a pixel limit (a decompression-bomb guard).  Writing encodes in memory,
writes a temporary file in the destination folder and renames it over the target,
so that a failure or Ctrl-C never leaves a half-written image behind.

Every reader of a file in convfx first checks that it is a regular file
(:func:`check_regular_file`: a FIFO would block, a device never end), and no read
here takes more than the file's header promises within :mod:`convfx.limits`.
Numpy array files are read by :func:`read_arrays`, which never unpickles.

Pillow decodes and encodes everything except 16-bit colour, which Pillow narrows
to 8 bits; OpenCV handles that, and its BGR channel order never leaves this package.

The package, by job:

* :mod:`.formats` -- the formats read and written, :class:`Picture`,
  :class:`OutputExistsError`, one-line reasons for decoder errors;
* :mod:`.files` -- regular files only, atomic writes and cleaning up after them;
* :mod:`.read` -- :func:`read_image`: the bomb guard, EXIF orientation, alpha,
  16-bit colour, libjpeg's warnings;
* :mod:`.write` -- :func:`write_image`, :func:`encode_image`, the output dtype;
* :mod:`.arrays` -- :func:`read_arrays`, ``.npy`` / ``.npz`` without pickle.

Nothing here may filter or change pixel values beyond bit-depth conversion, and
every error a user can cause is a one-line :class:`~convfx.errors.FileError`
naming the file.
"""

from __future__ import annotations

# DEFAULT_MAX_PIXELS is read_image's default, and importable from here by every caller
# that passes a max_pixels on to it.
from ..limits import DEFAULT_MAX_PIXELS
from .arrays import read_arrays
from .files import check_regular_file, remove_partial_writes, write_bytes_atomically
from .formats import READ_FORMATS, WRITE_FORMATS, OutputExistsError, Picture
from .read import check_source, read_image
from .write import (
    check_destination,
    convert_depth,
    encode_image,
    output_dtype,
    write_image,
)

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
