"""Kernel classes: is a learned first-layer kernel an edge detector, a smoothing kernel or other?

One rule, applied to every kernel ``w`` of a conv weight ``(F, C, kh, kw)``, with
the numbers that decided it (:func:`classify_kernels`), and the same rule applied
to random initialisations for the baseline (:func:`random_baseline`).

The rule
--------
All sums run over the kernel's ``kh * kw`` taps.  For a gray kernel (``C = 1``)::

    mean ratio      m = |sum w| / sum |w|                    0: zero mean, 1: one sign
    minority        n = min(sum w+, sum w-) / sum |w|        share of the weaker sign
    similarity      s(k) = |<w, k>| / (||w|| ||k||)          |cosine| with a reference kernel k

    edge detector   m <= 0.2  and  max s(k) >= 0.6 over k in derivative_kernels()
    smoothing       n <= 0.15 and  max s(k) >= 0.6 over k in smoothing_kernels()
    other           anything else

Both maxima also run over the 8 rotations/flips of the square
(:data:`convfx.kernel_sets.TRANSFORMS`) and, through the absolute value, over the
sign.  The reference sets are :func:`convfx.kernel_sets.derivative_kernels` (first
derivatives at 8 orientations, second derivatives, line detectors: 55 kernels)
and :func:`convfx.kernel_sets.smoothing_kernels` (Gaussians, binomial, box,
disc), brought to the kernel's size.  The two classes cannot overlap: ``n <= 0.15``
implies ``m >= 0.7``.  "One sign" is thus made precise: the taps of the weaker sign
carry at most 15 % of the kernel's total absolute weight (a blur with a faint
negative fringe is still a blur).

The thresholds are calibrated for 5x5 kernels: random 5x5 kernels are edge
detectors about once in 60 (0.09 of 6), random 7x7 ones almost never, but random
3x3 kernels (9 taps, easily within cosine 0.6 of one of 55 patterns) about 1.6
times in 6.  A count means something only next to the baseline of its own shape,
which is why :func:`random_baseline` takes the shape.

Colour kernels (``C = 3``): the colour-free reading (``channels="best"``, default)
---------------------------------------------------------------------------------
A colour kernel is a ``(C, kh*kw)`` matrix ``W``.  It is scored as the best
*colour-times-pattern* kernel ``a (x) k`` it contains, maximised over every unit
colour vector ``a`` in closed form::

    s(k) = ||W k|| / (||W|| ||k||)                 = max over a of cos(W, a (x) k)
    m    = ||W 1|| / sum over taps of ||W[:, tap]||
    n    = the minority of W's first principal spatial component (its SVD)

For ``C = 1`` these are exactly the gray formulas.  For an achromatic kernel
(every channel the same pattern) they equal the gray rule on that pattern; for a
colour-opponent kernel (red channel ``+k``, green ``-k``) they see the pattern
``k`` that the channel mean would cancel.  The channel mean, which
:mod:`convfx.compare`'s similarity uses, is what a kernel does to a *gray* image;
it calls a red/green edge detector noise although it is as much an edge detector
as a Sobel kernel (Krizhevsky et al. 2012 show both kinds in AlexNet's first
layer).  ``channels="mean"`` applies the gray rule to the channel mean (the
stricter, brightness-only reading).  The best single channel is not offered: it
would call a kernel an edge detector on the strength of one channel while the
others do something else.

This module must not train, draw, print or read files; the reference kernels are
:mod:`convfx.kernel_sets`'s, the only definition of "derivative" and "blur" here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .checks import checked_int, choice
from .errors import ParameterError
from .kernel_sets import candidate_vectors, derivative_kernels, smoothing_kernels
from .nn.layers import Init, initialize  # the training initialisation itself, not a copy of it

__all__ = [
    "KINDS",
    "CHANNEL_READINGS",
    "MEAN_RATIO_LIMIT",
    "MINORITY_LIMIT",
    "SIMILARITY_LIMIT",
    "KernelClass",
    "RandomBaseline",
    "classify_kernels",
    "count_edge_detectors",
    "random_baseline",
]

Kind = Literal["edge detector", "smoothing", "other"]
Channels = Literal["best", "mean"]

#: The three classes, in the order they are tested.
KINDS: tuple[Kind, ...] = ("edge detector", "smoothing", "other")
#: How a colour kernel is read: colour-free (``"best"``) or the channel mean (``"mean"``).
CHANNEL_READINGS: tuple[Channels, ...] = ("best", "mean")
#: Edge detector: ``|sum w| <= MEAN_RATIO_LIMIT * sum |w|`` ("close to zero mean").
MEAN_RATIO_LIMIT = 0.2
#: Smoothing: the weaker sign carries at most this share of ``sum |w|`` ("one sign").
MINORITY_LIMIT = 0.15
#: Both classes: the best ``|cosine|`` with a kernel of the class's set is at least this.
SIMILARITY_LIMIT = 0.6
# Kernels scored at once: bounds the (kernels x candidates x channels) projections.
_CHUNK = 2048
# Numbers drawn at once by random_baseline (32 MB of float64): the draws come a slice
# at a time from one generator, which gives the numbers of drawing them all at once.
_SLICE_VALUES = 2**22


@dataclass(frozen=True)
class KernelClass:
    """The class of one kernel and the numbers that decided it.

    Attributes
    ----------
    index : int
        Which kernel (``0 .. F-1``).
    kind : {"edge detector", "smoothing", "other"}
    mean_ratio : float
        ``|sum w| / sum |w|`` (its colour-free form for ``C > 1``), in [0, 1];
        1 for a zero kernel.
    minority : float
        Share of ``sum |w|`` carried by the weaker sign, in [0, 0.5].
    derivative : str
        Best-matching kernel of :func:`convfx.kernel_sets.derivative_kernels`,
        e.g. ``"sobel5 22.5deg"``.
    derivative_similarity : float
        Its ``|cosine|`` after the best rotation/flip, in [0, 1].
    derivative_transform : str
        Key of :data:`convfx.kernel_sets.TRANSFORMS` applied to it.
    blur : str
        Best-matching kernel of :func:`convfx.kernel_sets.smoothing_kernels`.
    blur_similarity : float
    norm : float
        Euclidean norm of the kernel (all channels).
    relative_norm : float
        ``norm`` over the largest norm of the bank, in [0, 1]: a kernel that
        weight decay has all but switched off (say below 0.1) is still classified
        by the shape of what is left, and this says so.
    colour : tuple of float
        Unit colour vector ``a`` of the best derivative match (``(1.0,)`` for a
        gray kernel or the ``"mean"`` reading), its largest entry positive; mixed
        signs mean a colour-opponent kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.kernel_classes import classify_kernels
    >>> sobel = np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]).astype(float)
    >>> found = classify_kernels(sobel[None, None])[0]
    >>> found.kind, found.derivative, round(found.derivative_similarity, 3), found.mean_ratio
    ('edge detector', 'sobel5 0deg', 1.0, 0.0)
    """

    index: int
    kind: Kind
    mean_ratio: float
    minority: float
    derivative: str
    derivative_similarity: float
    derivative_transform: str
    blur: str
    blur_similarity: float
    norm: float
    relative_norm: float
    colour: tuple[float, ...]

    @property
    def opponent(self) -> bool:
        """True if the best derivative match has colour weights of both signs, each at least 0.25 in size."""
        return len(self.colour) > 1 and max(self.colour) >= 0.25 and min(self.colour) <= -0.25


def _as_weights(weights: np.ndarray) -> np.ndarray:
    array = np.asarray(weights)
    if array.dtype.kind not in "biuf":
        raise ParameterError(f"weights: expected real numbers, found dtype {array.dtype}")
    if array.ndim != 4 or 0 in array.shape:
        raise ParameterError(f"weights: expected a non-empty 4-D array (F, C, kh, kw), found shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError("weights: expected finite values, found NaN or inf")
    return array.astype(np.float64)


@functools.lru_cache(maxsize=8)
def _reference(shape: tuple[int, int]) -> tuple[np.ndarray, list[tuple[str, str]], np.ndarray, list[tuple[str, str]]]:
    """Unit candidate vectors (and labels) of the derivative and smoothing sets at ``shape``, made once per shape."""
    derivatives, derivative_labels = candidate_vectors(derivative_kernels(shape), shape)
    blurs, blur_labels = candidate_vectors(smoothing_kernels(shape), shape)
    derivatives.flags.writeable = False
    blurs.flags.writeable = False
    return derivatives, derivative_labels, blurs, blur_labels


def _best_similarity(matrices: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour-free |cosine| of each ``(C, P)`` matrix with each unit candidate ``(P,)``.

    Returns the best similarity ``(F,)``, the index of the best candidate ``(F,)``
    and the projection ``W k`` onto it ``(F, C)``.
    """
    similarity, best, projection = [], [], []
    for start in range(0, len(matrices), _CHUNK):
        part = matrices[start : start + _CHUNK]
        f, c, p = part.shape
        projections = (part.reshape(f * c, p) @ candidates.T).reshape(f, c, -1)  # (F, C, M), one matrix product
        strength = np.sqrt(np.einsum("fcm,fcm->fm", projections, projections))  # (F, M)
        norms = np.linalg.norm(part.reshape(len(part), -1), axis=1)
        cosine = strength / np.where(norms > 0, norms, 1.0)[:, None]
        # Near-ties (1e-9) go to the first candidate, so the answer does not depend on rounding.
        chosen = np.argmax(cosine >= cosine.max(axis=1, keepdims=True) - 1e-9, axis=1)
        rows = np.arange(len(part))
        similarity.append(np.minimum(cosine[rows, chosen], 1.0))
        best.append(chosen)
        projection.append(projections[rows, :, chosen])
    return np.concatenate(similarity), np.concatenate(best), np.concatenate(projection)


