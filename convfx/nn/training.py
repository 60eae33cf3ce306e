"""Training and evaluating a LeNet on a :class:`~convfx.nn.dataset.Dataset`.

:func:`train` is the whole recipe -- input normalisation, seeded shuffling, random
shifts, mini-batch SGD/Adam with weight decay and a learning-rate schedule -- and
returns the model with its history; :func:`evaluate` gives accuracy and a confusion
matrix.  Both are what ``convfx train`` / ``convfx evaluate`` call.

Reproducible: the same data, configuration and seed give the same model and the same
loss at every step (on the same machine and BLAS).  Progress goes to a callback;
this module prints nothing, draws nothing and writes no files.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from ..checks import checked_int
from ..errors import ParameterError
from .config import TrainConfig
from .data import load_dataset
from .dataset import Dataset
from .layers import SoftmaxCrossEntropy
from .lenet import LeNet
from .optim import SGD, Adam, LearningRateSchedule, make_optimizer

__all__ = [
    "TrainConfig",
    "TrainResult",
    "Progress",
    "Evaluation",
    "train",
    "TrainStep",
    "evaluate",
    "evaluation_data",
    "confusion_matrix",
    "random_shift",
    "single_threaded_blas",
]


@dataclass(frozen=True)
class Progress:
    """What the progress callback is told after every step.

    ``test_accuracy`` is set only on the last step of an epoch (``epoch_done``).
    ``loss`` and ``accuracy`` are running means over the epoch so far.

    Attributes
    ----------
    epoch, epochs : int
        The epoch running (from 1) and how many there are.
    step, steps : int
        The step within the epoch (from 1) and the epoch's number of steps.
    loss, accuracy : float
        Running means over the epoch so far.
    lr : float
        The learning rate of this step.
    epoch_done : bool
        This is the epoch's last step.
    test_accuracy : float or None
        Held-out accuracy, on the epoch's last step only.

    Examples
    --------
    >>> from convfx.nn import Progress
    >>> progress = Progress(epoch=1, epochs=60, step=3, steps=23, loss=1.9, accuracy=0.4, lr=0.01)
    >>> progress.epoch_done, progress.test_accuracy is None
    (False, True)
    """

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based, within the epoch
    steps: int
    loss: float
    accuracy: float
    lr: float
    epoch_done: bool = False
    test_accuracy: float | None = None


@dataclass
class TrainResult:
    """A trained model and how it got there.

    Attributes
    ----------
    model : LeNet
        With ``metadata``, ``history`` (and ``snapshots``) filled, ready to ``save``.
    test_accuracy : float
        Held-out accuracy of the final model, in [0, 1].
    seconds : float
        Wall-clock training time (data loading excluded).
    history : dict of str to ndarray
        ``loss`` per step; ``epoch_loss``, ``train_accuracy``, ``test_accuracy``
        and ``lr`` per epoch.

    Examples
    --------
    >>> import convfx
    >>> from convfx.nn import Dataset, TrainConfig, train
    >>> digits = convfx.load_dataset("digits")
    >>> small = Dataset("digits", digits.train_images[:128], digits.train_labels[:128],
    ...                 digits.test_images[:64], digits.test_labels[:64], digits.class_names)
    >>> result = train(small, TrainConfig(epochs=1, workers=1))
    >>> result.history["loss"].shape, 0.0 <= result.test_accuracy <= 1.0   # one loss per step
    ((2,), True)
    """

    model: LeNet
    test_accuracy: float
    seconds: float
    history: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Accuracy and confusion matrix of a model on labelled images.

    Attributes
    ----------
    accuracy : float
        Fraction correct, in [0, 1].
    confusion : ndarray, shape (K, K)
        ``confusion[true, predicted]`` counts, int64.
    predictions : ndarray, shape (N,)
    class_names : tuple of str

    Examples
    --------
    >>> import convfx
    >>> from convfx.models import shipped_model
    >>> model = convfx.LeNet.load(shipped_model("digits"))
    >>> digits = convfx.load_dataset("digits")
    >>> result = convfx.evaluate(model, digits.test_images, digits.test_labels)
    >>> round(result.accuracy, 4), result.confusion.shape, int(result.confusion.sum())
    (0.9916, (10, 10), 359)
    """

    accuracy: float
    confusion: np.ndarray
    predictions: np.ndarray
    class_names: tuple[str, ...]

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def total(self) -> int:
        return int(self.confusion.sum())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts with true classes on rows and predictions on columns.

    Parameters
    ----------
    labels, predictions : ndarray, shape (N,)
        True and predicted class indices in ``[0, num_classes)``.
    num_classes : int
        ``K``.

    Returns
    -------
    ndarray, shape (K, K), int64
        ``[i, j]`` counts the images of class ``i`` predicted as ``j``.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import confusion_matrix
    >>> confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), 3)
    array([[1, 1, 0],
           [0, 1, 0],
           [0, 0, 1]])
    """
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def evaluate(model: LeNet, images: np.ndarray, labels: np.ndarray, *, batch_size: int = 512) -> Evaluation:
    """Accuracy and confusion matrix of ``model`` on ``images`` (N, C, 32, 32) with ``labels`` (N,).

    Parameters
    ----------
    model : LeNet
    images : ndarray, shape (N, C, 32, 32)
        float32 in [0, 1], ``C`` the model's input channels.
    labels : ndarray, shape (N,)
        Class indices in ``[0, K)``.
    batch_size : int, optional
        Images per forward pass (memory, not results).

    Returns
    -------
    Evaluation
        Accuracy, confusion matrix, predictions and class names.

    Raises
    ------
    ParameterError
        If the images have the wrong number of channels or a label is not one of the
        model's classes.

    Examples
    --------
    >>> import convfx
    >>> from convfx.models import shipped_model
    >>> model = convfx.LeNet.load(shipped_model("digits"))
    >>> digits = convfx.load_dataset("digits")
    >>> f"{convfx.evaluate(model, digits.test_images, digits.test_labels).accuracy:.2%}"
    '99.16%'
    """
    if images.ndim != 4 or images.shape[1] != model.in_channels:
        raise ParameterError(
            f"dataset: the model expects {model.in_channels}-channel images, found images of shape {images.shape}"
        )
    if len(labels) and int(labels.max()) >= model.num_classes:
        raise ParameterError(f"dataset: labels go up to {int(labels.max())} but the model has {model.num_classes} classes")
    predictions = model.predict(images, batch_size=batch_size)
    confusion = confusion_matrix(labels, predictions, model.num_classes)
    accuracy = float(np.mean(predictions == labels)) if len(labels) else 0.0
    return Evaluation(accuracy, confusion, predictions, tuple(model.class_names))


def evaluation_data(model: LeNet, dataset: str | None = None, *, source: str = "the model") -> Dataset:
    """The data set to evaluate ``model`` on: ``dataset``, or the one it was trained on.

    Parameters
    ----------
    model : LeNet
    dataset : str, optional
        A :func:`~convfx.nn.data.load_dataset` spec; default: the ``dataset`` the
        model's metadata records.
    source : str, optional
        How to name the model in messages (its file).

    Returns
    -------
    Dataset
        Loaded with :func:`~convfx.nn.data.load_dataset`.

    Raises
    ------
    ParameterError
        The model records no data set and none is given, or the data set's class
        count differs from the model's.

    Examples
    --------
    >>> import convfx
    >>> from convfx.models import shipped_model
    >>> from convfx.nn import evaluation_data
    >>> evaluation_data(convfx.LeNet.load(shipped_model("digits"))).name
    'digits'
    """
    if dataset is None:
        recorded = model.metadata.get("dataset")
        if not isinstance(recorded, str):
            raise ParameterError(f"dataset: {source} does not record its data set; name one")
        dataset = recorded
    data = load_dataset(dataset)
    if data.num_classes != model.num_classes:
        raise ParameterError(f"dataset: {data.name} has {data.num_classes} classes but {source} predicts {model.num_classes}")
    return data


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Translate each image by its own random ``(dy, dx)`` in ``[-max_shift, max_shift]``.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
    max_shift : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (N, C, H, W)
        A new array; pixels shifted in from outside repeat the nearest border pixel
        (the background, for centred objects).
    """
    if max_shift == 0:
        return images
    n, c, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)), mode="edge")
    offsets = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = (offsets[0][:, None] + np.arange(h))[:, None, :, None]
    cols = (offsets[1][:, None] + np.arange(w))[:, None, None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS on one thread.

    LeNet's matrix products are small (at most 150 x 6400 per step), so splitting
    them over threads gains nothing on a quiet machine, and when the other cores are
    busy OpenBLAS's threads wait on each other and a training step becomes several
    times slower.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class TrainStep:
    """One optimisation step -- forward, loss, backward, update -- on a batch.

    With ``workers > 1`` the batch is cut into that many contiguous parts that run
    at the same time in threads (data parallelism, as frameworks do across GPUs):
    each worker has a :meth:`~convfx.nn.lenet.LeNet.replica` sharing the weights, and
    the parts' gradients are averaged, weighted by part size, into the model's
    gradient buffers -- exactly the gradient of the mean loss over the whole batch,
    up to float rounding.  numpy releases the GIL inside its array loops and BLAS,
    so two workers use both cores of a 2-core machine.  The combination order is
    fixed, so results do not depend on thread timing; they do depend (by rounding)
    on ``workers``.

    Use it as a context manager, or call :meth:`close`, to stop the threads.

    Parameters
    ----------
    model : LeNet
    optimizer : SGD or Adam
        Made from ``model.parameters()``.
    workers : int, optional
        Threads; 1 runs everything in the calling thread.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import SGD, LeNet, TrainStep
    >>> model = LeNet(1, 10, seed=0)
    >>> x = np.random.default_rng(0).random((8, 1, 32, 32), dtype=np.float32)
    >>> y = np.arange(8) % 10
    >>> with TrainStep(model, SGD(model.parameters(), lr=0.01), workers=2) as step:
    ...     loss, logits = step(x, y)
    >>> logits.shape, loss > 0
    ((8, 10), True)
    """

    def __init__(self, model: LeNet, optimizer: SGD | Adam, *, workers: int = 1) -> None:
        checked_int(workers, "workers", minimum=1, type_error=ParameterError)
        self.model = model
        self.optimizer = optimizer
        self.replicas = [model] + [model.replica() for _ in range(workers - 1)]
        self.criteria = [SoftmaxCrossEntropy() for _ in self.replicas]
        self._pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="convfx-train") if workers > 1 else None

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Update the model on ``x`` (N, C, 32, 32) with labels ``y`` (N,).

        Returns
        -------
        loss : float
            Mean cross-entropy on the batch, before the update.
        logits : ndarray, shape (N, K)
        """
        n = len(y)
        bounds = [round(k * n / len(self.replicas)) for k in range(len(self.replicas) + 1)]
        parts = [(start, stop) for start, stop in zip(bounds[:-1], bounds[1:]) if stop > start]
        jobs = [(self.replicas[k], self.criteria[k], x[start:stop], y[start:stop]) for k, (start, stop) in enumerate(parts)]
        # The first part runs here while the others run in the pool, in a copy of
        # this thread's context (numpy's errstate lives there).
        futures = (
            [
                self._pool.submit(contextvars.copy_context().run, _forward_backward, replica, criterion, part_x, part_y)
                for replica, criterion, part_x, part_y in jobs[1:]
            ]
            if self._pool
            else []
        )
        results = [_forward_backward(*jobs[0])] + [future.result() for future in futures]
        if len(results) > 1:
            weights = [(stop - start) / n for start, stop in parts]
            grads = [parameter.grad for parameter in self.model.parameters()]
            for grad in grads:
                grad *= grad.dtype.type(weights[0])
            for replica, weight in zip(self.replicas[1 : len(results)], weights[1:]):
                for grad, theirs in zip(grads, replica.parameters()):
                    grad += grad.dtype.type(weight) * theirs.grad
        self.optimizer.step()
        loss = sum(part_loss * (stop - start) for (part_loss, _), (start, stop) in zip(results, parts)) / n
        return float(loss), np.concatenate([logits for _, logits in results])

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> TrainStep:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _forward_backward(model: LeNet, criterion: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and logits of one part of a batch; fills the model's gradient buffers."""
    logits = model.forward(x)
    loss = criterion.forward(logits, y)
    model.backward(criterion.backward())
    return loss, logits


