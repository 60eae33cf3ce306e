"""Natural-image data sets for LeNet: patches of bundled photos, or of a folder of one's own.

Two sources, each returned as a :class:`convfx.nn.dataset.Dataset` of
``(N, C, 32, 32)`` float32 images in [0, 1]; nothing is ever downloaded.

``photos`` / ``photos-rgb`` (:func:`load_photos`)
    32x32 patches cut from the fixed list :data:`PHOTOS`: photographs that ship
    inside scikit-image's installed package folder (``skimage/data``; a hard
    dependency of convfx, so they are on every machine that runs it).  The files
    are read directly with :func:`convfx.imageio.read_image`; ``skimage.data`` is
    never called, so its downloader cannot run.  Gray (luminance) or RGB.
``photos:DIR`` (:func:`load_photo_folder`)
    The same task on every image of a folder of one's own (at least
    :data:`MIN_FOLDER_PHOTOS`; about 8 or more for edge detectors to emerge).
    Photos larger than :data:`WORKING_SIDE` are first reduced to it on their
    shorter side, so that a 12-megapixel photo gives patches with as much
    structure as the bundled ones.

How patches are cut, and why the split cannot leak
--------------------------------------------------
Each photo is cut into square *regions* of :data:`REGION` pixels (at full
resolution; the last row and column may be smaller).  A fixed permutation, seeded
by the photo's name, puts :data:`TEST_FRACTION` of each photo's complete regions
(at least one) in the held-out set.  The photo is then reduced by each factor of
:data:`SCALES` (an exact average of ``s x s`` blocks, so that no pixel of one
region reaches into another), and patches are cut on a grid of :data:`STRIDE`
pixels, each lying entirely inside one region.  A held-out patch therefore never
shares a pixel with a training patch.  At most :data:`MAX_PATCHES` training
patches per photo are kept (a seeded sample), so that large photos do not
outweigh small ones.  The split and the sample are fixed: they do not follow the
training seed, as the digits split does not.

The task: which photo
---------------------
A patch's label is the photo it was cut from (one class per photo; chance is the
largest class's share of the held-out patches, 8.2 % for :data:`PHOTOS`).
Every *training* patch is shown with a random exposure and, in colour, white
balance (:func:`vary_exposure`), so that brightness and colour do not tell the
photos apart and only local structure does: texture, the orientation and spacing
of edges.  Held-out patches are left as they are, so the accuracy is that on the
photos as they are.  (Predicting how far a patch was turned, a task with no
brightness cue at all, was tried as well: LeNet hardly learns it from 32x32
patches, 27 % against a chance of 25 %, and its first layer learns no edges.)

This module reads and makes data; it knows nothing of models or training.
"""

from __future__ import annotations

import importlib.util
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import imageio
from ..checks import checked_int
from ..color import LUMINANCE_WEIGHTS
from ..errors import FileError, ParameterError
from .dataset import IMAGE_SIZE, Dataset
from .folders import IMAGE_SUFFIXES

__all__ = [
    "Photo",
    "PHOTOS",
    "REGION",
    "SCALES",
    "STRIDE",
    "TEST_FRACTION",
    "MAX_PATCHES",
    "EXPOSURE_GAIN",
    "EXPOSURE_LEVEL",
    "EXPOSURE_CAST",
    "WORKING_SIDE",
    "MIN_FOLDER_PHOTOS",
    "skimage_data_folder",
    "photo_patches",
    "vary_exposure",
    "load_photos",
    "load_photo_folder",
]

#: Side of a split region, in full-resolution pixels.
REGION = 128
#: Reduction factors at which patches are cut (1 would be full resolution).
SCALES: tuple[int, ...] = (2, 4)
#: Distance between neighbouring patches of a region, in pixels of the reduced photo.
STRIDE = 8
#: Share of each photo's complete regions held out.
TEST_FRACTION = 0.2
#: Training patches kept per photo (a seeded sample); held-out patches: ``TEST_FRACTION`` of it.
MAX_PATCHES = 300
#: Exposure variation of training patches: contrast factor and new mean brightness, uniform in these ranges.
EXPOSURE_GAIN = (0.5, 1.5)
EXPOSURE_LEVEL = (0.25, 0.75)
#: RGB only: each channel's new mean is the level plus a uniform draw in +-this.
EXPOSURE_CAST = 0.25
#: A folder's photo is first reduced to this many pixels on its shorter side.
WORKING_SIDE = 512
#: The fewest images a folder needs (two classes); about 8 are needed for edge detectors.
MIN_FOLDER_PHOTOS = 2

_LUMINANCE = np.asarray(LUMINANCE_WEIGHTS, dtype=np.float32)


