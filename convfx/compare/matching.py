"""Learned kernels against classic ones: the classic sets, the best match of each kernel, the score and its random baseline.

Every number of ``convfx compare`` comes from :func:`match_kernels` (the
similarity defined in :mod:`convfx.compare`) and :func:`baseline` (the same score
for random kernels drawn from the training initialisation).

This module must not read model files, write files, draw or print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

from .. import banks
from ..checks import checked_int
from ..errors import ParameterError
from ..kernel_sets import candidate_vectors, resample_kernel, standard_kernels, transform_kernel
from ..nn.layers import Init, initialize  # the training initialisation itself, not a copy of it

#: What :func:`match_kernels` compares with: a dict of named kernels, ``"all"``
#: (:func:`classic_kernels`, the default for None) or ``"standard"`` (the six
#: :func:`standard_kernels`).
ClassicsLike = Union[Mapping[str, np.ndarray], Literal["all", "standard"], None]


def bank_kernels(shape: tuple[int, int] = (5, 5)) -> dict[str, np.ndarray]:
    """Every single kernel of the shipped filter banks, brought to ``shape``.

    Each filter made of one kernel (not the combined ``sobel``, ``kirsch``...,
    whose kernels are entries of their own) contributes its correlation kernel
    (:attr:`convfx.banks.Kernel.weights`), resampled by :func:`resample_kernel`
    when its size differs; those are named ``"sobel_x (from 3x3)"``.

    Parameters
    ----------
    shape : (int, int), optional
        The size every kernel is brought to.

    Returns
    -------
    dict of str to ndarray, each of ``shape``, float64

    Examples
    --------
    >>> from convfx.compare import bank_kernels
    >>> kernels = bank_kernels((5, 5))
    >>> kernels["sobel_x (from 3x3)"].shape, "sobel" in kernels     # combined filters are not kernels
    ((5, 5), False)
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

    Parameters
    ----------
    shape : (int, int), optional
        The size every kernel is brought to.

    Returns
    -------
    dict of str to ndarray, each of ``shape``, float64
        The six standard kernels first, then the bank's.

    Examples
    --------
    >>> from convfx.compare import classic_kernels, standard_kernels
    >>> kernels = classic_kernels()
    >>> list(kernels)[:6] == list(standard_kernels())
    True
    """
    standard = {name: resample_kernel(kernel, shape) for name, kernel in standard_kernels().items()}
    return standard | bank_kernels(shape)


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
        The score in [0, 1]: ``|cosine|`` of the channel-mean kernel and the matched
        classic (see the module notes).
    transform : str
        Key of :data:`TRANSFORMS` applied to the classic.
    sign : {1, -1}
        Sign of the cosine: ``sign * transform(classic)`` points the same way as the learned kernel.
    channel_similarity : tuple of float
        ``|cosine|`` of each input channel with the same transformed classic (one value for gray).
    norm : float
        Euclidean norm of the learned kernel (all channels).  The similarity is
        scale-free: a kernel that weight decay has shrunk to almost nothing (a
        feature the network does not use) can still match well; its norm, far
        below the others', says so.
    classic : ndarray, shape (kh, kw)
        ``sign * transform(classic)``, in the classic's own scale.

    Examples
    --------
    >>> from convfx.compare import match_kernels, standard_kernels
    >>> match = match_kernels(standard_kernels()["laplacian5"][None, None])[0]
    >>> match.index, match.name, round(match.similarity, 6), match.sign
    (0, 'laplacian5', 1.0, 1)
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
    """The mean of the matches' similarities: the model's score (0 for no matches).

    Parameters
    ----------
    matches : sequence of Match
        From :func:`match_kernels`.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.compare import match_kernels, mean_similarity, standard_kernels
    >>> kernels = np.stack([standard_kernels()["sobel5_x"], standard_kernels()["gaussian5"]])[:, None]
    >>> round(mean_similarity(match_kernels(kernels)), 6)                # (2, 1, 5, 5): both exact
    1.0
    """
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

    Examples
    --------
    >>> from convfx.compare import baseline
    >>> random = baseline((6, 1, 5, 5), draws=50, seed=0)
    >>> random.draws, random.init, 0.0 < random.mean < 1.0
    (50, 'he', True)
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
    init: Init = "he",
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

    Notes
    -----
    The ``draws * F`` random kernels are drawn and scored a slice at a time
    (about :data:`_BASELINE_SLICE_VALUES` numbers each) from one generator, which
    gives the numbers of drawing them all at once: memory stays bounded for any
    ``F`` and ``draws``; the time grows with their product.

    Examples
    --------
    Random 5x5 kernels score well below a trained model's first layer (about 0.4
    against all the classics with rotations, 0.3 against the six standard kernels):

    >>> from convfx.compare import baseline, standard_kernels
    >>> plain = baseline((6, 1, 5, 5), classics=standard_kernels(), transforms=False, draws=200, seed=0)
    >>> 0.2 < plain.mean < 0.4, plain.sd < 0.1
    (True, True)
    """
    if len(shape) != 4 or any(int(n) < 1 for n in shape):
        raise ParameterError(f"shape: expected (F, C, kh, kw) of positive ints, found {tuple(shape)}")
    draws = checked_int(draws, "draws", minimum=2, type_error=ParameterError)
    f, c, kh, kw = (int(n) for n in shape)
    candidates, _ = _candidates(_resolve_classics(classics, (kh, kw)), (kh, kw), transforms)
    generator = np.random.default_rng(seed)
    kernels = draws * f
    step = max(1, _BASELINE_SLICE_VALUES // (c * kh * kw + len(candidates)))
    best = np.empty(kernels)
    for start in range(0, kernels, step):
        count = min(step, kernels - start)
        random = initialize(
            (count, c, kh, kw), fan_in=c * kh * kw, fan_out=f * kh * kw, method=init, rng=generator, dtype=np.float64
        )
        mean, _ = _unit_rows(random.mean(axis=1).reshape(count, -1))
        best[start : start + count] = np.abs(mean @ candidates.T).max(axis=1)
    scores = best.reshape(draws, f).mean(axis=1)
    return Baseline(float(scores.mean()), float(scores.std(ddof=1)), int(draws), init, (f, c, kh, kw))


# Numbers drawn and scored at once by baseline(): 32 MB of float64 per slice.
_BASELINE_SLICE_VALUES = 2**22
