"""Filter banks: read kernel files, validate them, and hand out named filters.

A *bank* is a file of named kernels.  The banks shipped with convfx live in
``filters/*.toml`` (installed as the data package ``convfx.filters``); users bring
their own as TOML or JSON in the same schema, as ``.npy`` / ``.npz`` arrays, or as an
ImageMagick kernel string.  Everything ends up as :class:`Filter` objects made of
:class:`Kernel` objects, and every error names the file and the entry at fault.

This module must not filter images (that is :mod:`convfx.effects` through the
engine in :mod:`convfx.conv`), read images, or evaluate anything it reads: numbers
are parsed by ``tomllib`` / ``json`` / ``numpy`` or by a strict regular expression,
and ``.npy`` / ``.npz`` files are loaded with ``allow_pickle=False``.

The bank schema (one TOML table, or JSON object, per filter; the key is its name)::

    [sobel_x]
    description = "Sobel derivative along x"     # one line
    matrix = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]  # rows of numbers, or instead
    # column = [1, 2, 1] and row = [-1, 0, 1]    # a separable pair: outer(column, row)
    scale = 1                                    # number or "p/q", multiplied in
    operation = "correlate"                      # or "convolve": what it is written for
    range = "abs"                                # default output range
    gray = false                                 # filter the luminance only by default
    factory = "gaussian"                         # optional: name:key=value rebuilds it

    [sobel]
    description = "Sobel gradient magnitude"
    combine = "magnitude"                        # or "max", "difference"
    inputs = ["sobel_x", "sobel_y"]
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import cv2
import numpy as np

from . import imageio
from .errors import ParameterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "MAX_KERNEL_SIDE",
    "MAX_KERNEL_FILE_BYTES",
    "OPERATIONS",
    "OUTPUT_RANGES",
    "COMBINE_RULES",
    "KERNEL_FILE_SUFFIXES",
    "Kernel",
    "Filter",
    "UnknownFilterError",
    "KernelFileError",
    "list_filters",
    "get_filter",
    "builtin_filters",
    "load_bank",
    "load_kernel_file",
    "parse_imagemagick",
    "looks_like_imagemagick",
    "filter_from_array",
    "with_parameters",
    "dog_kernels",
    "format_filter",
    "factory_parameters",
    "bank_directory",
]

#: Largest kernel side accepted from a file or a factory.  255 x 255 taps is already
#: far beyond any photographic filter (a Gaussian of sigma 40); larger "kernels" are
#: almost always a wrong file (an image saved as .npy) and would take minutes per photo.
MAX_KERNEL_SIDE = 255
#: Largest kernel file read (16 MiB): a 255 x 255 float64 kernel is 0.5 MiB.
MAX_KERNEL_FILE_BYTES = 16 * 1024 * 1024

OPERATIONS = ("correlate", "convolve")
#: How a float response becomes pixels; see :func:`convfx.effects.map_range`.
#: ``binary`` is for edge maps (the detectors of :mod:`convfx.edges`).
OUTPUT_RANGES = ("abs", "clip", "signed", "normalize", "binary")
#: How the responses of several kernels become one: sqrt of the sum of squares, the
#: largest response, or the first minus the second.
COMBINE_RULES = ("magnitude", "max", "difference")
KERNEL_FILE_SUFFIXES = (".toml", ".json", ".npy", ".npz")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FRACTION = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")
_ENTRY_KEYS = frozenset(
    {"description", "matrix", "column", "row", "scale", "operation", "range", "gray", "factory", "combine", "inputs"}
)


class UnknownFilterError(ParameterError):
    """No filter has this name; the message lists the closest names."""


class KernelFileError(ParameterError):
    """A kernel file or kernel string is missing, unreadable or invalid.

    A usage error (exit code 2): the file is an option the user chose, not one of
    the images being processed.
    """


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Kernel:
    """One 2-D kernel as written in its bank, and as it touches the pixels.

    Attributes
    ----------
    name : str
        The entry it was written in (``"sobel_x"``), or a label for arrays.
    values : ndarray, shape (kh, kw), float64, read-only
        The numbers as written, before ``scale`` and before any flip.
    scale : float
        Multiplies ``values``; ``scale_text`` is how the file wrote it (``"1/16"``).
    operation : {"correlate", "convolve"}
        What ``values`` is written for.  A convolution kernel is rotated by 180
        degrees to become the correlation kernel that is applied.
    """

    name: str
    values: np.ndarray
    scale: float = 1.0
    scale_text: str = "1"
    operation: str = "correlate"

    @property
    def shape(self) -> tuple[int, int]:
        """``(kh, kw)``."""
        return self.values.shape  # type: ignore[return-value]

    @property
    def weights(self) -> np.ndarray:
        """The correlation kernel that touches the pixels, shape (kh, kw), float64.

        ``values * scale``, rotated by 180 degrees if written for convolution, so
        that ``convfx.correlate(image, kernel.weights)`` is the filter.
        """
        scaled = self.values * self.scale
        if self.operation == "convolve":
            scaled = scaled[::-1, ::-1]
        return _read_only(scaled)


@dataclass(frozen=True, eq=False)
class Filter:
    """A named filter: one kernel, or several whose responses are combined.

    Attributes
    ----------
    name : str
        Lower-case name (``"sobel"``).
    description : str
        One line for ``convfx filters``.
    kernels : tuple of Kernel
        One kernel, or the inputs of ``combine`` in order.
    combine : {"magnitude", "max", "difference"} or None
        How several responses become one (``None`` for a single kernel).
    output_range : {"abs", "clip", "signed", "normalize"}
        Default mapping of the float response to pixels.
    gray : bool
        Whether to filter the luminance only by default.
    family : str
        The bank it comes from (``"edges"``) or ``"user"``.
    source : str
        File (or ``"array"``, ``"ImageMagick string"``) it was defined in.
    factory : str or None
        Kernel family that :func:`with_parameters` rebuilds it with.
    parameters : dict
        The parameters it was built with (empty for a bank entry as written).
    """

    name: str
    description: str
    kernels: tuple[Kernel, ...]
    combine: str | None = None
    output_range: str = "clip"
    gray: bool = False
    family: str = "user"
    source: str = ""
    factory: str | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """``(kh, kw)`` of the largest kernel."""
        return (max(k.shape[0] for k in self.kernels), max(k.shape[1] for k in self.kernels))

    @property
    def size_label(self) -> str:
        """``"3x3"``, or ``"2 x 3x3"`` for two combined 3x3 kernels."""
        kh, kw = self.size
        count = len(self.kernels)
        return f"{kh}x{kw}" if count == 1 else f"{count} x {kh}x{kw}"


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)  # a private copy that nobody else can change
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- the shipped banks


def bank_directory() -> Path:
    """The folder holding the shipped ``*.toml`` banks.

    The installed data package ``convfx.filters`` when there is one, else the
    ``filters/`` folder at the top of a source tree (running without installing).
    """
    try:
        folder = importlib.resources.files("convfx.filters")
        if folder.is_dir() and any(p.name.endswith(".toml") for p in folder.iterdir()):
            return Path(str(folder))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "filters"


@functools.lru_cache(maxsize=1)
def builtin_filters() -> Mapping[str, Filter]:
    """Every shipped filter by name, loaded once per process.

    Raises
    ------
    KernelFileError
        If a shipped bank is missing or invalid (a broken installation), or two
        banks define the same name.
    """
    folder = bank_directory()
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise KernelFileError(f"{folder}: expected the shipped *.toml filter banks, found none (broken installation?)")
    tables: dict[str, tuple[str, str, Mapping[str, Any]]] = {}  # name -> (family, file, raw entry)
    for path in files:
        for name, raw in _read_tables(path).items():
            if name in tables:
                raise KernelFileError(f"{path}: [{name}] is already defined in {tables[name][1]}")
            tables[name] = (path.stem, str(path), raw)
    filters = _build_filters(tables, fallback={})
    return _FrozenDict(filters)


class _FrozenDict(dict):
    """A dict that refuses changes, so the cached shipped banks cannot be altered."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("the shipped filter banks are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]


