"""Learned vs classic kernels: matching, similarity scores, baselines, bank export.

The question this module answers with numbers: do a CNN's first-layer kernels
resemble the hand-made kernels of the filter banks (Sobel, Laplacian, Gaussian...)?

* :func:`match_kernels` finds, for every learned kernel ``(C, kh, kw)``, the closest
  classic kernel (allowing the 8 rotations/flips of the square and either sign);
* :func:`baseline` gives the same score for random kernels drawn from the
  training initialisation, which is what makes the number mean something;
* :func:`compare_model` bundles it for ``convfx compare``, reading the weights
  with :func:`convfx.nn.weights.load_weights`, with each kernel's class (edge
  detector, smoothing, other: :mod:`convfx.kernel_classes`) and the number of
  edge detectors next to that of random kernels;
* :func:`export_bank` writes learned kernels as a filter-bank TOML file.

Learned filters applied to photos (``learned:MODEL``) are :mod:`convfx.learned`;
the reference kernels (standard 5x5 set, symmetries, resampling) are
:mod:`convfx.kernel_sets`, re-exported here under their names.

Similarity, the one definition used everywhere
----------------------------------------------
For a learned kernel :math:`w` (shape ``(C, kh, kw)``) and a classic kernel
:math:`k` (``(kh, kw)``), both flattened::

    similarity = | <w_bar, k> | / (||w_bar|| ||k||)      w_bar = mean of w over its C channels

i.e. the absolute cosine: 1 for the same pattern up to scale and sign, 0 for
orthogonal patterns.  For a gray kernel (C = 1) ``w_bar`` is the kernel itself.
For an RGB kernel the channel mean is *the* score because it is, up to a factor
C, what the kernel does to a gray (achromatic) image: edges of brightness.  The
per-channel values ``|cos(w[c], k)|`` (against the same matched, transformed
classic) are reported alongside; a colour-opponent kernel can have high
per-channel values and a low channel-mean score.  The best match maximises the
similarity over every classic kernel and, with ``transforms=True``, over the 8
symmetries of the square (:data:`TRANSFORMS`); a zero kernel scores 0.

The similarity says "looks like some classic kernel", blurs included: a bank of
smooth blobs scores high.  Whether a kernel is an *edge detector* (close to zero
mean and like a derivative) is the kernel classes' question, answered in
:attr:`Comparison.classes`.

This module must not draw (:mod:`convfx.plots`), print, train models, slide
kernels or read model files itself (:mod:`convfx.nn.weights` does).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping, Sequence, Union

import numpy as np

from . import banks, imageio
from .checks import checked_int
from .errors import ParameterError
from .kernel_classes import KernelClass, RandomBaseline, classify_kernels, count_edge_detectors, random_baseline
from .kernel_sets import (
    STANDARD_DERIVATIVE,
    STANDARD_SMOOTHING,
    TRANSFORMS,
    candidate_vectors,
    resample_kernel,
    standard_kernels,
    transform_kernel,
)
from .nn.layers import initialize  # the training initialisation itself, not a copy of it
from .nn.weights import ConvWeights, load_weights

__all__ = [
    "TRANSFORMS",
    "STANDARD_SMOOTHING",
    "STANDARD_DERIVATIVE",
    "Match",
    "Baseline",
    "Comparison",
    "standard_kernels",
    "bank_kernels",
    "classic_kernels",
    "resample_kernel",
    "transform_kernel",
    "match_kernels",
    "mean_similarity",
    "baseline",
    "compare_model",
    "evolution_scores",
    "evolution_table",
    "EVOLUTION_COLUMNS",
    "export_bank",
]

ClassicsLike = Union[Mapping[str, np.ndarray], Literal["all", "standard"], None]


# --------------------------------------------------------------------------- classic kernels


def bank_kernels(shape: tuple[int, int] = (5, 5)) -> dict[str, np.ndarray]:
    """Every single kernel of the shipped filter banks, brought to ``shape``.

    Each filter made of one kernel (not the combined ``sobel``, ``kirsch``...,
    whose kernels are entries of their own) contributes its correlation kernel
    (:attr:`convfx.banks.Kernel.weights`), resampled by :func:`resample_kernel`
    when its size differs; those are named ``"sobel_x (from 3x3)"``.

    Returns
    -------
    dict of str to ndarray, each of ``shape``, float64
    """
    kernels = {}
    for name, item in banks.builtin_filters().items():
        if item.combine is not None:
            continue
        weights = item.kernels[0].weights
        label = name if weights.shape == tuple(shape) else f"{name} (from {weights.shape[0]}x{weights.shape[1]})"
        kernels[label] = resample_kernel(weights, shape)
    return kernels


def classic_kernels(shape: tuple[int, int] = (5, 5)) -> dict[str, np.ndarray]:
    """The full classic set: :func:`standard_kernels` then :func:`bank_kernels`, at ``shape``.

    The standard 5x5 kernels are resampled like the others for another ``shape``.
    """
    standard = {name: resample_kernel(kernel, shape) for name, kernel in standard_kernels().items()}
    return standard | bank_kernels(shape)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """The classic kernel closest to one learned kernel.

    Attributes
    ----------
    index : int
        Which learned kernel (``0 .. F-1``).
    name : str
        The classic kernel's name (``"sobel5_x"``, ``"laplacian"``, ``"sobel_x (from 3x3)"``).
    similarity : float
        The score in [0, 1]: |cosine| of the channel-mean kernel and the matched
        classic (see the module notes).
    transform : str
        Key of :data:`TRANSFORMS` applied to the classic.
    sign : {1, -1}
        Sign of the cosine: ``sign * transform(classic)`` points the same way as the learned kernel.
    channel_similarity : tuple of float
        |cosine| of each input channel with the same transformed classic (one value for gray).
    norm : float
        Euclidean norm of the learned kernel (all channels).  The similarity is
        scale-free: a kernel that weight decay has shrunk to almost nothing (a
        feature the network does not use) can still match well; its norm, far
        below the others', says so.
    classic : ndarray, shape (kh, kw)
        ``sign * transform(classic)``, in the classic's own scale.
    """

    index: int
    name: str
    similarity: float
    transform: str
    sign: int
    channel_similarity: tuple[float, ...]
    norm: float
    classic: np.ndarray = field(repr=False, compare=False)


def _as_weights(weights: np.ndarray) -> np.ndarray:
    array = np.asarray(weights)
    if array.dtype.kind not in "biuf":
        raise ParameterError(f"weights: expected real numbers, found dtype {array.dtype}")
    if array.ndim != 4:
        raise ParameterError(f"weights: expected a 4-D array (F, C, kh, kw), found shape {array.shape}")
    if 0 in array.shape:
        raise ParameterError(f"weights: expected a non-empty array, found shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError("weights: expected finite values, found NaN or inf")
    return array.astype(np.float64)


def _resolve_classics(classics: ClassicsLike, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    if classics is None or (isinstance(classics, str) and classics == "all"):
        return classic_kernels(shape)
    if isinstance(classics, str):
        if classics != "standard":
            raise ParameterError(f"classics: invalid value {classics!r}; expected one of ['all', 'standard'] or a mapping")
        return {name: resample_kernel(kernel, shape) for name, kernel in standard_kernels().items()}
    if not isinstance(classics, Mapping) or not classics:
        raise ParameterError(f"classics: expected a non-empty mapping of name to 2-D kernel, found {classics!r}")
    return {str(name): resample_kernel(kernel, shape) for name, kernel in classics.items()}


def _candidates(
    classics: Mapping[str, np.ndarray], shape: tuple[int, int], transforms: bool
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Unit vectors ``(M, kh*kw)`` of every classic under every allowed transform, and their labels."""
    vectors, labels = candidate_vectors(dict(classics), shape, transforms=transforms)
    if not labels:
        raise ParameterError("classics: every classic kernel is zero")
    return vectors, labels


