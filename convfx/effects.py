"""Effects: named filters, chains, user kernels and detectors applied to images.

An *effect* is what a user names on the command line or passes to :func:`apply`:

* a bank filter: ``"sobel"``;
* with parameters, for filters that have a kernel factory: ``"gaussian_blur:sigma=2,size=9"``;
* a chain, applied left to right on the float response: ``"gaussian_blur,sobel"``;
* a kernel file: ``"my_kernels.toml"``, ``"bank.toml#edge"``, ``"k.npy"``, ``"bank.npz#k"``;
* an ImageMagick kernel string: ``"3x3: -1,0,1 -2,0,2 -1,0,1"`` (the whole effect);
* a 2-D array (a correlation kernel), a :class:`~convfx.banks.Filter` or an :class:`Effect`;
* a *detector*, a non-linear step registered by name with typed parameters
  (:mod:`convfx.steps`): ``"canny:sigma=2,low=0.05"``, ``"gaussian_blur,canny"``;
* a step named by a registered prefix (:mod:`convfx.steps`), such as a model's
  learned first-layer filters: ``"learned:MODEL"`` (every feature map, as a
  montage) or ``"learned:MODEL#3"`` (one map), ``":activation=true"`` after the
  layer's activation.

:func:`apply` returns the raw float response; :func:`convfx.ranges.map_range` is
the separate, explicit step that turns a response into ``uint8`` / ``uint16``
pixels by one of the output-range policies.

This module must not slide kernels itself (every filter goes through
:func:`convfx.correlate`), parse files (:mod:`convfx.banks`, :mod:`convfx.imageio`),
print anything, or name the modules that implement detectors and prefixed steps
(:mod:`convfx.edges`, :mod:`convfx.learned`): it finds them in :mod:`convfx.steps`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

import cv2
import numpy as np

from . import banks, steps
from .banks import Filter, KernelFileError, UnknownFilterError
from .checks import choice, parse_number, quoted, real_array, real_number
from .color import to_luminance
from .conv import BOUNDARIES, Boundary, compute_dtype, correlate
from .errors import ParameterError, ParameterTypeError
from .kernels import format_number
from .limits import MAX_EFFECT_SPEC_CHARS
from .ranges import OUTPUT_RANGES, dtype_full_scale
from .steps import Detector, get_detector, list_detectors

__all__ = [
    "MAX_SLUG_CHARS",
    "Effect",
    "EffectLike",
    "format_step",
    "parse_effect",
    "apply",
    "magnitude",
]


# --------------------------------------------------------------------------- steps


def _format_value(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return format_number(value)


def format_step(step: Filter | Detector) -> str:
    """What ``convfx show`` prints for one step: a filter's kernels, or a detector's parameters.

    Parameters
    ----------
    step : Filter or Detector

    Returns
    -------
    str
        Several lines.
    """
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


#: Characters of an effect's label in output names (``<stem>_<label>.png``).
MAX_SLUG_CHARS = 100


@dataclass(frozen=True, eq=False)
class Effect:
    """A parsed effect: filters applied one after the other.

    Attributes
    ----------
    spec : str
        What the user wrote (or a label for arrays and filters).
    steps : tuple of Filter or Detector
        Applied left to right; each sees the response of the previous one.

    Examples
    --------
    >>> from convfx.effects import parse_effect
    >>> effect = parse_effect("gaussian_blur:sigma=2,sobel")
    >>> [step.name for step in effect.steps]
    ['gaussian_blur', 'sobel']
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
    def edge_map(self) -> bool:
        """Whether the effect ends in an edge detector, whose output is a bool edge map."""
        last = self.steps[-1]
        return isinstance(last, Detector) and last.output_range == "binary"

    def resolve_output_range(self, output_range: str | None = None) -> str:
        """The output range that renders this effect: ``output_range`` (checked), or the effect's own.

        Parameters
        ----------
        output_range : str or None, optional
            One of :data:`convfx.ranges.OUTPUT_RANGES`; None for the effect's own.

        Returns
        -------
        str

        Raises
        ------
        ParameterError
            An unknown range, or ``binary`` for an effect that does not end in an
            edge detector: thresholding a blur or a gradient at 0 would make it
            white wherever it is positive, nearly everywhere.
        """
        policy = self.output_range if output_range is None else output_range
        choice(policy, "output_range", OUTPUT_RANGES)
        if policy == "binary" and not self.edge_map:
            others = ", ".join(name for name in OUTPUT_RANGES if name != "binary")
            raise ParameterError(
                f"output_range: 'binary' is for edge maps, effects that end in an edge detector such as canny; "
                f"found {quoted(self.spec)}, which ends in {quoted(self.steps[-1].name)}; choose one of {others}"
            )
        return policy

    @property
    def slug(self) -> str:
        """A file-name-safe label, e.g. ``gaussian_blur_sigma2-sobel``, of at most :data:`MAX_SLUG_CHARS`.

        A longer one (a long chain) keeps its beginning and ends in ``-`` and the
        first 8 hex digits of the whole label's SHA-256, so that different effects
        still get different names and a file name stays within the 255 bytes
        file systems allow.
        """
        parts = []
        for step in self.steps:
            part = step.name + "".join(f"_{k}{_format_value(v)}" for k, v in step.parameters.items())
            parts.append(part)
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))
        if len(slug) <= MAX_SLUG_CHARS:
            return slug
        digest = hashlib.sha256(slug.encode("ascii")).hexdigest()[:8]
        return f"{slug[: MAX_SLUG_CHARS - 9]}-{digest}"