def list_filters(family: str | None = None) -> list[Filter]:
    """The shipped filters, sorted by family then name.

    Parameters
    ----------
    family : str, optional
        Only this bank (``"edges"``, ``"blur"``, ...).

    Returns
    -------
    list of Filter

    Raises
    ------
    ParameterError
        If ``family`` names no bank.

    Examples
    --------
    >>> import convfx
    >>> [f.name for f in convfx.list_filters("basic")]
    ['identity']
    """
    filters = sorted(builtin_filters().values(), key=lambda f: (f.family, f.name))
    if family is None:
        return filters
    families = sorted({f.family for f in filters})
    if family not in families:
        raise ParameterError(f"family: invalid value {family!r}; expected one of {families}")
    return [f for f in filters if f.family == family]


def get_filter(name: str) -> Filter:
    """The shipped filter called ``name``.

    Raises
    ------
    UnknownFilterError
        If there is none; the message lists the closest names.

    Examples
    --------
    >>> import convfx
    >>> convfx.get_filter("laplacian").kernels[0].weights
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    filters = builtin_filters()
    if not isinstance(name, str):
        raise UnknownFilterError(f"effect: expected a filter name, found {name!r}")
    if name in filters:
        return filters[name]
    raise UnknownFilterError(f"effect: unknown filter {name!r}; {_closest(name, filters)}")


def _closest(name: str, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    wanted = name.lower().strip(" _-")  # "SOBEL" -> sobel, "canny_" -> canny
    close = [by_lower[c] for c in difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.5)]
    if not close:  # prefixes catch "gauss" -> gaussian_blur that difflib scores low
        close = [c for c in choices if c.lower().startswith(wanted[:3])][:5]
    hint = f"closest: {', '.join(close)}" if close else "none is close"
    return f"{hint} (`convfx filters` lists all {len(choices)})"


# --------------------------------------------------------------------------- bank files


def load_bank(path: str | Path) -> dict[str, Filter]:
    """Load every filter of a user's kernel file.

    Parameters
    ----------
    path : str or Path
        ``.toml`` / ``.json`` (the bank schema; ``inputs`` may name shipped
        filters), ``.npy`` (one 2-D array) or ``.npz`` (one filter per array,
        named by its key).  Arrays are correlation kernels, as
        :func:`convfx.correlate` takes them.

    Returns
    -------
    dict of str to Filter
        In file order, ``family="user"``.

    Raises
    ------
    KernelFileError
        Missing, empty or too large file; not valid TOML/JSON/NPY/NPZ; pickled
        objects; ragged rows, non-numbers, NaN/inf, empty or oversized kernels;
        unknown keys.  The message names the file and the entry.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in KERNEL_FILE_SUFFIXES:
        raise KernelFileError(
            f"{path}: unsupported kernel file type {suffix or '(none)'!r}; expected one of {list(KERNEL_FILE_SUFFIXES)}"
        )
    _check_kernel_file(path)
    if suffix in (".npy", ".npz"):
        return _load_arrays(path)
    tables = _read_tables(path)
    entries = {name: ("user", str(path), raw) for name, raw in tables.items()}
    return _build_filters(entries, fallback=builtin_filters())