@dataclass(frozen=True)
class Photo:
    """One photograph of :data:`PHOTOS`.

    Attributes
    ----------
    name : str
        Short name; the class name of its patches.
    file : str
        Its file in scikit-image's ``data`` folder.
    description : str
        What it shows, its origin and its licence as the ``skimage.data``
        function's docstring states them.
    """

    name: str
    file: str
    description: str


#: The photo set: every photograph among scikit-image's bundled files whose
#: ``skimage.data`` docstring states a licence or the absence of copyright
#: restrictions.  convfx reads them from the installed package and never copies
#: them.  Left out: synthetic images (chessboard, color, phantom, logo, the horse
#: silhouette); ``moon``, ``page`` and the Middlebury ``motorcycle`` stereo pair,
#: whose docstrings state no licence; ``clock_motion`` (artificial motion blur);
#: ``microaneurysms`` (102x102, smaller than one region).
PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "astronaut.png", "astronaut Eileen Collins (NASA); public domain"),
    Photo("brick", "brick.png", "a brick wall, texture (CC0Textures); CC0"),
    Photo("camera", "camera.png", "a man with a camera on a tripod, gray (Lav Varshney); CC0"),
    Photo("cat", "chelsea.png", "Chelsea the cat (Stefan van der Walt); CC0"),
    Photo("coffee", "coffee.png", "a cup of coffee (Rachel Michetti); CC0"),
    Photo("coins", "coins.png", "Greek coins from Pompeii, gray (Brooklyn Museum); no known copyright restrictions"),
    Photo("grass", "grass.png", "grass, texture (DeviantArt, linolafett); CC0"),
    Photo("gravel", "gravel.png", "gravel, texture (CC0Textures); CC0"),
    Photo("text", "text.png", "text on a photographed sign, gray (Wikipedia); public domain"),
    Photo("rocket", "rocket.jpg", "a Falcon 9 launch (SpaceX); public domain"),
    Photo("retina", "retina.jpg", "fundus photograph of a left eye (Wikimedia, Mikael Haggstrom); CC0"),
    Photo("hubble_deep_field", "hubble_deep_field.jpg", "the Hubble eXtreme Deep Field (NASA); public domain"),
    Photo("immunohistochemistry", "ihc.png", "immunohistochemical staining (CMMI); no known copyright restrictions"),
    Photo("cell", "cell.png", "a cell floating in saline, gray phase image; CC0"),
)


def skimage_data_folder() -> Path:
    """scikit-image's bundled data folder, found without importing scikit-image.

    Returns
    -------
    Path

    Raises
    ------
    FileError
        If scikit-image is not installed.

    Examples
    --------
    >>> from convfx.nn.photos import skimage_data_folder
    >>> (skimage_data_folder() / "astronaut.png").is_file()
    True
    """
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise FileError("photos: expected scikit-image's bundled photos (pip install scikit-image), found no skimage package")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


# --------------------------------------------------------------------------- pixels


def _as_float(picture: imageio.Picture, *, color: bool) -> np.ndarray:
    """``(H, W, C)`` float32 in [0, 1]: C = 3 for ``color`` (gray repeated), else 1 (luminance)."""
    pixels = picture.pixels.astype(np.float32) / np.float32(picture.max_value)
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2) if color else pixels[:, :, None]
    return pixels if color else (pixels @ _LUMINANCE)[:, :, None]


def _reduce(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average non-overlapping ``factor x factor`` blocks: ``(H, W, C) -> (H // f, W // f, C)``."""
    if factor == 1:
        return pixels
    h, w = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    blocks = pixels[:h, :w].reshape(h // factor, factor, w // factor, factor, pixels.shape[2])
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def _to_working_size(pixels: np.ndarray, side: int) -> np.ndarray:
    """Reduce (never enlarge) so that the shorter side is ``side``; Lanczos, in float."""
    from PIL import Image

    height, width = pixels.shape[:2]
    if min(height, width) <= side:
        return pixels
    scale = side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(pixels[:, :, c]), mode="F").resize(size, Image.Resampling.LANCZOS))
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(planes, axis=2), 0.0, 1.0)


def _held_out_regions(name: str, complete: np.ndarray, *, test_fraction: float, seed: int) -> np.ndarray:
    """Which regions of photo ``name`` are held out (seeded by the name), chosen among the ``complete`` ones.

    Only complete regions are held out: a partial region at the right or bottom
    edge may be too small for a patch once the photo is reduced, and a held-out
    region without patches would leave the photo untested.
    """
    candidates = np.flatnonzero(complete.ravel())
    rng = np.random.default_rng([zlib.crc32(name.encode("utf-8")), seed])
    n_test = min(max(1, int(round(test_fraction * len(candidates)))), len(candidates) - 1)
    held_out = np.zeros(complete.size, dtype=bool)
    held_out[candidates[rng.permutation(len(candidates))[:n_test]]] = True
    return held_out.reshape(complete.shape)