def train(
    dataset: Dataset,
    config: TrainConfig = TrainConfig(),
    *,
    progress: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train a LeNet on ``dataset`` with ``config``; evaluate it on the held-out split.

    Parameters
    ----------
    dataset : Dataset
        Training and test images ``(N, C, 32, 32)`` in [0, 1].
    config : TrainConfig, optional
    progress : callable, optional
        Called with a :class:`Progress` after every step.

    Returns
    -------
    TrainResult
        ``result.model.save(path)`` writes the model with its training facts.

    Raises
    ------
    ParameterError
        If the data set has no training or no held-out images, or training diverges.

    Notes
    -----
    The input is normalised with the per-channel mean and standard deviation of the
    training images, stored in the model.  The last batch of an epoch may be
    smaller.  No choice is made on the test set: it is only measured.

    Examples
    --------
    Two epochs on a slice of the digits, which is enough to see it learn (the default
    recipe, 60 epochs on every image, reaches 99 %):

    >>> import convfx
    >>> from convfx.nn import Dataset, TrainConfig, train
    >>> digits = convfx.load_dataset("digits")
    >>> small = Dataset("digits", digits.train_images[:256], digits.train_labels[:256],
    ...                 digits.test_images[:128], digits.test_labels[:128], digits.class_names)
    >>> result = train(small, TrainConfig(epochs=2, workers=1))
    >>> result.model.predict(small.test_images).shape
    (128,)
    """
    images, labels = dataset.train_images, dataset.train_labels
    if len(labels) == 0:
        raise ParameterError(f"dataset: {dataset.name} has no training images")
    if len(dataset.test_labels) == 0:  # a held-out accuracy of 0/0 would be reported as 0 %
        raise ParameterError(f"dataset: {dataset.name} has no held-out images to measure the model on")
    init_seed, order_seed = np.random.SeedSequence(config.seed).spawn(2)
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    model = LeNet(
        dataset.channels,
        dataset.num_classes,
        activation=config.activation,
        pooling=config.pooling,
        init=config.init,
        seed=np.random.default_rng(init_seed),
        input_mean=mean,
        input_std=np.where(std > 0, std, 1.0),
        class_names=dataset.class_names,
    )
    rng = np.random.default_rng(order_seed)
    assert config.lr is not None  # TrainConfig puts the optimizer's default in place of None
    steps_per_epoch = -(-len(labels) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    schedule = LearningRateSchedule(
        config.schedule,
        base_lr=config.lr,
        total_steps=total_steps,
        warmup_steps=int(round(config.warmup_epochs * steps_per_epoch)),
    )
    optimizer = make_optimizer(
        config.optimizer, model.parameters(), lr=config.lr, weight_decay=config.weight_decay, momentum=config.momentum
    )
    conv1 = model.layers["conv1"].params
    snapshots = {"conv1.weight": [conv1["weight"].copy()], "conv1.bias": [conv1["bias"].copy()]}
    step_loss = np.zeros(total_steps, dtype=np.float32)
    epoch_loss: list[float] = []
    epoch_accuracy: list[float] = []
    test_accuracy: list[float] = []
    epoch_lr: list[float] = []
    held_out: float | None = None
    started = time.perf_counter()
    step = 0
    # Divergence is detected from the loss and reported as one error, not as a
    # stream of numpy overflow warnings.
    quiet_overflow = np.errstate(over="ignore", invalid="ignore")
    with single_threaded_blas(), quiet_overflow, TrainStep(model, optimizer, workers=config.workers) as train_step:
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = rng.permutation(len(labels))
            loss_sum, correct, seen = 0.0, 0, 0
            for index in range(steps_per_epoch):
                batch = order[index * config.batch_size : (index + 1) * config.batch_size]
                y = labels[batch]
                optimizer.lr = schedule(step)
                loss, logits = train_step(random_shift(images[batch], config.shift, rng), y)
                if not np.isfinite(loss):
                    raise ParameterError(
                        f"lr: training diverged (loss {loss}) at epoch {epoch}, step {index + 1}; try a smaller lr"
                    )
                step_loss[step] = loss
                step += 1
                loss_sum += loss * len(batch)
                correct += int(np.sum(logits.argmax(axis=1) == y))
                seen += len(batch)
                last = index == steps_per_epoch - 1
                held_out = evaluate(model, dataset.test_images, dataset.test_labels).accuracy if last else None
                if progress is not None:
                    progress(
                        Progress(
                            epoch=epoch,
                            epochs=config.epochs,
                            step=index + 1,
                            steps=steps_per_epoch,
                            loss=loss_sum / seen,
                            accuracy=correct / seen,
                            lr=optimizer.lr,
                            epoch_done=last,
                            test_accuracy=held_out,
                        )
                    )
            epoch_loss.append(loss_sum / seen)
            epoch_accuracy.append(correct / seen)
            assert held_out is not None  # measured at the epoch's last step
            test_accuracy.append(held_out)
            epoch_lr.append(optimizer.lr)
            if config.snapshots:
                snapshots["conv1.weight"].append(conv1["weight"].copy())
                snapshots["conv1.bias"].append(conv1["bias"].copy())
    seconds = time.perf_counter() - started
    model.eval()
    history: dict[str, np.ndarray] = {
        "loss": step_loss,
        "epoch_loss": np.array(epoch_loss, dtype=np.float64),
        "train_accuracy": np.array(epoch_accuracy, dtype=np.float64),
        "test_accuracy": np.array(test_accuracy, dtype=np.float64),
        "lr": np.array(epoch_lr, dtype=np.float64),
    }
    model.history = history
    if config.snapshots:
        model.snapshots = {key: np.stack(values) for key, values in snapshots.items()}
    model.metadata = {
        "dataset": dataset.name,
        **{key: value for key, value in asdict(config).items() if value is not None and key != "snapshots"},
        "test_accuracy": float(test_accuracy[-1]),
    }
    return TrainResult(model, float(test_accuracy[-1]), seconds, history)