def load_kernel_file(path: str | Path, name: str | None = None) -> Filter:
    """One filter from a user's kernel file.

    Parameters
    ----------
    path : str or Path
        As for :func:`load_bank`.
    name : str, optional
        The entry (or ``.npz`` key) to take.  Without it the file must hold one
        filter that no other entry uses as an input (e.g. ``edge`` in a file with
        ``edge_x``, ``edge_y`` and ``edge = magnitude of both``).

    Raises
    ------
    KernelFileError
        As for :func:`load_bank`, or when the choice is ambiguous.
    UnknownFilterError
        If ``name`` is not in the file.
    """
    filters = load_bank(path)
    if name is not None:
        if name not in filters:
            raise UnknownFilterError(f"{path}: no filter {name!r}; it holds {', '.join(filters)}")
        return filters[name]
    used = {kernel.name for f in filters.values() if f.combine for kernel in f.kernels}
    top = [f for f in filters.values() if f.name not in used]
    if len(top) == 1:
        return top[0]
    raise KernelFileError(f"{path}: holds {len(top)} filters ({', '.join(f.name for f in top)}); pick one as {path}#NAME")


def _check_kernel_file(path: Path) -> None:
    if not path.exists():
        raise KernelFileError(f"{path}: kernel file not found")
    if path.is_dir():
        raise KernelFileError(f"{path}: is a folder, expected a kernel file")
    size = path.stat().st_size
    if size == 0:
        raise KernelFileError(f"{path}: empty kernel file (0 bytes)")
    if size > MAX_KERNEL_FILE_BYTES:
        raise KernelFileError(
            f"{path}: {size:,} bytes is too large for a kernel file (limit {MAX_KERNEL_FILE_BYTES:,} bytes)"
        )