def _unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0), norms[..., 0] > 0


def _best(cosines: np.ndarray) -> np.ndarray:
    """Index of the largest |cosine| per row; near-ties (1e-9) go to the first candidate."""
    magnitude = np.abs(cosines)
    return np.argmax(magnitude >= magnitude.max(axis=-1, keepdims=True) - 1e-9, axis=-1)


def match_kernels(
    weights: np.ndarray,
    *,
    classics: ClassicsLike = None,
    transforms: bool = True,
) -> list[Match]:
    """Find the closest classic kernel to every learned kernel.

    Parameters
    ----------
    weights : array_like, shape (F, C, kh, kw)
        A conv layer's weights in PyTorch's layout (``conv1.weight``).
    classics : mapping of str to 2-D array, "all", "standard" or None, optional
        The kernels to match against, resampled to ``(kh, kw)`` where needed
        (:func:`resample_kernel`).  ``None`` / ``"all"``: :func:`classic_kernels`;
        ``"standard"``: the six of :func:`standard_kernels`.
    transforms : bool, optional
        Also try the 8 rotations/flips of each classic (:data:`TRANSFORMS`; the 4
        that keep the shape for non-square kernels).  The sign is always free.

    Returns
    -------
    list of Match
        One per learned kernel, in order.

    Raises
    ------
    ParameterError
        ``weights`` not 4-D, empty or not finite; ``classics`` empty or all zero.

    Examples
    --------
    A Sobel kernel turned by 90 degrees and negated is found with similarity 1:

    >>> import numpy as np
    >>> from convfx.compare import match_kernels, standard_kernels
    >>> sobel = standard_kernels()["sobel5_x"]
    >>> weights = -np.rot90(sobel)[None, None]            # (1, 1, 5, 5)
    >>> m = match_kernels(weights)[0]
    >>> round(m.similarity, 6), m.name in ("sobel5_x", "sobel5_y")
    (1.0, True)
    """
    array = _as_weights(weights)
    shape = (array.shape[2], array.shape[3])
    table = _resolve_classics(classics, shape)
    candidates, labels = _candidates(table, shape, transforms)
    mean, nonzero = _unit_rows(array.mean(axis=1).reshape(len(array), -1))
    cosines = mean @ candidates.T  # (F, M)
    best = _best(cosines)
    channels, _ = _unit_rows(array.reshape(array.shape[0], array.shape[1], -1))
    matches = []
    for index, (chosen, valid) in enumerate(zip(best, nonzero)):
        name, transform = labels[chosen]
        cosine = float(cosines[index, chosen]) if valid else 0.0
        sign = -1 if cosine < 0 else 1
        per_channel = tuple(float(abs(c)) for c in channels[index] @ candidates[chosen])
        matches.append(
            Match(
                index=index,
                name=name,
                similarity=min(abs(cosine), 1.0),
                transform=transform,
                sign=sign,
                channel_similarity=per_channel,
                norm=float(np.linalg.norm(array[index])),
                classic=transform_kernel(table[name], transform, sign),
            )
        )
    return matches