def photo_patches(
    pixels: np.ndarray,
    name: str,
    *,
    region: int = REGION,
    scales: Sequence[int] = SCALES,
    stride: int = STRIDE,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut one photo into training and held-out 32x32 patches (see the module notes).

    Parameters
    ----------
    pixels : ndarray, shape (H, W, C)
        float32 in [0, 1].
    name : str
        Seeds which regions are held out, so that a photo is always split the same way.
    region : int, optional
        Side of a split region in full-resolution pixels; a multiple of every scale.
    scales : sequence of int, optional
        Reduction factors.
    stride : int, optional
        Patch grid step, in pixels of the reduced photo.
    test_fraction : float, optional
        Share of the complete regions held out (at least one, never all).
    seed : int, optional
        Changes which regions are held out.

    Returns
    -------
    train, test : ndarray, shape (N, C, 32, 32)
        float32 patches, in the order scale, region (row by row), position;
        ``test`` patches come only from held-out regions.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn.photos import photo_patches
    >>> train, test = photo_patches(np.zeros((512, 512, 1), np.float32), "example")
    >>> train.shape[1:], len(test) > 0
    ((1, 32, 32), True)

    Raises
    ------
    FileError
        If the photo has fewer than two complete regions, so that nothing could be held out.
    """
    height, width = pixels.shape[:2]
    rows, columns = -(-height // region), -(-width // region)
    complete = np.zeros((rows, columns), dtype=bool)
    complete[: height // region, : width // region] = True
    if complete.sum() < 2:
        raise FileError(f"{name}: expected a photo of at least {region}x{2 * region} pixels to split, found {width}x{height}")
    held_out = _held_out_regions(name, complete, test_fraction=test_fraction, seed=seed)
    parts: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for factor in scales:
        reduced = _reduce(pixels, factor)
        side = region // factor
        for r in range(rows):
            for c in range(columns):
                top, left = r * side, c * side
                bottom, right = min(top + side, reduced.shape[0]), min(left + side, reduced.shape[1])
                for y in range(top, bottom - IMAGE_SIZE + 1, stride):
                    for x in range(left, right - IMAGE_SIZE + 1, stride):
                        parts[bool(held_out[r, c])].append(reduced[y : y + IMAGE_SIZE, x : x + IMAGE_SIZE])
    channels = pixels.shape[2]

    def stack(patches: list[np.ndarray]) -> np.ndarray:
        if not patches:
            return np.zeros((0, channels, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        return np.ascontiguousarray(np.stack(patches).transpose(0, 3, 1, 2))

    return stack(parts[False]), stack(parts[True])


def vary_exposure(
    patches: np.ndarray,
    rng: np.random.Generator,
    *,
    gain: tuple[float, float] = EXPOSURE_GAIN,
    level: tuple[float, float] = EXPOSURE_LEVEL,
    cast: float = EXPOSURE_CAST,
) -> np.ndarray:
    """Each patch as if photographed with another exposure (and, in colour, white balance).

    Gray patches: ``clip(g (x - mean x) + L, 0, 1)``, with the contrast ``g`` and
    the new mean brightness ``L`` drawn per patch, uniformly from ``gain`` and
    ``level``.  RGB patches: the same, with each channel's own mean replaced by
    ``L + U(-cast, cast)`` (one draw per channel), so that a patch's mean colour
    becomes a random near-gray one while its colour differences stay.

    Parameters
    ----------
    patches : ndarray, shape (N, C, 32, 32)
        float32 in [0, 1].
    rng : numpy.random.Generator
    gain, level : (float, float), optional
    cast : float, optional
        Colour cast range (``C > 1`` only).

    Returns
    -------
    ndarray, shape (N, C, 32, 32)
        A new float32 array in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn.photos import vary_exposure
    >>> flat = np.full((3, 1, 32, 32), 0.5, np.float32)
    >>> means = vary_exposure(flat, np.random.default_rng(0)).mean(axis=(1, 2, 3))
    >>> bool(((means >= 0.25) & (means <= 0.75)).all())
    True

    Notes
    -----
    Without it, "which photo" is answered largely by a patch's brightness and
    colour, and conv1 learns one-sign blobs (gray) or kernels with a colour
    offset (RGB) that measure them.  With the mean made uninformative, the
    kernels that stay useful are zero-mean ones, which respond to structure.
    The new mean is what matters; a contrast factor alone does not do it, and in
    RGB a brightness change alone leaves the colour cue.
    """
    n, channels = patches.shape[:2]
    g = rng.uniform(*gain, (n, 1, 1, 1)).astype(np.float32)
    new = rng.uniform(*level, (n, 1, 1, 1)).astype(np.float32)
    if channels > 1:
        mean = patches.mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(np.float32)
        new = new + rng.uniform(-cast, cast, (n, channels, 1, 1)).astype(np.float32)
    else:
        mean = patches.mean(axis=(1, 2, 3), keepdims=True, dtype=np.float64).astype(np.float32)
    return np.clip(g * (patches - mean) + new, 0.0, 1.0)


# --------------------------------------------------------------------------- data sets


def _subsample(patches: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or len(patches) <= limit:
        return patches
    return patches[np.sort(rng.choice(len(patches), size=limit, replace=False))]


class _PatchOptions(NamedTuple):
    """How photos are cut into patches (see :func:`photo_patches` and :func:`load_photos`), checked."""

    region: int
    scales: tuple[int, ...]
    stride: int
    test_fraction: float
    max_patches: int | None


def _check_options(
    region: int, scales: Sequence[int], stride: int, test_fraction: float, max_patches: int | None
) -> _PatchOptions:
    """The patch options, checked before any photo is read."""
    region = checked_int(region, "region", minimum=IMAGE_SIZE, type_error=ParameterError)
    stride = checked_int(stride, "stride", minimum=1, type_error=ParameterError)
    if not scales or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 or region % s for s in scales):
        raise ParameterError(f"scales: expected ints >= 1 that divide the region side {region}, found {tuple(scales)}")
    if any(region // s < IMAGE_SIZE for s in scales):
        raise ParameterError(
            f"scales: expected each region ({region} pixels) reduced to at least {IMAGE_SIZE}, found {tuple(scales)}"
        )
    if not 0 < test_fraction < 1:
        raise ParameterError(f"test_fraction: expected a number between 0 and 1, found {test_fraction!r}")
    if max_patches is not None:
        max_patches = checked_int(max_patches, "max_patches", minimum=1, type_error=ParameterError)
    return _PatchOptions(region, tuple(int(s) for s in scales), stride, float(test_fraction), max_patches)


def _make_dataset(
    name: str, photos: Sequence[tuple[str, np.ndarray]], options: _PatchOptions, *, exposure: bool, seed: int
) -> Dataset:
    """The "which photo" task over ``(photo name, pixels)`` pairs: every photo's patches, labelled."""
    region, scales, stride, test_fraction, max_patches = options
    rng = np.random.default_rng(seed)
    split: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    labels: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    test_limit = None if max_patches is None else max(1, int(round(max_patches * test_fraction)))
    for index, (photo_name, pixels) in enumerate(photos):
        train, test = photo_patches(
            pixels, photo_name, region=region, scales=scales, stride=stride, test_fraction=test_fraction, seed=seed
        )
        for key, patches in (("train", _subsample(train, max_patches, rng)), ("test", _subsample(test, test_limit, rng))):
            split[key].append(patches)
            labels[key].append(np.full(len(patches), index, dtype=np.int64))
    train_images, test_images = np.concatenate(split["train"]), np.concatenate(split["test"])
    if exposure:
        train_images = vary_exposure(train_images, np.random.default_rng([seed, 1]))
    classes = tuple(photo_name for photo_name, _ in photos)
    return Dataset(name, train_images, np.concatenate(labels["train"]), test_images, np.concatenate(labels["test"]), classes)


def load_photos(
    *,
    color: bool = False,
    names: Sequence[str] | None = None,
    region: int = REGION,
    scales: Sequence[int] = SCALES,
    stride: int = STRIDE,
    test_fraction: float = TEST_FRACTION,
    max_patches: int | None = MAX_PATCHES,
    exposure: bool = True,
    seed: int = 0,
) -> Dataset:
    """The ``photos`` data set: which photo of :data:`PHOTOS` a 32x32 patch comes from.

    Parameters
    ----------
    color : bool, optional
        RGB patches (C = 3); default gray luminance (C = 1).
    names : sequence of str, optional
        A subset of :data:`PHOTOS` by name, in this order (default: all of them).
    region, scales, stride, test_fraction, seed
        See :func:`photo_patches`; ``seed`` also draws the patch sample and the exposures.
    max_patches : int or None, optional
        At most this many training patches per photo (held-out patches: at most
        ``test_fraction`` of it); ``None``: all.
    exposure : bool, optional
        Vary the exposure of every training patch (:func:`vary_exposure`).

    Returns
    -------
    Dataset
        Named ``"photos"`` or ``"photos-rgb"``, the names :func:`convfx.nn.load_dataset`
        rebuilds it from with the defaults (a model records the name, not the options).
        With the defaults, 3,617 training and 730 held-out patches of 14 classes
        (chance 8.2 %, the largest class's share of the held-out patches).

    Raises
    ------
    FileError
        If a photo of the list is missing from scikit-image's folder.
    ParameterError
        An unknown photo name, bad scales, region, stride or fraction.

    Examples
    --------
    >>> from convfx.nn import load_photos
    >>> data = load_photos(names=["brick", "grass"])       # two of the fourteen
    >>> data.class_names, data.train_images.shape[1:], len(data.test_labels) > 0
    (('brick', 'grass'), (1, 32, 32), True)
    """
    options = _check_options(region, scales, stride, test_fraction, max_patches)
    known = {photo.name: photo for photo in PHOTOS}
    chosen = [photo.name for photo in PHOTOS] if names is None else [str(name) for name in names]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise ParameterError(f"names: invalid photo {unknown[0] if unknown else None!r}; expected some of {list(known)}")
    folder = skimage_data_folder()
    photos = []
    for name in chosen:
        path = folder / known[name].file
        if not path.is_file():
            raise FileError(f"{path}: expected scikit-image's bundled photo {name!r}, found no file (reinstall scikit-image)")
        photos.append((name, _as_float(imageio.read_image(path), color=color)))
    return _make_dataset("photos-rgb" if color else "photos", photos, options, exposure=exposure, seed=seed)


def load_photo_folder(
    root: str | os.PathLike,
    *,
    color: bool | None = None,
    working_side: int = WORKING_SIDE,
    region: int = REGION,
    scales: Sequence[int] = SCALES,
    stride: int = STRIDE,
    test_fraction: float = TEST_FRACTION,
    max_patches: int | None = MAX_PATCHES,
    exposure: bool = True,
    seed: int = 0,
) -> Dataset:
    """The photos task on every image in ``root`` (not its sub-folders), one class per photo, in name order.

    Parameters
    ----------
    root : path-like
        A folder of JPEG, PNG, TIFF, BMP or WebP photos.
    color : bool or None, optional
        RGB or gray; ``None`` (default): RGB unless every photo is gray.
    working_side : int, optional
        Each photo is first reduced so that its shorter side is at most this.
    region, scales, stride, test_fraction, max_patches, exposure, seed
        As for :func:`load_photos`.

    Returns
    -------
    Dataset
        Named ``"photos:<absolute folder>"``, which :func:`convfx.nn.load_dataset` reads back.

    Raises
    ------
    FileError
        Not a folder; fewer than :data:`MIN_FOLDER_PHOTOS` images; an image that
        cannot be read (the message names it) or is smaller than ``region`` on its
        shorter side, or than two regions in all.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import skimage.data
    >>> import convfx
    >>> from convfx.nn import load_photo_folder
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = convfx.write_image(folder / "cat.png", skimage.data.chelsea())
    >>> _ = convfx.write_image(folder / "coffee.png", skimage.data.coffee())
    >>> data = load_photo_folder(folder)
    >>> data.class_names, data.channels
    (('cat.png', 'coffee.png'), 3)
    """
    options = _check_options(region, scales, stride, test_fraction, max_patches)
    working_side = checked_int(working_side, "working_side", minimum=options.region, type_error=ParameterError)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileError(f"photos:{root}: expected a folder of photos, found {'a file' if root.exists() else 'nothing'}")
    paths = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if len(paths) < MIN_FOLDER_PHOTOS:
        raise FileError(
            f"photos:{root}: expected at least {MIN_FOLDER_PHOTOS} photos ({', '.join(IMAGE_SUFFIXES)}), found {len(paths)}"
        )
    pictures = [(path, imageio.read_image(path)) for path in paths]  # a FileError names the unreadable one
    if color is None:
        color = any(picture.pixels.ndim == 3 for _, picture in pictures)
    photos = []
    for path, picture in pictures:
        pixels = _to_working_size(_as_float(picture, color=color), working_side)
        side = options.region
        if min(pixels.shape[:2]) < side or max(pixels.shape[:2]) < 2 * side:
            raise FileError(
                f"{path}: expected a photo of at least {side}x{2 * side} pixels, found {pixels.shape[1]}x{pixels.shape[0]}"
            )
        photos.append((path.name, pixels))
    return _make_dataset(f"photos:{root.resolve()}", photos, options, exposure=exposure, seed=seed)
