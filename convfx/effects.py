"""Effects: named filters, chains and user kernels applied to images, and their output.

An *effect* is what a user names on the command line or passes to :func:`apply`:

* a bank filter: ``"sobel"``;
* with parameters, for filters that have a kernel factory: ``"gaussian_blur:sigma=2,size=9"``;
* a chain, applied left to right on the float response: ``"gaussian_blur,sobel"``;
* a kernel file: ``"my_kernels.toml"``, ``"bank.toml#edge"``, ``"k.npy"``, ``"bank.npz#k"``;
* an ImageMagick kernel string: ``"3x3: -1,0,1 -2,0,2 -1,0,1"`` (the whole effect);
* a 2-D array (a correlation kernel), a :class:`~convfx.banks.Filter` or an :class:`Effect`;
* a *detector*, a non-linear step registered by name (:func:`register_detector`),
  with typed parameters: ``"canny:sigma=2,low=0.05"``, ``"gaussian_blur,canny"``.
  The edge detectors of :mod:`convfx.edges` register themselves when ``convfx``
  is imported.
* a model's learned first-layer filters, ``"learned:MODEL"`` (every feature map,
  as a montage) or ``"learned:MODEL#3"`` (one map), ``":activation=true"`` after
  the layer's activation; built by :func:`convfx.compare.learned_step`.

:func:`apply` returns the raw float response; :func:`map_range` is the separate,
explicit step that turns a response into ``uint8`` / ``uint16`` pixels by one of the
output-range policies, and :func:`render_file` is the whole single-file pipeline
(read, filter, map, write atomically) that batch runners call once per file.

This module must not slide kernels itself (every filter goes through
:func:`convfx.correlate`), parse files (:mod:`convfx.banks`, :mod:`convfx.imageio`)
or print anything.
"""

from __future__ import annotations

import math
import os
import re
import numbers
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Union

import cv2
import numpy as np

from . import banks, imageio
from .banks import OUTPUT_RANGES, Filter, Kernel, KernelFileError, UnknownFilterError
from .conv import BOUNDARIES, compute_dtype, correlate
from .errors import ParameterError, ParameterTypeError

__all__ = [
    "OUTPUT_RANGES",
    "LUMINANCE_WEIGHTS",
    "Effect",
    "EffectLike",
    "Detector",
    "DetectorParameter",
    "register_detector",
    "get_detector",
    "list_detectors",
    "dtype_full_scale",
    "format_step",
    "parse_effect",
    "apply",
    "to_luminance",
    "map_range",
]

#: ITU-R BT.601 luma weights for R, G, B: what Pillow's ``convert("L")`` and
#: OpenCV's ``COLOR_RGB2GRAY`` use, so ``--gray`` matches what users compare with.
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)


# --------------------------------------------------------------------------- detectors

_TRUE_WORDS = ("true", "1", "yes", "on")
_FALSE_WORDS = ("false", "0", "no", "off")


@dataclass(frozen=True)
class DetectorParameter:
    """One parameter of a :class:`Detector`, written ``name=value`` in an effect.

    Attributes
    ----------
    name : str
        As written in the effect and passed to the detector's function.
    default : float, bool, str or None
        Also decides the kind: a ``bool`` makes a flag (``true``/``false``,
        ``1``/``0``), a ``str`` a word among ``choices``, anything else a number;
        ``None`` means the detector chooses (written ``auto``).
    choices : tuple of str
        The words a word parameter accepts.
    help : str
        One line for ``convfx show``.
    """

    name: str
    default: float | bool | str | None
    choices: tuple[str, ...] = ()
    help: str = ""

    def parse(self, text: str, where: str) -> float | bool | str | None:
        """The value that ``text`` (from an effect string) stands for."""
        if isinstance(self.default, bool):
            if text.lower() in _TRUE_WORDS or text.lower() in _FALSE_WORDS:
                return text.lower() in _TRUE_WORDS
            raise ParameterError(f"{where}: parameter {self.name}: expected true or false (1 or 0), found {text!r}")
        if self.choices:
            return self.check(text, where)
        if self.default is None and text.lower() == "auto":
            return None
        return _number(where, self.name, text)

    def check(self, value: Any, where: str) -> float | bool | str | None:
        """``value`` (from Python or :meth:`parse`) as the kind this parameter takes."""
        if isinstance(self.default, bool):
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ParameterTypeError(f"{where}: parameter {self.name}: expected True or False, found {value!r}")
        if self.choices:
            if isinstance(value, str) and value in self.choices:
                return value
            raise ParameterError(f"{where}: parameter {self.name}: invalid value {value!r}; expected one of {list(self.choices)}")
        if value is None and self.default is None:
            return None
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ParameterTypeError(f"{where}: parameter {self.name}: expected a number, found {value!r}")
        return float(value)


