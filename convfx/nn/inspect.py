"""Looking inside a LeNet: a layer-by-layer summary and the feature maps of one image.

:func:`summarize` lists every layer with its output shape in the ``D@WxH`` notation
of LeCun et al. (1998) -- ``C1 6@28x28``, ``S2 6@14x14`` ... -- its hyper-parameters
and its parameter count, like a framework's model summary.  :func:`tour` runs one
image through the network and keeps what every layer produced, for
:func:`convfx.plots.tour_figure`.  :func:`tour_input` turns a photo, a bundled
held-out digit (``"digit:N"``) or a held-out patch of the bundled photos
(``"photo:N"``) into the network's ``(C, 32, 32)`` input, with its true label
where one is known; :func:`default_tour_image` picks one for a shipped model.

This module only reads a model and runs its layers' ``forward`` in order (the same
loop as :meth:`LeNet.forward`); it does not train, change weights, draw or print.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import imageio
from ..color import to_luminance
from ..errors import FileError, ParameterError
from ..models import DEFAULT_MODEL, SHIPPED_MODELS, resolve_model
from .data import load_digits
from .dataset import IMAGE_SIZE
from .folders import square_resize
from .layers import AvgPool2d, Conv2d, Layer, MaxPool2d, softmax
from .lenet import LeNet

__all__ = [
    "LayerSummary",
    "FeatureMap",
    "Tour",
    "load_model",
    "shape_text",
    "summarize",
    "total_parameters",
    "feature_maps",
    "DEFAULT_TOUR_IMAGES",
    "default_tour_image",
    "tour_input",
    "load_tour_image",
    "tour",
    "tour_file",
]

# LeNet-5's own names for its layers (LeCun et al. 1998, Fig. 2): C = convolution,
# S = subsampling, F = fully connected.  Activations and flatten have none.
_LENET_NAMES = {
    "conv1": "C1",
    "pool1": "S2",
    "conv2": "C3",
    "pool2": "S4",
    "fc1": "F5",
    "fc2": "F6",
    "fc3": "output",
}


@dataclass(frozen=True)
class LayerSummary:
    """One row of a model summary.

    Attributes
    ----------
    name : str
        The layer's key in ``LeNet.layers`` (``"conv1"``, ``"act1"``, ...), or
        ``"input"`` for the first row.
    lenet_name : str
        ``"C1"``, ``"S2"``, ``"C3"``, ``"S4"``, ``"F5"``, ``"F6"``, ``"output"`` or ``""``.
    kind : str
        The layer's class name (``"Conv2d"``, ``"ReLU"``, ``"MaxPool2d"`` ...).
    output_shape : tuple of int
        ``(D, H, W)`` for maps, ``(F,)`` for vectors; no batch axis.
    kernel, stride, padding, pool : tuple of int or None
        ``(kh, kw)`` etc. where the layer has them (``pool`` for pooling layers).
    parameters : int
        Trainable values in the layer.
    """

    name: str
    lenet_name: str
    kind: str
    output_shape: tuple[int, ...]
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    pool: tuple[int, int] | None = None
    parameters: int = 0

    @property
    def shape(self) -> str:
        """``output_shape`` in ``D@WxH`` notation (``"6@28x28"``, or ``"120"``)."""
        return shape_text(self.output_shape)


@dataclass(frozen=True)
class FeatureMap:
    """What one layer produced for one image.

    Attributes
    ----------
    name, lenet_name, kind : str
        As in :class:`LayerSummary`.
    values : ndarray, shape (D, H, W) or (F,)
        The layer's output, float64.
    """

    name: str
    lenet_name: str
    kind: str
    values: np.ndarray

    @property
    def shape(self) -> str:
        """``values.shape`` in ``D@WxH`` notation."""
        return shape_text(self.values.shape)


@dataclass(frozen=True)
class Tour:
    """One image's path through a LeNet.

    Attributes
    ----------
    image : ndarray, shape (C, 32, 32)
        The input in [0, 1], before the model's normalisation.
    maps : list of FeatureMap
        Every layer's output, in order, ending with the logits ``(K,)``.
    probabilities : ndarray, shape (K,)
        Softmax of the logits.
    class_names : list of str
        ``K`` names from the model.
    source : str
        Where the image came from (a path, ``"digit:N"`` or ``"photo:N"``), for titles.
    true_label : str or None
        The image's class where it is known (a held-out digit or photo patch),
        else None (a photo of one's own).  It need not be one of ``class_names``.
    """

    image: np.ndarray
    maps: list[FeatureMap]
    probabilities: np.ndarray
    class_names: list[str]
    source: str = ""
    true_label: str | None = None

    @property
    def prediction(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.probabilities))


def shape_text(shape: Sequence[int]) -> str:
    """``(D, H, W)`` -> ``"D@WxH"`` (LeNet's notation), ``(F,)`` -> ``"F"``.

    Parameters
    ----------
    shape : sequence of int

    Returns
    -------
    str

    Examples
    --------
    >>> shape_text((6, 28, 28)), shape_text((120,))
    ('6@28x28', '120')
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) == 3:
        depth, height, width = shape
        return f"{depth}@{width}x{height}"
    return "x".join(map(str, shape))


def load_model(path: str | os.PathLike | None = None) -> LeNet:
    """Read a model file, or a shipped model by name.

    Parameters
    ----------
    path : str, path-like or None, optional
        A model file, or a shipped model's name (:data:`convfx.models.SHIPPED_MODELS`);
        None is the default shipped model (:data:`convfx.models.DEFAULT_MODEL`).  A
        file that exists wins over a shipped name, as everywhere a model is named
        (:func:`convfx.models.resolve_model`).

    Returns
    -------
    LeNet

    Raises
    ------
    FileError
        If the file is missing or not a LeNet model (one line, naming the file).
    """
    name = DEFAULT_MODEL if path is None else str(path)
    resolved = resolve_model(path)
    if name in SHIPPED_MODELS and resolved == SHIPPED_MODELS[name] and not resolved.is_file():
        raise FileError(
            f"{resolved}: the shipped {name} model is missing; train one with `convfx train -o model.npz` and pass it as MODEL"
        )
    return LeNet.load(resolved)


def _hyper_parameters(layer: Layer) -> dict[str, tuple[int, int]]:
    if isinstance(layer, Conv2d):
        return {"kernel": layer.kernel_size, "stride": layer.stride, "padding": layer.padding}
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        return {"pool": layer.kernel_size, "stride": layer.stride}
    return {}


def _layer_outputs(model: LeNet, image: np.ndarray) -> list[tuple[str, Layer, np.ndarray]]:
    """``(name, layer, output (1, ...))`` for every layer, as :meth:`LeNet.forward` computes them."""
    was_training = model.training
    model.eval()
    try:
        # The same normalisation and loop as LeNet.forward, keeping every layer's output.
        out = (image.astype(model.dtype, copy=False) - model.input_mean[:, None, None]) / model.input_std[:, None, None]
        outputs = []
        for name, layer in model.layers.items():
            out = layer.forward(out)
            outputs.append((name, layer, out))
    finally:
        model.train(was_training)
    return outputs


def summarize(model: LeNet) -> list[LayerSummary]:
    """Every layer of ``model`` with its output shape, hyper-parameters and parameter count.

    Shapes are found by running a blank image through the layers, so they are what
    the layers really produce.

    Parameters
    ----------
    model : LeNet

    Returns
    -------
    list of LayerSummary
        An ``"input"`` row ``(C, 32, 32)`` and then one row per layer in order.

    Examples
    --------
    >>> rows = summarize(LeNet(1, 10, seed=0))
    >>> [(row.lenet_name, row.shape) for row in rows if row.lenet_name][:4]
    [('C1', '6@28x28'), ('S2', '6@14x14'), ('C3', '16@10x10'), ('S4', '16@5x5')]
    >>> sum(row.parameters for row in rows)
    61706
    """
    blank = np.zeros((1, model.in_channels, IMAGE_SIZE, IMAGE_SIZE), dtype=model.dtype)
    rows = [LayerSummary("input", "", "Input", (model.in_channels, IMAGE_SIZE, IMAGE_SIZE))]
    for name, layer, out in _layer_outputs(model, blank):
        hyper = _hyper_parameters(layer)
        rows.append(
            LayerSummary(
                name,
                _LENET_NAMES.get(name, ""),
                type(layer).__name__,
                tuple(out.shape[1:]),
                kernel=hyper.get("kernel"),
                stride=hyper.get("stride"),
                padding=hyper.get("padding"),
                pool=hyper.get("pool"),
                parameters=sum(int(p.value.size) for p in layer.parameters()),
            )
        )
    return rows


def total_parameters(model: LeNet) -> int:
    """Trainable values in ``model`` (61,706 for a gray, 10-class ReLU LeNet-5).

    Parameters
    ----------
    model : LeNet

    Returns
    -------
    int
    """
    return sum(int(p.value.size) for p in model.parameters())


def feature_maps(model: LeNet, image: np.ndarray) -> list[FeatureMap]:
    """What every layer of ``model`` produces for one image.

    Parameters
    ----------
    model : LeNet
    image : ndarray, shape (C, 32, 32)
        Pixels in [0, 1] (the model applies its own ``input_mean``/``input_std``).

    Returns
    -------
    list of FeatureMap
        One per layer, in order; maps ``(D, H, W)``, vectors ``(F,)``; the last is
        the logits ``(K,)``.

    Raises
    ------
    ParameterError
        If ``image`` is not ``(C, 32, 32)`` with the model's ``C``.
    """
    image = np.asarray(image)
    expected = (model.in_channels, IMAGE_SIZE, IMAGE_SIZE)
    if image.shape != expected:
        raise ParameterError(f"image: expected shape {expected} for this model, found {image.shape}")
    return [
        FeatureMap(name, _LENET_NAMES.get(name, ""), type(layer).__name__, out[0].astype(np.float64))
        for name, layer, out in _layer_outputs(model, image[None])
    ]


def tour(model: LeNet, image: np.ndarray, *, source: str = "", true_label: str | None = None) -> Tour:
    """Run one ``(C, 32, 32)`` image through ``model``, keeping every layer's output.

    See :func:`feature_maps` for the parameters; ``source`` names the image in
    titles, ``true_label`` is its class where known.

    Parameters
    ----------
    model : LeNet
    image : ndarray, shape (C, 32, 32)
    source : str, optional
    true_label : str, optional

    Returns
    -------
    Tour
    """
    maps = feature_maps(model, image)
    probabilities = softmax(maps[-1].values[None])[0]
    return Tour(np.asarray(image, dtype=np.float64), maps, probabilities, list(model.class_names), source, true_label)


#: The image ``convfx tour`` shows when none is given, by the data set the model was
#: trained on: a held-out 7, or the astronaut's smile from a held-out region.
DEFAULT_TOUR_IMAGES = {"digits": "digit:5", "photos": "photo:1", "photos-rgb": "photo:1"}


def default_tour_image(model: LeNet) -> str:
    """The held-out image to tour ``model`` with when none is named (:data:`DEFAULT_TOUR_IMAGES`).

    Parameters
    ----------
    model : LeNet

    Returns
    -------
    str
        An image spec such as ``"photo:N"``, as :func:`tour_file` takes it.

    Raises
    ------
    ParameterError
        If the model was trained on a data set without a default image.
    """
    dataset = model.metadata.get("dataset")
    if dataset not in DEFAULT_TOUR_IMAGES:
        raise ParameterError(
            f"image: expected an image for a model trained on {dataset!r}; one is chosen only for models "
            f"trained on {', '.join(DEFAULT_TOUR_IMAGES)}"
        )
    return DEFAULT_TOUR_IMAGES[str(dataset)]


def _held_out(spec: str, *, channels: int) -> tuple[np.ndarray, str]:
    """``digit:N`` or ``photo:N``: the N-th held-out image of the bundled digits or photos, and its class name."""
    kind, _, text = spec.partition(":")
    if kind == "digit":
        data = load_digits()
    else:
        from .photos import load_photos

        data = load_photos(color=channels == 3, exposure=False)  # held-out patches are never varied
    count = len(data.test_labels)
    index = int(text) if text.isdigit() else -1
    if not 0 <= index < count:
        what = "a test-set digit" if kind == "digit" else "a held-out patch of the bundled photos"
        raise ParameterError(f"image: {spec!r}: expected {kind}:N with N in 0..{count - 1} ({what})")
    return data.test_images[index], data.class_names[int(data.test_labels[index])]


def tour_input(
    spec: str | os.PathLike,
    *,
    channels: int,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
) -> tuple[np.ndarray, str | None]:
    """An image as a LeNet input, ``(channels, 32, 32)`` float32 in [0, 1], and its true label.

    Parameters
    ----------
    spec : str or path
        An image file; ``"digit:N"``, the N-th held-out image of the bundled
        digits (:func:`convfx.nn.load_digits`); or ``"photo:N"``, the N-th
        held-out patch of the bundled photos (:func:`convfx.nn.photos.load_photos`).
    channels : {1, 3}
        The model's input channels: a colour photo becomes gray (luminance) for 1;
        a gray image is repeated to RGB for 3.
    max_pixels : int, optional
        Decompression-bomb guard of :func:`convfx.imageio.read_image`.

    Returns
    -------
    image : ndarray, shape (channels, 32, 32)
    true_label : str or None
        The class name of a held-out digit or patch; None for a file.

    Notes
    -----
    A photo is centre-cropped to a square and resized to 32x32.  Alpha is ignored.
    The digits data set has light strokes on black; a photo of dark ink on white
    paper must be inverted first to look like it.

    Raises
    ------
    FileError
        If the file cannot be read.
    ParameterError
        For a bad ``digit:N`` / ``photo:N`` or ``channels``.
    """
    if channels not in (1, 3):
        raise ParameterError(f"channels: expected 1 (gray) or 3 (RGB), found {channels!r}")
    if isinstance(spec, str) and spec.startswith(("digit:", "photo:")):
        image, label = _held_out(spec, channels=channels)
        if image.shape[0] != channels:  # a gray digit for an RGB model
            image = np.repeat(image, channels, axis=0)
        return image, label
    picture = imageio.read_image(spec, max_pixels=max_pixels)
    pixels = picture.pixels.astype(np.float32) / picture.max_value
    if pixels.ndim == 3 and channels == 1:
        pixels = to_luminance(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], channels, axis=2)
    return square_resize(pixels), None


