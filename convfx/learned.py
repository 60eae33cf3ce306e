"""Learned filters as effects: a model's first conv layer applied to a photo.

``learned:MODEL`` (every feature map, side by side) and ``learned:MODEL#k`` (map
``k``) are effect steps like ``canny``: :func:`learned_step` builds one per model
and registers the ``learned:`` prefix with :mod:`convfx.steps` when this module is
imported (the first lookup of a step does, :data:`convfx.steps.STEP_PROVIDERS`), so
effects, the command line and batch workers resolve it without naming this module.  :func:`learned_responses` is what the
layer computes at every pixel, through :func:`convfx.correlate` exactly as the
conv layer does; :func:`montage` lays maps out in a grid.

Importing this module must stay cheap: the network code
(:mod:`convfx.nn.weights`, :mod:`convfx.nn.lenet`) is imported only when a model
is named.  It must not match kernels (:mod:`convfx.compare`), draw, train or
print.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .checks import choice
from .color import to_luminance
from .conv import BOUNDARIES, Boundary, correlate
from .errors import FileError, ParameterError
from .limits import MAX_FEATURE_MAP_VALUES, MAX_LEARNED_MAPS
from .models import DEFAULT_MODEL
from .steps import Detector, DetectorParameter, register_prefix

if TYPE_CHECKING:  # the network code is imported when a model is named, not with convfx
    from .nn.weights import ConvWeights

__all__ = ["PREFIX", "ModelFileError", "learned_bank", "learned_responses", "montage", "learned_step", "weights_fingerprint"]

#: What a learned effect step starts with.
PREFIX = "learned:"


class ModelFileError(ParameterError, FileError):
    """The model named in a ``learned:`` effect is missing, unreadable or unusable.

    A usage error (exit code 2), since the file is part of the effect the user
    wrote, like a kernel file; still a :class:`~convfx.errors.FileError` (an
    ``OSError``) for library callers that catch those.
    """

    exit_code = 2


def learned_bank(weights: ConvWeights) -> np.ndarray:
    """The conv weight as a :func:`convfx.correlate` bank: ``(F, C, kh, kw) -> (F, kh, kw, C)``.

    Parameters
    ----------
    weights : ConvWeights

    Returns
    -------
    ndarray, shape (F, kh, kw, C)
    """
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

    Raises
    ------
    ParameterError
        An image that is not gray or RGB, weights of other than 1 or 3 channels,
        or maps of more than :data:`~convfx.limits.MAX_FEATURE_MAP_VALUES` values
        (``H * W * F``), refused before they are computed.
    """
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] not in (1, 3):
        raise ParameterError(f"image: expected (H, W) or (H, W, 3), found shape {pixels.shape}")
    if pixels.ndim in (2, 3):
        height, width = pixels.shape[:2]
        count = int(weights.weight.shape[0])
        if height * width * count > MAX_FEATURE_MAP_VALUES:
            raise ParameterError(
                f"image: {width}x{height} pixels x {count} feature maps = {height * width * count:,} values, "
                f"over the limit of {MAX_FEATURE_MAP_VALUES:,} (convfx.limits.MAX_FEATURE_MAP_VALUES); use a smaller image"
            )
    if weights.channels not in (1, 3):
        raise ParameterError(f"weights: a filter needs 1 or 3 input channels, found {weights.channels}")
    dtype = weights.weight.dtype
    if weights.channels == 1:
        pixels = to_luminance(pixels) if pixels.ndim == 3 and pixels.shape[2] == 3 else pixels.reshape(pixels.shape[:2])
        pixels = pixels[:, :, None]
    elif pixels.ndim == 2 or pixels.shape[2] == 1:
        pixels = np.repeat(pixels.reshape(pixels.shape[:2])[:, :, None], 3, axis=2)
    x = (pixels.astype(dtype) / dtype.type(full_scale) - weights.input_mean.astype(dtype)) / weights.input_std.astype(dtype)
    mode: Boundary = choice(boundary, "boundary", BOUNDARIES)
    maps = correlate(x, learned_bank(weights), bias=weights.bias, boundary=mode)
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


