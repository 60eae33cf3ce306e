"""A conv layer's weights read from a model file: LeNet ``.npz``, any ``.npz``, ``.safetensors``.

:func:`load_weights` reads a 4-D weight ``(F, C, kh, kw)`` (PyTorch's layout) and
its bias from a convfx LeNet, any ``.npz`` or a ``.safetensors`` file -- read from
its header and only the tensors needed (no torch, and a checkpoint of gigabytes
costs its first layer), ``bfloat16`` tensors widened exactly to float32 -- into a
:class:`ConvWeights`, which the comparison with classic kernels
(:mod:`convfx.compare`) and the learned-filter effects (:mod:`convfx.learned`) use.

This module must not match, filter, train or draw; nothing is unpickled.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import imageio
from ..checks import choice
from ..errors import FileError, ParameterError
from ..limits import MAX_ARRAY_VALUES, MAX_SAFETENSORS_HEADER_BYTES
from ..models import DEFAULT_MODEL, resolve_model
from .layers import INITS, Init
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

    Examples
    --------
    >>> from convfx.nn import load_weights
    >>> weights = load_weights("digits")
    >>> weights.weight.shape, weights.bias.shape, weights.key
    ((6, 1, 5, 5), (6,), 'conv1.weight')
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
    def init(self) -> Init:
        """The initialisation conv1 was drawn from: the model's, else He (ReLU's default)."""
        if self.model is None:
            return "he"
        init = self.model.metadata.get("init")
        if init:
            return choice(str(init), "init", INITS)  # what initialize() checks before drawing from it
        return "he" if self.model.activation in ("relu", "prelu") else "glorot"


class _Tensors:
    """The arrays of a weights file by name: their shapes at once, their values when asked for.

    An ``.npz`` is read whole (:func:`convfx.imageio.read_arrays`, bounded by
    :mod:`convfx.limits`); a ``.safetensors`` file only as far as its header and
    the tensors asked for (:class:`_SafetensorsFile`), so that a checkpoint of
    gigabytes costs the few kilobytes of its first conv layer.
    """

    def __init__(self, path: Path) -> None:
        imageio.check_regular_file(path, what="a .npz or .safetensors file")
        suffix = path.suffix.lower()
        if suffix == ".safetensors":
            self._file: _SafetensorsFile | None = _SafetensorsFile(path)
            self.shapes = self._file.shapes
            self._arrays: dict[str, np.ndarray] = {}
        elif suffix == ".npz":
            self._file = None
            self._arrays = imageio.read_arrays(path, what=".npz file")
            self.shapes = {name: np.shape(array) for name, array in self._arrays.items()}
        else:
            raise FileError(f"{path}: unsupported weights file type {suffix or '(none)'!r}; expected '.npz' or '.safetensors'")

    def __contains__(self, name: str) -> bool:
        return name in self.shapes

    def __getitem__(self, name: str) -> np.ndarray:
        return self._file.read(name) if self._file is not None else np.asarray(self._arrays[name])


# safetensors dtype names -> numpy (little-endian, as the format stores them); BF16 is widened.
_SAFETENSORS_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U8": "u1", "BOOL": "?",
}  # fmt: skip


class _SafetensorsFile:
    """A ``.safetensors`` file: its header read and checked, its tensors read one at a time.

    The format is an 8-byte little-endian header length, a JSON header of
    ``{name: {dtype, shape, data_offsets}}`` (and ``__metadata__``), then the raw
    tensors.  The header's length is checked against
    :data:`~convfx.limits.MAX_SAFETENSORS_HEADER_BYTES` and every tensor's offsets
    against its shape and the file's size before anything else is read.  A
    bfloat16 is the top half of a float32, so it widens exactly by a 16-bit shift
    (numpy has no bfloat16).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._entries: dict[str, tuple[str, int, int]] = {}  # name -> (dtype, start, end) in the file
        try:
            with open(path, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                length = int.from_bytes(stream.read(8), "little")
                if size < 8 or length > MAX_SAFETENSORS_HEADER_BYTES or 8 + length > size:
                    limit = f"at most {MAX_SAFETENSORS_HEADER_BYTES:,} bytes and within the file's {size:,}"
                    raise ValueError(f"its header claims {length:,} bytes, expected {limit}")
                header = json.loads(stream.read(length))
            if not isinstance(header, dict):
                raise ValueError("its header is not a JSON object")
            header.pop("__metadata__", None)
            for name, info in header.items():
                self._add(name, info, size - 8 - length, 8 + length)
        except OSError as error:
            raise FileError(f"{path}: cannot read: {error.strerror or error}") from None
        except (ValueError, TypeError, KeyError, RecursionError) as error:  # a damaged header
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise FileError(f"{path}: not a readable .safetensors file ({reason})") from None

    def _add(self, name: str, info: dict, data_bytes: int, data_start: int) -> None:
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(isinstance(side, int) and side >= 0 for side in shape):
            raise ValueError(f"tensor {name!r} has no valid shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ValueError(f"tensor {name!r} has no valid data_offsets")
        start, end = offsets
        if not 0 <= start <= end <= data_bytes:
            raise ValueError(f"tensor {name!r}: data_offsets {offsets} run past the {data_bytes:,} bytes of data")
        if dtype in _SAFETENSORS_DTYPES and end - start != math.prod(shape) * np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize:
            raise ValueError(f"tensor {name!r}: {end - start:,} bytes of data for shape {tuple(shape)} of {dtype}")
        self.shapes[name] = tuple(shape)
        self._entries[name] = (str(dtype), data_start + start, data_start + end)

    def read(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a numpy array (BF16 widened to float32), within :data:`~convfx.limits.MAX_ARRAY_VALUES`."""
        kind, start, end = self._entries[name]
        if kind not in _SAFETENSORS_DTYPES:
            raise FileError(f"{self.path}: tensor {name!r} has dtype {kind}, which convfx cannot read")
        shape = self.shapes[name]
        if math.prod(shape) > MAX_ARRAY_VALUES:
            raise FileError(f"{self.path}: tensor {name!r} has shape {shape}, more than {MAX_ARRAY_VALUES:,} values")
        try:
            with open(self.path, "rb") as stream:
                stream.seek(start)
                data = stream.read(end - start)
        except OSError as error:
            raise FileError(f"{self.path}: cannot read: {error.strerror or error}") from None
        if len(data) != end - start:
            raise FileError(f"{self.path}: not a readable .safetensors file (tensor {name!r} is cut short)")
        array = np.frombuffer(data, dtype=_SAFETENSORS_DTYPES[kind]).reshape(shape)
        if kind == "BF16":
            return (array.astype(np.uint32) << 16).view(np.float32)
        return array.astype(array.dtype.newbyteorder("="))


def load_weights(path: str | os.PathLike | None = None, *, key: str | None = None) -> ConvWeights:
    """Read a 4-D conv weight ``(F, C, kh, kw)`` from a model file.

    Parameters
    ----------
    path : path-like or str, optional
        A LeNet ``.npz`` from ``convfx train``, any ``.npz``, a ``.safetensors``
        file (read with ``safetensors.numpy``; no torch), or a shipped model's
        name (``"photos"``, ``"digits"``, ``"shapes"``).  Default: the default shipped
        model (:data:`convfx.models.DEFAULT_MODEL`).
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
        Missing or unreadable file, several 4-D arrays and no ``key`` (the message
        lists them), an array that is not 4-D or not finite, a bias of the wrong shape.
    ParameterError
        ``key`` names no array in the file (the message lists the 4-D keys).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from convfx.nn import load_weights
    >>> path = Path(tempfile.mkdtemp()) / "any.npz"
    >>> np.savez(path, **{"features.0.weight": np.ones((8, 3, 3, 3), np.float32)})
    >>> load_weights(path).weight.shape                   # the file's only 4-D array
    (8, 3, 3, 3)
    """
    named = path if path is not None else DEFAULT_MODEL  # as given: a shipped model's name, not where it is installed
    path = resolve_model(path)
    arrays = _Tensors(path)
    four_d = [name for name, shape in arrays.shapes.items() if len(shape) == 4]
    if key is None:
        if "conv1.weight" in arrays:
            key = "conv1.weight"
        elif len(four_d) == 1:
            key = four_d[0]
        else:
            listed = ", ".join(four_d[:20]) + (" ..." if len(four_d) > 20 else "") if four_d else "none"
            raise FileError(f"{path}: which weight? 4-D arrays in the file: {listed}, and no conv1.weight; pass key=")
    if key not in arrays:
        listed = ", ".join(four_d[:20]) + (" ..." if len(four_d) > 20 else "") if four_d else "none"
        raise ParameterError(f"key: no array {key!r} in {os.fspath(named)}; 4-D arrays in the file: {listed}")
    if len(arrays.shapes[key]) != 4:  # refused from the header, before its values are read
        raise FileError(f"{path}: {key!r} has shape {arrays.shapes[key]}; expected a 4-D conv weight (F, C, kh, kw)")
    weight = np.asarray(arrays[key])
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