def _mean_ratio_and_minority(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ratio and minority of each ``(C, P)`` matrix (see the module notes)."""
    tap_norms = np.linalg.norm(matrices, axis=1).sum(axis=1)  # sum over taps of ||W[:, tap]||
    safe = np.where(tap_norms > 0, tap_norms, 1.0)
    mean_ratio = np.where(tap_norms > 0, np.linalg.norm(matrices.sum(axis=2), axis=1) / safe, 1.0)
    # The first principal spatial component (for C = 1, the kernel itself up to sign).
    _, singular, rows = np.linalg.svd(matrices, full_matrices=False)
    pattern = singular[:, :1] * rows[:, 0, :]  # (F, P)
    positive = np.where(pattern > 0, pattern, 0.0).sum(axis=1)
    negative = -np.where(pattern < 0, pattern, 0.0).sum(axis=1)
    total = positive + negative
    minority = np.where(total > 0, np.minimum(positive, negative) / np.where(total > 0, total, 1.0), 0.0)
    return mean_ratio, minority


@dataclass(frozen=True)
class _Scores:
    """The rule's numbers for ``F`` kernels, as arrays (see :class:`KernelClass`)."""

    kinds: np.ndarray  # (F,) of str
    mean_ratio: np.ndarray
    minority: np.ndarray
    derivative_similarity: np.ndarray
    derivative_best: np.ndarray  # index into the derivative candidates
    derivative_projection: np.ndarray  # (F, C)
    blur_similarity: np.ndarray
    blur_best: np.ndarray


def _scores(array: np.ndarray, channels: Channels) -> _Scores:
    """Apply the rule to every kernel of a float64 ``(F, C, kh, kw)`` array."""
    f, c, kh, kw = array.shape
    matrices = array.reshape(f, c, kh * kw)
    if channels == "mean":
        matrices = matrices.mean(axis=1, keepdims=True)
    derivatives, _, blurs, _ = _reference((kh, kw))
    d_similarity, d_best, d_projection = _best_similarity(matrices, derivatives)
    b_similarity, b_best, _ = _best_similarity(matrices, blurs)
    mean_ratio, minority = _mean_ratio_and_minority(matrices)
    edge = (mean_ratio <= MEAN_RATIO_LIMIT) & (d_similarity >= SIMILARITY_LIMIT)
    smooth = ~edge & (minority <= MINORITY_LIMIT) & (b_similarity >= SIMILARITY_LIMIT)
    kinds = np.where(edge, KINDS[0], np.where(smooth, KINDS[1], KINDS[2]))
    return _Scores(kinds, mean_ratio, minority, d_similarity, d_best, d_projection, b_similarity, b_best)


def classify_kernels(weights: np.ndarray, *, channels: Channels = "best") -> list[KernelClass]:
    """Classify every kernel of a conv weight as an edge detector, a smoothing kernel or other.

    Parameters
    ----------
    weights : array_like, shape (F, C, kh, kw)
        E.g. a LeNet's ``conv1.weight``.
    channels : {"best", "mean"}, optional
        How a kernel with ``C > 1`` is read (see the module notes): ``"best"``,
        colour-free (each kernel as its best colour-times-pattern); ``"mean"``, the
        channel mean (what the kernel does to a gray image).  Both are the gray
        rule for ``C = 1``.

    Returns
    -------
    list of KernelClass
        One per kernel, in order.

    Raises
    ------
    ParameterError
        ``weights`` not 4-D, empty or not finite; an unknown ``channels``.

    Examples
    --------
    A Sobel kernel turned by 90 degrees and negated is an edge detector; a
    Gaussian is a smoothing kernel:

    >>> import numpy as np
    >>> from convfx.kernel_classes import classify_kernels
    >>> sobel = np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]).astype(float)
    >>> blur = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(float)
    >>> [c.kind for c in classify_kernels(np.stack([-np.rot90(sobel), blur])[:, None])]
    ['edge detector', 'smoothing']
    """
    choice(channels, "channels", CHANNEL_READINGS)
    array = _as_weights(weights)
    f, _, kh, kw = array.shape
    scores = _scores(array, channels)
    _, derivative_labels, _, blur_labels = _reference((kh, kw))
    norms = np.linalg.norm(array.reshape(f, -1), axis=1)
    largest = norms.max()
    out = []
    for k in range(f):
        projection = scores.derivative_projection[k]
        size = np.linalg.norm(projection)
        colour = projection / size if size > 0 else np.eye(len(projection))[0]
        if colour[np.argmax(np.abs(colour))] < 0:  # the sign is free: the largest weight is positive
            colour = -colour
        derivative, transform = derivative_labels[scores.derivative_best[k]]
        out.append(
            KernelClass(
                index=k,
                kind=str(scores.kinds[k]),  # type: ignore[arg-type]  # one of KINDS
                mean_ratio=float(scores.mean_ratio[k]),
                minority=float(scores.minority[k]),
                derivative=derivative,
                derivative_similarity=float(scores.derivative_similarity[k]),
                derivative_transform=transform,
                blur=blur_labels[scores.blur_best[k]][0],
                blur_similarity=float(scores.blur_similarity[k]),
                norm=float(norms[k]),
                relative_norm=float(norms[k] / largest) if largest > 0 else 0.0,
                colour=tuple(float(v) for v in colour),
            )
        )
    return out


def count_edge_detectors(classes: Sequence[KernelClass]) -> int:
    """How many of ``classes`` are edge detectors.

    Parameters
    ----------
    classes : sequence of KernelClass
        From :func:`classify_kernels`.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.kernel_classes import classify_kernels, count_edge_detectors
    >>> sobel = np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]).astype(float)
    >>> bank = np.stack([sobel, sobel.T, np.ones((5, 5))])[:, None]          # (3, 1, 5, 5)
    >>> count_edge_detectors(classify_kernels(bank))
    2
    """
    return sum(c.kind == "edge detector" for c in classes)


@dataclass(frozen=True)
class RandomBaseline:
    """The classes of random initialisations: what a learned count must beat to mean anything.

    Attributes
    ----------
    mean_edge_detectors : float
        Average number of edge detectors per random bank of ``shape[0]`` kernels.
    counts : tuple of int
        ``F + 1`` numbers: how many banks had 0, 1, ..., F edge detectors.
    mean_smoothing : float
        Average number of smoothing kernels per bank.
    draws : int
        Random banks classified.
    init : str
        The initialisation they are drawn from.
    shape : tuple of int
        ``(F, C, kh, kw)`` of each bank.
    channels : {"best", "mean"}
        The reading of colour kernels.

    Examples
    --------
    >>> from convfx.kernel_classes import random_baseline
    >>> found = random_baseline((6, 1, 5, 5), draws=100)
    >>> sum(found.counts), found.shape, str(found) == f"{found.mean_edge_detectors:.2f} of 6"
    (100, (6, 1, 5, 5), True)
    """

    mean_edge_detectors: float
    counts: tuple[int, ...]
    mean_smoothing: float
    draws: int
    init: str
    shape: tuple[int, int, int, int]
    channels: str = "best"

    def __str__(self) -> str:
        return f"{self.mean_edge_detectors:.2f} of {self.shape[0]}"


def random_baseline(
    shape: tuple[int, int, int, int] = (6, 1, 5, 5),
    *,
    init: Init = "he",
    draws: int = 1000,
    seed: int = 0,
    channels: Channels = "best",
) -> RandomBaseline:
    """Classify ``draws`` random banks from the training initialisation, as :func:`classify_kernels` would.

    The banks come from :func:`convfx.nn.layers.initialize` with the fans of a
    conv layer of ``shape``, as a LeNet's conv1 starts; the same arguments give
    the same numbers.  They are drawn and classified a slice at a time from one
    generator, so memory stays bounded for any ``F`` and ``draws``.

    Parameters
    ----------
    shape : (F, C, kh, kw), optional
        Of each bank; LeNet's gray conv1 by default.
    init : {"he", "glorot", "normal", "uniform"}, optional
    draws : int, optional
        Number of random banks (>= 1).
    seed : int, optional
    channels : {"best", "mean"}, optional
        As for :func:`classify_kernels`.

    Returns
    -------
    RandomBaseline

    Examples
    --------
    Random 5x5 kernels are rarely edge detectors under the rule, random 3x3 ones often:

    >>> from convfx.kernel_classes import random_baseline
    >>> random_baseline((6, 1, 5, 5), draws=200).mean_edge_detectors < 0.5
    True
    >>> random_baseline((6, 1, 3, 3), draws=200).mean_edge_detectors > 1.0
    True
    """
    if len(shape) != 4 or any(int(n) < 1 for n in shape):
        raise ParameterError(f"shape: expected (F, C, kh, kw) of positive ints, found {tuple(shape)}")
    draws = checked_int(draws, "draws", minimum=1, type_error=ParameterError)
    choice(channels, "channels", CHANNEL_READINGS)
    f, c, kh, kw = (int(n) for n in shape)
    generator = np.random.default_rng(seed)
    kernels = draws * f
    step = max(1, _SLICE_VALUES // (c * kh * kw))
    edge, smooth = np.empty(kernels, dtype=bool), np.empty(kernels, dtype=bool)
    for start in range(0, kernels, step):
        count = min(step, kernels - start)
        random = initialize(
            (count, c, kh, kw), fan_in=c * kh * kw, fan_out=f * kh * kw, method=init, rng=generator, dtype=np.float64
        )
        kinds = _scores(random, channels).kinds
        edge[start : start + count] = kinds == KINDS[0]
        smooth[start : start + count] = kinds == KINDS[1]
    edges = edge.reshape(draws, f).sum(axis=1)
    smooth_counts = smooth.reshape(draws, f).sum(axis=1)
    return RandomBaseline(
        mean_edge_detectors=float(edges.mean()),
        counts=tuple(int(n) for n in np.bincount(edges, minlength=f + 1)),
        mean_smoothing=float(smooth_counts.mean()),
        draws=int(draws),
        init=init,
        shape=(f, c, kh, kw),
        channels=channels,
    )
