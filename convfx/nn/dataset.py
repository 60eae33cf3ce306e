"""The labelled-image data set every loader returns, and the seeded per-class split.

:class:`Dataset` is a train/test split of ``(N, C, 32, 32)`` float32 images in
[0, 1] with their labels and class names.  :func:`stratified_split` is the seeded
per-class hold-out that the digits and image folders use, and
:func:`centre_in_frame` puts smaller images in the middle of a 32x32 frame (the
digits, IDX files).  Every module that reads or makes a data set
(:mod:`convfx.nn.data`, :mod:`convfx.nn.shapes`, :mod:`convfx.nn.folders`,
:mod:`convfx.nn.idx`, :mod:`convfx.nn.photos`, :mod:`convfx.nn.cifar`) builds on this one.

This module must not read files or make images, and imports none of those modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["IMAGE_SIZE", "TEST_FRACTION", "Dataset", "stratified_split", "centre_in_frame"]

IMAGE_SIZE = 32
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    """A train/test split of labelled 32x32 images.

    Attributes
    ----------
    name : str
        ``"digits"``, ``"shapes"`` or the folder's absolute path (what
        :func:`~convfx.nn.data.load_dataset` needs to load it again, from any working directory).
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


def centre_in_frame(images: np.ndarray) -> np.ndarray:
    """Images of at most 32x32, centred on a zero frame of 32x32.

    Parameters
    ----------
    images : ndarray, shape (N, C, h, w)
        With ``h, w <= 32``.

    Returns
    -------
    ndarray of float32, shape (N, C, 32, 32)
    """
    n, c, h, w = images.shape
    out = np.zeros((n, c, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    top, left = (IMAGE_SIZE - h) // 2, (IMAGE_SIZE - w) // 2
    out[:, :, top : top + h, left : left + w] = images
    return out
