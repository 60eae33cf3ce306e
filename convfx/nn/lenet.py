"""LeNet-5 in the 1998 geometry, built from :mod:`convfx.nn.layers`, and its file format.

The network (LeCun et al. 1998, with today's ReLU and max pooling by default)::

    input (N, C, 32, 32)  C = 1 (gray) or 3 (RGB), pixels in [0, 1]
    normalise             (x - input_mean[c]) / input_std[c]
    conv1  6 @ 5x5  -> act1 -> pool1 2x2   (N, 6, 14, 14)
    conv2 16 @ 5x5  -> act2 -> pool2 2x2   (N, 16, 5, 5)
    flatten (C, H, W) order                (N, 400)
    fc1 400 -> 120  -> act3
    fc2 120 -> 84   -> act4
    fc3  84 -> K    logits (softmax in the loss)

A model is saved as an uncompressed ``.npz`` of plain arrays (loadable with
``np.load(path, allow_pickle=False)``).  The learned weights carry PyTorch's
state-dict names for the textbook LeNet -- ``conv1.weight (6, C, 5, 5)``,
``conv1.bias``, ``conv2.weight (16, 6, 5, 5)``, ``conv2.bias``, ``fc1.weight
(120, 400)``, ``fc1.bias``, ``fc2.weight (84, 120)``, ``fc2.bias``, ``fc3.weight
(K, 84)``, ``fc3.bias`` -- so that the file loads into that module as it is.  Every
other entry starts with ``convfx.`` and so can never clash:

* ``convfx.meta.*`` -- format, activation, pooling, input_mean/input_std ``(C,)``,
  class_names ``(K,)``, and training facts (dataset, seed, epochs, ...);
* ``convfx.act1.weight`` ... -- PReLU slopes, when the activation is ``"prelu"``;
* ``convfx.history.*`` -- training curves (loss per step, accuracy per epoch);
* ``convfx.snapshots.conv1.weight`` -- conv1 after every epoch ``(E+1, 6, C, 5, 5)``.

This module knows the architecture and the file format; it does not train, load data
or draw.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, Union

import numpy as np

from .. import imageio
from ..checks import checked_int, choice
from ..errors import FileError, ParameterError
from .config import ACTIVATIONS, POOLINGS
from .layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Init,
    Layer,
    Linear,
    MaxPool2d,
    Parameter,
    PReLU,
    ReLU,
    Seed,
    Sigmoid,
    Tanh,
    softmax,
)

__all__ = ["ACTIVATIONS", "POOLINGS", "STATE_DICT_NAMES", "FORMAT", "LeNet", "check_model_destination"]

FORMAT = "convfx-lenet-1"
INPUT_SIZE = 32
# A fact saved with a model: a str, int or float (an array of them, as a file may hold).
MetadataValue = Union[str, int, float, np.ndarray]

# PyTorch's state-dict names of the textbook LeNet, in layer order.
STATE_DICT_NAMES = (
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "fc3.weight",
    "fc3.bias",
)
_ACTIVATION_LAYERS = ("act1", "act2", "act3", "act4")
_META = "convfx.meta."
_HISTORY = "convfx.history."
_SNAPSHOTS = "convfx.snapshots."


# dtype.kind -> words for an array that cannot be weights (not "iuf": int, uint, float).
_NOT_NUMBERS = {
    "U": "strings",
    "S": "bytes",
    "V": "structured records",
    "c": "complex numbers",
    "b": "booleans",
    "O": "objects",
    "M": "dates",
    "m": "time spans",
}


def _check_real(array: np.ndarray, key: str, source: str) -> None:
    """A one-line FileError unless ``array`` holds real numbers (int or float).

    numpy would otherwise fail on strings with a ValueError, on records with a
    TypeError, and would silently cast a one-field record, a complex or a boolean.
    """
    if array.dtype.kind not in "iuf":
        found = _NOT_NUMBERS.get(array.dtype.kind, f"dtype {array.dtype}")
        raise FileError(f"{source}: {key!r} holds {found} ({array.dtype.str}), expected real numbers")


def _check_finite(array: np.ndarray, key: str, source: str) -> None:
    """A one-line FileError if ``array`` (real numbers) holds NaN or inf: a diverged or damaged model."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise FileError(f"{source}: {key!r} holds NaN or inf, expected finite numbers")


