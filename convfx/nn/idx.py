"""MNIST / Fashion-MNIST data sets from IDX files.

A folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``;
``-images.idx3-ubyte`` spellings accepted) is read with :func:`load_idx_folder`.
28x28 images are centred in 32x32 frames.  Class names are Fashion-MNIST's when
the folder name contains "fashion", else the digits.  :func:`read_idx` reads one
IDX file, checking its header before it reads (or inflates) the data.

This module reads the IDX format only; it knows nothing of image files, models or
training.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .. import imageio
from ..errors import FileError
from ..limits import MAX_IDX_VALUES
from .dataset import IMAGE_SIZE, Dataset, centre_in_frame

__all__ = ["FASHION_CLASSES", "read_idx", "find_idx", "load_idx_folder"]

FASHION_CLASSES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
)

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed if its name ends in ``.gz``.

    The format: two zero bytes, a type byte, the number of dimensions ``d``, then
    ``d`` big-endian uint32 sizes, then the data in C order.  The header is read
    and checked first (at most :data:`~convfx.limits.MAX_IDX_VALUES` values), then
    exactly the data it announces: a small gzipped file that inflates to
    gigabytes is refused before it is inflated.

    Parameters
    ----------
    path : path-like
        An IDX file, optionally gzip-compressed (``.gz``).

    Returns
    -------
    ndarray
        The array in native byte order, e.g. ``(60000, 28, 28)`` uint8.

    Raises
    ------
    FileError
        Missing or not a regular file, corrupt gzip data, bad magic number,
        unknown type, more values than the limit, or data that does not match
        the header's size.

    Examples
    --------
    >>> import struct, tempfile
    >>> from pathlib import Path
    >>> from convfx.nn import read_idx
    >>> path = Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = path.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    imageio.check_regular_file(path, what="an IDX file")
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as stream:
            magic = stream.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
                raise FileError(f"{path}: not an IDX file (expected magic 00 00 <type> <ndim>, found {magic.hex(' ')})")
            dtype = np.dtype(_IDX_TYPES[magic[2]])
            sides = stream.read(4 * magic[3])
            if len(sides) < 4 * magic[3]:
                raise FileError(f"{path}: truncated IDX header")
            shape = tuple(int(v) for v in np.frombuffer(sides, dtype=">u4"))
            values = math.prod(shape)
            if values > MAX_IDX_VALUES:
                raise FileError(
                    f"{path}: IDX header says shape {shape}, {values:,} values, more than {MAX_IDX_VALUES:,} "
                    "(convfx.limits.MAX_IDX_VALUES; refused before reading the data)"
                )
            expected = values * dtype.itemsize
            data = stream.read(expected)
            extra = stream.read(1)
    except FileError:
        raise
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError; a corrupt stream, zlib.error
        raise FileError(f"{path}: cannot read ({error})") from None
    if len(data) != expected or extra:
        found = f"{len(data)} bytes" if not extra else f"more than {expected} bytes"
        raise FileError(f"{path}: IDX header says shape {shape} ({expected} bytes), found {found} of data")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx(root: Path, split: str, kind: str) -> Path | None:
    """The IDX file of one split and kind in ``root``, if there is one.

    Both spellings (``train-images-idx3-ubyte``, ``train-images.idx3-ubyte``) are
    accepted, each optionally ending in ``.gz``.

    Parameters
    ----------
    root : Path
        The folder to look in.
    split : str
        ``"train"`` or ``"t10k"``.
    kind : str
        ``"images"`` (an ``idx3`` file) or ``"labels"`` (an ``idx1`` file).

    Returns
    -------
    Path or None
        The first such file found, or None.
    """
    rank = 3 if kind == "images" else 1
    for stem in (f"{split}-{kind}-idx{rank}-ubyte", f"{split}-{kind}.idx{rank}-ubyte"):
        for name in (stem, stem + ".gz"):
            if (root / name).is_file():
                return root / name
    return None


def load_idx_folder(root: str | os.PathLike) -> Dataset:
    """MNIST-style IDX files from a folder (see the module docstring).

    The data set's ``name`` is the folder's absolute path.

    Parameters
    ----------
    root : path-like
        The folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in ``.gz``).

    Returns
    -------
    Dataset
        The files' own train/test split, 28x28 images centred in 32x32.

    Raises
    ------
    FileError
        If one of the four files is missing or the image and label counts differ.

    Examples
    --------
    >>> import gzip, struct, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from convfx.nn import load_idx_folder
    >>> root = Path(tempfile.mkdtemp())
    >>> def write(name, array):
    ...     header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    ...     (root / name).write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    >>> for split, count in [("train", 6), ("t10k", 4)]:
    ...     write(f"{split}-images-idx3-ubyte.gz", np.zeros((count, 28, 28)))
    ...     write(f"{split}-labels-idx1-ubyte.gz", np.arange(count) % 2)
    >>> data = load_idx_folder(root)
    >>> data.train_images.shape, data.test_images.shape
    ((6, 1, 32, 32), (4, 1, 32, 32))
    """
    root = Path(root)
    arrays = {}
    for split in ("train", "t10k"):
        for kind in ("images", "labels"):
            path = find_idx(root, split, kind)
            if path is None:
                rank = 3 if kind == "images" else 1
                raise FileError(f"{root}: missing {split}-{kind}-idx{rank}-ubyte[.gz]")
            arrays[split, kind] = (path, read_idx(path))
    parts = []
    for split in ("train", "t10k"):
        (image_path, images), (label_path, labels) = arrays[split, "images"], arrays[split, "labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise FileError(
                f"{image_path}: expected (N, H, W) images matching {label_path.name}'s (N,) labels, "
                f"found {images.shape} and {labels.shape}"
            )
        if images.shape[1] > IMAGE_SIZE or images.shape[2] > IMAGE_SIZE:
            raise FileError(f"{image_path}: expected images of at most 32x32, found {images.shape[1:]}")
        scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()), 1.0)
        # In float32 from the start: MNIST's training images are 188 MB of it, 376 MB of float64.
        # (For uint8, float32(x) / 255 rounds as (x / 255) in float64 then float32 would.)
        parts.append((centre_in_frame(np.divide(images, scale, dtype=np.float32)[:, None]), labels.astype(np.int64)))
    (train_images, train_labels), (test_images, test_labels) = parts
    k = int(max(train_labels.max(initial=0), test_labels.max(initial=0))) + 1
    if "fashion" in root.resolve().name.lower() and k == len(FASHION_CLASSES):
        names: tuple[str, ...] = FASHION_CLASSES
    else:
        names = tuple(str(label) for label in range(k))
    return Dataset(str(root.resolve()), train_images, train_labels, test_images, test_labels, names)
