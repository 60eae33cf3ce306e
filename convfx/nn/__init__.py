"""A from-scratch numpy CNN: layers with forward and backward, LeNet-5, data, training.

Everything a CNN does, written so that each step can be read: :mod:`.layers`
(forward/backward pairs on ``(N, C, H, W)`` arrays, built on the convolution engine's
patch matrices), :mod:`.lenet` (the 1998 architecture and its PyTorch-compatible
``.npz`` format), :mod:`.optim` (SGD, Adam, schedules), :mod:`.data` (digits,
shapes, image folders, IDX files) and :mod:`.train` (the training loop behind
``convfx train``).  No deep-learning framework is used at run time.
"""

from __future__ import annotations

from .data import Dataset, load_dataset, load_digits, load_folder, load_idx_folder, load_shapes, make_shapes, read_idx
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    Parameter,
    PReLU,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    initialize,
    log_softmax,
    softmax,
)
from .lenet import LeNet
from .optim import SGD, Adam, LearningRateSchedule
from .train import Evaluation, Progress, TrainConfig, TrainResult, TrainStep, confusion_matrix, evaluate, train

__all__ = [
    "Layer",
    "Parameter",
    "Conv2d",
    "ReLU",
    "PReLU",
    "Sigmoid",
    "Tanh",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Linear",
    "BatchNorm1d",
    "SoftmaxCrossEntropy",
    "softmax",
    "log_softmax",
    "initialize",
    "LeNet",
    "SGD",
    "Adam",
    "LearningRateSchedule",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_shapes",
    "make_shapes",
    "load_folder",
    "load_idx_folder",
    "read_idx",
    "TrainConfig",
    "TrainResult",
    "TrainStep",
    "Progress",
    "Evaluation",
    "train",
    "evaluate",
    "confusion_matrix",
]
