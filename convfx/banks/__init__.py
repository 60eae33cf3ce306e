"""Filter banks: named kernels read from files, validated, and handed out as filters.

A *bank* is a file of named kernels.  The banks shipped with convfx live in
``filters/*.toml``; users bring their own as TOML or JSON in the same schema, as
``.npy`` / ``.npz`` arrays, or as an ImageMagick kernel string.  Everything ends up
as :class:`Filter` objects made of :class:`Kernel` objects, and every error names
the file and the entry at fault.

The package, by job:

* :mod:`.model` -- :class:`Kernel`, :class:`Filter` and what makes a kernel valid;
* :mod:`.files` -- the shipped banks and users' TOML/JSON/NPY/NPZ files (the schema
  is in its docstring);
* :mod:`.imagemagick` -- ImageMagick kernel strings;
* :mod:`.registry` -- filters by name, and rebuilt by their factory with parameters
  (the factories themselves are in :mod:`convfx.kernels`);
* :mod:`.text` -- a filter as ``convfx show`` prints it.

Nothing here filters images (that is :mod:`convfx.effects` through the engine in
:mod:`convfx.conv`), reads images, or evaluates anything it reads.
"""

from __future__ import annotations

from .files import (
    KERNEL_FILE_SUFFIXES,
    bank_directory,
    builtin_filters,
    filter_from_array,
    load_bank,
    load_kernel_file,
)
from .imagemagick import looks_like_imagemagick, parse_imagemagick
from .model import COMBINE_RULES, OPERATIONS, Filter, Kernel, KernelFileError, UnknownFilterError, closest_names
from .registry import factory_parameters, get_filter, list_filters, with_parameters
from .text import format_filter

__all__ = [
    "OPERATIONS",
    "COMBINE_RULES",
    "KERNEL_FILE_SUFFIXES",
    "Kernel",
    "Filter",
    "UnknownFilterError",
    "KernelFileError",
    "list_filters",
    "get_filter",
    "closest_names",
    "builtin_filters",
    "load_bank",
    "load_kernel_file",
    "parse_imagemagick",
    "looks_like_imagemagick",
    "filter_from_array",
    "with_parameters",
    "format_filter",
    "factory_parameters",
    "bank_directory",
]
