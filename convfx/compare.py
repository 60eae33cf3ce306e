"""Learned vs classic kernels: matching, similarity scores, baselines, learned filters as effects.

The question this module answers with numbers: do a CNN's first-layer kernels
resemble the hand-made kernels of the filter banks (Sobel, Laplacian, Gaussian...)?

* :func:`match_kernels` finds, for every learned kernel ``(C, kh, kw)``, the closest
  classic kernel (allowing the 8 rotations/flips of the square and either sign);
* :func:`baseline` gives the same score for random kernels drawn from the
  training initialisation, which is what makes the number mean something;
* :func:`load_weights` reads a 4-D conv weight ``(F, C, kh, kw)`` from a LeNet
  ``.npz``, any ``.npz`` or a ``.safetensors`` file (no torch needed);
* :func:`compare_model` bundles all of it for ``convfx compare``;
* :func:`export_bank` writes learned kernels as a filter-bank TOML file, and
  :func:`learned_step` turns ``learned:MODEL[#k]`` into an effect step that
  applies the first layer to a photo through :func:`convfx.correlate`, exactly as
  the conv layer does.

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

This module must not draw (:mod:`convfx.plots`), print, train models or slide
kernels itself (the learned effect calls :func:`convfx.correlate`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Sequence, Union

import numpy as np

from . import banks, imageio
from .conv import correlate
from .errors import FileError, ParameterError
from .models import SHIPPED_MODELS, resolve_model, shipped_model  # re-exported: the registry lives with the weights

if TYPE_CHECKING:  # imported lazily at run time: effects imports this module, and nn is heavy
    from .effects import Detector
    from .nn.lenet import LeNet

__all__ = [
    "TRANSFORMS",
    "STANDARD_SMOOTHING",
    "STANDARD_DERIVATIVE",
    "SHIPPED_MODELS",
    "Match",
    "Baseline",
    "ConvWeights",
    "Comparison",
    "standard_kernels",
    "bank_kernels",
    "classic_kernels",
    "resample_kernel",
    "transform_kernel",
    "match_kernels",
    "mean_similarity",
    "baseline",
    "shipped_model",
    "resolve_model",
    "load_weights",
    "compare_model",
    "evolution_scores",
    "export_bank",
    "learned_bank",
    "learned_responses",
    "montage",
    "learned_step",
]

#: The 8 symmetries of the square, as functions of a ``(kh, kw)`` kernel, in the
#: order they are tried (ties go to the first).  ``rot90`` turns counter-clockwise
#: (``numpy.rot90``); ``flip_lr`` mirrors left-right, ``flip_ud`` top-bottom;
#: ``transpose`` mirrors about the main diagonal, ``anti_transpose`` about the other.
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda k: k,
    "rot90": lambda k: np.rot90(k, 1),
    "rot180": lambda k: np.rot90(k, 2),
    "rot270": lambda k: np.rot90(k, 3),
    "flip_lr": lambda k: k[:, ::-1],
    "flip_ud": lambda k: k[::-1, :],
    "transpose": lambda k: k.T,
    "anti_transpose": lambda k: np.rot90(k, 2).T,
}
# Those that keep a non-square kernel's shape.
_SHAPE_KEEPING = ("identity", "rot180", "flip_lr", "flip_ud")

#: Binomial smoothing and derivative of the 5x5 Sobel operator (OpenCV's
#: ``getDerivKernels(1, 0, 5)``): ``[1, 4, 6, 4, 1]`` and ``[-1, -2, 0, 2, 1]``.
STANDARD_SMOOTHING = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
STANDARD_DERIVATIVE = np.array([-1.0, -2.0, 0.0, 2.0, 1.0])


ClassicsLike = Union[Mapping[str, np.ndarray], Literal["all", "standard"], None]


# --------------------------------------------------------------------------- classic kernels


def standard_kernels() -> dict[str, np.ndarray]:
    """The standard 5x5 set: Sobel x/y and both diagonals, the Laplacian, the Gaussian.

    Built from the 1-D pieces :data:`STANDARD_SMOOTHING` ``s`` and
    :data:`STANDARD_DERIVATIVE` ``d`` (correlation kernels, x to the right, y down)::

        sobel5_x        = outer(s, d)                  derivative along x
        sobel5_y        = outer(d, s)                  derivative along y
        sobel5_diag     = (sobel5_x + sobel5_y) / 2    along the main diagonal (down-right)
        sobel5_antidiag = (sobel5_x - sobel5_y) / 2    along the other diagonal (up-right)
        laplacian5      = [[ 0,  0, -1,  0,  0],       the textbook 5x5 Laplacian
                           [ 0, -1, -2, -1,  0],       (= -1 x the bank's ``log``)
                           [-1, -2, 16, -2, -1],
                           [ 0, -1, -2, -1,  0],
                           [ 0,  0, -1,  0,  0]]
        gaussian5       = outer(s, s) / 256            the bank's ``gaussian_blur`` (sigma ~ 1)

    The diagonal derivatives are the steered sums of the x and y derivatives (the
    derivative of the smoothed image along a 45-degree direction).

    Returns
    -------
    dict of str to ndarray, each shape (5, 5), float64
    """
    s, d = STANDARD_SMOOTHING, STANDARD_DERIVATIVE
    sobel_x, sobel_y = np.outer(s, d), np.outer(d, s)
    laplacian = np.array(
        [
            [0, 0, -1, 0, 0],
            [0, -1, -2, -1, 0],
            [-1, -2, 16, -2, -1],
            [0, -1, -2, -1, 0],
            [0, 0, -1, 0, 0],
        ],
        dtype=np.float64,
    )
    return {
        "sobel5_x": sobel_x,
        "sobel5_y": sobel_y,
        "sobel5_diag": (sobel_x + sobel_y) / 2,
        "sobel5_antidiag": (sobel_x - sobel_y) / 2,
        "laplacian5": laplacian,
        "gaussian5": np.outer(s, s) / 256,
    }


def _interpolation_matrix(size_in: int, size_out: int) -> np.ndarray:
    """``(size_out, size_in)`` linear interpolation with the end taps aligned."""
    if size_in == 1:
        return np.ones((size_out, 1))
    positions = np.linspace(0.0, size_in - 1, size_out)
    matrix = np.zeros((size_out, size_in))
    low = np.minimum(np.floor(positions).astype(int), size_in - 2)
    fraction = positions - low
    matrix[np.arange(size_out), low] = 1 - fraction
    matrix[np.arange(size_out), low + 1] = fraction
    return matrix


def resample_kernel(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A kernel stretched or shrunk to ``shape`` by linear interpolation.

    The kernel is read as samples of a continuous pattern over its extent; the
    corner taps stay the corner taps and the taps in between are interpolated
    linearly along each axis (separably).  A 3x3 Sobel x, row ``[-1, 0, 1]`` and
    column ``[1, 2, 1]``, becomes the 5x5 ``outer([1, 1.5, 2, 1.5, 1], [-1, -0.5,
    0, 0.5, 1])``; a kernel already of ``shape`` is returned as it is (a copy).

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
    shape : (int, int)
        Target ``(kh', kw')``, each >= 1.

    Returns
    -------
    ndarray, shape ``shape``, float64
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.size == 0:
        raise ParameterError(f"kernel: expected a non-empty 2-D array, found shape {kernel.shape}")
    rows, columns = (int(n) for n in shape)
    if rows < 1 or columns < 1:
        raise ParameterError(f"shape: expected two sides >= 1, found {tuple(shape)}")
    if kernel.shape == (rows, columns):
        return kernel.copy()
    return _interpolation_matrix(kernel.shape[0], rows) @ kernel @ _interpolation_matrix(kernel.shape[1], columns).T


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


def transform_kernel(kernel: np.ndarray, transform: str, sign: int = 1) -> np.ndarray:
    """``sign * TRANSFORMS[transform](kernel)``: how a :class:`Match` maps its classic onto the learned kernel."""
    if transform not in TRANSFORMS:
        raise ParameterError(f"transform: invalid value {transform!r}; expected one of {list(TRANSFORMS)}")
    return sign * np.ascontiguousarray(TRANSFORMS[transform](np.asarray(kernel, dtype=np.float64)))


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
    if not transforms:
        names = ("identity",)
    elif shape[0] == shape[1]:
        names = tuple(TRANSFORMS)
    else:
        names = _SHAPE_KEEPING
    vectors, labels = [], []
    for name, kernel in classics.items():
        norm = float(np.linalg.norm(kernel))
        if norm == 0:
            continue  # matches nothing; its cosine is undefined
        for transform in names:
            vectors.append(TRANSFORMS[transform](kernel).ravel() / norm)
            labels.append((name, transform))
    if not vectors:
        raise ParameterError("classics: every classic kernel is zero")
    return np.asarray(vectors), labels


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
    for index, (choice, valid) in enumerate(zip(best, nonzero)):
        name, transform = labels[choice]
        cosine = float(cosines[index, choice]) if valid else 0.0
        sign = -1 if cosine < 0 else 1
        per_channel = tuple(float(abs(c)) for c in channels[index] @ candidates[choice])
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
    from .nn.layers import initialize  # the training initialisation itself, not a copy of it

    if len(shape) != 4 or any(int(n) < 1 for n in shape):
        raise ParameterError(f"shape: expected (F, C, kh, kw) of positive ints, found {tuple(shape)}")
    if not isinstance(draws, (int, np.integer)) or draws < 2:
        raise ParameterError(f"draws: expected an int >= 2, found {draws!r}")
    f, c, kh, kw = (int(n) for n in shape)
    candidates, _ = _candidates(_resolve_classics(classics, (kh, kw)), (kh, kw), transforms)
    random = initialize(
        (draws * f, c, kh, kw), fan_in=c * kh * kw, fan_out=f * kh * kw, method=init, rng=seed, dtype=np.float64
    )
    mean, _ = _unit_rows(random.mean(axis=1).reshape(draws * f, -1))
    best = np.abs(mean @ candidates.T).max(axis=1)
    scores = best.reshape(draws, f).mean(axis=1)
    return Baseline(float(scores.mean()), float(scores.std(ddof=1)), int(draws), init, (f, c, kh, kw))


# --------------------------------------------------------------------------- loading weights


@dataclass(frozen=True)
class ConvWeights:
    """A conv layer's weights read from a file, with what is needed to apply them.

    Attributes
    ----------
    weight : ndarray, shape (F, C, kh, kw), float32 or float64
    bias : ndarray, shape (F,)
        The file's ``<key minus .weight>.bias`` if it has one, else zeros.
    source : str
        The file.
    key : str
        The array's name in the file.
    model : LeNet or None
        The whole model when the file is a convfx LeNet (for its input
        normalisation, activation, accuracy and snapshots).
    """

    weight: np.ndarray
    bias: np.ndarray
    source: str
    key: str
    model: LeNet | None = None

    @property
    def channels(self) -> int:
        return int(self.weight.shape[1])

    @property
    def input_mean(self) -> np.ndarray:
        """Per-channel mean subtracted from [0, 1] pixels before the layer (0 without a LeNet)."""
        return np.asarray(self.model.input_mean if self.model is not None else np.zeros(self.channels))

    @property
    def input_std(self) -> np.ndarray:
        """Per-channel divisor after the mean (1 without a LeNet)."""
        return np.asarray(self.model.input_std if self.model is not None else np.ones(self.channels))

    @property
    def init(self) -> str:
        """The initialisation conv1 was drawn from: the model's, else He (ReLU's default)."""
        if self.model is None:
            return "he"
        init = self.model.metadata.get("init")
        if init:
            return str(init)
        return "he" if self.model.activation in ("relu", "prelu") else "glorot"


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise FileError(f"{path}: no such file")
    if path.is_dir():
        raise FileError(f"{path}: is a folder, expected a .npz or .safetensors file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            return load_file(str(path))
        except TypeError:  # numpy has no bfloat16, common in recent checkpoints
            return _read_safetensors_widening_bfloat16(path)
        except (SafetensorError, OSError, ValueError) as error:
            raise FileError(f"{path}: not a readable .safetensors file ({error})") from None
    if suffix != ".npz":
        raise FileError(f"{path}: unsupported weights file type {suffix or '(none)'!r}; expected '.npz' or '.safetensors'")
    return imageio.read_arrays(path, what=".npz file")


# safetensors dtype names -> numpy (little-endian, as the format stores them).
_SAFETENSORS_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
}  # fmt: skip


def _read_safetensors_widening_bfloat16(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file, ``BF16`` ones widened exactly to float32.

    The format is an 8-byte little-endian header length, a JSON header of
    ``{name: {dtype, shape, data_offsets}}`` and the raw tensors; a bfloat16 is the
    top half of a float32, so it widens by a 16-bit shift.
    """
    arrays: dict[str, np.ndarray] = {}
    try:
        data = path.read_bytes()
        length = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + length])
        header.pop("__metadata__", None)
        for name, info in header.items():
            start, end = (8 + length + offset for offset in info["data_offsets"])
            shape, kind = tuple(info["shape"]), info["dtype"]
            if kind == "BF16":
                halves = np.frombuffer(data, dtype="<u2", count=(end - start) // 2, offset=start)
                arrays[name] = (halves.astype(np.uint32) << 16).view(np.float32).reshape(shape)
            elif kind in _SAFETENSORS_DTYPES:
                dtype = np.dtype(_SAFETENSORS_DTYPES[kind])
                flat = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=start)
                arrays[name] = flat.reshape(shape).copy()
            else:
                unreadable = (name, kind)
                break
        else:
            return arrays
    except (OSError, ValueError, KeyError, TypeError) as error:  # a damaged header or offsets
        raise FileError(f"{path}: not a readable .safetensors file ({type(error).__name__}: {error})") from None
    raise FileError(f"{path}: tensor {unreadable[0]!r} has dtype {unreadable[1]}, which convfx cannot read")


