"""Image classification data sets for LeNet, as ``(N, C, 32, 32)`` float32 in [0, 1].

Nothing is downloaded, ever.  Four sources:

``digits``
    scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes, values
    0..16).  Each image is scaled to [0, 1], enlarged with a cubic spline to 28x28 and
    centred in a 32x32 frame (a 2-pixel empty border, like MNIST digits in the
    original LeNet input).  Split: for every class separately, a permutation from
    ``numpy.random.default_rng(DIGITS_SPLIT_SEED)`` puts the first
    ``round(0.2 * n_class)`` images in the test set -- 359 test and 1,438 training
    images, always the same ones (:func:`stratified_split`).
``shapes``
    A procedural RGB data set made here, deterministic by seed: discs, rings,
    squares, triangles and bars in four orientations, in random colours on
    smooth-textured, noisy backgrounds (:func:`make_shapes`).  Training and test
    images come from independent streams of the same seed.
a folder of class sub-folders
    ``root/<class>/*.png|jpg|tif|bmp|webp`` (class names sorted), or
    ``root/train/<class>`` and ``root/test/<class>`` for a split of your own.
    Images are centre-cropped to a square and resized to 32x32; they are gray
    (C = 1) if every image is, else RGB.  Without ``train``/``test`` the split is
    the per-class seeded 20 % of :func:`stratified_split` (seed 0 by default), and
    every class needs at least 2 images so that one is held out.
MNIST / Fashion-MNIST IDX files
    A folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``;
    ``-images.idx3-ubyte`` spellings accepted).  28x28 images are centred in 32x32
    frames.  Class names are Fashion-MNIST's when the folder name contains
    "fashion", else the digits.

Natural-image patches (``photos``, ``photos-rgb``, ``photos:DIR``) are made by
:mod:`convfx.nn.photos`, CIFAR-10's binary files read by :mod:`convfx.nn.cifar`; :func:`load_dataset`
finds every source by its name.

This module reads and makes data; it knows nothing of models or training.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import imageio
from ..checks import checked_int
from ..errors import FileError, ParameterError
from ..limits import MAX_IDX_VALUES

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

IMAGE_SIZE = 32
DIGITS_SPLIT_SEED = 0
TEST_FRACTION = 0.2
SHAPE_CLASSES = (
    "disc",
    "ring",
    "square",
    "triangle",
    "horizontal-bar",
    "vertical-bar",
    "rising-bar",
    "falling-bar",
)
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
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")  # what convfx.imageio reads


@dataclass(frozen=True)
class Dataset:
    """A train/test split of labelled 32x32 images.

    Attributes
    ----------
    name : str
        ``"digits"``, ``"shapes"`` or the folder's absolute path (what
        :func:`load_dataset` needs to load it again, from any working directory).
    train_images, test_images : ndarray, shape (N, C, 32, 32)
        float32 in [0, 1].
    train_labels, test_labels : ndarray, shape (N,)
        int64 class indices in ``[0, K)``.
    class_names : tuple of str
        ``K`` names, index = label.

    Examples
    --------
    >>> from convfx.nn import load_digits
    >>> data = load_digits()
    >>> data.train_images.shape, data.test_images.shape, data.channels, data.num_classes
    ((1438, 1, 32, 32), (359, 1, 32, 32), 1, 10)
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def channels(self) -> int:
        """``C``: 1 (gray) or 3 (RGB)."""
        return int(self.train_images.shape[1])

    @property
    def num_classes(self) -> int:
        """``K``."""
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: {len(self.train_labels)} train + {len(self.test_labels)} test images, "
            f"{self.channels}x{IMAGE_SIZE}x{IMAGE_SIZE}, {self.num_classes} classes)"
        )


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
    if colon and len(prefix) > 1 and prefix.replace("-", "").replace("_", "").isalnum() and not root.exists():
        raise ParameterError(f"dataset: invalid value {text!r}; expected one of {list(DATASET_NAMES)} or a folder")
    if not root.exists():  # a name that names nothing: a usage error, as an unknown name is
        raise ParameterError(
            f"dataset: no such data set {text!r}; expected one of {list(DATASET_NAMES)} or a folder of images or IDX files"
        )
    if not root.is_dir():
        raise FileError(f"{root}: expected a folder (of class sub-folders or IDX files), found a file")
    if _find_idx(root, "train", "images") is not None:
        return load_idx_folder(root)
    return load_folder(root, seed=seed)


