"""Bank files: the shipped ``filters/*.toml`` and users' TOML, JSON, NPY and NPZ kernel files.

The banks shipped with convfx live in ``filters/*.toml`` (installed as the data
package ``convfx.filters``); users bring their own as TOML or JSON in the same
schema, or as ``.npy`` / ``.npz`` arrays.  Every error names the file and the entry
at fault.

This module must not evaluate anything it reads: numbers are parsed by
``tomllib`` / ``json`` / ``numpy`` and ``.npy`` / ``.npz`` files are loaded with
``allow_pickle=False`` (through :func:`convfx.imageio.read_arrays`).

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

import functools
import importlib.resources
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .. import imageio
from ..checks import choice, nesting_depth
from ..kernels import FACTORIES, format_number
from ..limits import MAX_BANK_ENTRIES, MAX_KERNEL_FILE_BYTES, MAX_KERNEL_SIDE, MAX_NESTING_DEPTH
from ..ranges import OUTPUT_RANGES
from .model import (
    COMBINE_RULES,
    FLOAT32_MAX,
    OPERATIONS,
    Filter,
    Kernel,
    KernelFileError,
    UnknownFilterError,
    checked_matrix,
    closest_names,
    default_range,
    frozen_copy,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "KERNEL_FILE_SUFFIXES",
    "bank_directory",
    "builtin_filters",
    "load_bank",
    "load_kernel_file",
    "filter_from_array",
]

KERNEL_FILE_SUFFIXES = (".toml", ".json", ".npy", ".npz")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FRACTION = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")
_ENTRY_KEYS = frozenset(
    {"description", "matrix", "column", "row", "scale", "operation", "range", "gray", "factory", "combine", "inputs"}
)


# --------------------------------------------------------------------------- the shipped banks


def bank_directory() -> Path:
    """The folder holding the shipped ``*.toml`` banks.

    The installed data package ``convfx.filters`` when there is one, else the
    ``filters/`` folder at the top of a source tree (running without installing).

    Returns
    -------
    Path
    """
    try:
        folder = importlib.resources.files("convfx.filters")
        if folder.is_dir() and any(p.name.endswith(".toml") for p in folder.iterdir()):
            return Path(str(folder))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "filters"


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

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("the shipped filter banks are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse


# --------------------------------------------------------------------------- users' files


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

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import convfx
    >>> path = Path(tempfile.mkdtemp()) / "mine.toml"
    >>> _ = path.write_text('[edge]\\nmatrix = [[1, 0, -1]]\\n')
    >>> bank = convfx.load_bank(path)
    >>> list(bank), bank["edge"].kernels[0].weights
    (['edge'], array([[ 1.,  0., -1.]]))
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

    Returns
    -------
    Filter

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
    """A one-line KernelFileError unless ``path`` is a regular, non-empty file within the size limit."""
    if not os.path.lexists(path):  # a name too long for the system is check_regular_file's to say
        raise KernelFileError(f"{path}: kernel file not found")
    size = imageio.check_regular_file(path, what="a kernel file", error=KernelFileError)
    if size == 0:
        raise KernelFileError(f"{path}: empty kernel file (0 bytes)")
    if size > MAX_KERNEL_FILE_BYTES:
        raise KernelFileError(f"{path}: {size:,} bytes is too large for a kernel file (limit {MAX_KERNEL_FILE_BYTES:,} bytes)")


# A TOML table header naming a filter, "[name]" alone on its line (matrix rows, which
# may also start a line with "[", start with a number, a sign or another "[").
_TOML_HEADER = re.compile(r"""^[ \t]*\[[ \t]*([A-Za-z_"'][^\]\n]*)\][ \t]*(?:#[^\n]*)?$""", re.MULTILINE)
# A dotted key at the start of a line, "name.matrix = ...": a filter defined without a header.
_TOML_DOTTED = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\.", re.MULTILINE)


def _read_tables(path: Path) -> Mapping[str, Any]:
    """The top-level tables of a TOML or JSON bank, undecoded; at most :data:`~convfx.limits.MAX_BANK_ENTRIES`.

    Numbers too large for a float (JSON integers of any length, which Python
    would otherwise refuse past 4,300 digits) read as infinity, which the
    matrix check refuses with the entry's name.  Nesting deeper than
    :data:`~convfx.limits.MAX_NESTING_DEPTH` is refused, however deep.  A TOML
    file's table headers (and dotted keys) are counted before it is parsed: TOML
    parses slowly, and a file of a million one-tap tables is refused at once
    rather than read.
    """
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_KERNEL_FILE_BYTES + 1)
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KernelFileError(f"{path}: not a text file (expected UTF-8 TOML or JSON)") from None
    except OSError as exc:
        raise KernelFileError(f"{path}: cannot read kernel file: {exc.strerror or exc}") from None
    if len(data) > MAX_KERNEL_FILE_BYTES:  # it grew since it was checked
        raise KernelFileError(f"{path}: more than {MAX_KERNEL_FILE_BYTES:,} bytes is too large for a kernel file")
    if kind == "TOML":
        headers = _TOML_HEADER.findall(text)
        if len(headers) > MAX_BANK_ENTRIES:
            _refuse_entries(path, [header.strip() for header in headers])
        dotted = list(dict.fromkeys(_TOML_DOTTED.findall(text)))
        if len(dotted) > MAX_BANK_ENTRIES:
            _refuse_entries(path, dotted)
    try:
        if kind == "JSON":
            tables = json.loads(text, parse_int=float)
        else:
            tables = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise KernelFileError(f"{path}: not valid {kind} ({_first_line(exc)})") from None
    except RecursionError:
        raise KernelFileError(f"{path}: not valid {kind} (nested more than {MAX_NESTING_DEPTH} deep)") from None
    except ValueError as exc:  # TOML integers of more than 4,300 digits
        raise KernelFileError(f"{path}: not valid {kind} ({_first_line(exc)})") from None
    if nesting_depth(tables, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH:
        raise KernelFileError(f"{path}: not valid {kind} (nested more than {MAX_NESTING_DEPTH} deep)")
    if not isinstance(tables, dict) or not tables:
        raise KernelFileError(f"{path}: expected one table per filter ([name] with a matrix), found none")
    if len(tables) > MAX_BANK_ENTRIES:
        _refuse_entries(path, list(tables))
    return tables


def _refuse_entries(path: Path, names: list[str]) -> None:
    """Refuse a bank of too many entries, naming the first ten."""
    shown = ", ".join(f"[{name:.40}]" for name in names[:10])
    raise KernelFileError(
        f"{path}: holds {len(names):,} filters, more than {MAX_BANK_ENTRIES} (convfx.limits.MAX_BANK_ENTRIES): "
        f"{shown}{' ...' if len(names) > 10 else ''}"
    )


def _first_line(error: BaseException) -> str:
    """The first line of an error's text, at most 200 characters."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _load_arrays(path: Path) -> dict[str, Filter]:
    arrays = imageio.read_arrays(
        path,
        what=f"{path.suffix.lower()} kernel file",
        error=KernelFileError,
        max_values=MAX_KERNEL_SIDE**2,
        max_bytes=MAX_KERNEL_FILE_BYTES,
        max_arrays=MAX_BANK_ENTRIES,
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

    Parameters
    ----------
    array : ndarray, shape (kh, kw)
    name : str, optional
        The filter's name.
    source : str, optional
        Where the array came from, for messages.
    operation : {"correlate", "convolve"}, optional
        What the array is written for.

    Returns
    -------
    Filter

    Raises
    ------
    KernelFileError
        If the array is not 2-D, is empty or too large, or holds NaN/inf.
    """
    where = "kernel" if source == "array" else source
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise KernelFileError(f"{where}: expected real numbers, found dtype {array.dtype}")
    matrix = checked_matrix(array, where)
    kernel = Kernel(name=name, values=frozen_copy(matrix), operation=operation)
    return Filter(
        name=name,
        description=f"{kernel.shape[0]}x{kernel.shape[1]} kernel from {source}",
        kernels=(kernel,),
        output_range=default_range(matrix),
        source=source,
    )


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
            output_range=entry.get("range") or default_range(kernel.weights),
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
                raise KernelFileError(
                    f"{where}: inputs: unknown filter {input_name!r}; {closest_names(input_name, known, listed_by=None)}"
                )
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
    _check_choice(raw, "factory", tuple(FACTORIES), where)
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
        raise KernelFileError(
            f"{where}: expected either matrix or a column/row pair, found {'both' if has_matrix else 'neither'}"
        )
    if has_pair and ("column" not in raw or "row" not in raw):
        raise KernelFileError(f"{where}: a separable kernel needs both column and row")
    return raw


def _check_choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str) -> None:
    if key in raw:
        choice(raw[key], f"{where}: {key}", choices, error=KernelFileError)


def _entry_kernel(name: str, entry: Mapping[str, Any], where: str) -> Kernel:
    if "matrix" in entry:
        values = _numeric_rows(entry["matrix"], f"{where}: matrix")
    else:
        column = _numeric_rows([entry["column"]], f"{where}: column")[0]
        row = _numeric_rows([entry["row"]], f"{where}: row")[0]
        values = checked_matrix(np.outer(column, row), where)
    scale, scale_text = _scale(entry.get("scale", 1), f"{where}: scale")
    peak = float(np.abs(values).max()) * abs(scale)
    if peak > FLOAT32_MAX:  # photos are filtered in float32
        raise KernelFileError(f"{where}: scale x matrix reaches {peak:g}, beyond float32's range (|x| <= {FLOAT32_MAX:.4g})")
    return Kernel(
        name=name,
        values=frozen_copy(values),
        scale=scale,
        scale_text=scale_text,
        operation=entry.get("operation", "correlate"),
    )


def _numeric_rows(rows: Any, where: str) -> np.ndarray:
    """A list of equally long lists of numbers -> a checked float64 matrix."""
    if not isinstance(rows, list) or not rows:
        raise KernelFileError(f"{where}: expected a non-empty list of rows of numbers, found {rows!r:.40}")
    lengths = []
    numbers = []
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise KernelFileError(f"{where}: row {i}: expected a list of numbers, found {_short(row)}")
        for j, value in enumerate(row):
            # bool is an int to Python but never a kernel weight.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise KernelFileError(f"{where}: row {i}, column {j}: expected a number, found {_short(value)}")
            try:
                numbers.append(float(value))
            except OverflowError:  # an integer beyond float64's range
                raise KernelFileError(
                    f"{where}: row {i}, column {j}: expected a number within float32's range (|x| <= {FLOAT32_MAX:.4g}), "
                    f"found {_short(value)}"
                ) from None
        lengths.append(len(row))
    if len(set(lengths)) > 1:
        short = min(range(len(lengths)), key=lengths.__getitem__)
        raise KernelFileError(
            f"{where}: ragged rows; expected {max(lengths)} numbers in every row, found {lengths[short]} in row {short}"
        )
    return checked_matrix(np.array(numbers, dtype=np.float64).reshape(len(rows), lengths[0]), where)


def _short(value: Any) -> str:
    """At most 40 characters of ``repr(value)``, for a message (an integer of any length included)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return f"{value!r:.40}"


def _scale(value: Any, where: str) -> tuple[float, str]:
    """``(scale, how it was written)`` from a number or a ``"p/q"`` string."""
    if isinstance(value, str):
        match = _FRACTION.match(value)
        if not match or float(match.group(2)) == 0:
            raise KernelFileError(f'{where}: expected a number or a fraction such as "1/16", found {value!r}')
        number, text = float(match.group(1)) / float(match.group(2)), value.replace(" ", "")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KernelFileError(f'{where}: expected a number or a fraction such as "1/16", found {value!r}')
    else:
        number, text = float(value), format_number(float(value))
    if not math.isfinite(number) or number == 0:
        raise KernelFileError(f"{where}: expected a finite non-zero number, found {value!r}")
    return number, text
