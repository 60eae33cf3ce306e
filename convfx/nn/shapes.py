"""The ``shapes`` data set: synthetic RGB images of eight shapes, made here, deterministic by seed.

Discs, rings, squares, triangles and bars in four orientations, in random colours
on smooth-textured, noisy backgrounds (:func:`make_shapes`).  :func:`load_shapes`
makes the training and test images from independent streams of the same seed.

This module makes images; it reads no files and knows nothing of models or training.
"""

from __future__ import annotations

import numpy as np

from ..checks import checked_int
from ..errors import ParameterError
from .dataset import IMAGE_SIZE, Dataset

__all__ = ["SHAPE_CLASSES", "make_shapes", "load_shapes"]

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
