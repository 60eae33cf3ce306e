"""CIFAR-10 from its *binary* files, given a local folder; nothing is downloaded.

The binary version (``cifar-10-binary.tar.gz``, unpacked to
``cifar-10-batches-bin/``) holds ``data_batch_1.bin`` ... ``data_batch_5.bin``
(10,000 images each) and ``test_batch.bin``: records of :data:`CIFAR10_RECORD`
bytes, each a label byte (0-9) followed by the 1,024 red, 1,024 green and 1,024
blue bytes of a 32x32 image, rows top to bottom.  The pickled "python version"
of CIFAR-10 is never read (convfx reads no pickle).

This module reads data; it knows nothing of models or training.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import imageio
from ..checks import checked_int
from ..color import LUMINANCE_WEIGHTS
from ..errors import FileError, ParameterError
from ..limits import MAX_CIFAR_BATCH_BYTES
from .dataset import IMAGE_SIZE, Dataset

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_RECORD",
    "CIFAR10_TRAIN_FILES",
    "CIFAR10_TEST_FILE",
    "read_cifar10_binary",
    "load_cifar10",
]

#: CIFAR-10's classes in label order (``batches.meta.txt`` of the binary version).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: Bytes per record: 1 label byte + 3 x 32 x 32 pixel bytes.
CIFAR10_RECORD = 1 + 3 * IMAGE_SIZE * IMAGE_SIZE
#: The training batches, in the order they are read (every one present is).
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{k}.bin" for k in range(1, 6))
#: The test batch.
CIFAR10_TEST_FILE = "test_batch.bin"


def read_cifar10_binary(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch file.

    Parameters
    ----------
    path : path-like
        E.g. ``data_batch_1.bin`` (10,000 records, 30,730,000 bytes).

    Returns
    -------
    images : ndarray, shape (N, 3, 32, 32)
        uint8, channels R, G, B.
    labels : ndarray, shape (N,)
        int64 in 0..9.

    Raises
    ------
    FileError
        A missing, unreadable or special file, one over
        :data:`~convfx.limits.MAX_CIFAR_BATCH_BYTES`, a size that is not a
        positive multiple of 3,073 bytes, or a label byte above 9.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from convfx.nn.cifar import read_cifar10_binary
    >>> path = Path(tempfile.mkdtemp()) / "data_batch_1.bin"
    >>> _ = path.write_bytes(bytes([3]) + bytes(range(256)) * 12)     # one record: a cat
    >>> images, labels = read_cifar10_binary(path)
    >>> images.shape, labels.tolist(), int(images[0, 0, 0, 1])        # red plane first
    ((1, 3, 32, 32), [3], 1)
    """
    path = Path(path)
    imageio.check_regular_file(path, what="a CIFAR-10 binary file", max_bytes=MAX_CIFAR_BATCH_BYTES)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError) as error:
        raise FileError(f"{path}: cannot read ({error})") from None
    if data.size == 0 or data.size % CIFAR10_RECORD:
        raise FileError(
            f"{path}: expected a CIFAR-10 binary file, a multiple of {CIFAR10_RECORD} bytes "
            f"(1 label + 3072 pixels per image), found {data.size} bytes"
        )
    records = data.reshape(-1, CIFAR10_RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CIFAR10_CLASSES))
    if bad.size:
        raise FileError(f"{path}: expected labels 0-9, found {labels[bad[0]]} in record {bad[0]}")
    return records[:, 1:].reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE), labels


def load_cifar10(root: str | os.PathLike, *, color: bool = True, max_train: int | None = None) -> Dataset:
    """CIFAR-10 from its binary files in ``root`` (or in ``root/cifar-10-batches-bin``).

    Parameters
    ----------
    root : path-like
        The folder that holds ``test_batch.bin`` and the ``data_batch_*.bin``
        files.  Every training batch present is read; at least one is needed.
    color : bool, optional
        RGB (default) or gray luminance (:data:`convfx.color.LUMINANCE_WEIGHTS`).
    max_train : int, optional
        Keep the first this many training images (the batches are already shuffled).

    Returns
    -------
    Dataset
        Named ``"cifar10:<absolute folder>"`` (RGB; the name
        :func:`convfx.nn.load_dataset` reads back), float32 in [0, 1].

    Raises
    ------
    FileError
        No such folder, no ``test_batch.bin`` or no training batch, a file of the
        wrong size or with a bad label (see :func:`read_cifar10_binary`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from convfx.nn import load_cifar10
    >>> folder = Path(tempfile.mkdtemp())
    >>> record = bytes([7]) + bytes(3072)                                  # a black horse
    >>> _ = (folder / "data_batch_1.bin").write_bytes(record * 4)
    >>> _ = (folder / "test_batch.bin").write_bytes(record * 2)
    >>> data = load_cifar10(folder)
    >>> len(data.train_labels), len(data.test_labels), data.class_names[7]
    (4, 2, 'horse')
    """
    root = Path(root).expanduser()
    if (root / "cifar-10-batches-bin").is_dir():
        root = root / "cifar-10-batches-bin"
    if not root.is_dir():
        raise FileError(
            f"cifar10:{root}: expected a folder of CIFAR-10 binary files, found {'a file' if root.exists() else 'nothing'}"
        )
    if max_train is not None:
        max_train = checked_int(max_train, "max_train", minimum=1, type_error=ParameterError)
    train_paths = [root / name for name in CIFAR10_TRAIN_FILES if (root / name).exists()]
    if not train_paths or not (root / CIFAR10_TEST_FILE).exists():
        missing = CIFAR10_TEST_FILE if train_paths else "data_batch_1.bin ... data_batch_5.bin"
        raise FileError(
            f"cifar10:{root}: expected {CIFAR10_TEST_FILE} and data_batch_1.bin ... data_batch_5.bin "
            f"(the binary version), found no {missing}"
        )
    images, labels = [], []
    for path in train_paths:
        batch_images, batch_labels = read_cifar10_binary(path)
        images.append(batch_images)
        labels.append(batch_labels)
        if max_train is not None and sum(len(part) for part in labels) >= max_train:
            break
    train_images, train_labels = np.concatenate(images)[:max_train], np.concatenate(labels)[:max_train]
    test_images, test_labels = read_cifar10_binary(root / CIFAR10_TEST_FILE)

    def scaled(pixels: np.ndarray) -> np.ndarray:
        out = pixels.astype(np.float32) / np.float32(255)
        if color:
            return out
        return np.einsum("nchw,c->nhw", out, np.asarray(LUMINANCE_WEIGHTS, dtype=np.float32))[:, None]

    name = f"cifar10:{root.resolve()}"
    return Dataset(name, scaled(train_images), train_labels, scaled(test_images), test_labels, CIFAR10_CLASSES)