def mean_similarity(matches: Sequence[Match]) -> float:
    """The mean of the matches' similarities: the model's score (0 for no matches)."""
    return float(np.mean([m.similarity for m in matches])) if matches else 0.0


@dataclass(frozen=True)
class Baseline:
    """The score of random kernels: what a learned score must beat to mean anything.

    Attributes
    ----------
    mean, sd : float
        Mean and standard deviation, over ``draws`` random banks, of the bank's
        mean best similarity (the same statistic as :func:`mean_similarity`).
    draws : int
    init : str
        The initialisation the random kernels are drawn from.
    shape : tuple of int
        ``(F, C, kh, kw)`` of each random bank.
    """

    mean: float
    sd: float
    draws: int
    init: str
    shape: tuple[int, int, int, int]

    def __str__(self) -> str:
        return f"{self.mean:.3f} +- {self.sd:.3f}"


def baseline(
    shape: tuple[int, int, int, int],
    *,
    classics: ClassicsLike = None,
    transforms: bool = True,
    init: str = "he",
    draws: int = 1000,
    seed: int = 0,
) -> Baseline:
    """The score of random kernels drawn from the training initialisation.

    Draws ``draws`` random weight arrays of ``shape`` with
    :func:`convfx.nn.layers.initialize` (as a LeNet's conv1 is initialised),
    scores each one as :func:`match_kernels` + :func:`mean_similarity` would,
    and returns the mean and standard deviation of those scores.  The similarity
    is scale-free, so only the distribution's shape matters (normal for ``he`` and
    ``normal``, uniform for ``glorot`` and ``uniform``).

    Parameters
    ----------
    shape : (F, C, kh, kw)
    classics, transforms
        As for :func:`match_kernels`; use the same as for the learned kernels.
    init : {"he", "glorot", "normal", "uniform"}, optional
    draws : int, optional
        Number of random banks (>= 2).
    seed : int, optional
        Seeds the draws: the same arguments give the same numbers.

    Returns
    -------
    Baseline
    """
    if len(shape) != 4 or any(int(n) < 1 for n in shape):
        raise ParameterError(f"shape: expected (F, C, kh, kw) of positive ints, found {tuple(shape)}")
    draws = checked_int(draws, "draws", minimum=2, type_error=ParameterError)
    f, c, kh, kw = (int(n) for n in shape)
    candidates, _ = _candidates(_resolve_classics(classics, (kh, kw)), (kh, kw), transforms)
    random = initialize(
        (draws * f, c, kh, kw), fan_in=c * kh * kw, fan_out=f * kh * kw, method=init, rng=seed, dtype=np.float64
    )
    mean, _ = _unit_rows(random.mean(axis=1).reshape(draws * f, -1))
    best = np.abs(mean @ candidates.T).max(axis=1)
    scores = best.reshape(draws, f).mean(axis=1)
    return Baseline(float(scores.mean()), float(scores.std(ddof=1)), int(draws), init, (f, c, kh, kw))