EffectLike = Union[str, os.PathLike, np.ndarray, Filter, Detector, Effect]

# Linear patterns: no two parts can match the same characters, so nothing
# backtracks over a long run of spaces.  A value is taken whole and stripped.
_PARAMETER = re.compile(r"\s*(?P<key>[A-Za-z_]\w*)\s*=(?P<value>[^=]*)$")  # used with match()
# The colon that starts a step's parameters: the first one followed by ``key=``.
_PARAMETERS_COLON = re.compile(r":(?=\s*[A-Za-z_]\w*\s*=)")


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

    Parameters
    ----------
    effect : str, Filter, Effect, ndarray or sequence of them
        A specification as :func:`convfx.apply` takes it.

    Returns
    -------
    Effect

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
    if len(effect) > MAX_EFFECT_SPEC_CHARS:  # before any pattern sees it
        raise ParameterError(
            f"effect: expected at most {MAX_EFFECT_SPEC_CHARS:,} characters (convfx.limits.MAX_EFFECT_SPEC_CHARS), "
            f"found {quoted(effect)}"
        )
    text = effect.strip()
    if not text:
        raise ParameterError("effect: expected a filter name such as 'sobel', found an empty string")
    if banks.looks_like_imagemagick(text):
        return Effect(spec=text, steps=(banks.parse_imagemagick(text),))
    file_part = text.split("#")[0]
    if "," in file_part and _is_kernel_path(text) and os.path.isfile(file_part):
        # One existing file with commas in its name, which splitting would break up.
        return Effect(spec=text, steps=(_file_step(text),))
    steps = [_resolve_step(target, parameters, text) for target, parameters in _split_steps(text)]
    return Effect(spec=text, steps=tuple(steps))


