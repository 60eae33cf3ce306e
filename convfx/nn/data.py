"""Image classification data sets for LeNet, by name: :func:`load_dataset`, and the digits.

Every source gives a :class:`~convfx.nn.dataset.Dataset` of ``(N, C, 32, 32)``
float32 images in [0, 1]; nothing is downloaded, ever.  :func:`load_dataset` finds
each source by its name (:data:`DATASET_NAMES`) or by what a folder holds:

``digits`` (here, :func:`load_digits`)
    scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes, values
    0..16).  Each image is scaled to [0, 1], enlarged with a cubic spline to 28x28 and
    centred in a 32x32 frame (a 2-pixel empty border, like MNIST digits in the
    original LeNet input).  Split: for every class separately, a permutation from
    ``numpy.random.default_rng(DIGITS_SPLIT_SEED)`` puts the first
    ``round(0.2 * n_class)`` images in the test set -- 359 test and 1,438 training
    images, always the same ones (:func:`~convfx.nn.dataset.stratified_split`).
``shapes``
    Synthetic RGB shapes, deterministic by seed (:mod:`convfx.nn.shapes`).
``photos``, ``photos-rgb``, ``photos:DIR``
    Patches of natural photos (:mod:`convfx.nn.photos`).
``cifar10:PATH``
    CIFAR-10's binary files (:mod:`convfx.nn.cifar`).
a folder of MNIST / Fashion-MNIST IDX files
    Read by :mod:`convfx.nn.idx`.
a folder of class sub-folders
    ``root/<class>/*.png`` or ``root/train/<class>`` and ``root/test/<class>``
    (:mod:`convfx.nn.folders`).

The public names of :mod:`convfx.nn.dataset`, :mod:`convfx.nn.shapes`,
:mod:`convfx.nn.folders` and :mod:`convfx.nn.idx` that callers use with
:func:`load_dataset` (``Dataset``, ``stratified_split``, ``load_shapes``,
``read_idx`` ...) are importable from here too.

This module chooses and loads data sets; it knows nothing of models or training,
and the modules it loads from never import it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import FileError, ParameterError
from .dataset import IMAGE_SIZE, TEST_FRACTION, Dataset, centre_in_frame, stratified_split
from .folders import IMAGE_SUFFIXES as IMAGE_SUFFIXES  # importable from here too
from .folders import load_folder, square_resize
from .idx import FASHION_CLASSES, find_idx, load_idx_folder, read_idx
from .shapes import SHAPE_CLASSES, load_shapes, make_shapes

__all__ = [
    "IMAGE_SIZE",
    "DIGITS_SPLIT_SEED",
    "TEST_FRACTION",
    "SHAPE_CLASSES",
    "FASHION_CLASSES",
    "DATASET_NAMES",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_shapes",
    "make_shapes",
    "load_folder",
    "load_idx_folder",
    "read_idx",
    "square_resize",
    "stratified_split",
]

DIGITS_SPLIT_SEED = 0


#: The data-set specs :func:`load_dataset` knows besides a plain folder, as ``--dataset`` lists them.
DATASET_NAMES = ("digits", "shapes", "photos", "photos-rgb", "photos:DIR", "cifar10:PATH")


def load_dataset(spec: str | os.PathLike, *, seed: int = 0) -> Dataset:
    """A data set by name, by ``prefix:path``, or by folder.

    Parameters
    ----------
    spec : str or path
        ``"digits"``, ``"shapes"``, ``"photos"`` / ``"photos-rgb"`` (patches of the
        bundled photos, :func:`convfx.nn.photos.load_photos`), ``"photos:DIR"`` (the
        same task on a folder of one's own photos,
        :func:`convfx.nn.photos.load_photo_folder`), ``"cifar10:PATH"`` (the
        CIFAR-10 binary files, :func:`convfx.nn.cifar.load_cifar10`), a folder of
        IDX files, or a folder of class sub-folders.  A ``word:`` prefix is read
        before the rest is taken as a path; a one-letter prefix is a drive (``C:``).
    seed : int, optional
        Seed of the generated ``shapes`` and of a class folder's train/test split
        (the digits and photos splits are fixed).

    Returns
    -------
    Dataset
        Train and test images ``(N, C, 32, 32)`` float32 in [0, 1], with labels.

    Raises
    ------
    ParameterError
        An unknown ``word:`` prefix (when no such path exists), a prefix with no
        path, or a path that does not exist.
    FileError
        If ``spec`` is a file, or a folder that cannot be read as a data set.

    Examples
    --------
    >>> import convfx
    >>> convfx.load_dataset("digits")
    Dataset('digits': 1438 train + 359 test images, 1x32x32, 10 classes)
    """
    text = str(spec)
    if text == "digits":
        return load_digits()
    if text == "shapes":
        return load_shapes(seed=seed)
    if text in ("photos", "photos-rgb"):
        from .photos import load_photos

        return load_photos(color=text == "photos-rgb")
    prefix, colon, rest = text.partition(":")
    if colon and prefix in ("photos", "cifar10"):
        if not rest:
            raise ParameterError(
                f"dataset: expected {prefix}:{'DIR' if prefix == 'photos' else 'PATH'} with a folder, found {text!r}"
            )
        if prefix == "photos":
            from .photos import load_photo_folder

            return load_photo_folder(rest)
        from .cifar import load_cifar10

        return load_cifar10(rest)
    root = Path(spec)
    try:
        os.stat(root)
    except (FileNotFoundError, NotADirectoryError):
        pass  # names nothing: said below
    except OSError as error:  # a name too long for the system, a folder that cannot be searched
        raise FileError(f"{root}: cannot read: {error.strerror or error}") from None
    if colon and len(prefix) > 1 and prefix.replace("-", "").replace("_", "").isalnum() and not root.exists():
        raise ParameterError(f"dataset: invalid value {text!r}; expected one of {list(DATASET_NAMES)} or a folder")
    if not root.exists():  # a name that names nothing: a usage error, as an unknown name is
        raise ParameterError(
            f"dataset: no such data set {text!r}; expected one of {list(DATASET_NAMES)} or a folder of images or IDX files"
        )
    if not root.is_dir():
        raise FileError(f"{root}: expected a folder (of class sub-folders or IDX files), found a file")
    if find_idx(root, "train", "images") is not None:
        return load_idx_folder(root)
    return load_folder(root, seed=seed)


# --------------------------------------------------------------------------- digits


def load_digits() -> Dataset:
    """scikit-learn's 8x8 digits, enlarged to 32x32, with the fixed split (see module doc).

    Returns
    -------
    Dataset
        1,438 training and 359 test images ``(N, 1, 32, 32)``, 10 classes.

    Examples
    --------
    >>> from convfx.nn import load_digits
    >>> data = load_digits()
    >>> float(data.train_images.min()), float(data.train_images.max()), data.class_names[:3]
    (0.0, 1.0, ('0', '1', '2'))
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = bunch.images / 16.0  # (1797, 8, 8) in [0, 1]
    labels = bunch.target.astype(np.int64)
    # Cubic-spline enlargement keeps strokes smooth (nearest-neighbour blocks would
    # teach the first layer block edges, not strokes); 28 = 3.5 x 8, as MNIST in
    # LeNet.  The spline is linear and separable, so it is one (28, 8) matrix per
    # axis: scipy's zoom of the 8 unit vectors, applied to all images at once.
    inner = 28
    enlarge = zoom(np.eye(8), (inner / 8, 1), order=3, mode="nearest", grid_mode=True)  # (28, 8)
    enlarged = np.clip(np.einsum("ij,njk,lk->nil", enlarge, images, enlarge), 0.0, 1.0)
    framed = centre_in_frame(enlarged[:, None].astype(np.float32))
    train, test = stratified_split(labels, seed=DIGITS_SPLIT_SEED)
    return Dataset(
        name="digits",
        train_images=framed[train],
        train_labels=labels[train],
        test_images=framed[test],
        test_labels=labels[test],
        class_names=tuple(str(k) for k in range(10)),
    )
