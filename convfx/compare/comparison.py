"""One model's conv weight compared, as ``convfx compare`` reports it, and its evolution over training.

:func:`compare_model` reads the weights (:func:`convfx.nn.weights.load_weights`),
matches and classifies the kernels, and puts each number next to its baseline;
:func:`evolution_table` does the same for every snapshot of a training run.

This module must not draw, print or write files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import FileError, ParameterError
from ..kernel_classes import KernelClass, RandomBaseline, classify_kernels, count_edge_detectors, random_baseline
from ..limits import MAX_COMPARED_KERNELS
from ..nn.weights import ConvWeights, load_weights
from .matching import Baseline, ClassicsLike, Match, baseline, match_kernels, mean_similarity

#: The columns of :attr:`Comparison.evolution`, one row per snapshot.
EVOLUTION_COLUMNS = ("score", "plain_score", "edge_detectors")


@dataclass(frozen=True)
class Comparison:
    """Everything ``convfx compare`` reports about one conv weight.

    Attributes
    ----------
    weights : ConvWeights
    matches : list of Match
        Against :func:`classic_kernels` with rotations/flips.
    score : float
        Mean similarity of ``matches``.
    baseline : Baseline
        Random kernels, same classics and transforms.
    plain_matches : list of Match
        Against the six :func:`standard_kernels`, no transforms: the plain
        sign-invariant ``|cosine|`` of an independent check.
    plain_score : float
    plain_baseline : Baseline
    classes : list of KernelClass
        Each kernel's class (edge detector, smoothing, other) with the numbers
        that decided it (:func:`convfx.kernel_classes.classify_kernels`; colour
        kernels read colour-free).
    edge_detectors : int
        How many of ``classes`` are edge detectors.
    class_baseline : RandomBaseline
        The same rule on random kernels of the same shape and initialisation: the
        average count a learned one must beat.
    accuracy : float or None
        Held-out accuracy recorded in a LeNet file.
    evolution : ndarray or None, shape (E+1, 3)
        Per snapshot of conv1 (before training, then after every epoch) the
        columns :data:`EVOLUTION_COLUMNS`: ``score``, ``plain_score`` and the
        number of edge detectors; set when the file has snapshots
        (``convfx train --snapshots``).

    Examples
    --------
    >>> from convfx.compare import compare_model
    >>> result = compare_model("digits", draws=50)
    >>> len(result.matches), result.score > result.baseline.mean + 5 * result.baseline.sd
    (6, True)
    >>> result.edge_detectors, [c.kind for c in result.classes][:2]
    (1, ['smoothing', 'smoothing'])
    """

    weights: ConvWeights
    matches: list[Match]
    score: float
    baseline: Baseline
    plain_matches: list[Match]
    plain_score: float
    plain_baseline: Baseline
    classes: list[KernelClass]
    edge_detectors: int
    class_baseline: RandomBaseline
    accuracy: float | None
    evolution: np.ndarray | None


def evolution_scores(snapshots: np.ndarray, *, classics: ClassicsLike = None, transforms: bool = True) -> np.ndarray:
    """Mean similarity of each snapshot of a conv weight.

    Parameters
    ----------
    snapshots : array_like, shape (E, F, C, kh, kw)
        E.g. ``model.snapshots["conv1.weight"]``: before training and after every epoch.
    classics, transforms
        As for :func:`match_kernels`.

    Returns
    -------
    ndarray, shape (E,)

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.compare import evolution_scores, standard_kernels
    >>> sobel = standard_kernels()["sobel5_x"]
    >>> noise = np.random.default_rng(0).normal(size=(5, 5))
    >>> snapshots = np.stack([noise, 0.5 * noise + sobel, sobel])[:, None, None]   # (3, 1, 1, 5, 5)
    >>> scores = evolution_scores(snapshots)
    >>> scores.shape, bool(scores[0] < scores[1] < scores[2]), round(float(scores[2]), 6)
    ((3,), True, 1.0)
    """
    array = _as_snapshots(snapshots)
    return np.array([mean_similarity(match_kernels(w, classics=classics, transforms=transforms)) for w in array])


def _as_snapshots(snapshots: np.ndarray) -> np.ndarray:
    array = np.asarray(snapshots)
    if array.ndim != 5:
        raise ParameterError(f"snapshots: expected shape (E, F, C, kh, kw), found {array.shape}")
    return array


def evolution_table(snapshots: np.ndarray) -> np.ndarray:
    """The columns :data:`EVOLUTION_COLUMNS` for each snapshot of a conv weight.

    Parameters
    ----------
    snapshots : array_like, shape (E, F, C, kh, kw)

    Returns
    -------
    ndarray, shape (E, 3)
        Mean similarity (all classics, with rotations/flips), plain score
        (standard 5x5, no transforms) and the number of edge detectors.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.compare import evolution_table, standard_kernels
    >>> sobel = standard_kernels()["sobel5_x"]
    >>> blur = standard_kernels()["gaussian5"]
    >>> snapshots = np.stack([np.stack([blur, blur]), np.stack([sobel, sobel.T])])[:, :, None]   # (2, 2, 1, 5, 5)
    >>> evolution_table(snapshots)[:, 2]                                                      # edge detectors
    array([0., 2.])
    """
    array = _as_snapshots(snapshots)
    return np.stack(
        [
            evolution_scores(array),
            evolution_scores(array, classics="standard", transforms=False),
            np.array([count_edge_detectors(classify_kernels(w)) for w in array], dtype=np.float64),
        ],
        axis=1,
    )


def compare_model(
    model: str | os.PathLike | None = None,
    *,
    key: str | None = None,
    draws: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Match a model's conv kernels to the classics, classify them, and put each number next to its baseline.

    Parameters
    ----------
    model : path-like or str, optional
        See :func:`convfx.nn.weights.load_weights` (default: the default shipped model).
    key : str, optional
        See :func:`convfx.nn.weights.load_weights`.
    draws, seed : int, optional
        For :func:`baseline` and :func:`convfx.kernel_classes.random_baseline`.

    Returns
    -------
    Comparison

    Raises
    ------
    FileError
        The file cannot be read (see :func:`~convfx.nn.weights.load_weights`), or
        its weight has more than :data:`~convfx.limits.MAX_COMPARED_KERNELS` kernels.

    Examples
    --------
    >>> from convfx.compare import compare_model
    >>> result = compare_model("digits", draws=50)               # the shipped model
    >>> round(result.score, 3), round(result.plain_score, 3)
    (0.946, 0.758)
    """
    weights = load_weights(model, key=key)
    if weights.weight.shape[0] > MAX_COMPARED_KERNELS:
        raise FileError(
            f"{weights.source}: {weights.key!r} has {weights.weight.shape[0]:,} kernels; convfx compare matches at most "
            f"{MAX_COMPARED_KERNELS:,} (convfx.limits.MAX_COMPARED_KERNELS)"
        )
    f, c, kh, kw = (int(n) for n in weights.weight.shape)
    shape = (f, c, kh, kw)
    matches = match_kernels(weights.weight)
    plain = match_kernels(weights.weight, classics="standard", transforms=False)
    classes = classify_kernels(weights.weight)
    accuracy = evolution = None
    if weights.model is not None:
        recorded = weights.model.metadata.get("test_accuracy")
        accuracy = float(recorded) if recorded is not None else None
        snapshots = weights.model.snapshots.get("conv1.weight")
        if snapshots is not None and np.ndim(snapshots) == 5:
            evolution = evolution_table(snapshots)
    return Comparison(
        weights=weights,
        matches=matches,
        score=mean_similarity(matches),
        baseline=baseline(shape, init=weights.init, draws=draws, seed=seed),
        plain_matches=plain,
        plain_score=mean_similarity(plain),
        plain_baseline=baseline(shape, classics="standard", transforms=False, init=weights.init, draws=draws, seed=seed),
        classes=classes,
        edge_detectors=count_edge_detectors(classes),
        class_baseline=random_baseline(shape, init=weights.init, draws=draws, seed=seed),
        accuracy=accuracy,
        evolution=evolution,
    )