def _split_steps(text: str) -> list[tuple[str, dict[str, str]]]:
    steps: list[tuple[str, dict[str, str]]] = []
    for piece in text.split(","):
        parameter = _PARAMETER.match(piece)
        if parameter and steps and steps[-1][1]:
            _add_parameter(steps[-1], parameter["key"], parameter["value"].strip())
            continue
        colon = _PARAMETERS_COLON.search(piece, 1)  # a target has at least one character
        if colon:
            step: tuple[str, dict[str, str]] = (piece[: colon.start()].strip(), {})
            first = _PARAMETER.match(piece, colon.end())
            if first is None:
                raise ParameterError(f"effect: expected key=number after ':' in {quoted(piece.strip())}")
            _add_parameter(step, first["key"], first["value"].strip())
        else:
            step = (piece.strip(), {})
        if not step[0]:
            raise ParameterError(f"effect: empty step in {quoted(text)}; expected names separated by single commas")
        steps.append(step)
    return steps


def _add_parameter(step: tuple[str, dict[str, str]], key: str, value: str) -> None:
    # Values stay text until the target is known: filters take numbers, detectors words too.
    target, parameters = step
    if key in parameters:
        raise ParameterError(f"effect {quoted(target)}: parameter {quoted(key)} given twice")
    parameters[key] = value


def _is_kernel_path(target: str) -> bool:
    path = target.split("#")[0]
    return path.lower().endswith(banks.KERNEL_FILE_SUFFIXES) or "/" in path or os.sep in path


def _resolve_step(target: str, parameters: dict[str, str], spec: str) -> Filter | Detector:
    where = f"effect {quoted(target)}"
    # Prefixes first: learned:model.npz names a model, not a kernel file.
    detector = steps.prefixed_step(target)
    if detector is None and _is_kernel_path(target):
        step = _file_step(target)
    elif detector is None and banks.looks_like_imagemagick(target):
        raise ParameterError(f"effect: an ImageMagick kernel must be the whole effect, not part of the chain {quoted(spec)}")
    elif detector is not None or steps.is_detector(target):
        detector = detector or get_detector(target)
        options = {option.name: option for option in detector.options}
        # Unknown names are reported by with_parameters, with the list of known ones.
        values = {key: options[key].parse(text, where) if key in options else text for key, text in parameters.items()}
        with _in_effect(where, parameters):
            return detector.with_parameters(values)
    else:
        try:
            step = banks.get_filter(target)
        except UnknownFilterError:
            names = [*banks.builtin_filters(), *(d.name for d in list_detectors())]
            raise UnknownFilterError(f"effect: unknown filter {quoted(target)}; {banks.closest_names(target, names)}") from None
    numbers = {key: parse_number(text, f"{where}: parameter {key}") for key, text in parameters.items()}
    with _in_effect(where, parameters):
        return banks.with_parameters(step, numbers)


@contextlib.contextmanager
def _in_effect(where: str, parameters: Mapping[str, str]) -> Iterator[None]:
    """Say which effect a bad parameter value belongs to: ``effect 'gaussian_blur': parameter sigma: ...``.

    The factories and detectors check their values as ``sigma: ...``; in an effect
    string the same name needs the effect in front, as every other effect error has.
    """
    try:
        yield
    except (ParameterError, ParameterTypeError) as error:
        message = str(error)
        if message.split(":", 1)[0] not in parameters:
            raise
        raise type(error)(f"{where}: parameter {message}") from None


def _file_step(target: str) -> Filter:
    path, _, entry = target.partition("#")
    if not os.path.exists(path) and not path.lower().endswith(banks.KERNEL_FILE_SUFFIXES):
        raise KernelFileError(f"{path}: kernel file not found (and no filter has this name)")
    return banks.load_kernel_file(path, entry or None)


# --------------------------------------------------------------------------- filtering


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
    mode: Boundary = choice(boundary, "boundary", BOUNDARIES)
    response = real_array(image, "image")
    # Fixed by the input: after the first float step the dtype no longer says what white is.
    full_scale = dtype_full_scale(response.dtype)
    if parsed.gray if gray is None else gray:
        response = to_luminance(response)
    work_dtype = compute_dtype(response.dtype)
    for position, step in enumerate(parsed.steps):
        if isinstance(step, Detector):
            response = step(response, boundary=mode, full_scale=full_scale)
            if position < len(parsed.steps) - 1 and response.dtype == bool:
                # A later step filters the edge map as an image: edges are white.
                response = np.where(response, work_dtype.type(full_scale), work_dtype.type(0))
        else:
            response = _apply_filter(response, step, mode)
    return response