def _check_metadata(meta: Mapping[str, np.ndarray], source: str) -> None:
    """Every ``convfx.meta.*`` entry has the shape and kind the loader reads it as.

    ``input_mean`` / ``input_std``: finite real numbers, at most 1-D;
    ``class_names``: a 1-D array of strings or integers; everything else (format,
    activation, the training facts): one string or real number (a 0-d array).
    """
    for key, value in meta.items():
        name = _META + key
        if key in ("input_mean", "input_std"):
            _check_real(value, name, source)
            _check_finite(value, name, source)
            expected, valid = "at most 1-D", value.ndim <= 1
        elif key == "class_names":
            expected, valid = "a 1-D array of names", value.ndim == 1 and value.dtype.kind in "Uiu"
        else:
            expected, valid = "a single string or number", value.ndim == 0 and value.dtype.kind in "Ubiuf"
        if not valid:
            raise FileError(f"{source}: {name!r} has shape {value.shape} and dtype {value.dtype.str}; expected {expected}")


def _check_extras(state: Mapping[str, np.ndarray], layers: Mapping[str, Layer], source: str) -> None:
    """Training curves are 1-D real numbers; snapshots are finite, ``(E, *shape)`` of the weight they follow."""
    shapes = {f"{name}.{key}": value.shape for name, layer in layers.items() for key, value in layer.params.items()}
    for key, value in state.items():
        if key.startswith(_HISTORY):
            _check_real(value, key, source)
            if value.ndim != 1:
                raise FileError(f"{source}: {key!r} has shape {value.shape}; expected one value per step or epoch (1-D)")
        elif key.startswith(_SNAPSHOTS):
            _check_real(value, key, source)
            _check_finite(value, key, source)
            followed = shapes.get(key[len(_SNAPSHOTS) :])
            if followed is not None and (value.ndim != len(followed) + 1 or value.shape[1:] != followed):
                raise FileError(f"{source}: {key!r} has shape {value.shape}; expected (E, {', '.join(map(str, followed))})")


def _activation(kind: str, channels: int, dtype: np.dtype) -> Layer:
    if choice(kind, "activation", ACTIVATIONS) == "prelu":
        # One slope per channel, so each feature map can choose its own leak.
        return PReLU(channels, dtype=dtype)
    return {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}[kind]()


def _pool(kind: str) -> Layer:
    return {"max": MaxPool2d, "avg": AvgPool2d}[choice(kind, "pooling", POOLINGS)](2)