# --------------------------------------------------------------------------- comparison


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
        sign-invariant |cosine| of an independent check.
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
    """
    weights = load_weights(model, key=key)
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


# --------------------------------------------------------------------------- export


_BANK_NAME = re.compile(r"[^a-z0-9_]+")


def _toml_number(value: float) -> str:
    text = repr(float(value))
    return text if any(ch in text for ch in ".en") else text + ".0"


def export_bank(
    weights: ConvWeights,
    path: str | os.PathLike,
    *,
    prefix: str = "learned",
    overwrite: bool = False,
) -> Path:
    """Write learned kernels as a filter-bank TOML file (the schema of :mod:`convfx.banks`).

    Entry ``{prefix}_{k}`` is kernel ``k`` summed over its input channels: what it
    does to a gray image (for a gray model, the kernel itself).  An RGB model
    also gets ``{prefix}_{k}_r``, ``_g`` and ``_b``, one per channel.  Every entry
    is a correlation kernel with output range ``normalize``; the description names
    the model and the best classic match.  The bias is not part of a bank kernel.

    Parameters
    ----------
    weights : ConvWeights
        From :func:`convfx.nn.weights.load_weights`.
    path : path-like
        A ``.toml`` file, written atomically.
    prefix : str, optional
        Lower-case start of every entry name.
    overwrite : bool, optional

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        ``path`` not ``.toml`` or ``prefix`` not a valid filter name start.
    FileError
        Cannot write; :class:`convfx.imageio.OutputExistsError` if it exists and not ``overwrite``.
    """
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise ParameterError(f"output: {path}: expected a .toml file, found {path.suffix or '(no suffix)'!r}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
        raise ParameterError(f"prefix: expected lower-case letters, digits and _ starting with a letter, found {prefix!r}")
    matches = match_kernels(weights.weight)
    lines = [
        f"# Learned kernels of {weights.source} ({weights.key}, shape {tuple(weights.weight.shape)}),",
        "# written by `convfx export-bank`: correlation kernels, as the conv layer applies them.",
        "",
    ]
    channel_names = "rgb" if weights.channels == 3 else None
    for k, kernel in enumerate(weights.weight.astype(np.float64)):
        match = matches[k]
        entries = [(f"{prefix}_{k}", kernel.sum(axis=0), "summed over input channels" if weights.channels > 1 else "")]
        if channel_names:
            entries += [(f"{prefix}_{k}_{channel_names[c]}", kernel[c], f"{'RGB'[c]} channel") for c in range(3)]
        for name, matrix, what in entries:
            description = f"kernel {k} of {Path(weights.source).name}" + (f", {what}" if what else "")
            description += f"; closest classic {match.name} ({match.transform}, sign {match.sign:+d}), similarity {match.similarity:.2f}"
            lines.append(f"[{name}]")
            lines.append(f"description = {json.dumps(description)}")
            lines.append("matrix = [")
            lines += ["  [" + ", ".join(_toml_number(v) for v in row) + "]," for row in matrix]
            lines.append("]")
            lines.append('operation = "correlate"')
            lines.append('range = "normalize"')
            lines.append("")
    return imageio.write_bytes_atomically(path, "\n".join(lines).encode("utf-8"), overwrite=overwrite)
