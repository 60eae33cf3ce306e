"""What decides a training run: :class:`TrainConfig` and the names of its choices.

Kept apart from the training loop (:mod:`.training`) and the layers, so that the
command line can build ``convfx train``'s options and defaults without importing
the network itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    from .layers import Init

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES", "ACTIVATIONS", "POOLINGS", "MAX_SEED"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "cosine")
ACTIVATIONS = ("relu", "prelu", "tanh", "sigmoid")
POOLINGS = ("max", "avg")
#: The largest seed: seeds are saved with the model as int64 (numpy itself takes
#: any int >= 0, but a larger one could not be recorded).
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (the defaults are ``convfx train``'s).

    The defaults reach >= 98.5 % held-out accuracy on ``digits`` in well under a
    minute on 2 cores, and make conv1 learn smooth, edge-like kernels: weight decay
    removes the random part that the data does not support, random shifts make the
    detectors position-free, and the cosine schedule lets them settle.

    Attributes
    ----------
    epochs : int
        Passes over the training set.
    batch_size : int
    lr : float
        Peak learning rate.
    optimizer : {"sgd", "adam"}
    momentum : float
        SGD only.
    weight_decay : float
        L2 coefficient (SGD) or decoupled decay (Adam), on conv and linear weights.
    schedule : {"cosine", "step", "constant"}
    warmup_epochs : float
        Linear warm-up length, in epochs.
    shift : int
        Largest random translation, in pixels, applied to each training image
        (0 turns augmentation off).  Out-of-frame pixels repeat the border.
    activation, pooling, init
        Passed to :class:`~convfx.nn.lenet.LeNet`.
    seed : int
        Seeds the initial weights, the shuffling and the shifts; in
        ``[0, MAX_SEED]`` (``2**63 - 1``, so that it fits the model file).
    snapshots : bool
        Keep conv1's weight and bias before training and after every epoch.
    workers : int
        Threads that share each batch (see :class:`TrainStep`).  Results are
        reproducible for a given seed *and* number of workers.
    """

    epochs: int = 60
    batch_size: int = 64
    lr: float = 0.05
    optimizer: Literal["sgd", "adam"] = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.02
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    warmup_epochs: float = 1.0
    shift: int = 2
    activation: Literal["relu", "prelu", "tanh", "sigmoid"] = "relu"
    pooling: Literal["max", "avg"] = "max"
    init: Init | None = None
    seed: int = 0
    snapshots: bool = False
    workers: int = 2

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "workers"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"{name}: expected an int >= 1, found {value!r}")
        if not isinstance(self.shift, (int, np.integer)) or not 0 <= self.shift <= 8:
            raise ParameterError(f"shift: expected an int in [0, 8], found {self.shift!r}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise ParameterError(f"lr: expected a finite number > 0, found {self.lr!r}")
        if not (self.weight_decay >= 0 and np.isfinite(self.weight_decay)):
            raise ParameterError(f"weight_decay: expected a finite number >= 0, found {self.weight_decay!r}")
        if self.warmup_epochs < 0:
            raise ParameterError(f"warmup_epochs: expected a number >= 0, found {self.warmup_epochs!r}")
        # Checked here, not when numpy first uses it: a negative seed would fail in
        # numpy's words, and one beyond int64 only when the trained model is saved.
        is_int = isinstance(self.seed, (int, np.integer)) and not isinstance(self.seed, bool)
        if not is_int or not 0 <= self.seed <= MAX_SEED:
            raise ParameterError(f"seed: expected an int in [0, 2**63 - 1], found {self.seed!r}")
