"""convfx: exact, fast convolution; named filter banks; a from-scratch numpy CNN.

The public names live here; see the README for a tour.
"""

from __future__ import annotations

from .banks import Filter, Kernel, UnknownFilterError, get_filter, list_filters, load_bank
from .conv import convolve, correlate, output_size
from .effects import Effect, apply
from .ranges import map_range
from .edges import CannyStages, canny, canny_stages, dog, marr_hildreth  # also registers the detectors
from .errors import ConvfxError, FileError, ParameterError, ParameterTypeError
from .imageio import Picture, read_image, write_image
from .render import render_file
from . import learned  # noqa: F401  (registers the learned:MODEL effect steps without importing the network)

__version__ = "0.1.0"

# The learning half is imported on first use, so that `import convfx` (and every
# batch worker) stays quick for people who only filter images.
_LAZY = {
    "LeNet": "convfx.nn",
    "TrainConfig": "convfx.nn",
    "train": "convfx.nn",
    "evaluate": "convfx.nn",
    "load_dataset": "convfx.nn",
    "match_kernels": "convfx.compare",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'convfx' has no attribute {name!r}")

__all__ = [
    "__version__",
    "correlate",
    "convolve",
    "output_size",
    "apply",
    "canny",
    "canny_stages",
    "marr_hildreth",
    "dog",
    "map_range",
    "render_file",
    "list_filters",
    "get_filter",
    "load_bank",
    "read_image",
    "write_image",
    "Effect",
    "CannyStages",
    "Filter",
    "Kernel",
    "Picture",
    "UnknownFilterError",
    "ConvfxError",
    "FileError",
    "ParameterError",
    "ParameterTypeError",
    "LeNet",
    "TrainConfig",
    "train",
    "evaluate",
    "load_dataset",
    "match_kernels",
]