@dataclass(frozen=True, eq=False)
class Detector:
    """A non-linear step of an effect: a function of the image built on the filters.

    Named like a filter in effects (``"canny:sigma=2"``, ``"gaussian_blur,canny"``)
    once registered with :func:`register_detector`.  A detector receives the image
    as the chain hands it over, shape (H, W) or (H, W, C); how it treats colour is
    one of its own parameters, so it never asks for ``gray``.

    Attributes
    ----------
    name : str
        Lower-case name; must not be a bank filter's.
    description : str
        One line for ``convfx filters``.
    function : callable
        ``function(image, *, boundary, full_scale, **settings) -> ndarray``, where
        ``full_scale`` is the value of white in the image's units
        (:func:`dtype_full_scale` of the chain's input).
    options : tuple of DetectorParameter
        The parameters it takes, with their defaults.
    check : callable, optional
        ``check(**settings)`` raises :class:`~convfx.ParameterError` for bad values,
        so that an effect string fails before any image is read.
    kernels_used : callable, optional
        ``kernels_used(**settings) -> tuple of Kernel``: the bank kernels it applies,
        for ``convfx show`` and the batch runner's bookkeeping.
    output_range : str
        Default mapping of its output to pixels; ``"binary"`` for edge maps.
    family : str
        Listed with this bank by ``convfx filters``.
    parameters : mapping of str to value
        The values set in the effect; the others take their defaults.
    """

    name: str
    description: str
    function: Callable[..., np.ndarray]
    options: tuple[DetectorParameter, ...]
    check: Callable[..., None] | None = None
    kernels_used: Callable[..., tuple[Kernel, ...]] | None = None
    output_range: str = "binary"
    family: str = "edges"
    parameters: Mapping[str, Any] = field(default_factory=dict)

    # The attributes a chain reads from every step (see Filter): a detector applies
    # no luminance conversion of its own choosing and combines no responses.
    gray = False
    combine = None
    #: False: an output pixel may depend on the whole image (hysteresis, quantile
    #: and automatic thresholds), so the image must not be processed in strips.
    local = False

    @property
    def settings(self) -> dict[str, Any]:
        """Every parameter's value: the defaults, overridden by :attr:`parameters`."""
        return {option.name: option.default for option in self.options} | dict(self.parameters)

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The bank kernels it applies with these settings (empty if it does not say)."""
        return self.kernels_used(**self.settings) if self.kernels_used else ()

    def with_parameters(self, parameters: Mapping[str, Any]) -> Detector:
        """The same detector with ``parameters`` set (checked), like :func:`convfx.banks.with_parameters`.

        Raises
        ------
        ParameterError
            Unknown name or bad value (the message names the parameter).
        ParameterTypeError
            A value of the wrong kind (a string for a number...).
        """
        where = f"effect {self.name!r}"
        options = {option.name: option for option in self.options}
        unknown = sorted(set(parameters) - set(options))
        if unknown:
            raise ParameterError(
                f"{where}: unknown parameter(s) {', '.join(unknown)}; expected some of {', '.join(options)}"
            )
        values = {key: options[key].check(value, where) for key, value in parameters.items()}
        configured = replace(self, parameters=values)
        if self.check is not None:
            self.check(**configured.settings)
        return configured

    def __call__(self, image: np.ndarray, *, boundary: str, full_scale: float) -> np.ndarray:
        """Run the detector on ``image`` with its settings."""
        return self.function(image, boundary=boundary, full_scale=full_scale, **self.settings)


_DETECTORS: dict[str, Detector] = {}


def register_detector(detector: Detector) -> Detector:
    """Make ``detector`` usable by name in every effect (``convfx apply``, chains, batch).

    :mod:`convfx.edges` registers ``canny`` and ``marr_hildreth`` this way when
    ``convfx`` is imported.  Registering a name again replaces the detector.

    Raises
    ------
    ParameterError
        If a shipped bank filter already has this name.
    """
    if detector.name in banks.builtin_filters():
        raise ParameterError(f"detector {detector.name!r}: a bank filter already has this name")
    _DETECTORS[detector.name] = detector
    return detector


def get_detector(name: str) -> Detector:
    """The registered detector called ``name``; :class:`UnknownFilterError` if none."""
    if name not in _DETECTORS:
        raise UnknownFilterError(f"effect: unknown detector {name!r}; {banks._closest(name, _DETECTORS)}")
    return _DETECTORS[name]


def list_detectors(family: str | None = None) -> list[Detector]:
    """The registered detectors sorted by family then name (only ``family``'s if given)."""
    detectors = sorted(_DETECTORS.values(), key=lambda d: (d.family, d.name))
    return [d for d in detectors if family is None or d.family == family]


def dtype_full_scale(dtype: np.dtype | type) -> float:
    """The value of white for pixels of ``dtype``, as scikit-image's ``dtype_limits``.

    255 for ``uint8``, 65535 for ``uint16``, the largest value of any other
    integer type, and 1 for floats and bools.  Detector thresholds are written as
    fractions of it, so that ``canny:low=0.1`` means the same on 8- and 16-bit photos.
    """
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def _format_value(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return banks._format_number(value)


def format_step(step: Filter | Detector) -> str:
    """What ``convfx show`` prints for one step: a filter's kernels, or a detector's parameters."""
    if isinstance(step, Filter):
        return banks.format_filter(step)
    lines = [f"{step.name}  ({step.family}, detector, range {step.output_range})", step.description]
    lines.append(f"parameters (written {step.name}:name=value,...):")
    width = max(len(option.name) for option in step.options)
    for option in step.options:
        value = _format_value(step.settings[option.name])
        origin = "" if option.name in step.parameters else " (default)"
        choices = f" [{' | '.join(option.choices)}]" if option.choices else ""
        lines.append(f"  {option.name.ljust(width)} = {value}{origin}{choices}  {option.help}".rstrip())
    if step.kernels:
        used = ", ".join(f"{kernel.name} {kernel.shape[0]}x{kernel.shape[1]}" for kernel in step.kernels)
        lines.append(f"bank kernels it applies: {used}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True, eq=False)
class Effect:
    """A parsed effect: filters applied one after the other.

    Attributes
    ----------
    spec : str
        What the user wrote (or a label for arrays and filters).
    steps : tuple of Filter or Detector
        Applied left to right; each sees the response of the previous one.
    """

    spec: str
    steps: tuple[Filter | Detector, ...]

    @property
    def output_range(self) -> str:
        """Default output range: that of the last step, which shapes the response."""
        return self.steps[-1].output_range

    @property
    def gray(self) -> bool:
        """Default for luminance-only filtering: true if any step asks for it."""
        return any(step.gray for step in self.steps)

    @property
    def slug(self) -> str:
        """A file-name-safe label, e.g. ``gaussian_blur_sigma2-sobel``."""
        parts = []
        for step in self.steps:
            part = step.name + "".join(f"_{k}{_format_value(v)}" for k, v in step.parameters.items())
            parts.append(part)
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))


EffectLike = Union[str, os.PathLike, np.ndarray, Filter, Detector, Effect]

_PARAMETER = re.compile(r"^\s*(?P<key>[A-Za-z_]\w*)\s*=\s*(?P<value>[^=]*?)\s*$")
_STEP_WITH_PARAMETER = re.compile(r"^(?P<target>.+?):(?P<first>\s*[A-Za-z_]\w*\s*=.*)$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_effect(effect: EffectLike) -> Effect:
    """Resolve an effect specification into an :class:`Effect`.

    Grammar (on strings)::

        effect     := imagemagick | step ("," step)*
        step       := target [":" key "=" value ("," key "=" value)*]
        target     := filter-name | detector-name | kernel-file ["#" entry]
        value      := number | word

    A comma followed by ``key=value`` continues the parameters of the step before
    it; any other comma starts a new step.  Filters take numbers; a detector's
    parameters may also be words (``canny:mode=per_channel,quantile=true``).  A kernel file is recognised by its
    suffix (``.toml``, ``.json``, ``.npy``, ``.npz``) or a path separator.  A
    string starting with a digit is an ImageMagick kernel and stands alone.

    Raises
    ------
    UnknownFilterError
        Unknown filter name (the message lists the closest names).
    KernelFileError
        Missing or invalid kernel file, or invalid ImageMagick string.
    ParameterError
        Empty effect, bad parameters (unknown key, not a number, duplicated), or
        parameters for a filter without a factory.
    ParameterTypeError
        If ``effect`` is of no accepted type.
    """
    if isinstance(effect, Effect):
        return effect
    if isinstance(effect, (Filter, Detector)):
        return Effect(spec=effect.name, steps=(effect,))
    if isinstance(effect, np.ndarray):
        return Effect(spec="kernel", steps=(banks.filter_from_array(effect),))
    if isinstance(effect, os.PathLike):
        return Effect(spec=os.fspath(effect), steps=(_file_step(os.fspath(effect)),))
    if not isinstance(effect, str):
        raise ParameterTypeError(
            f"effect: expected a filter name, chain, kernel file, ImageMagick string or 2-D array, found {type(effect).__name__}"
        )
    text = effect.strip()
    if not text:
        raise ParameterError("effect: expected a filter name such as 'sobel', found an empty string")
    if banks.looks_like_imagemagick(text):
        return Effect(spec=text, steps=(banks.parse_imagemagick(text),))
    file_part = text.split("#")[0]
    if "," in file_part and _is_kernel_path(text) and Path(file_part).is_file():
        # One existing file with commas in its name, which splitting would break up.
        return Effect(spec=text, steps=(_file_step(text),))
    steps = [_resolve_step(target, parameters, text) for target, parameters in _split_steps(text)]
    return Effect(spec=text, steps=tuple(steps))


def _split_steps(text: str) -> list[tuple[str, dict[str, str]]]:
    steps: list[tuple[str, dict[str, str]]] = []
    for piece in text.split(","):
        parameter = _PARAMETER.match(piece)
        if parameter and steps and steps[-1][1]:
            _add_parameter(steps[-1], parameter["key"], parameter["value"])
            continue
        with_parameter = _STEP_WITH_PARAMETER.match(piece)
        if with_parameter:
            step: tuple[str, dict[str, str]] = (with_parameter["target"].strip(), {})
            first = _PARAMETER.match(with_parameter["first"])
            if first is None:
                raise ParameterError(f"effect: expected key=number after ':' in {piece.strip()!r}")
            _add_parameter(step, first["key"], first["value"])
        else:
            step = (piece.strip(), {})
        if not step[0]:
            raise ParameterError(f"effect: empty step in {text!r}; expected names separated by single commas")
        steps.append(step)
    return steps


def _add_parameter(step: tuple[str, dict[str, str]], key: str, value: str) -> None:
    # Values stay text until the target is known: filters take numbers, detectors words too.
    target, parameters = step
    if key in parameters:
        raise ParameterError(f"effect {target!r}: parameter {key} given twice")
    parameters[key] = value


def _number(where: str, key: str, value: str) -> float:
    if not _NUMBER.match(value):
        raise ParameterError(f"{where}: parameter {key}: expected a number, found {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ParameterError(f"{where}: parameter {key}: expected a finite number, found {value!r}")
    return number


def _is_kernel_path(target: str) -> bool:
    path = target.split("#")[0]
    return path.lower().endswith(banks.KERNEL_FILE_SUFFIXES) or "/" in path or os.sep in path


def _resolve_step(target: str, parameters: dict[str, str], spec: str) -> Filter | Detector:
    where = f"effect {target!r}"
    learned = target.startswith("learned:")  # before the file test: learned:model.npz names a model, not kernels
    if _is_kernel_path(target) and not learned:
        step = _file_step(target)
    elif banks.looks_like_imagemagick(target):
        raise ParameterError(f"effect: an ImageMagick kernel must be the whole effect, not part of the chain {spec!r}")
    elif target in _DETECTORS or learned:
        # learned:MODEL[#k] is built per model by convfx.compare, imported here only (it loads the nn package).
        from .compare import learned_step

        detector = learned_step(target) if learned else _DETECTORS[target]
        options = {option.name: option for option in detector.options}
        # Unknown names are reported by with_parameters, with the list of known ones.
        values = {key: options[key].parse(text, where) if key in options else text for key, text in parameters.items()}
        return detector.with_parameters(values)
    else:
        try:
            step = banks.get_filter(target)
        except UnknownFilterError:
            names = [*banks.builtin_filters(), *_DETECTORS]
            raise UnknownFilterError(f"effect: unknown filter {target!r}; {banks._closest(target, names)}") from None
    return banks.with_parameters(step, {key: _number(where, key, text) for key, text in parameters.items()})


def _file_step(target: str) -> Filter:
    path, _, entry = target.partition("#")
    if not Path(path).exists() and not path.lower().endswith(banks.KERNEL_FILE_SUFFIXES):
        raise KernelFileError(f"{path}: kernel file not found (and no filter has this name)")
    return banks.load_kernel_file(path, entry or None)


# --------------------------------------------------------------------------- filtering


def to_luminance(image: np.ndarray) -> np.ndarray:
    """Luminance ``0.299 R + 0.587 G + 0.114 B`` of an RGB image.

    Parameters
    ----------
    image : array_like, shape (H, W, 3) or (H, W)
        RGB, any real dtype; a 2-D image is returned unchanged (as float).

    Returns
    -------
    ndarray, shape (H, W)
        float64 for float64 input, float32 otherwise, in the input's units.
    """
    array = np.asarray(image)
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    if array.ndim == 2:
        return array.astype(dtype, copy=False)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ParameterError(f"image: gray needs shape (H, W) or (H, W, 3) RGB, found shape {array.shape}")
    return array.astype(dtype, copy=False) @ np.asarray(LUMINANCE_WEIGHTS, dtype=dtype)


def apply(
    image: np.ndarray,
    effect: EffectLike,
    *,
    boundary: str = "reflect",
    gray: bool | None = None,
    **parameters: Any,
) -> np.ndarray:
    """Apply a named filter, chain, kernel file, kernel or detector to an image.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype, in any units (0-255 for a photo read as ``uint8``).
        Every channel is filtered independently (pass alpha separately).
    effect : str, path-like, ndarray, Filter, Detector or Effect
        See :func:`parse_effect`: ``"sobel"``, ``"gaussian_blur,sobel"``,
        ``"gaussian_blur:sigma=2"``, ``"canny:sigma=2,low=0.05"``, ``"my.toml"``,
        ``"3x3: 0,1,0 1,-4,1 0,1,0"``, or a 2-D correlation kernel.
    boundary : {"reflect", "constant", "edge", "symmetric", "wrap"}, optional
        How pixels beyond the border are made (``numpy.pad`` modes).  The default
        ``"reflect"`` mirrors without repeating the edge pixel (OpenCV's default),
        so the photo's border neither lights up nor goes dark.
    gray : bool, optional
        Filter the luminance of an RGB image only, giving ``(H, W)``.  Default:
        the effect's own choice (false for most).
    **parameters
        Parameters of a single named effect, as keywords:
        ``apply(image, "canny", sigma=2, mode="per_channel")`` is
        ``apply(image, "canny:sigma=2,mode=per_channel")``.

    Returns
    -------
    ndarray, shape (H, W) or (H, W, C)
        The raw response, float32 (float64 for float64 input): not clipped, not
        rounded, negative where the filter says so.  Map it to pixels with
        :func:`map_range`.  An effect ending in a detector gives its output
        instead: a bool edge map ``(H, W)`` for ``canny`` and ``marr_hildreth``.
        A step after a detector filters its edge map as an image whose edges are
        white (the input dtype's full scale: 255 for ``uint8``, 1.0 for floats).

    Raises
    ------
    ValueError, TypeError
        Bad effect, boundary or image (see :func:`parse_effect` and
        :func:`convfx.correlate`).

    Notes
    -----
    A combined filter applies each of its kernels and merges the responses:
    ``magnitude`` is :math:`\\sqrt{\\sum_i r_i^2}`, ``max`` the largest
    :math:`r_i`, ``difference`` :math:`r_1 - r_2`.

    Examples
    --------
    A vertical step edge: the Sobel x response is 4 per unit step at the edge
    (1 + 2 + 1 from the smoothing column) and 0 elsewhere.

    >>> import numpy as np
    >>> import convfx
    >>> step = np.repeat([[0.0, 0.0, 1.0, 1.0]], 3, axis=0)
    >>> convfx.apply(step, "sobel_x")
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]])
    """
    parsed = parse_effect(effect)
    if parameters:
        parsed = _with_keyword_parameters(parsed, parameters)
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    response = np.asarray(image)
    if response.dtype.kind not in "biuf":
        raise ParameterTypeError(f"image: expected a real numeric dtype, found dtype {response.dtype}")
    # Fixed by the input: after the first float step the dtype no longer says what white is.
    full_scale = dtype_full_scale(response.dtype)
    if parsed.gray if gray is None else gray:
        response = to_luminance(response)
    work_dtype = compute_dtype(response.dtype)
    for position, step in enumerate(parsed.steps):
        if isinstance(step, Detector):
            response = step(response, boundary=boundary, full_scale=full_scale)
            if position < len(parsed.steps) - 1 and response.dtype == bool:
                # A later step filters the edge map as an image: edges are white.
                response = np.where(response, work_dtype.type(full_scale), work_dtype.type(0))
        else:
            response = _apply_filter(response, step, boundary)
    return response


def _with_keyword_parameters(effect: Effect, parameters: Mapping[str, Any]) -> Effect:
    """``effect`` (one step) with ``parameters`` added, as if written after a ``:``."""
    if len(effect.steps) != 1:
        raise ParameterError(
            f"parameters: keywords ({', '.join(parameters)}) need a single named effect, "
            f"found {len(effect.steps)} steps in {effect.spec!r}"
        )
    step = effect.steps[0]
    where = f"effect {step.name!r}"
    twice = sorted(set(parameters) & set(step.parameters))
    if twice:
        raise ParameterError(f"{where}: parameter {twice[0]} given twice")
    if isinstance(step, Detector):
        step = step.with_parameters({**step.parameters, **parameters})
    else:
        for key, value in parameters.items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise ParameterTypeError(f"{where}: parameter {key}: expected a number, found {value!r}")
        step = banks.with_parameters(step, {**step.parameters, **{k: float(v) for k, v in parameters.items()}})
    settings = ",".join(f"{key}={_format_value(value)}" for key, value in step.parameters.items())
    return Effect(spec=f"{step.name}:{settings}", steps=(step,))


def _apply_filter(image: np.ndarray, filter: Filter, boundary: str) -> np.ndarray:
    # Convert once (uint8 -> float32), not once per kernel of a combined filter.
    image = np.asarray(image, dtype=compute_dtype(image.dtype))
    responses = [correlate(image, kernel.weights, boundary=boundary) for kernel in filter.kernels]
    if filter.combine is None:
        return responses[0]
    if filter.combine == "magnitude" and len(responses) == 2 and (responses[0].ndim == 2 or responses[0].shape[-1] <= 4):
        # sqrt(gx^2 + gy^2) in one OpenCV pass, 5-10x faster than three numpy passes
        # (it may differ from them in the last bit of float32).
        return cv2.magnitude(responses[0], responses[1])
    if filter.combine == "magnitude":
        total = responses[0] * responses[0]
        for response in responses[1:]:
            total += response * response
        return np.sqrt(total, out=total)
    if filter.combine == "max":
        return np.maximum.reduce(responses)
    return responses[0] - responses[1]  # "difference"; banks allows no other rule


# --------------------------------------------------------------------------- output range


def map_range(
    response: np.ndarray,
    output_range: str,
    *,
    dtype: np.dtype | type = np.uint8,
    source_max: float | None = None,
) -> np.ndarray:
    """Turn a float response into integer pixels by an explicit policy; nothing wraps.

    Parameters
    ----------
    response : array_like
        A response from :func:`apply`, in the units of the image it came from.
        A bool response (a detector's edge map) counts ``True`` as full scale,
        white under every range.
    output_range : {"abs", "clip", "signed", "normalize", "binary"}
        ``abs``
            :math:`|r|`, then clipped to the dtype's range (both edge directions
            show as bright; OpenCV's ``convertScaleAbs``).
        ``clip``
            :math:`r` clipped to ``[0, max]`` (blurs, sharpen: values stay in
            range except overshoot at edges).
        ``signed``
            :math:`r/2` around mid-grey, clipped: ``-max -> 0``, ``0 -> (max+1)/2``,
            ``+max -> max`` (reliefs; both signs visible and distinguishable).
        ``normalize``
            The response's own minimum to 0 and maximum to ``max``, linearly
            (all channels together, so colours keep their balance); a flat
            response gives 0.
        ``binary``
            ``max`` where :math:`r > 0`, else 0: an edge map from a detector
            (``True`` is white); ``source_max`` plays no part.
    dtype : {uint8, uint16}, optional
        Output dtype; ``max`` is 255 or 65535.
    source_max : float, optional
        Full scale of the input image (255 for a ``uint8`` photo, 65535 for
        ``uint16``); the response is rescaled by ``max / source_max`` first.
        Default: the output dtype's ``max`` (no rescaling).

    Returns
    -------
    ndarray of ``dtype``, the shape of ``response``
        Rounded to nearest.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.effects import map_range
    >>> r = np.array([-300.0, -10.0, 0.0, 10.0, 300.0])
    >>> map_range(r, "abs")
    array([255,  10,   0,  10, 255], dtype=uint8)
    >>> map_range(r, "clip")
    array([  0,   0,   0,  10, 255], dtype=uint8)
    >>> map_range(r, "signed")
    array([  0, 123, 128, 133, 255], dtype=uint8)
    >>> map_range(r, "normalize")
    array([  0, 123, 128, 132, 255], dtype=uint8)
    """
    if output_range not in OUTPUT_RANGES:
        raise ParameterError(f"output_range: invalid value {output_range!r}; expected one of {list(OUTPUT_RANGES)}")
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise ParameterError(f"dtype: expected uint8 or uint16, found {dtype}")
    top = float(np.iinfo(dtype).max)
    response = np.asarray(response)
    if output_range == "binary":
        return np.where(response > 0, np.iinfo(dtype).max, 0).astype(dtype)
    if response.dtype == bool:
        # An edge map: True is white (full scale) under every range.
        response = np.where(response, np.float32(top if source_max is None else source_max), np.float32(0))
    if (
        output_range == "abs"
        and dtype == np.uint8
        and response.dtype == np.float32
        and (source_max is None or source_max == top)
        and (response.ndim == 2 or response.shape[-1] <= 4)
    ):
        # OpenCV's convertScaleAbs is exactly |r| rounded half to even and saturated,
        # 10x faster than the passes below (the common case: an edge map of a photo);
        # only values beyond int32 and +-inf differ (its rounding overflows to 0),
        # so those are saturated here as below.
        pixels = cv2.convertScaleAbs(response)
        pixels = pixels if pixels.shape == response.shape else pixels.reshape(response.shape)
        # Two reductions without a temporary are 3x cheaper than the |r| mask; NaN
        # makes both comparisons False and takes the mask too (its pixels stay 0).
        if response.size and not (-(2.0**31) < response.min() and response.max() < 2.0**31):
            pixels[np.abs(response) >= 2.0**31] = 255  # False for NaN, which both paths make 0
        return pixels
    # One working copy, changed in place: a 64-megapixel RGB response is 768 MB in
    # float32, so no float64 copies (float32 holds every 16-bit level exactly).
    values = response.astype(np.float32 if response.dtype == np.float32 else np.float64, copy=True)
    if source_max is not None and source_max != top:
        if not (math.isfinite(source_max) and source_max > 0):
            raise ParameterError(f"source_max: expected a finite number > 0, found {source_max!r}")
        values *= top / source_max
    if output_range == "abs":
        np.abs(values, out=values)
    elif output_range == "signed":
        values *= 0.5
        values += (top + 1) / 2
    elif output_range == "normalize":
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if high > low:
            values -= low
            values *= top / (high - low)
        else:
            values[...] = 0
    # NaN cannot come from finite kernels, but a float overflow can make inf - inf.
    np.nan_to_num(values, copy=False, nan=0.0, posinf=top, neginf=0.0)
    np.rint(values, out=values)
    np.clip(values, 0, top, out=values)
    return values.astype(dtype)