def _with_keyword_parameters(effect: Effect, parameters: Mapping[str, Any]) -> Effect:
    """``effect`` (one step) with ``parameters`` added, as if written after a ``:``."""
    if len(effect.steps) != 1:
        raise ParameterError(
            f"parameters: keywords ({', '.join(parameters)}) need a single named effect, "
            f"found {len(effect.steps)} steps in {quoted(effect.spec)}"
        )
    step = effect.steps[0]
    where = f"effect {step.name!r}"
    twice = sorted(set(parameters) & set(step.parameters))
    if twice:
        raise ParameterError(f"{where}: parameter {twice[0]} given twice")
    if isinstance(step, Detector):
        step = step.with_parameters({**step.parameters, **parameters})
    else:
        values = {key: real_number(value, f"{where}: parameter {key}") for key, value in parameters.items()}
        step = banks.with_parameters(step, {**step.parameters, **values})
    settings = ",".join(f"{key}={_format_value(value)}" for key, value in step.parameters.items())
    return Effect(spec=f"{step.name}:{settings}", steps=(step,))


def _apply_filter(image: np.ndarray, filter: Filter, boundary: Boundary) -> np.ndarray:
    # Convert once (uint8 -> float32), not once per kernel of a combined filter.
    image = np.asarray(image, dtype=compute_dtype(image.dtype))
    responses = [correlate(image, kernel.weights, boundary=boundary) for kernel in filter.kernels]
    if filter.combine is None:
        return responses[0]
    if filter.combine == "magnitude":
        return magnitude(responses)
    if filter.combine == "max":
        return np.maximum.reduce(responses)
    return responses[0] - responses[1]  # "difference"; banks allows no other rule


#: Values per block of :func:`magnitude` (512 kB of float32 per array), so that the
#: passes over a block run in the cache instead of streaming the whole image each time.
_MAGNITUDE_BLOCK = 1 << 17


def magnitude(responses: list[np.ndarray]) -> np.ndarray:
    """:math:`\\sqrt{\\sum_i r_i^2}`, rounded the same way whatever the arrays' addresses.

    Every element is ``sqrt(r0*r0 + r1*r1 + ...)`` in the responses' own dtype,
    each product, sum and square root correctly rounded (IEEE 754), left to right:
    the same bits in every call, whole or in strips.  ``cv2.magnitude`` is not
    used because its result depends on the output buffer's alignment (Intel
    IPP treats an unaligned head differently), so the same input could give two
    answers; OpenCV's ``multiply``, ``add`` and ``sqrt`` are exact element-wise
    IEEE operations (``tests/test_effects.py`` checks them against numpy at every
    alignment) and, on blocks that stay in the cache, nearly as fast.

    Parameters
    ----------
    responses : list of ndarray, same shape and float dtype
        Fresh arrays this call may overwrite (the responses of one combined
        filter); the first one is returned, holding the magnitude.

    Returns
    -------
    ndarray, the shape and dtype of ``responses[0]``
    """
    total = np.ascontiguousarray(responses[0])
    others = [np.ascontiguousarray(response) for response in responses[1:]]
    flat = total.reshape(-1)
    flat_others = [other.reshape(-1) for other in others]
    for start in range(0, flat.size, _MAGNITUDE_BLOCK):
        block = flat[start : start + _MAGNITUDE_BLOCK]
        cv2.multiply(block, block, dst=block)
        for other in flat_others:
            part = other[start : start + _MAGNITUDE_BLOCK]
            cv2.multiply(part, part, dst=part)
            cv2.add(block, part, dst=block)
        cv2.sqrt(block, dst=block)
    return total