def stratified_split(labels: np.ndarray, *, test_fraction: float = TEST_FRACTION, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: per class, a seeded permutation's first part is test.

    Each class with ``n`` members gives ``round(test_fraction * n)`` test images
    (at least one when ``n >= 2``).  Both index arrays are sorted.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
    test_fraction : float, optional
    seed : int, optional

    Returns
    -------
    train, test : ndarray of int
        Indices into ``labels``.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test = int(round(test_fraction * len(members)))
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


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
    framed = _centre(enlarged[:, None].astype(np.float32))
    train, test = stratified_split(labels, seed=DIGITS_SPLIT_SEED)
    return Dataset(
        name="digits",
        train_images=framed[train],
        train_labels=labels[train],
        test_images=framed[test],
        test_labels=labels[test],
        class_names=tuple(str(k) for k in range(10)),
    )


def _centre(images: np.ndarray) -> np.ndarray:
    """``(N, C, h, w)`` with h, w <= 32 -> ``(N, C, 32, 32)``, centred on a zero frame."""
    n, c, h, w = images.shape
    out = np.zeros((n, c, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    top, left = (IMAGE_SIZE - h) // 2, (IMAGE_SIZE - w) // 2
    out[:, :, top : top + h, left : left + w] = images
    return out


# --------------------------------------------------------------------------- shapes


def make_shapes(count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render ``count`` RGB images of the :data:`SHAPE_CLASSES`, deterministically.

    Each image: a background of a random colour with smooth random texture (a 4x4
    grid of colour offsets, bilinearly enlarged), one anti-aliased shape of a
    random colour clearly different from the background, at a random position,
    size and (for disc, ring, square, triangle) rotation, then Gaussian pixel noise.
    Bars keep their class orientation within +-10 degrees.

    Parameters
    ----------
    count : int
        Number of images; classes cycle ``0, 1, ..., K-1, 0, ...`` then are shuffled.
    seed : int, optional

    Returns
    -------
    images : ndarray, shape (count, 3, 32, 32)
        float32 in [0, 1].
    labels : ndarray, shape (count,)
        int64 indices into :data:`SHAPE_CLASSES`.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import make_shapes
    >>> images, labels = make_shapes(16, seed=0)
    >>> images.shape, images.dtype, labels.shape
    ((16, 3, 32, 32), dtype('float32'), (16,))
    >>> bool(np.array_equal(images, make_shapes(16, seed=0)[0]))      # deterministic by seed
    True
    """
    count = checked_int(count, "count", minimum=0, type_error=ParameterError)
    rng = np.random.default_rng(seed)
    k = len(SHAPE_CLASSES)
    labels = rng.permutation(np.arange(count) % k).astype(np.int64)
    size = IMAGE_SIZE
    # Pixel centres; (count, 1, 1) parameters broadcast against (32, 32) grids.
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    column = (count, 1, 1)
    cy = rng.uniform(11, 21, column)
    cx = rng.uniform(11, 21, column)
    radius = rng.uniform(5.5, 10.0, column)
    angle = rng.uniform(0, 2 * np.pi, column)
    jitter = np.deg2rad(rng.uniform(-10, 10, column))
    bar_length = rng.uniform(9, 14, column)  # half-length
    bar_width = rng.uniform(1.5, 3.0, column)  # half-width
    ring_width = rng.uniform(1.0, 1.8, column)
    dy, dx = ys - cy, xs - cx
    distance = np.empty((count, size, size))
    for label, name in enumerate(SHAPE_CLASSES):
        pick = labels == label
        if not pick.any():
            continue
        y, x, r, a = dy[pick], dx[pick], radius[pick], angle[pick]
        if name == "disc":
            d = np.hypot(y, x) - r
        elif name == "ring":
            d = np.abs(np.hypot(y, x) - r) - ring_width[pick]
        elif name == "square":
            u, v = _rotate(y, x, a)
            d = np.maximum(np.abs(u), np.abs(v)) - 0.8 * r
        elif name == "triangle":
            # Intersection of three half-planes with outward normals 120 degrees apart.
            d = np.max([np.cos(a + t) * x + np.sin(a + t) * y for t in (0, 2 * np.pi / 3, 4 * np.pi / 3)], axis=0)
            d = d - 0.55 * r
        else:
            base = {"horizontal-bar": 0.0, "vertical-bar": np.pi / 2, "rising-bar": -np.pi / 4, "falling-bar": np.pi / 4}[name]
            u, v = _rotate(y, x, base + jitter[pick])
            d = np.maximum(np.abs(v) - bar_length[pick], np.abs(u) - bar_width[pick])
        distance[pick] = d
    coverage = np.clip(0.5 - distance, 0.0, 1.0)[:, None]  # 1-pixel anti-aliased edge
    background = rng.uniform(0, 1, (count, 3, 1, 1))
    foreground = rng.uniform(0, 1, (count, 3, 1, 1))
    for _ in range(64):  # redraw colours too close to the background (deterministic)
        close = np.linalg.norm((foreground - background)[:, :, 0, 0], axis=1) < 0.5
        if not close.any():
            break
        foreground[close] = rng.uniform(0, 1, (int(close.sum()), 3, 1, 1))
    texture = _smooth_noise(rng, count, amplitude=rng.uniform(0.05, 0.2, (count, 1, 1, 1)))
    noise = rng.normal(0, 1, (count, 3, size, size)) * rng.uniform(0.01, 0.06, (count, 1, 1, 1))
    images = (background + texture) * (1 - coverage) + foreground * coverage + noise
    return np.clip(images, 0, 1).astype(np.float32), labels


def _rotate(y: np.ndarray, x: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in a frame rotated by ``angle``: (along, across)."""
    c, s = np.cos(angle), np.sin(angle)
    return c * y - s * x, s * y + c * x


def _smooth_noise(rng: np.random.Generator, count: int, *, amplitude: np.ndarray) -> np.ndarray:
    """``(count, 3, 32, 32)`` low-frequency colour noise: a 4x4 grid, bilinearly enlarged."""
    grid = rng.uniform(-1, 1, (count, 3, 4, 4))
    # Bilinear interpolation matrix from 4 samples to 32 pixel centres.
    positions = (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE * 3
    lower = np.clip(np.floor(positions).astype(int), 0, 2)
    frac = positions - lower
    weights = np.zeros((IMAGE_SIZE, 4))
    weights[np.arange(IMAGE_SIZE), lower] = 1 - frac
    weights[np.arange(IMAGE_SIZE), lower + 1] = frac
    return amplitude * np.einsum("hi,ncij,wj->nchw", weights, grid, weights)


def load_shapes(*, train_per_class: int = 500, test_per_class: int = 125, seed: int = 0) -> Dataset:
    """The ``shapes`` data set: :func:`make_shapes` for training and for testing.

    The two halves use independent generators spawned from ``seed``, so no test
    image is a copy of a training image.  Defaults: 4,000 training and 1,000 test
    images in 8 classes.

    Parameters
    ----------
    train_per_class, test_per_class : int, optional
        Images of each of the 8 classes in each half.
    seed : int, optional
        Seed of both halves' generators.

    Returns
    -------
    Dataset
        RGB images ``(N, 3, 32, 32)`` float32 in [0, 1], 8 classes.

    Examples
    --------
    >>> from convfx.nn import load_shapes
    >>> load_shapes(train_per_class=4, test_per_class=2)
    Dataset('shapes': 32 train + 16 test images, 3x32x32, 8 classes)
    """
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    k = len(SHAPE_CLASSES)
    train_images, train_labels = make_shapes(train_per_class * k, seed=int(train_seed.generate_state(1)[0]))
    test_images, test_labels = make_shapes(test_per_class * k, seed=int(test_seed.generate_state(1)[0]))
    return Dataset("shapes", train_images, train_labels, test_images, test_labels, SHAPE_CLASSES)


# --------------------------------------------------------------------------- folders


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


# --------------------------------------------------------------------------- IDX

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


def _find_idx(root: Path, split: str, kind: str) -> Path | None:
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
            path = _find_idx(root, split, kind)
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
        parts.append((_centre(np.divide(images, scale, dtype=np.float32)[:, None]), labels.astype(np.int64)))
    (train_images, train_labels), (test_images, test_labels) = parts
    k = int(max(train_labels.max(initial=0), test_labels.max(initial=0))) + 1
    if "fashion" in root.resolve().name.lower() and k == len(FASHION_CLASSES):
        names: tuple[str, ...] = FASHION_CLASSES
    else:
        names = tuple(str(label) for label in range(k))
    return Dataset(str(root.resolve()), train_images, train_labels, test_images, test_labels, names)
