"""A from-scratch numpy CNN: layers with forward and backward, LeNet-5, data, training.

Everything a CNN does, written so that each step can be read: :mod:`.layers`
(forward/backward pairs on ``(N, C, H, W)`` arrays, built on the convolution engine's
patch matrices), :mod:`.lenet` (the 1998 architecture and its PyTorch-compatible
``.npz`` format), :mod:`.optim` (SGD, Adam, schedules), :mod:`.dataset` (the
:class:`Dataset` type and its split), :mod:`.data` (data sets by name, the digits),
:mod:`.shapes` (synthetic shapes), :mod:`.folders` (class folders of images),
:mod:`.idx` (MNIST IDX files), :mod:`.photos` (patches of bundled photos or a
folder of one's own), :mod:`.cifar` (CIFAR-10 binary files), :mod:`.config`
(what decides a training run), :mod:`.training` (the training loop behind
``convfx train``), :mod:`.inspect` (a layer-by-layer summary and the feature maps
of one image) and :mod:`.weights` (a conv layer's weights from a LeNet, ``.npz``
or ``.safetensors`` file).  No deep-learning framework is used at run time.

The names below are imported on first use (PEP 562), as scikit-image does: the
filtering commands (``convfx apply``, ``convfx batch``) start without loading
the network.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the submodule that defines it.
_EXPORTS = {
    "layers": [
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
    ],
    "lenet": ["LeNet"],
    "optim": ["SGD", "Adam", "LearningRateSchedule"],
    "dataset": ["Dataset"],
    "data": ["load_dataset", "load_digits"],
    "shapes": ["load_shapes", "make_shapes"],
    "folders": ["load_folder"],
    "idx": ["load_idx_folder", "read_idx"],
    "photos": ["load_photos", "load_photo_folder"],
    "cifar": ["load_cifar10"],
    "config": ["TrainConfig"],
    "training": [
        "TrainResult",
        "TrainStep",
        "Progress",
        "Evaluation",
        "train",
        "evaluate",
        "evaluation_data",
        "confusion_matrix",
    ],
    "weights": ["ConvWeights", "load_weights"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_MODULE_OF)

_SUBMODULES = (
    "layers",
    "lenet",
    "optim",
    "dataset",
    "data",
    "shapes",
    "folders",
    "idx",
    "photos",
    "cifar",
    "config",
    "training",
    "inspect",
    "weights",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # convfx.nn.layers after a bare `import convfx.nn`
        return importlib.import_module(f"{__name__}.{name}")
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found directly next time
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