def weights_fingerprint(weights: ConvWeights) -> str:
    """``"sha256:"`` and the digest of everything in ``weights`` that changes a learned step's maps.

    The conv weight and bias, the input normalisation, and the activation with
    its parameters (PReLU slopes), each with its dtype and shape: a retrained or
    edited model gives another digest, the same file read again the same one.

    Parameters
    ----------
    weights : ConvWeights

    Returns
    -------
    str
    """
    digest = hashlib.sha256()
    model = weights.model
    activation = model.layers["act1"] if model is not None else None
    digest.update(f"activation {model.activation if model is not None else 'relu'}\n".encode())
    arrays = [weights.weight, weights.bias, weights.input_mean, weights.input_std]
    arrays += [value for _, value in sorted(activation.params.items())] if activation is not None else []
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str} {array.shape}\n".encode() + array.tobytes())
    return "sha256:" + digest.hexdigest()


def _learned_maps(
    image: np.ndarray, *, weights: ConvWeights, index: int | None, boundary: str, full_scale: float, activation: bool
) -> np.ndarray:
    """What a ``learned:`` step computes: one feature map, or all of them as a montage."""
    maps = learned_responses(image, weights, full_scale=full_scale, boundary=boundary, activation=activation)
    return maps[:, :, index] if index is not None else montage(maps)


def learned_step(target: str) -> Detector:
    """The effect step for ``learned:MODEL`` (all maps as a montage) or ``learned:MODEL#k`` (map k).

    ``MODEL`` is a LeNet ``.npz`` or a shipped model's name (``photos``,
    ``digits``, ``shapes``); ``learned:`` and ``learned:#k`` use the default
    shipped model (:data:`convfx.models.DEFAULT_MODEL`).  The step takes one
    parameter, ``activation`` (``true``: after the layer's activation), and maps
    to pixels with ``normalize`` by default.
    Registered for the ``learned:`` prefix (:func:`convfx.steps.register_prefix`),
    through which :func:`convfx.effects.parse_effect` finds it.

    Parameters
    ----------
    target : str
        What follows ``learned:`` (``MODEL``, ``MODEL#k``, ``#k`` or nothing).

    Returns
    -------
    convfx.steps.Detector
        A non-linear step (a montage is not a filter of the image in place).

    Raises
    ------
    ModelFileError
        The model is missing, unreadable, not a model, or has more than
        :data:`~convfx.limits.MAX_LEARNED_MAPS` first-layer kernels; a usage
        error naming the effect and the file.
    ParameterError
        No model, or a map index out of range.
    """
    from .nn.weights import load_weights  # the network is imported only when a model is named

    spec = target[len(PREFIX) :] if target.startswith(PREFIX) else target
    model, _, index_text = spec.partition("#")
    model = model or DEFAULT_MODEL
    try:
        weights = load_weights(model)
    except FileError as error:
        raise ModelFileError(f"effect {target!r}: {error}") from None
    count = weights.weight.shape[0]
    if count > MAX_LEARNED_MAPS:
        raise ModelFileError(
            f"effect {target!r}: {weights.source}: {weights.key!r} has {count:,} kernels; a learned: effect takes "
            f"at most {MAX_LEARNED_MAPS} (convfx.limits.MAX_LEARNED_MAPS)"
        )
    index = None
    if index_text:
        if not index_text.isdigit() or int(index_text) >= count:
            raise ParameterError(f"effect {target!r}: #k must be a map index in 0..{count - 1}, found {index_text!r}")
        index = int(index_text)

    label = Path(model).stem + (f"#{index}" if index is not None else "")
    return Detector(
        fingerprint=weights_fingerprint(weights),
        name=f"learned:{label}",
        description=f"first-layer filters of {weights.source} ({count} maps{'' if index is None else f', map {index}'})",
        # A partial of a module-level function, not a closure: batch workers get the step pickled.
        function=functools.partial(_learned_maps, weights=weights, index=index),
        options=(DetectorParameter("activation", False, help="apply the layer's activation (e.g. ReLU) to the maps"),),
        output_range="normalize",
        family="learned",
    )


register_prefix(PREFIX, learned_step)