def check_model_destination(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check that a model can be written to ``path``, before any training is done.

    Parameters
    ----------
    path : str or path-like
    overwrite : bool, optional

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileError
        If the folder does not exist or ``path`` is a folder;
        :class:`convfx.imageio.OutputExistsError` if it exists and not ``overwrite``.
    """
    path = Path(path)
    if not os.path.isdir(path.parent):
        raise FileError(f"{path}: cannot write: the folder {path.parent} does not exist")
    if os.path.isdir(path):
        raise FileError(f"{path}: is a folder, expected a model file name (e.g. model.npz)")
    if os.path.lexists(path) and not overwrite:
        raise imageio.OutputExistsError(f"{path}: already exists; pass overwrite=True to replace it")
    return path


class LeNet:
    """LeNet-5: two conv/pool stages and three fully connected layers.

    Parameters
    ----------
    in_channels : {1, 3}, optional
        Gray or RGB input.
    num_classes : int, optional
        ``K``, the width of fc3.
    activation : {"relu", "prelu", "tanh", "sigmoid"}, optional
        After conv1, conv2, fc1 and fc2.
    pooling : {"max", "avg"}, optional
        2x2, stride 2.
    init : {"he", "glorot", "normal", "uniform"} or None, optional
        Weight initialisation; ``None`` picks He for ReLU/PReLU and Glorot for
        tanh/sigmoid.
    seed : int, Generator or None, optional
        Seeds the initial weights.
    input_mean, input_std : sequence of C floats, optional
        Per-channel normalisation applied by :meth:`forward` (default 0 and 1).
    class_names : sequence of K str, optional
        Default ``"0"``, ``"1"``, ...
    dtype : numpy dtype, optional
        float32 (training) or float64 (gradient checks).

    Attributes
    ----------
    layers : dict of str to Layer
        ``conv1, act1, pool1, conv2, act2, pool2, flatten, fc1, act3, fc2, act4, fc3``.
    metadata : dict
        Facts saved with the model (data set, seed, ...): str, int or float values, or
        arrays of them.
    history : dict of str to ndarray
        Training curves, saved as ``convfx.history.*``.
    snapshots : dict of str to ndarray
        Weights kept during training, saved as ``convfx.snapshots.*``.

    Examples
    --------
    >>> import numpy as np
    >>> model = LeNet(1, 10, seed=0)
    >>> model.forward(np.zeros((4, 1, 32, 32), np.float32)).shape
    (4, 10)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        *,
        activation: Literal["relu", "prelu", "tanh", "sigmoid"] = "relu",
        pooling: Literal["max", "avg"] = "max",
        init: Init | None = None,
        seed: Seed = None,
        input_mean: Sequence[float] | np.ndarray | None = None,
        input_std: Sequence[float] | np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        if in_channels not in (1, 3):
            raise ParameterError(f"in_channels: expected 1 (gray) or 3 (RGB), found {in_channels!r}")
        checked_int(num_classes, "num_classes", minimum=2, type_error=ParameterError)
        choice(activation, "activation", ACTIVATIONS)
        choice(pooling, "pooling", POOLINGS)
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.activation = activation
        self.pooling = pooling
        self.dtype = np.dtype(dtype)
        init = init or ("he" if activation in ("relu", "prelu") else "glorot")
        # The last layer feeds a softmax, not a ReLU: Glorot keeps the first logits small.
        last_init: Init = "glorot" if init == "he" else init
        rng = np.random.default_rng(seed)
        dtype = self.dtype
        conv1 = Conv2d(in_channels, 6, 5, init=init, rng=rng, dtype=dtype)
        # The network's input needs no gradient; skipping it saves a col2im per step.
        conv1.compute_input_grad = False
        self.layers: dict[str, Layer] = {
            "conv1": conv1,
            "act1": _activation(activation, 6, self.dtype),
            "pool1": _pool(pooling),
            "conv2": Conv2d(6, 16, 5, init=init, rng=rng, dtype=dtype),
            "act2": _activation(activation, 16, self.dtype),
            "pool2": _pool(pooling),
            "flatten": Flatten(),
            "fc1": Linear(16 * 5 * 5, 120, init=init, rng=rng, dtype=dtype),
            "act3": _activation(activation, 120, self.dtype),
            "fc2": Linear(120, 84, init=init, rng=rng, dtype=dtype),
            "act4": _activation(activation, 84, self.dtype),
            "fc3": Linear(84, num_classes, init=last_init, rng=rng, dtype=dtype),
        }
        self.input_mean = self._channel_vector(input_mean, 0.0, "input_mean")
        self.input_std = self._channel_vector(input_std, 1.0, "input_std")
        if np.any(self.input_std <= 0):
            raise ParameterError(f"input_std: expected positive values, found {self.input_std.tolist()}")
        names = [str(k) for k in range(num_classes)] if class_names is None else [str(n) for n in class_names]
        if len(names) != num_classes:
            raise ParameterError(f"class_names: expected {num_classes} names, found {len(names)}")
        self.class_names: list[str] = names
        self.metadata: dict[str, MetadataValue] = {}
        self.history: dict[str, np.ndarray] = {}
        self.snapshots: dict[str, np.ndarray] = {}

    def _channel_vector(self, values: Sequence[float] | np.ndarray | None, default: float, name: str) -> np.ndarray:
        if values is None:
            return np.full(self.in_channels, default, dtype=self.dtype)
        vector = np.asarray(values, dtype=self.dtype).reshape(-1)
        if vector.shape == (1,):
            vector = np.repeat(vector, self.in_channels)
        if vector.shape != (self.in_channels,) or not np.all(np.isfinite(vector)):
            raise ParameterError(f"{name}: expected {self.in_channels} finite values, found {np.asarray(values).tolist()}")
        return vector

    # ----------------------------------------------------------------- compute

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits for a batch of images.

        Parameters
        ----------
        x : ndarray, shape (N, C, 32, 32)
            Pixels on the scale the model was trained on (convfx's data sets: [0, 1]);
            normalised here with ``input_mean`` and ``input_std``.

        Returns
        -------
        ndarray, shape (N, K)
            Unnormalised class scores, in the model's dtype.
        """
        expected = (self.in_channels, INPUT_SIZE, INPUT_SIZE)
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1:] != expected:
            found = x.shape if isinstance(x, np.ndarray) else type(x).__name__
            raise ParameterError(f"x: expected an array of shape (N, {', '.join(map(str, expected))}), found {found}")
        out = (x.astype(self.dtype, copy=False) - self.input_mean[:, None, None]) / self.input_std[:, None, None]
        for layer in self.layers.values():
            out = layer.forward(out)
        return out

    __call__ = forward

    def backward(self, grad_logits: np.ndarray) -> None:
        """Back-propagate dLoss/dlogits through the last :meth:`forward`, filling every layer's ``grads``.

        Parameters
        ----------
        grad_logits : ndarray, shape (N, K)
        """
        grad = grad_logits
        for layer in reversed(self.layers.values()):
            input_grad = layer.backward(grad)
            if input_grad is None:  # conv1 computes no gradient for the network's input
                break
            grad = input_grad

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
        """Class probabilities, computed in evaluation mode.

        Parameters
        ----------
        x : ndarray, shape (N, C, 32, 32)
        batch_size : int, optional
            Images per forward pass (bounds the memory, not the result).

        Returns
        -------
        ndarray, shape (N, K)
            Each row sums to 1.
        """
        was_training = self.training
        self.eval()
        try:
            chunks = [softmax(self.forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, self.num_classes), self.dtype)

    def predict(self, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
        """Predicted class indices: the most probable class of each image.

        Parameters
        ----------
        x : ndarray, shape (N, C, 32, 32)
        batch_size : int, optional
            Images per forward pass (bounds the memory, not the result).

        Returns
        -------
        ndarray of int64, shape (N,)
        """
        return self.predict_proba(x, batch_size=batch_size).argmax(axis=1).astype(np.int64)

    # ----------------------------------------------------------------- state

    @property
    def training(self) -> bool:
        return self.layers["conv1"].training

    def train(self, mode: bool = True) -> LeNet:
        """Switch every layer to training (or evaluation) mode.

        Parameters
        ----------
        mode : bool, optional
            True for training mode, False for evaluation mode.

        Returns
        -------
        LeNet
            The model itself.
        """
        for layer in self.layers.values():
            layer.training = mode
        return self

    def eval(self) -> LeNet:
        """Switch every layer to evaluation mode.

        Returns
        -------
        LeNet
            The model itself.
        """
        return self.train(False)

    def parameters(self) -> list[Parameter]:
        """Every trainable array, named as in the state dict.

        Returns
        -------
        list of Parameter
            ``Parameter("conv1.weight", value, grad)`` ..., the arrays themselves.
        """
        return [p for name, layer in self.layers.items() for p in layer.parameters(prefix=name + ".")]

    def replica(self) -> LeNet:
        """A LeNet that shares this model's parameter arrays but has its own caches and gradients.

        For data-parallel training: replicas run forward/backward on different parts
        of a batch at the same time, and their gradients are combined before one
        update of the shared weights.

        Returns
        -------
        LeNet
        """
        twin = LeNet(
            self.in_channels,
            self.num_classes,
            activation=self.activation,
            pooling=self.pooling,
            input_mean=self.input_mean,
            input_std=self.input_std,
            class_names=self.class_names,
            dtype=self.dtype,
        )
        for name, layer in self.layers.items():
            twin.layers[name].params.update(layer.params)
            twin.layers[name].buffers.update(layer.buffers)
        twin.train(self.training)
        return twin

    def _state_name(self, layer: str, key: str) -> str:
        qualified = f"{layer}.{key}"
        return qualified if qualified in STATE_DICT_NAMES else "convfx." + qualified

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything :meth:`save` writes: weights under PyTorch names, extras under ``convfx.*``.

        Returns
        -------
        dict of str to ndarray
        """
        state: dict[str, np.ndarray] = {}
        for name, layer in self.layers.items():
            for key, value in {**layer.params, **layer.buffers}.items():
                state[self._state_name(name, key)] = value.copy()
        meta: dict[str, object] = {
            "format": FORMAT,
            "activation": self.activation,
            "pooling": self.pooling,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "class_names": np.array(self.class_names, dtype=str),
            **self.metadata,
        }
        for key, fact in meta.items():
            state[_META + key] = np.asarray(fact)
            if state[_META + key].dtype == object:
                raise ParameterError(f"metadata: {key!r} would need pickle; use str, int, float or arrays of them")
        for key, value in self.history.items():
            state[_HISTORY + key] = np.asarray(value)
        for key, value in self.snapshots.items():
            state[_SNAPSHOTS + key] = np.asarray(value)
        return state

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model to ``path`` as an ``.npz`` (whole or not at all).

        Parameters
        ----------
        path : str or path-like
            Written exactly as given (no ``.npz`` is appended).
        overwrite : bool, optional
            Replace an existing file.

        Returns
        -------
        Path

        Raises
        ------
        FileError
            If the folder is missing or not writable;
            :class:`convfx.imageio.OutputExistsError` if ``path`` exists and not
            ``overwrite``.
        """
        buffer = io.BytesIO()
        # The stub lets a ** mapping reach savez's bool allow_pickle; these keys are array names.
        np.savez(buffer, **self.state_dict())  # type: ignore[arg-type]
        return imageio.write_bytes_atomically(path, buffer.getvalue(), overwrite=overwrite)

    def load_state_dict(self, state: Mapping[str, np.ndarray], *, source: str = "state") -> None:
        """Copy weights (PyTorch names) and PReLU slopes from ``state`` into the model.

        Parameters
        ----------
        state : mapping of str to ndarray
            As :meth:`state_dict` returns it.
        source : str, optional
            What ``state`` came from, for the messages (a file name).

        Raises
        ------
        FileError
            If a name is missing or an array has the wrong shape or does not hold
            real numbers; the message starts with ``source``.
        """
        for name, layer in self.layers.items():
            for key, value in {**layer.params, **layer.buffers}.items():
                qualified = self._state_name(name, key)
                if qualified not in state:
                    raise FileError(f"{source}: missing {qualified!r} (expected shape {value.shape})")
                array = np.asarray(state[qualified])
                if array.shape != value.shape:
                    raise FileError(f"{source}: {qualified!r} has shape {array.shape}, expected {value.shape}")
                _check_real(array, qualified, source)
                _check_finite(array, qualified, source)
                value[...] = array

    @classmethod
    def load(cls, path: str | os.PathLike) -> LeNet:
        """Read a model written by :meth:`save` (or any ``.npz`` with the ten PyTorch names).

        Files without ``convfx.meta.*`` entries (e.g. a PyTorch state dict saved with
        ``np.savez``) load as a ReLU/max-pool LeNet with no input normalisation;
        ``C`` and ``K`` come from the shapes of ``conv1.weight`` and ``fc3.weight``.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        LeNet

        Raises
        ------
        FileError
            If the file is missing, is not an ``.npz``, needs pickle, or lacks a weight
            or has one of the wrong shape, or a weight or the input normalisation is
            not finite real numbers, or a ``convfx.*`` entry has the wrong shape
            (:func:`_check_metadata`, :func:`_check_extras`).
        """
        path = Path(path)
        state = imageio.read_arrays(path, what=".npz model file")
        for required in ("conv1.weight", "fc3.weight"):
            if required not in state or np.ndim(state[required]) not in (4, 2):
                raise FileError(f"{path}: missing {required!r}; not a LeNet model file")
        meta = {key[len(_META) :]: value for key, value in state.items() if key.startswith(_META)}
        _check_metadata(meta, str(path))
        if "format" in meta and str(meta["format"]) != FORMAT:
            raise FileError(f"{path}: unknown format {str(meta['format'])!r}, expected {FORMAT!r}")
        conv1, fc3 = state["conv1.weight"], state["fc3.weight"]
        try:
            model = cls(
                in_channels=int(conv1.shape[1]),
                num_classes=int(fc3.shape[0]),
                activation=choice(str(meta.pop("activation", "relu")), "activation", ACTIVATIONS),
                pooling=choice(str(meta.pop("pooling", "max")), "pooling", POOLINGS),
                input_mean=meta.pop("input_mean", None),
                input_std=meta.pop("input_std", None),
                class_names=[str(c) for c in meta.pop("class_names")] if "class_names" in meta else None,
                dtype=np.float64 if conv1.dtype == np.float64 else np.float32,
            )
        except ParameterError as error:
            raise FileError(f"{path}: {error}") from None
        model.load_state_dict(state, source=str(path))
        _check_extras(state, model.layers, str(path))
        meta.pop("format", None)
        model.metadata = {key: value.item() if value.ndim == 0 else value for key, value in meta.items()}
        model.history = {key[len(_HISTORY) :]: value for key, value in state.items() if key.startswith(_HISTORY)}
        model.snapshots = {key[len(_SNAPSHOTS) :]: value for key, value in state.items() if key.startswith(_SNAPSHOTS)}
        return model

    def __repr__(self) -> str:
        body = ",\n  ".join(f"{name}: {layer!r}" for name, layer in self.layers.items())
        return f"LeNet(in_channels={self.in_channels}, num_classes={self.num_classes}, activation={self.activation!r}, pooling={self.pooling!r},\n  {body}\n)"
