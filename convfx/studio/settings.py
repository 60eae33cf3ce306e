"""A studio request's settings, checked, and turned into the effect ``convfx apply`` runs.

The page sends its settings as JSON::

    {"photo": "sample:chelsea",
     "kernel": {"source": "filter", "name": "gaussian_blur", "parameters": {"sigma": 2}}
            or {"source": "grid", "rows": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
                "scale": "1", "operation": "convolve"}
            or {"source": "learned", "model": "digits", "index": 3},
     "boundary": "reflect", "range": null, "gray": null}

:func:`parse_settings` checks every field and builds the effect *as the text the
command line takes* (``gaussian_blur:sigma=2``, an ImageMagick kernel string for a
grid, ``learned:digits#3``), then resolves it with :func:`convfx.effects.parse_effect`,
so the page's result and the command it shows cannot differ.  Numbers are written
in the shortest form that reads back exactly.  A filter or model name must be one
the studio offers, so the text can never name a file.

This module must not filter images or know about HTTP.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import banks, effects, ranges, render, steps
from ..conv import BOUNDARIES
from ..effects import Effect
from ..steps import Detector
from .errors import NotFoundError, RequestError, TooLargeError

__all__ = [
    "GRID_SIDES",
    "MAX_JSON_BYTES",
    "SOURCES",
    "Grid",
    "Settings",
    "parse_json",
    "parse_settings",
    "format_number",
    "grid_text",
    "download_name",
    "apply_command",
]

#: The sides of a kernel grid the page edits: odd, so that the kernel has a centre.
GRID_SIDES = (3, 5, 7)
#: Largest JSON request body read (a 7x7 grid of long numbers is under 2 kB).
MAX_JSON_BYTES = 64 * 1024
#: Where a kernel comes from.
SOURCES = ("filter", "grid", "learned")

_FLOAT32_MAX = float(np.finfo(np.float32).max)

#: The fields of a kernel besides ``source``, for each source.
_KERNEL_FIELDS = {"filter": ("name", "parameters"), "grid": ("rows", "scale", "operation"), "learned": ("model", "index")}

_FRACTION = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?:/\s*(\d+\.?\d*|\.\d+)\s*)?$")


@dataclass(frozen=True)
class Grid:
    """A kernel typed into the page's grid.

    Attributes
    ----------
    rows : ndarray, shape (n, n), float64
        The numbers as typed, before the scale; ``n`` in :data:`GRID_SIDES`.
    scale : float
        Multiplies every number; ``scale_text`` is how it was typed (``"1/9"``).
    operation : {"convolve", "correlate"}
        How the numbers are applied: convolution rotates them by 180 degrees first.
    """

    rows: np.ndarray
    scale: float
    scale_text: str
    operation: str

    @property
    def weights(self) -> np.ndarray:
        """The correlation kernel that touches the pixels, ``(n, n)``: ``rows * scale``, rotated for convolution."""
        scaled = self.rows * self.scale
        return scaled[::-1, ::-1] if self.operation == "convolve" else scaled


@dataclass(frozen=True, eq=False)
class Settings:
    """One checked request: which photo, which effect, and how its response becomes pixels.

    Attributes
    ----------
    photo : str
        The photo's id (see :class:`convfx.studio.photos.PhotoStore`).
    source : {"filter", "grid", "learned"}
    effect : convfx.Effect
        What :func:`convfx.apply` runs, resolved from ``effect_text``.
    effect_text : str
        The ``EFFECT`` argument of the equivalent ``convfx apply`` command.
    boundary : str
        One of :data:`convfx.conv.BOUNDARIES`.
    output_range : str or None
        As asked; None means the effect's own (:attr:`policy`).
    gray : bool or None
        As asked; None means the effect's own.
    grid : Grid or None
        The typed kernel, for ``source == "grid"``.
    model : str or None
        The model's key, for ``source == "learned"``; ``index`` is the kernel.
    """

    photo: str
    source: str
    effect: Effect
    effect_text: str
    boundary: str
    output_range: str | None
    gray: bool | None
    grid: Grid | None = None
    model: str | None = None
    index: int | None = None

    @property
    def policy(self) -> str:
        """The output range applied: the one asked for, else the effect's own."""
        return self.effect.output_range if self.output_range is None else self.output_range

    @property
    def key(self) -> tuple[object, ...]:
        """Equal for requests that give the same result (a cache key)."""
        return (self.photo, self.effect_text, self.boundary, self.policy, self.gray)

    @property
    def filters_gray(self) -> bool:
        """Whether the luminance is filtered rather than each colour channel."""
        return self.effect.gray if self.gray is None else self.gray


