"""A conv layer's weights read from a model file: LeNet ``.npz``, any ``.npz``, ``.safetensors``.

:func:`load_weights` reads a 4-D weight ``(F, C, kh, kw)`` (PyTorch's layout) and
its bias from a convfx LeNet, any ``.npz`` or a ``.safetensors`` file -- read with
``safetensors.numpy`` (no torch needed), ``bfloat16`` tensors widened exactly to
float32 -- into a :class:`ConvWeights`, which the comparison with classic kernels
(:mod:`convfx.compare`) and the learned-filter effects (:mod:`convfx.learned`) use.

This module must not match, filter, train or draw; nothing is unpickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import imageio
from ..errors import FileError
from ..models import resolve_model
from .lenet import LeNet

__all__ = ["ConvWeights", "load_weights"]


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
    imageio.check_regular_file(path, what="a .npz or .safetensors file")
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