def load_tour_image(
    spec: str | os.PathLike,
    *,
    channels: int,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """The image of :func:`tour_input` without its label: ``(channels, 32, 32)`` float32 in [0, 1].

    Parameters
    ----------
    spec : str or path-like
        An image file, ``"digit:N"`` or ``"photo:N"``.
    channels : int
        The model's input channels.
    max_pixels : int, optional
        The largest image read.

    Returns
    -------
    ndarray of float32, shape (channels, 32, 32)
    """
    return tour_input(spec, channels=channels, max_pixels=max_pixels)[0]


def tour_file(
    model: str | os.PathLike | None,
    image: str | os.PathLike | None = None,
    *,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
) -> Tour:
    """:func:`tour` of a model (see :func:`load_model`) on an image file, ``"digit:N"`` or ``"photo:N"``.

    With no ``image``, the model's :func:`default_tour_image`.

    Parameters
    ----------
    model : str, path-like or None
    image : str, path-like or None, optional
    max_pixels : int, optional
        The largest image read.

    Returns
    -------
    Tour

    Raises
    ------
    FileError
        Missing or unreadable model or image.
    ParameterError
        A bad ``digit:N`` / ``photo:N``; no image for a model without a default one.
    """
    network = load_model(model)
    spec = default_tour_image(network) if image is None else image
    pixels, label = tour_input(spec, channels=network.in_channels, max_pixels=max_pixels)
    return tour(network, pixels, source=str(spec), true_label=label)