def parse_json(body: bytes) -> Any:
    """The JSON value in a request body; strict: no NaN or Infinity, at most :data:`MAX_JSON_BYTES`.

    Parameters
    ----------
    body : bytes

    Returns
    -------
    object
        The decoded JSON value.

    Raises
    ------
    TooLargeError
        A body over the limit.
    RequestError
        Not UTF-8, not JSON, or a NaN / Infinity constant (not JSON, though Python's
        reader takes them).
    """
    if len(body) > MAX_JSON_BYTES:
        raise TooLargeError(f"request: expected at most {MAX_JSON_BYTES:,} bytes of JSON, found {len(body):,}")

    def refuse(constant: str) -> None:
        raise RequestError(f"request: expected finite numbers, found {constant}")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError:
        raise RequestError("request: expected UTF-8 JSON, found other bytes") from None
    except RecursionError:
        raise RequestError("request: expected JSON settings, found nesting too deep to read") from None
    except json.JSONDecodeError as error:
        raise RequestError(
            f"request: expected JSON, found an error at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None


def format_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (integers without ``.0``).

    Parameters
    ----------
    value : float

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(2.0), format_number(0.1), format_number(-1e-20)
    ('2', '0.1', '-1e-20')
    """
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _field(data: Mapping[str, Any], name: str, where: str, default: Any = ...) -> Any:
    if name in data:
        return data[name]
    if default is ...:
        raise RequestError(f"{where}: expected a field {name!r}, found none")
    return default


def _object(value: Any, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{where}: expected a JSON object, found {_describe(value)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise RequestError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))[:120]}; expected some of {list(allowed)}")
    return value


def _describe(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    text = json.dumps(value)
    return f"{kinds.get(type(value), 'a number')} {text[:40]}{'...' if len(text) > 40 else ''}"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{where}: expected a number, found {_describe(value)}")
    number = float(value)  # a huge JSON integer may not fit a float
    if not math.isfinite(number):
        raise RequestError(f"{where}: expected a finite number, found {_describe(value)}")
    return number


def _choice(value: Any, where: str, choices: tuple[str, ...], *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in choices:
        raise RequestError(f"{where}: invalid value {_describe(value)}; expected one of {list(choices)}")
    return value


def _scale(value: Any, where: str) -> tuple[float, str]:
    """``(scale, text)`` from a number or a string: a number or a fraction ``"p/q"``."""
    if isinstance(value, str):
        match = _FRACTION.match(value)
        if not match:
            raise RequestError(f'{where}: expected a number or a fraction such as "1/9", found {_describe(value)}')
        denominator = float(match.group(2)) if match.group(2) else 1.0
        if denominator == 0:
            raise RequestError(f"{where}: expected a fraction with a non-zero denominator, found {_describe(value)}")
        number = float(match.group(1)) / denominator
        text = value.replace(" ", "")
    else:
        number = _number(value, where)
        text = format_number(number)
    if not math.isfinite(number) or number == 0:
        raise RequestError(f"{where}: expected a finite non-zero number, found {_describe(value)}")
    return number, text


# --------------------------------------------------------------------------- kernels


def _offered_step(name: Any, where: str) -> banks.Filter | Detector:
    if not isinstance(name, str):
        raise RequestError(f"{where}: expected a filter name such as 'sobel', found {_describe(name)}")
    if name in banks.builtin_filters():
        return banks.builtin_filters()[name]
    detectors = {detector.name: detector for detector in steps.list_detectors()}
    if name in detectors:
        return detectors[name]
    close = difflib.get_close_matches(name.lower(), [*banks.builtin_filters(), *detectors], n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "expected a name listed by `convfx filters`"
    raise RequestError(f"{where}: unknown filter {name[:60]!r}; {hint}")


def _filter_text(kernel: Mapping[str, Any], where: str) -> str:
    step = _offered_step(_field(kernel, "name", where), f"{where}.name")
    parameters = _field(kernel, "parameters", where, {})
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise RequestError(f"{where}.parameters: expected a JSON object, found {_describe(parameters)}")
    options: dict[str, steps.DetectorParameter | None]  # None: a number for a kernel factory
    if isinstance(step, Detector):
        options = {option.name: option for option in step.options}
    else:
        options = dict.fromkeys(banks.factory_parameters(step))
    if parameters and not options:
        raise RequestError(f"{where}.parameters: {step.name} takes no parameters, found {', '.join(parameters)[:80]}")
    pieces = []
    for key, value in parameters.items():
        if key not in options:
            raise RequestError(
                f"{where}.parameters: unknown parameter {key[:40]!r} for {step.name}; expected some of {list(options)}"
            )
        option = options[key]
        if value is None:
            continue  # the default
        if option is not None and isinstance(option.default, bool):
            if not isinstance(value, bool):
                raise RequestError(f"{where}.parameters.{key}: expected true or false, found {_describe(value)}")
            text = "true" if value else "false"
        elif option is not None and option.choices:
            text = str(_choice(value, f"{where}.parameters.{key}", option.choices))
        else:
            text = format_number(_number(value, f"{where}.parameters.{key}"))
        pieces.append(f"{key}={text}")
    return step.name + (":" + ",".join(pieces) if pieces else "")


def _grid(kernel: Mapping[str, Any], where: str) -> Grid:
    rows = _field(kernel, "rows", where)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise RequestError(f"{where}.rows: expected a list of rows of numbers, found {_describe(rows)}")
    side = len(rows)
    widths = {len(row) for row in rows}
    if side not in GRID_SIDES or widths != {side}:
        found = f"{side}x{max(widths)}" if widths and len(widths) == 1 else f"{side} rows of {sorted(widths)[:7]} numbers"
        raise RequestError(f"{where}.rows: expected a square grid of side {' or '.join(map(str, GRID_SIDES))}, found {found}")
    values = np.array(
        [[_number(value, f"{where}.rows[{i}][{j}]") for j, value in enumerate(row)] for i, row in enumerate(rows)],
        dtype=np.float64,
    )
    scale, scale_text = _scale(_field(kernel, "scale", where, 1), f"{where}.scale")
    operation = str(_choice(_field(kernel, "operation", where, "correlate"), f"{where}.operation", banks.OPERATIONS))
    grid = Grid(rows=values, scale=scale, scale_text=scale_text, operation=operation)
    with np.errstate(over="ignore"):
        weights = np.abs(values * scale)
    if not np.all(weights <= _FLOAT32_MAX):  # photos are filtered in float32
        i, j = np.unravel_index(np.argmax(np.where(np.isfinite(weights), weights, np.inf)), weights.shape)
        raise RequestError(
            f"{where}.rows[{i}][{j}]: expected a number whose product with the scale stays within float32's range "
            f"(at most {_FLOAT32_MAX:.4g} in size), found {format_number(values[i, j])} x {scale_text}"
        )
    return grid


def grid_text(grid: Grid) -> str:
    """The ImageMagick kernel string ``convfx apply`` takes for ``grid``.

    ImageMagick's kernels are written for convolution, so the string holds the
    applied weights rotated by 180 degrees: read back, they are ``grid.weights``
    exactly (every number in its shortest exact form).

    Parameters
    ----------
    grid : Grid

    Returns
    -------
    str
    """
    written = grid.weights[::-1, ::-1]
    side = written.shape[0]
    return f"{side}x{side}: " + " ".join(",".join(format_number(v) for v in row) for row in written)


def _learned_index(kernel: Mapping[str, Any], where: str, models: Mapping[str, str]) -> tuple[str, int]:
    model = _field(kernel, "model", where)
    if not isinstance(model, str) or model not in models:
        raise NotFoundError(f"{where}.model: unknown model {_describe(model)}; expected one of {list(models)}")
    index = _field(kernel, "index", where)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise RequestError(f"{where}.index: expected a kernel number >= 0, found {_describe(index)}")
    return model, index


# --------------------------------------------------------------------------- settings


def parse_settings(
    data: Any,
    *,
    models: Mapping[str, str],
    learned_effect: Any = None,
) -> Settings:
    """Check a request's settings and resolve its effect.

    Parameters
    ----------
    data : object
        The decoded JSON (see the module notes).
    models : mapping of str to str
        The models on offer: key -> what ``learned:`` takes (a shipped name or the
        path given on the command line).
    learned_effect : callable, optional
        ``learned_effect(model_key, index) -> Effect``, to reuse loaded models;
        default: :func:`convfx.effects.parse_effect` of the ``learned:`` text.

    Returns
    -------
    Settings

    Raises
    ------
    RequestError
        A missing, unknown or ill-typed field, a grid that is not 3x3, 5x5 or 7x7,
        a number that is not finite.
    NotFoundError
        An unknown model.
    convfx.ParameterError
        What the library says of the effect (a parameter out of range...).
    """
    settings = _object(data, "settings", ("photo", "kernel", "boundary", "range", "gray"))
    photo = _field(settings, "photo", "settings")
    if not isinstance(photo, str):
        raise RequestError(f"settings.photo: expected a photo id such as 'sample:chelsea', found {_describe(photo)}")
    kernel = _field(settings, "kernel", "settings")
    if not isinstance(kernel, dict):
        raise RequestError(f"settings.kernel: expected a JSON object, found {_describe(kernel)}")
    source = str(_choice(_field(kernel, "source", "settings.kernel"), "settings.kernel.source", SOURCES))
    kernel = _object(kernel, "settings.kernel", ("source", *_KERNEL_FIELDS[source]))
    boundary = str(_choice(_field(settings, "boundary", "settings", "reflect"), "settings.boundary", BOUNDARIES))
    output_range = _choice(_field(settings, "range", "settings", None), "settings.range", ranges.OUTPUT_RANGES, optional=True)
    gray = _field(settings, "gray", "settings", None)
    if gray is not None and not isinstance(gray, bool):
        raise RequestError(f"settings.gray: expected true, false or null, found {_describe(gray)}")
    grid = model = index = None
    if source == "filter":
        text = _filter_text(kernel, "settings.kernel")
        effect = effects.parse_effect(text)
    elif source == "grid":
        grid = _grid(kernel, "settings.kernel")
        text = grid_text(grid)
        effect = effects.parse_effect(text)
    else:
        model, index = _learned_index(kernel, "settings.kernel", models)
        text = f"learned:{models[model]}#{index}"
        effect = learned_effect(model, index) if learned_effect is not None else effects.parse_effect(text)
    effect.resolve_output_range(output_range)  # binary only for an edge detector, as convfx apply says
    return Settings(
        photo=photo,
        source=source,
        effect=effect,
        effect_text=text,
        boundary=boundary,
        output_range=output_range,
        gray=gray,
        grid=grid,
        model=model,
        index=index,
    )


def download_name(settings: Settings, photo_label: str) -> str:
    """The file name ``convfx apply`` writes by default for this photo and effect: ``<stem>_<effect>.png``.

    Parameters
    ----------
    settings : Settings
    photo_label : str
        The photo's file name.

    Returns
    -------
    str
    """
    return render.default_output_path(photo_label, settings.effect).name


def apply_command(settings: Settings, photo_path: str, photo_label: str) -> str:
    """The ``convfx apply`` command line that writes the same PNG as the page's download.

    Parameters
    ----------
    settings : Settings
    photo_path : str
        How the command names the photo (see :attr:`convfx.studio.photos.Photo.command_path`).
    photo_label : str
        The photo's file name, for the output's name.

    Returns
    -------
    str
        Quoted for a POSIX shell.
    """
    words = ["convfx", "apply", settings.effect_text, photo_path, "-o", download_name(settings, photo_label)]
    words += ["--boundary", settings.boundary]
    if settings.output_range is not None:
        words += ["--range", settings.output_range]
    if settings.gray is not None:
        words.append("--gray" if settings.gray else "--color")
    return shlex.join(words)
