"""Data sets from folders of images: one sub-folder per class.

``root/<class>/*.png|jpg|tif|bmp|webp`` (class names sorted), or
``root/train/<class>`` and ``root/test/<class>`` for a split of one's own.
Images are centre-cropped to a square and resized to 32x32 (:func:`square_resize`,
also how ``convfx tour`` prepares a photo); they are gray (C = 1) if every image
is, else RGB.  Without ``train``/``test`` the split is the per-class seeded 20 % of
:func:`~convfx.nn.dataset.stratified_split` (seed 0 by default), and every class
needs at least 2 images so that one is held out.

This module reads image files through :mod:`convfx.imageio`; it knows nothing of
other file formats (IDX, CIFAR), models or training.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import imageio
from ..errors import FileError
from .dataset import IMAGE_SIZE, TEST_FRACTION, Dataset, stratified_split

__all__ = ["IMAGE_SUFFIXES", "load_folder", "square_resize"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")  # what convfx.imageio reads


def load_folder(root: str | os.PathLike, *, seed: int = 0, test_fraction: float = TEST_FRACTION) -> Dataset:
    """Images in class sub-folders, resized to 32x32 (see the module docstring).

    Files are read with :func:`convfx.imageio.read_image` (EXIF orientation applied,
    8- or 16-bit, alpha ignored).  The data set's ``name`` is the folder's absolute
    path, so that a model trained on it records where its data is.

    Parameters
    ----------
    root : path-like
        A folder of class sub-folders (``root/<class>/*.png``), or with ``train/``
        and ``test/`` folders of them.
    seed : int, optional
        Seed of the per-class split when there is no ``train/`` and ``test/``.
    test_fraction : float, optional
        The share of each class held out then.

    Returns
    -------
    Dataset
        Gray ``(N, 1, 32, 32)`` if every image is gray, else RGB ``(N, 3, 32, 32)``.

    Raises
    ------
    FileError
        If there are no class sub-folders with images, an image cannot be decoded,
        ``train/`` and ``test/`` name different classes, or (without them) a class
        has a single image, which would leave it nothing to hold out.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import convfx
    >>> from convfx.nn import load_folder
    >>> root = Path(tempfile.mkdtemp())
    >>> for name, value in [("dark", 20), ("light", 230)]:
    ...     (root / name).mkdir()
    ...     for index in range(5):
    ...         _ = convfx.write_image(root / name / f"{index}.png", np.full((40, 48), value + index, np.uint8))
    >>> load_folder(root).class_names
    ('dark', 'light')
    """
    root = Path(root)
    name = str(root.resolve())
    if (root / "train").is_dir() and (root / "test").is_dir():
        train_files, train_classes = _class_files(root / "train")
        test_files, test_classes = _class_files(root / "test")
        if train_classes != test_classes:
            raise FileError(f"{root}: train/ has classes {train_classes} but test/ has {test_classes}")
        images = _read_images([path for path, _ in train_files + test_files])
        labels = np.array([label for _, label in train_files + test_files], dtype=np.int64)
        split = len(train_files)
        return Dataset(name, images[:split], labels[:split], images[split:], labels[split:], tuple(train_classes))
    files, classes = _class_files(root)
    if len(classes) < 2:
        raise FileError(f"{root}: expected at least 2 class sub-folders with images, found {len(classes)}")
    labels = np.array([label for _, label in files], dtype=np.int64)
    # stratified_split holds out at least one image of every class that has two or
    # more; a class with one image would be trained on and never measured.
    single = [classes[label] for label, count in enumerate(np.bincount(labels, minlength=len(classes))) if count < 2]
    if single:
        listed = ", ".join(repr(c) for c in single[:5]) + (" ..." if len(single) > 5 else "")
        which = f"class {listed} has" if len(single) == 1 else f"classes {listed} have"
        raise FileError(
            f"{root}: expected at least 2 images per class (one is held out for testing), but {which} 1; "
            "add images or give train/ and test/ sub-folders"
        )
    images = _read_images([path for path, _ in files])
    train, test = stratified_split(labels, test_fraction=test_fraction, seed=seed)
    return Dataset(name, images[train], labels[train], images[test], labels[test], tuple(classes))


def _class_files(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """``(path, label)`` of every image under ``root/<class>/``, classes sorted by name.

    Raises
    ------
    FileError
        A folder that cannot be listed (no permission), naming it.
    """
    folders = sorted(entry for entry in _entries(root) if entry.is_dir() and not entry.name.startswith("."))
    files_by_class = {folder.name: sorted(path for path in _entries(folder) if _is_image(path)) for folder in folders}
    classes = [name for name, paths in files_by_class.items() if paths]
    if not classes:
        raise FileError(f"{root}: expected class sub-folders of images (root/<class>/*.png ...), found none")
    files = [(path, label) for label, name in enumerate(classes) for path in files_by_class[name]]
    return files, classes


def _entries(folder: Path) -> list[Path]:
    """What ``folder`` holds; a FileError naming it if it cannot be listed."""
    try:
        return list(folder.iterdir())
    except OSError as error:
        raise FileError(f"{folder}: cannot read: {error.strerror or error}") from None


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _read_images(paths: Sequence[Path]) -> np.ndarray:
    """``(N, C, 32, 32)`` float32 in [0, 1]: C = 1 if every image is gray, else 3."""
    pictures = [imageio.read_image(path) for path in paths]
    gray = all(picture.pixels.ndim == 2 for picture in pictures)
    out = np.empty((len(paths), 1 if gray else 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for i, picture in enumerate(pictures):
        pixels = picture.pixels.astype(np.float32) / picture.max_value
        if pixels.ndim == 2:
            pixels = pixels[:, :, None] if gray else np.repeat(pixels[:, :, None], 3, axis=2)
        out[i] = square_resize(pixels)
    return out


def square_resize(pixels: np.ndarray) -> np.ndarray:
    """One picture as a network input: ``(H, W, C)`` in [0, 1] -> ``(C, 32, 32)`` float32.

    The centre square is resized with a Lanczos filter (computed in float, so
    16-bit files keep their precision) and clipped back to [0, 1].  Image folders
    and ``convfx tour`` both use it, so a photo reaches the network the way
    training images from a folder did.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, C)
        Values in [0, 1].

    Returns
    -------
    ndarray of float32, shape (C, 32, 32)
    """
    from PIL import Image

    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = pixels[top : top + side, left : left + side]
    out = np.empty((square.shape[2], IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for c in range(square.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(square[:, :, c], dtype=np.float32), mode="F")
        out[c] = np.asarray(plane.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS))
    return np.clip(out, 0.0, 1.0, out=out)
