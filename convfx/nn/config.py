"""What decides a training run: :class:`TrainConfig` and the names of its choices.

Kept apart from the training loop (:mod:`.training`) and the layers, so that the
command line can build ``convfx train``'s options and defaults without importing
the network itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..checks import checked_int, choice, in_range
from ..errors import ParameterError

if TYPE_CHECKING:
    from .layers import Init

__all__ = ["TrainConfig", "OPTIMIZERS", "DEFAULT_LR", "SCHEDULES", "ACTIVATIONS", "POOLINGS", "MAX_SEED"]

OPTIMIZERS = ("sgd", "adam")
#: The peak learning rate of each optimizer when :attr:`TrainConfig.lr` is not given:
#: SGD with momentum 0.9 trains LeNet well at 0.05, Adam at its usual 1e-3.
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}
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
    lr : float, optional
        Peak learning rate; ``None`` (the default) is the optimizer's own,
        :data:`DEFAULT_LR`.  Always a float once the config is made.
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

    Examples
    --------
    >>> from convfx.nn import TrainConfig
    >>> config = TrainConfig(epochs=10, optimizer="adam")
    >>> config.epochs, config.optimizer, config.lr          # lr None -> the optimizer's own default
    (10, 'adam', 0.001)
    """

    epochs: int = 60
    batch_size: int = 64
    lr: float | None = None  # None: DEFAULT_LR[optimizer], set in __post_init__
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
        choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.optimizer])
        # The int options are `convfx train`'s: a value of the wrong type is a bad
        # value of the option (ParameterError), as an out-of-range one is.
        for name in ("epochs", "batch_size", "workers"):
            checked_int(getattr(self, name), name, minimum=1, type_error=ParameterError)
        checked_int(self.shift, "shift", minimum=0, maximum=8, expected="an int in [0, 8]", type_error=ParameterError)
        in_range(self.lr, "lr", low=0.0, above_low=True, expected="a finite number > 0", found=repr)
        in_range(self.weight_decay, "weight_decay", low=0.0, expected="a finite number >= 0", found=repr)
        in_range(self.warmup_epochs, "warmup_epochs", low=0.0, expected="a number >= 0", found=repr)
        # Checked here, not when numpy first uses it: a negative seed would fail in
        # numpy's words, and one beyond int64 only when the trained model is saved.
        checked_int(
            self.seed, "seed", minimum=0, maximum=MAX_SEED, expected="an int in [0, 2**63 - 1]", type_error=ParameterError
        )