def load_weights(path: str | os.PathLike | None = None, *, key: str | None = None) -> ConvWeights:
    """Read a 4-D conv weight ``(F, C, kh, kw)`` from a model file.

    Parameters
    ----------
    path : path-like or str, optional
        A LeNet ``.npz`` from ``convfx train``, any ``.npz``, a ``.safetensors``
        file (read with ``safetensors.numpy``; no torch), or a shipped model's
        name (``"digits"``, ``"shapes"``).  Default: the shipped digits model.
    key : str, optional
        The array to take, e.g. ``"conv1.weight"`` of a ResNet.  Default:
        ``conv1.weight`` if the file has it, else the file's only 4-D array.

    Returns
    -------
    ConvWeights
        With the bias ``<key minus .weight>.bias`` if present, and the model when
        the file is a convfx LeNet and ``key`` is its ``conv1.weight``.

    Raises
    ------
    FileError
        Missing or unreadable file, unknown key (the message lists the 4-D keys),
        an array that is not 4-D or not finite, a bias of the wrong shape.
    """
    from .nn.lenet import LeNet

    path = resolve_model(path)
    arrays = _read_arrays(path)
    four_d = [name for name, array in arrays.items() if np.ndim(array) == 4]
    if key is None:
        if "conv1.weight" in arrays:
            key = "conv1.weight"
        elif len(four_d) == 1:
            key = four_d[0]
        else:
            listed = ", ".join(four_d[:20]) + (" ..." if len(four_d) > 20 else "") if four_d else "none"
            raise FileError(f"{path}: which weight? pass --key; 4-D arrays in the file: {listed}")
    if key not in arrays:
        listed = ", ".join(four_d[:20]) + (" ..." if len(four_d) > 20 else "") if four_d else "none"
        raise FileError(f"{path}: no array {key!r}; 4-D arrays in the file: {listed}")
    weight = np.asarray(arrays[key])
    if weight.ndim != 4:
        raise FileError(f"{path}: {key!r} has shape {weight.shape}; expected a 4-D conv weight (F, C, kh, kw)")
    if weight.dtype.kind != "f" or 0 in weight.shape or not np.all(np.isfinite(weight)):
        raise FileError(f"{path}: {key!r} must hold finite floats, found dtype {weight.dtype} of shape {weight.shape}")
    bias_key = key[: -len(".weight")] + ".bias" if key.endswith(".weight") else None
    bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    if bias_key is not None and bias_key in arrays:
        bias = np.asarray(arrays[bias_key], dtype=weight.dtype)
        if bias.shape != (weight.shape[0],):
            raise FileError(f"{path}: {bias_key!r} has shape {bias.shape}, expected ({weight.shape[0]},)")
    model = None
    if key == "conv1.weight" and "fc3.weight" in arrays and path.suffix.lower() == ".npz":
        model = LeNet.load(path)
    return ConvWeights(weight=weight, bias=bias, source=str(path), key=key, model=model)


