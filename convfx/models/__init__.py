"""The LeNet-5 models shipped with convfx, by name (``tools/ship_models.py`` in the
repository retrains them with the project's own ``convfx train``).

:data:`DEFAULT_MODEL` (``photos``, trained on patches of natural photos, whose
first layer is mostly edge detectors) is what ``convfx compare``, ``convfx tour``,
``summary`` and ``learned:`` use when no model is named.

Only data and its names live here; loading goes through
:meth:`convfx.nn.LeNet.load`.  Importing this package must stay free of numpy
and the network code.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ParameterError

__all__ = ["DIRECTORY", "SHIPPED_MODELS", "DEFAULT_MODEL", "shipped_model", "resolve_model"]

DIRECTORY = Path(__file__).resolve().parent

#: The models shipped with convfx, by the short name that ``learned:``,
#: ``convfx compare``, ``summary`` and ``tour`` accept in place of a path:
#: ``"photos"`` (gray, 14 classes: which bundled photo a patch comes from),
#: ``"digits"`` (gray, 10 classes) and ``"shapes"`` (RGB, 8 classes).
SHIPPED_MODELS = {
    "photos": DIRECTORY / "lenet_photos.npz",
    "digits": DIRECTORY / "lenet_digits.npz",
    "shapes": DIRECTORY / "lenet_shapes.npz",
}
#: The shipped model used when none is named.
DEFAULT_MODEL = "photos"


def shipped_model(name: str = DEFAULT_MODEL) -> Path:
    """The path of a shipped model (it may be missing from a source checkout).

    Parameters
    ----------
    name : str, optional
        One of :data:`SHIPPED_MODELS`.

    Returns
    -------
    Path
    """
    if name not in SHIPPED_MODELS:
        raise ParameterError(f"model: invalid value {name!r}; expected one of {list(SHIPPED_MODELS)} or a file")
    return SHIPPED_MODELS[name]


def resolve_model(model: str | os.PathLike | None) -> Path:
    """A model file from a path or a shipped model's name (``None``: :data:`DEFAULT_MODEL`).

    The one rule wherever a model is named (``compare``, ``learned:``,
    ``summary``, ``tour``, ``evaluate``): a path that exists wins over a shipped name.

    Parameters
    ----------
    model : str, path-like or None

    Returns
    -------
    Path
    """
    if model is None:
        return shipped_model(DEFAULT_MODEL)
    path = Path(model)
    if not os.path.exists(path) and str(model) in SHIPPED_MODELS:
        return SHIPPED_MODELS[str(model)]
    return path
