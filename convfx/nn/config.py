"""What decides a training run: :class:`TrainConfig` and the names of its choices.

Kept apart from the training loop (:mod:`.training`) and the layers, so that the
command line can build ``convfx train``'s options and defaults without importing
the network itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..checks import checked_int, choice, in_range
from ..errors import ParameterError

if TYPE_CHECKING:
    from .layers import Init

__all__ = [
    "TrainConfig",
    "OPTIMIZERS",
    "DEFAULT_LR",
    "SCHEDULES",
    "ACTIVATIONS",
    "POOLINGS",
    "MAX_SEED",
    "DATASET_DEFAULTS",
    "FOLDER_STEPS",
    "DEFAULT_DATASET",
    "dataset_defaults_key",
]

#: The data set ``convfx train`` trains on when none is named: the bundled 8x8 digits, the fastest.
DEFAULT_DATASET = "digits"
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

#: Training settings that differ from :class:`TrainConfig`'s defaults, by data set
#: (``"photos:DIR"`` stands for every folder of one's own photos).  On photo
#: patches the digits recipe (60 epochs, weight decay 0.02) takes several times
#: longer and decays some first-layer kernels to nothing; with SGD, a product of
#: learning rate and weight decay near 5e-4 and a short run of about 700 steps
#: (12 epochs of the bundled photos) let conv1 settle into edge detectors while
#: leaving each kernel in use (the README's study).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "photos": {"epochs": 12, "weight_decay": 0.01},
    "photos-rgb": {"epochs": 12, "weight_decay": 0.01},
    "photos:DIR": {"epochs": 10, "weight_decay": 0.01},
}
#: ``photos:DIR`` trains for at least this many steps: a folder of a few photos
#: gives few patches per epoch, so it gets more epochs than ``DATASET_DEFAULTS`` says.
FOLDER_STEPS = 700


def dataset_defaults_key(dataset: str) -> str:
    """The key of :data:`DATASET_DEFAULTS` that a data-set spec falls under (``"photos:~/pics"`` -> ``"photos:DIR"``).

    Parameters
    ----------
    dataset : str
        A data-set spec, as ``convfx train --dataset`` takes it.

    Returns
    -------
    str
    """
    return "photos:DIR" if dataset.startswith("photos:") else dataset


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (the defaults are ``convfx train``'s).

    The defaults reach >= 98.5 % held-out accuracy on ``digits`` in well under a
    minute on 2 cores, and make conv1 learn smooth kernels: weight decay removes
    the random part that the data does not support, random shifts make the
    detectors position-free, and the cosine schedule lets them settle.  On digits
    most of those kernels are blobs; natural-image patches (``photos``, with the
    settings of :data:`DATASET_DEFAULTS`, :meth:`for_dataset`) make most of them
    edge detectors.

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

    @classmethod
    def for_dataset(cls, dataset: str, *, train_images: int | None = None, **options: Any) -> TrainConfig:
        """The configuration ``convfx train --dataset DATASET`` uses: the data set's defaults, then ``options``.

        Parameters
        ----------
        dataset : str
            A :func:`convfx.nn.load_dataset` spec.  Its entry of
            :data:`DATASET_DEFAULTS` (if any) replaces the class defaults.
        train_images : int, optional
            The training set's size.  For ``photos:DIR`` without an explicit
            ``epochs``, the run then has enough epochs for at least
            :data:`FOLDER_STEPS` steps (and no fewer than the table's epochs).
        **options
            Any :class:`TrainConfig` field; these win over every default.

        Returns
        -------
        TrainConfig

        Examples
        --------
        >>> TrainConfig.for_dataset("photos").epochs, TrainConfig.for_dataset("digits").epochs
        (12, 60)
        >>> TrainConfig.for_dataset("photos:pictures", train_images=890).epochs   # 14 steps per epoch
        50
        """
        key = dataset_defaults_key(str(dataset))
        settings = dict(DATASET_DEFAULTS.get(key, {}))
        if key == "photos:DIR" and train_images is not None and "epochs" not in options:
            count = checked_int(train_images, "train_images", minimum=1, type_error=ParameterError)
            batch_size = checked_int(
                options.get("batch_size", cls.batch_size), "batch_size", minimum=1, type_error=ParameterError
            )
            steps_per_epoch = -(-count // batch_size)
            settings["epochs"] = max(settings["epochs"], -(-FOLDER_STEPS // steps_per_epoch))
        return cls(**{**settings, **options})

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