# --------------------------------------------------------------------------- comparison


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
    accuracy : float or None
        Held-out accuracy recorded in a LeNet file.
    evolution : ndarray or None, shape (E+1, 2)
        ``[score, plain_score]`` of conv1 before training and after every epoch,
        when the file has snapshots (``convfx train --snapshots``).
    """

    weights: ConvWeights
    matches: list[Match]
    score: float
    baseline: Baseline
    plain_matches: list[Match]
    plain_score: float
    plain_baseline: Baseline
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
    array = np.asarray(snapshots)
    if array.ndim != 5:
        raise ParameterError(f"snapshots: expected shape (E, F, C, kh, kw), found {array.shape}")
    return np.array([mean_similarity(match_kernels(w, classics=classics, transforms=transforms)) for w in array])


def compare_model(
    model: str | os.PathLike | None = None,
    *,
    key: str | None = None,
    draws: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Match a model's conv kernels to the classics and put the score next to its baseline.

    Parameters
    ----------
    model : path-like or str, optional
        See :func:`load_weights` (default: the shipped digits model).
    key : str, optional
        See :func:`load_weights`.
    draws, seed : int, optional
        For :func:`baseline`.

    Returns
    -------
    Comparison
    """
    weights = load_weights(model, key=key)
    shape = tuple(int(n) for n in weights.weight.shape)
    matches = match_kernels(weights.weight)
    plain = match_kernels(weights.weight, classics="standard", transforms=False)
    accuracy = evolution = None
    if weights.model is not None:
        recorded = weights.model.metadata.get("test_accuracy")
        accuracy = float(recorded) if recorded is not None else None
        snapshots = weights.model.snapshots.get("conv1.weight")
        if snapshots is not None and np.ndim(snapshots) == 5:
            evolution = np.stack(
                [evolution_scores(snapshots), evolution_scores(snapshots, classics="standard", transforms=False)], axis=1
            )
    return Comparison(
        weights=weights,
        matches=matches,
        score=mean_similarity(matches),
        baseline=baseline(shape, init=weights.init, draws=draws, seed=seed),
        plain_matches=plain,
        plain_score=mean_similarity(plain),
        plain_baseline=baseline(shape, classics="standard", transforms=False, init=weights.init, draws=draws, seed=seed),
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
        From :func:`load_weights`.
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


# --------------------------------------------------------------------------- learned filters as effects


def learned_bank(weights: ConvWeights) -> np.ndarray:
    """The conv weight as a :func:`convfx.correlate` bank: ``(F, C, kh, kw) -> (F, kh, kw, C)``."""
    return np.ascontiguousarray(weights.weight.transpose(0, 2, 3, 1))


def learned_responses(
    image: np.ndarray,
    weights: ConvWeights,
    *,
    full_scale: float = 255.0,
    boundary: str = "reflect",
    activation: bool = False,
) -> np.ndarray:
    """The layer's feature maps on a photo: what the conv layer computes, at every pixel.

    The image is brought to the network's input scale (``pixels / full_scale``,
    then ``(x - input_mean[c]) / input_std[c]`` of a LeNet), then cross-correlated
    with the bank :func:`learned_bank` -- summed over channels, plus the bias --
    by :func:`convfx.correlate`, stride 1, padded by ``boundary`` so that the maps
    keep the image's size.  Away from the border the values are exactly the conv
    layer's.  A gray model sees the luminance of an RGB photo; an RGB model sees a
    gray photo as three equal channels.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    weights : ConvWeights
    full_scale : float, optional
        The value of white in ``image`` (255 for 8-bit photos, 1 for floats).
    boundary : str, optional
        See :func:`convfx.correlate`.
    activation : bool, optional
        Apply the layer's activation after it (the LeNet's ``act1``; ReLU for
        weights without a model).

    Returns
    -------
    ndarray, shape (H, W, F), float32 (float64 for a float64 model)
    """
    from .effects import to_luminance

    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] not in (1, 3):
        raise ParameterError(f"image: expected (H, W) or (H, W, 3), found shape {pixels.shape}")
    if weights.channels not in (1, 3):
        raise ParameterError(f"weights: a filter needs 1 or 3 input channels, found {weights.channels}")
    dtype = weights.weight.dtype
    if weights.channels == 1:
        pixels = to_luminance(pixels) if pixels.ndim == 3 and pixels.shape[2] == 3 else pixels.reshape(pixels.shape[:2])
        pixels = pixels[:, :, None]
    elif pixels.ndim == 2 or pixels.shape[2] == 1:
        pixels = np.repeat(pixels.reshape(pixels.shape[:2])[:, :, None], 3, axis=2)
    x = (pixels.astype(dtype) / dtype.type(full_scale) - weights.input_mean.astype(dtype)) / weights.input_std.astype(dtype)
    maps = correlate(x, learned_bank(weights), bias=weights.bias, boundary=boundary)
    if activation:
        if weights.model is not None:
            layer = weights.model.layers["act1"]
            maps = layer.forward(maps.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
        else:
            maps = np.maximum(maps, 0)
    return maps


def montage(maps: np.ndarray, *, columns: int | None = None, gap: int | None = None) -> np.ndarray:
    """Feature maps ``(H, W, F)`` side by side in a grid, as one 2-D image.

    Parameters
    ----------
    maps : ndarray, shape (H, W, F)
    columns : int, optional
        Default ``ceil(sqrt(F))``.
    gap : int, optional
        Pixels between maps, filled with the maps' minimum (black once
        normalised); default ``max(2, min(H, W) // 64)``.

    Returns
    -------
    ndarray, shape (rows * H + (rows - 1) * gap, columns * W + (columns - 1) * gap)
        Map ``k`` at row ``k // columns``, column ``k % columns``.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ParameterError(f"maps: expected shape (H, W, F), found {maps.shape}")
    h, w, f = maps.shape
    columns = columns or math.ceil(math.sqrt(f))
    rows = math.ceil(f / columns)
    gap = max(2, min(h, w) // 64) if gap is None else gap
    out = np.full((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap), maps.min(), dtype=maps.dtype)
    for k in range(f):
        top, left = (k // columns) * (h + gap), (k % columns) * (w + gap)
        out[top : top + h, left : left + w] = maps[:, :, k]
    return out


def _learned_maps(
    image: np.ndarray, *, weights: ConvWeights, index: int | None, boundary: str, full_scale: float, activation: bool
) -> np.ndarray:
    """What a ``learned:`` step computes: one feature map, or all of them as a montage."""
    maps = learned_responses(image, weights, full_scale=full_scale, boundary=boundary, activation=activation)
    return maps[:, :, index] if index is not None else montage(maps)


def learned_step(target: str) -> Detector:
    """The effect step for ``learned:MODEL`` (all maps as a montage) or ``learned:MODEL#k`` (map k).

    ``MODEL`` is a LeNet ``.npz`` or a shipped model's name (``digits``,
    ``shapes``).  The step takes one parameter, ``activation`` (``true``: after
    the layer's activation), and maps to pixels with ``normalize`` by default.
    Used by :func:`convfx.effects.parse_effect`.

    Returns
    -------
    convfx.effects.Detector
        A non-linear step (a montage is not a filter of the image in place).
    """
    from .effects import Detector, DetectorParameter

    spec = target[len("learned:") :] if target.startswith("learned:") else target
    model, _, index_text = spec.partition("#")
    if not model:
        raise ParameterError(f"effect {target!r}: expected learned:MODEL or learned:MODEL#k, e.g. learned:digits#3")
    weights = load_weights(model)
    count = weights.weight.shape[0]
    index = None
    if index_text:
        if not index_text.isdigit() or int(index_text) >= count:
            raise ParameterError(f"effect {target!r}: #k must be a map index in 0..{count - 1}, found {index_text!r}")
        index = int(index_text)

    label = Path(model).stem + (f"#{index}" if index is not None else "")
    return Detector(
        name=f"learned:{label}",
        description=f"first-layer filters of {weights.source} ({count} maps{'' if index is None else f', map {index}'})",
        # A partial of a module-level function, not a closure: batch workers get the step pickled.
        function=functools.partial(_learned_maps, weights=weights, index=index),
        options=(DetectorParameter("activation", False, help="apply the layer's activation (e.g. ReLU) to the maps"),),
        output_range="normalize",
        family="learned",
    )
