"""convfx: exact, fast convolution; named filter banks; a from-scratch numpy CNN.

The public names live here; see the README for a tour.

Importing this package imports nothing heavy: each public name is imported from
its module on first use (PEP 562), and so is each submodule (``convfx.render``).
That keeps ``python -m convfx`` and the ``convfx`` command quick to reach their
own code, which installs the handling of Ctrl-C and SIGTERM before the libraries
load, and keeps batch workers and library users from paying for what they do not
use.  The steps that modules register (the edge detectors, ``learned:``) are
loaded by :mod:`convfx.steps` on the first lookup.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it, imported on first use.
_LAZY = {
    "ConvfxError": "convfx.errors",
    "FileError": "convfx.errors",
    "ParameterError": "convfx.errors",
    "ParameterTypeError": "convfx.errors",
    "correlate": "convfx.conv",
    "convolve": "convfx.conv",
    "output_size": "convfx.conv",
    "Filter": "convfx.banks",
    "Kernel": "convfx.banks",
    "UnknownFilterError": "convfx.banks",
    "get_filter": "convfx.banks",
    "list_filters": "convfx.banks",
    "load_bank": "convfx.banks",
    "Effect": "convfx.effects",
    "apply": "convfx.effects",
    "map_range": "convfx.ranges",
    "CannyStages": "convfx.edges",
    "canny": "convfx.edges",
    "canny_stages": "convfx.edges",
    "dog": "convfx.edges",
    "marr_hildreth": "convfx.edges",
    "Picture": "convfx.imageio",
    "read_image": "convfx.imageio",
    "write_image": "convfx.imageio",
    "render_file": "convfx.render",
    "LeNet": "convfx.nn",
    "TrainConfig": "convfx.nn",
    "train": "convfx.nn",
    "evaluate": "convfx.nn",
    "load_dataset": "convfx.nn",
    "match_kernels": "convfx.compare",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found directly from now on
        return value
    if not name.startswith("__"):
        try:  # a submodule: convfx.render, convfx.edges, ...
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'convfx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