def _read_tables(path: Path) -> Mapping[str, Any]:
    """The top-level tables of a TOML or JSON bank, undecoded."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KernelFileError(f"{path}: not a text file (expected UTF-8 TOML or JSON)") from None
    except OSError as exc:
        raise KernelFileError(f"{path}: cannot read kernel file: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            tables = json.loads(text)
        else:
            tables = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise KernelFileError(f"{path}: not valid {kind} ({exc})") from None
    if not isinstance(tables, dict) or not tables:
        raise KernelFileError(f"{path}: expected one table per filter ([name] with a matrix), found none")
    return tables


def _load_arrays(path: Path) -> dict[str, Filter]:
    arrays = imageio.read_arrays(
        path, what=f"{path.suffix.lower()} kernel file", error=KernelFileError, max_values=MAX_KERNEL_SIDE**2
    )
    if not arrays:
        raise KernelFileError(f"{path}: holds no arrays")
    filters = {}
    for key, array in arrays.items():
        where = f"{path}: array {key!r}" if len(arrays) > 1 or path.suffix.lower() == ".npz" else str(path)
        filters[key] = filter_from_array(array, name=key, source=where)
    return filters


def filter_from_array(
    array: np.ndarray,
    *,
    name: str = "kernel",
    source: str = "array",
    operation: str = "correlate",
) -> Filter:
    """A :class:`Filter` from one 2-D array (a correlation kernel by default).

    The default output range is ``"abs"`` when the kernel sums to zero (a
    derivative: both signs matter) and ``"clip"`` otherwise (a blur or sharpen).

    Raises
    ------
    KernelFileError
        If the array is not 2-D, is empty or too large, or holds NaN/inf.
    """
    where = "kernel" if source == "array" else source
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise KernelFileError(f"{where}: expected real numbers, found dtype {array.dtype}")
    matrix = _checked_matrix(array, where)
    kernel = Kernel(name=name, values=_read_only(matrix), operation=operation)
    return Filter(
        name=name,
        description=f"{kernel.shape[0]}x{kernel.shape[1]} kernel from {source}",
        kernels=(kernel,),
        output_range=_default_range(matrix),
        source=source,
    )


def _default_range(matrix: np.ndarray) -> str:
    total, spread = float(np.sum(matrix)), float(np.sum(np.abs(matrix)))
    return "abs" if abs(total) <= 1e-9 * spread else "clip"


# --------------------------------------------------------------------------- validation


def _build_filters(
    tables: Mapping[str, tuple[str, str, Any]],
    *,
    fallback: Mapping[str, Filter],
) -> dict[str, Filter]:
    """Filters from raw entries ``name -> (family, file, table)``; combined ones last.

    ``inputs`` are looked up among these entries first, then in ``fallback`` (the
    shipped filters, for user banks).  A combined filter may not be an input:
    that keeps every filter one level deep and rules out cycles.
    """
    filters: dict[str, Filter] = {}
    combined = []
    for name, (family, source, raw) in tables.items():
        where = f"{source}: [{name}]"
        entry = _checked_entry(name, raw, where)
        if "combine" in entry:
            combined.append((name, family, source, entry, where))
            continue
        kernel = _entry_kernel(name, entry, where)
        filters[name] = Filter(
            name=name,
            description=entry.get("description", ""),
            kernels=(kernel,),
            output_range=entry.get("range") or _default_range(kernel.weights),
            gray=entry.get("gray", False),
            family=family,
            source=source,
            factory=entry.get("factory"),
        )
    for name, family, source, entry, where in combined:
        kernels = []
        for input_name in entry["inputs"]:
            target = filters.get(input_name) or fallback.get(input_name)
            if target is None:
                known = set(filters) | set(fallback)
                raise KernelFileError(f"{where}: inputs: unknown filter {input_name!r}; {_closest(input_name, known)}")
            if target.combine is not None:
                raise KernelFileError(f"{where}: inputs: {input_name!r} is itself combined; list its kernels instead")
            kernels.append(target.kernels[0])
        filters[name] = Filter(
            name=name,
            description=entry.get("description", ""),
            kernels=tuple(kernels),
            combine=entry["combine"],
            output_range=entry.get("range") or "abs",
            gray=entry.get("gray", False),
            family=family,
            source=source,
            factory=entry.get("factory"),
        )
    # Keep the file's order, which is the order a person wrote them in.
    return {name: filters[name] for name in tables}


def _checked_entry(name: str, raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise KernelFileError(f"{where}: invalid filter name; expected lower-case letters, digits and _ (a-z first)")
    if not isinstance(raw, dict):
        raise KernelFileError(f"{where}: expected a table with a matrix, found {type(raw).__name__} {raw!r:.40}")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise KernelFileError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(_ENTRY_KEYS)}")
    _check_choice(raw, "operation", OPERATIONS, where)
    _check_choice(raw, "range", OUTPUT_RANGES, where)
    _check_choice(raw, "combine", COMBINE_RULES, where)
    _check_choice(raw, "factory", tuple(_FACTORIES), where)
    if not isinstance(raw.get("description", ""), str):
        raise KernelFileError(f"{where}: description: expected a string, found {raw['description']!r}")
    if not isinstance(raw.get("gray", False), bool):
        raise KernelFileError(f"{where}: gray: expected true or false, found {raw['gray']!r}")
    has_matrix = "matrix" in raw
    has_pair = "column" in raw or "row" in raw
    if "combine" in raw:
        inputs = raw.get("inputs")
        if not isinstance(inputs, list) or len(inputs) < 2 or not all(isinstance(i, str) for i in inputs):
            raise KernelFileError(f"{where}: inputs: expected a list of at least two filter names, found {inputs!r}")
        if raw["combine"] == "difference" and len(inputs) != 2:
            raise KernelFileError(f"{where}: inputs: 'difference' takes exactly two filters, found {len(inputs)}")
        if has_matrix or has_pair:
            raise KernelFileError(f"{where}: a combined filter takes inputs, not a matrix or column/row")
        return raw
    if "inputs" in raw:
        raise KernelFileError(f"{where}: inputs: only allowed with combine")
    if has_matrix == has_pair:
        raise KernelFileError(f"{where}: expected either matrix or a column/row pair, found {'both' if has_matrix else 'neither'}")
    if has_pair and ("column" not in raw or "row" not in raw):
        raise KernelFileError(f"{where}: a separable kernel needs both column and row")
    return raw


def _check_choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str) -> None:
    if key in raw and raw[key] not in choices:
        raise KernelFileError(f"{where}: {key}: invalid value {raw[key]!r}; expected one of {list(choices)}")


def _entry_kernel(name: str, entry: Mapping[str, Any], where: str) -> Kernel:
    if "matrix" in entry:
        values = _numeric_rows(entry["matrix"], f"{where}: matrix")
    else:
        column = _numeric_rows([entry["column"]], f"{where}: column")[0]
        row = _numeric_rows([entry["row"]], f"{where}: row")[0]
        values = _checked_matrix(np.outer(column, row), where)
    scale, scale_text = _scale(entry.get("scale", 1), f"{where}: scale")
    peak = float(np.abs(values).max()) * abs(scale)
    if peak > _FLOAT32_MAX:  # photos are filtered in float32
        raise KernelFileError(f"{where}: scale x matrix reaches {peak:g}, beyond float32's range (|x| <= {_FLOAT32_MAX:.4g})")
    return Kernel(
        name=name,
        values=_read_only(values),
        scale=scale,
        scale_text=scale_text,
        operation=entry.get("operation", "correlate"),
    )


def _numeric_rows(rows: Any, where: str) -> np.ndarray:
    """A list of equally long lists of numbers -> a checked float64 matrix."""
    if not isinstance(rows, list) or not rows:
        raise KernelFileError(f"{where}: expected a non-empty list of rows of numbers, found {rows!r:.40}")
    lengths = []
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise KernelFileError(f"{where}: row {i}: expected a list of numbers, found {row!r:.40}")
        for j, value in enumerate(row):
            # bool is an int to Python but never a kernel weight.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise KernelFileError(f"{where}: row {i}, column {j}: expected a number, found {value!r:.40}")
        lengths.append(len(row))
    if len(set(lengths)) > 1:
        short = min(range(len(lengths)), key=lengths.__getitem__)
        raise KernelFileError(
            f"{where}: ragged rows; expected {max(lengths)} numbers in every row, found {lengths[short]} in row {short}"
        )
    return _checked_matrix(np.array(rows, dtype=np.float64), where)


def _checked_matrix(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim != 2:
        raise KernelFileError(f"{where}: expected a 2-D kernel (kh, kw), found shape {array.shape}")
    if array.size == 0:
        raise KernelFileError(f"{where}: expected a non-empty kernel, found shape {array.shape}")
    if max(array.shape) > MAX_KERNEL_SIDE:
        raise KernelFileError(
            f"{where}: kernel {array.shape[0]}x{array.shape[1]} is too large (at most {MAX_KERNEL_SIDE} per side)"
        )
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise KernelFileError(f"{where}: expected finite numbers, found NaN or inf")
    peak = float(np.abs(array).max())
    if peak > _FLOAT32_MAX:  # photos are filtered in float32
        raise KernelFileError(f"{where}: expected numbers within float32's range (|x| <= {_FLOAT32_MAX:.4g}), found {peak:g}")
    return array


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _scale(value: Any, where: str) -> tuple[float, str]:
    """``(scale, how it was written)`` from a number or a ``"p/q"`` string."""
    if isinstance(value, str):
        match = _FRACTION.match(value)
        if not match or float(match.group(2)) == 0:
            raise KernelFileError(f"{where}: expected a number or a fraction such as \"1/16\", found {value!r}")
        number, text = float(match.group(1)) / float(match.group(2)), value.replace(" ", "")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KernelFileError(f"{where}: expected a number or a fraction such as \"1/16\", found {value!r}")
    else:
        number, text = float(value), _format_number(float(value))
    if not math.isfinite(number) or number == 0:
        raise KernelFileError(f"{where}: expected a finite non-zero number, found {value!r}")
    return number, text


# --------------------------------------------------------------------------- ImageMagick strings

# "WxH[+X+Y]:" or "W:" geometry, then the numbers; see ImageMagick's AcquireKernelInfo.
_IM_GEOMETRY = re.compile(
    r"^\s*(?P<width>\d+)(?:x(?P<height>\d+))?(?P<origin>[+-]\d+[+-]\d+)?(?P<flags>[@<>^!%]*)\s*:(?P<values>.*)$",
    re.DOTALL,
)
_IM_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_IM_OLD_STYLE = re.compile(r"^[\s,]*[+-]?(?:\d|\.\d)[\d\s,.eE+-]*$")


def looks_like_imagemagick(text: str) -> bool:
    """Whether ``text`` is meant as an ImageMagick kernel (starts with a size or a number)."""
    return bool(_IM_GEOMETRY.match(text) or _IM_OLD_STYLE.match(text))


def parse_imagemagick(text: str) -> Filter:
    """A :class:`Filter` from an ImageMagick user-defined kernel string.

    Accepts the two forms ImageMagick's ``-morphology Convolve`` takes:

    * ``"WxH[+X+Y]: v, v, ..."`` -- ``W*H`` numbers row by row (``"W:"`` means
      ``WxW``), the origin at ``+X+Y`` (``+0+0`` the top-left) or by default the
      centre (for even sizes the pixel just above/left of it);
    * ``"v, v, ..."`` -- an odd square number of values (9, 25, 49, ...).

    Numbers are separated by commas and/or white space.  ``nan`` marks a tap that
    is not part of the kernel, which for a convolution is a weight of 0.  The
    kernel is written for convolution (ImageMagick's ``Convolve`` rotates it; use
    ``operation`` ``correlate`` in a TOML file for its ``Correlate``), and is
    zero-padded so that its origin becomes the centre of an odd-sized kernel.

    Raises
    ------
    KernelFileError
        Wrong number of values, non-numbers, an origin outside the kernel, several
        kernels (``;``), rotation flags (``@ < >``), or a kernel over the size limit.

    Examples
    --------
    >>> from convfx.banks import parse_imagemagick
    >>> parse_imagemagick("3x3: -1,0,1 -2,0,2 -1,0,1").kernels[0].weights
    array([[ 1.,  0., -1.],
           [ 2.,  0., -2.],
           [ 1.,  0., -1.]])
    """
    where = f"ImageMagick kernel {text.strip()!r:.60}"
    if ";" in text:
        raise KernelFileError(f"{where}: several kernels separated by ';' are not supported; give one")
    match = _IM_GEOMETRY.match(text)
    if match:
        if match["flags"]:
            raise KernelFileError(f"{where}: rotation/scaling flags {match['flags']!r} are not supported")
        width = int(match["width"])
        height = int(match["height"] or width)
        numbers = _im_numbers(match["values"], where)
        if width < 1 or height < 1 or len(numbers) != width * height:
            raise KernelFileError(f"{where}: expected {width}x{height} = {width * height} values, found {len(numbers)}")
        if match["origin"]:
            x, y = (int(v) for v in re.findall(r"[+-]\d+", match["origin"]))
            if not (0 <= x < width and 0 <= y < height):
                raise KernelFileError(f"{where}: origin +{x}+{y} is outside the {width}x{height} kernel")
        else:
            x, y = (width - 1) // 2, (height - 1) // 2
    else:
        numbers = _im_numbers(text, where)
        side = math.isqrt(len(numbers))
        if side * side != len(numbers) or side % 2 == 0:
            raise KernelFileError(
                f"{where}: expected an odd square number of values (9, 25, 49, ...) or a 'WxH:' size, found {len(numbers)}"
            )
        width = height = side
        x = y = side // 2
    values = np.array(numbers, dtype=np.float64).reshape(height, width)
    values = np.where(np.isnan(values), 0.0, values)  # ImageMagick's "nan": no tap (inf stays, and is refused)
    # Our "same" geometry puts the origin of an odd kernel at its centre: pad with
    # zero taps (which change nothing) until the requested origin is the centre.
    # For a convolution the origin mirrors with the kernel, hence width-1-2x.
    left, right = max(width - 1 - 2 * x, 0), max(2 * x - (width - 1), 0)
    top, bottom = max(height - 1 - 2 * y, 0), max(2 * y - (height - 1), 0)
    values = np.pad(values, ((top, bottom), (left, right)))
    values = _checked_matrix(values, where)
    kernel = Kernel(name="kernel", values=_read_only(values), operation="convolve")
    return Filter(
        name="kernel",
        description=f"ImageMagick kernel {width}x{height}",
        kernels=(kernel,),
        output_range=_default_range(values),
        source="ImageMagick string",
    )


def _im_numbers(text: str, where: str) -> list[float]:
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    if not tokens:
        raise KernelFileError(f"{where}: expected numbers, found none")
    numbers = []
    for token in tokens:
        if token.lower() == "nan":
            numbers.append(math.nan)
        elif _IM_NUMBER.match(token):
            numbers.append(float(token))
        else:
            raise KernelFileError(f"{where}: expected a number, found {token!r}")
    return numbers


# --------------------------------------------------------------------------- kernel factories


def _odd_size(value: float, name: str) -> int:
    if value != int(value) or int(value) < 1 or int(value) % 2 == 0 or int(value) > MAX_KERNEL_SIDE:
        raise ParameterError(f"{name}: expected an odd integer from 1 to {MAX_KERNEL_SIDE}, found {value:g}")
    return int(value)


def _positive(value: float, name: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name}: expected a finite number > 0, found {value:g}")
    return float(value)


def _sigma_and_size(sigma: float | None, size: float | None, *, radius_sigmas: float = 3.0) -> tuple[float, int]:
    # OpenCV's conventions, so that gaussian_blur:sigma=s,size=n equals
    # cv2.GaussianBlur(img, (n, n), s): a missing size covers +-3 sigma, a missing
    # sigma is 0.3*((size-1)*0.5 - 1) + 0.8.
    if sigma is None and size is None:
        raise ParameterError("parameters: expected sigma and/or size")
    if sigma is not None:
        sigma = _positive(sigma, "sigma")
    if size is None:
        size = 2 * math.ceil(radius_sigmas * sigma) + 1
        if size > MAX_KERNEL_SIDE:
            largest = (MAX_KERNEL_SIDE - 1) / (2 * radius_sigmas)
            raise ParameterError(
                f"sigma: {sigma:g} needs a {size}x{size} kernel (+-{radius_sigmas:g} sigma), more than "
                f"{MAX_KERNEL_SIDE} per side; expected sigma <= {largest:g}, or give a size"
            )
    size = _odd_size(size, "size")
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    return sigma, size


def gaussian_kernel(*, sigma: float | None = None, size: float | None = None) -> np.ndarray:
    """Normalised 2-D Gaussian, shape (size, size): ``cv2.getGaussianKernel``'s row times itself.

    With ``sigma``, the sampled Gaussian; with only ``size`` (odd), OpenCV's own
    choice: fixed binomial-like rows for the small sizes (1-7 in OpenCV 4, 1-9 in
    OpenCV 5) and ``sigma = 0.3*((size-1)*0.5 - 1) + 0.8`` above them; with only
    ``sigma``, ``size = 2*ceil(3*sigma) + 1``.  The row comes from the installed
    OpenCV itself, so ``gaussian_blur:sigma=s,size=n`` equals
    ``cv2.GaussianBlur(img, (n, n), s)`` whatever its version.
    """
    if sigma is None and size is not None:
        size = _odd_size(size, "size")
        row = cv2.getGaussianKernel(size, 0, ktype=cv2.CV_64F)[:, 0]
    else:
        sigma, size = _sigma_and_size(sigma, size)
        row = cv2.getGaussianKernel(size, sigma, ktype=cv2.CV_64F)[:, 0]
    return np.outer(row, row)


def box_kernel(*, size: float = 3) -> np.ndarray:
    """Mean over a ``size`` x ``size`` square."""
    size = _odd_size(size, "size")
    return np.full((size, size), 1.0 / (size * size))


def log_kernel(*, sigma: float = 1.0, size: float | None = None) -> np.ndarray:
    """Laplacian of a normalised Gaussian, made zero-sum; negative centre like ``laplacian``."""
    sigma, size = _sigma_and_size(sigma, size)
    x = np.arange(size) - (size - 1) / 2
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    kernel = (r2 - 2 * sigma**2) / (2 * math.pi * sigma**6) * np.exp(-r2 / (2 * sigma**2))
    return kernel - kernel.mean()  # truncation leaves a small DC response; remove it


def unsharp_kernel(*, amount: float = 1.0, sigma: float | None = None, size: float | None = None) -> np.ndarray:
    """``(1 + amount) * identity - amount * gaussian``: sums to 1."""
    if not math.isfinite(amount):
        raise ParameterError(f"amount: expected a finite number, found {amount:g}")
    # Defaults: the 5x5 blur of the bank's unsharp entry.
    blur = gaussian_kernel(sigma=sigma, size=5 if size is None and sigma is None else size)
    kernel = -amount * blur
    centre = blur.shape[0] // 2
    kernel[centre, centre] += 1.0 + amount
    return kernel


def motion_kernel(*, length: float = 9, angle: float = 0.0) -> np.ndarray:
    """A line of ``length`` pixels at ``angle`` degrees (counter-clockwise from x), sum 1.

    The line is sampled finely and each sample is shared bilinearly between its
    four neighbouring taps, so that any angle gives a smooth, centred streak.
    """
    size = _odd_size(length, "length")
    if not math.isfinite(angle):
        raise ParameterError(f"angle: expected a finite number of degrees, found {angle:g}")
    kernel = np.zeros((size, size))
    centre = (size - 1) / 2
    # Midpoints of 16 equal cells per pixel along a segment `size` pixels long: each
    # tap on a horizontal line then gets exactly 1/size (the bank's motion_blur).
    samples = 16 * size
    t = (np.arange(samples) + 0.5) / samples * size - size / 2
    # Rounded so that 90 degrees gives cos == 0 exactly, not 6e-17 smearing a column.
    cos, sin = round(math.cos(math.radians(angle)), 12), round(math.sin(math.radians(angle)), 12)
    cols = centre + t * cos
    rows = centre - t * sin  # image rows grow downwards
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = np.clip(r0 + dr, 0, size - 1), np.clip(c0 + dc, 0, size - 1)
        np.add.at(kernel, (r, c), weight)
    # Drop empty rows/columns in pairs (the centre stays the centre): a horizontal
    # streak becomes the 1 x length row of the bank's entry.
    while kernel.shape[0] > 1 and not kernel[0].any() and not kernel[-1].any():
        kernel = kernel[1:-1]
    while kernel.shape[1] > 1 and not kernel[:, 0].any() and not kernel[:, -1].any():
        kernel = kernel[:, 1:-1]
    return kernel / kernel.sum()


def dog_kernels(*, sigma: float = 1.0, k: float = 1.6) -> dict[str, np.ndarray]:
    """The two Gaussians of a difference of Gaussians: ``sigma`` and ``k * sigma``.

    The ``dog`` filter subtracts the second response from the first (a band-pass
    whose zero crossings approximate those of a Laplacian of Gaussian of scale
    about ``sigma * sqrt(2 ln k * k^2 / (k^2 - 1))``; Marr and Hildreth's
    ``k = 1.6`` is the default).  Each Gaussian is built by :func:`gaussian_kernel`
    (``+-3 sigma``) and applied on its own, so both stay separable.

    Returns
    -------
    dict of str to ndarray
        ``{"gaussian_sigma<s>": narrow, "gaussian_sigma<k*s>": wide}``, in that order.
    """
    sigma = _positive(sigma, "sigma")
    if not (math.isfinite(k) and k > 1):
        raise ParameterError(f"k: expected a finite number > 1 (the ratio of the two sigmas), found {k:g}")
    wide = sigma * k
    return {
        f"gaussian_sigma{_format_number(sigma)}": gaussian_kernel(sigma=sigma),
        f"gaussian_sigma{_format_number(round(wide, 6))}": gaussian_kernel(sigma=wide),
    }


@dataclass(frozen=True)
class _Factory:
    # Builds one matrix, or (for a combined filter) its input kernels by name, in order.
    build: Callable[..., np.ndarray | dict[str, np.ndarray]]
    parameters: tuple[str, ...]


_FACTORIES: dict[str, _Factory] = {
    "gaussian": _Factory(gaussian_kernel, ("sigma", "size")),
    "box": _Factory(box_kernel, ("size",)),
    "log": _Factory(log_kernel, ("sigma", "size")),
    "unsharp": _Factory(unsharp_kernel, ("amount", "sigma", "size")),
    "motion": _Factory(motion_kernel, ("length", "angle")),
    "dog": _Factory(dog_kernels, ("sigma", "k")),
}


def with_parameters(filter: Filter, parameters: Mapping[str, float]) -> Filter:
    """The filter rebuilt by its factory with ``parameters`` (``gaussian_blur:sigma=2``).

    Parameters
    ----------
    filter : Filter
        A filter whose bank entry names a ``factory``.
    parameters : mapping of str to float
        Keys among the factory's parameters (see ``convfx show NAME``).

    Returns
    -------
    Filter
        The same name and range, with the new kernel (a correlation kernel), a
        description saying how it was built, and ``parameters`` recorded.  ``filter`` itself if ``parameters``
        is empty.

    Raises
    ------
    ParameterError
        If the filter takes no parameters, a key is unknown, or a value is out of range.
    """
    if not parameters:
        return filter
    if filter.factory is None:
        raise ParameterError(f"effect {filter.name!r}: takes no parameters, found {', '.join(parameters)}")
    factory = _FACTORIES[filter.factory]
    unknown = sorted(set(parameters) - set(factory.parameters))
    if unknown:
        raise ParameterError(
            f"effect {filter.name!r}: unknown parameter(s) {', '.join(unknown)}; expected some of {', '.join(factory.parameters)}"
        )
    built = factory.build(**parameters)
    matrices = built if isinstance(built, dict) else {filter.name: built}
    kernels = tuple(
        Kernel(name=name, values=_read_only(_checked_matrix(values, f"effect {filter.name!r}")))
        for name, values in matrices.items()
    )
    # The bank's description names the default kernel ("5x5 ..."); say what this one is.
    settings = ", ".join(f"{k}={_format_number(v)}" for k, v in parameters.items())
    description = f"{filter.name} rebuilt by the {filter.factory!r} factory with {settings}"
    return replace(filter, description=description, kernels=kernels, parameters=dict(parameters))


def factory_parameters(filter: Filter) -> tuple[str, ...]:
    """The parameter names ``filter`` accepts (empty when it has no factory)."""
    return _FACTORIES[filter.factory].parameters if filter.factory else ()


# --------------------------------------------------------------------------- display


def _format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value`` (integers without ``.0``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _format_matrix(matrix: np.ndarray, indent: str = "  ") -> list[str]:
    cells = [[_format_number(v) for v in row] for row in matrix]
    width = max(len(c) for row in cells for c in row)
    return [indent + " ".join(c.rjust(width) for c in row) for row in cells]


def format_filter(filter: Filter) -> str:
    """A readable description of ``filter`` with the exact kernels it applies.

    Every kernel is printed as the correlation kernel that touches the pixels
    (rotated by 180 degrees if it was written for convolution), with each value
    in the shortest form that reads back exactly; when a scale such as ``1/16``
    was written, the unscaled matrix is shown too.
    """
    lines = [f"{filter.name}  ({filter.family}, {filter.size_label}, range {filter.output_range}"
             f"{', gray' if filter.gray else ''})"]
    if filter.description:
        lines.append(filter.description)
    if filter.parameters:
        lines.append("parameters: " + ", ".join(f"{k}={_format_number(v)}" for k, v in filter.parameters.items()))
    elif filter.factory:
        lines.append(f"parameters: {', '.join(factory_parameters(filter))} (e.g. {filter.name}:{factory_parameters(filter)[0]}=2)")
    if filter.combine:
        rule = {"magnitude": "sqrt of the sum of squares", "max": "the largest", "difference": "the first minus the second"}
        lines.append(f"combine: {filter.combine} ({rule[filter.combine]}) of the responses to:")
    for kernel in filter.kernels:
        lines.append("")
        flipped = " (the bank's convolution kernel rotated 180 degrees)" if kernel.operation == "convolve" else ""
        label = f"{kernel.name}: " if filter.combine else ""
        lines.append(f"{label}correlation kernel {kernel.shape[0]}x{kernel.shape[1]}{flipped}, as applied to the pixels:")
        lines.extend(_format_matrix(kernel.weights))
        if kernel.scale != 1.0:
            unscaled = kernel.values[::-1, ::-1] if kernel.operation == "convolve" else kernel.values
            lines.append(f"= {kernel.scale_text} x")
            lines.extend(_format_matrix(unscaled))
    return "\n".join(lines)
