"""The steps of an effect that are not plain filters: detectors, and steps named by a prefix.

A :class:`Detector` is a non-linear step (an edge detector, a learned layer's
montage) with typed parameters, usable by name in every effect once registered:
``canny:sigma=2``, ``gaussian_blur,canny``.  Two registries resolve names:

* detectors by name (:func:`register_detector`): :mod:`convfx.edges` registers
  ``canny`` and ``marr_hildreth`` when it is imported;
* steps by prefix (:func:`register_prefix`): ``learned:MODEL[#k]`` is built per
  model by :mod:`convfx.learned`, which registers ``learned:`` when it is imported.

The modules that register steps are listed in :data:`STEP_PROVIDERS` and
imported on the first lookup, as Pillow imports its format plugins on first use:
``import convfx`` stays cheap, and whoever resolves a step finds every one.
:mod:`convfx.effects` resolves every step through these registries, so it never
names the modules that implement them.  This module must not filter images or
read files, and imports those modules only by name, on a lookup (they sit above it).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import banks
from .banks import Kernel, UnknownFilterError
from .checks import choice, flag, parse_number, quoted, real_number
from .errors import ParameterError

__all__ = [
    "STEP_PROVIDERS",
    "DetectorParameter",
    "Detector",
    "register_detector",
    "get_detector",
    "list_detectors",
    "is_detector",
    "register_prefix",
    "prefixed_step",
]

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
        """The value that ``text`` (from an effect string) stands for.

        Parameters
        ----------
        text : str
            The value as written after ``=``: a number, ``true``/``false``, a choice,
            or ``auto`` where the default is None.
        where : str
            The effect, for the message.

        Returns
        -------
        float, bool, str or None
        """
        if isinstance(self.default, bool):
            if text.lower() in _TRUE_WORDS or text.lower() in _FALSE_WORDS:
                return text.lower() in _TRUE_WORDS
            raise ParameterError(f"{where}: parameter {self.name}: expected true or false (1 or 0), found {quoted(text)}")
        if self.choices:
            return self.check(text, where)
        if self.default is None and text.lower() == "auto":
            return None
        return parse_number(text, f"{where}: parameter {self.name}")

    def check(self, value: Any, where: str) -> float | bool | str | None:
        """``value`` (from Python or :meth:`parse`) as the kind this parameter takes.

        Parameters
        ----------
        value : object
        where : str
            The effect, for the message.

        Returns
        -------
        float, bool, str or None
        """
        name = f"{where}: parameter {self.name}"
        if isinstance(self.default, bool):
            return flag(value, name)
        if self.choices:
            return choice(value, name, self.choices)
        if value is None and self.default is None:
            return None
        return real_number(value, name)


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
        (:func:`convfx.ranges.dtype_full_scale` of the chain's input).
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
    fingerprint : str
        What else decides its output besides its settings and :attr:`kernels`,
        as a digest: a learned step's weights.  A batch run's manifest holds it,
        so that a changed model redoes the files (empty when nothing else does).
    """

    name: str
    description: str
    function: Callable[..., np.ndarray]
    options: tuple[DetectorParameter, ...]
    check: Callable[..., object] | None = None  # its return value is ignored
    kernels_used: Callable[..., tuple[Kernel, ...]] | None = None
    output_range: str = "binary"
    family: str = "edges"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

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

        Parameters
        ----------
        parameters : mapping of str to object
            Parameter names to values.

        Returns
        -------
        Detector

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
            raise ParameterError(f"{where}: unknown parameter(s) {', '.join(unknown)}; expected some of {', '.join(options)}")
        values = {key: options[key].check(value, where) for key, value in parameters.items()}
        configured = replace(self, parameters=values)
        if self.check is not None:
            self.check(**configured.settings)
        return configured

    def __call__(self, image: np.ndarray, *, boundary: str, full_scale: float) -> np.ndarray:
        """Run the detector on ``image`` with its settings."""
        return self.function(image, boundary=boundary, full_scale=full_scale, **self.settings)


_DETECTORS: dict[str, Detector] = {}

#: Modules that register detectors or prefixes when imported; imported by name on
#: the first lookup (:func:`get_detector`, :func:`list_detectors`,
#: :func:`is_detector`, :func:`prefixed_step`).
STEP_PROVIDERS = ["convfx.edges", "convfx.learned"]
_providers_loaded = False
# Another thread's first lookup waits until every provider has registered; a
# provider that looks a step up while it imports gets its own partial module back.
_providers_lock = threading.RLock()


def _load_providers() -> None:
    global _providers_loaded
    if _providers_loaded:
        return
    with _providers_lock:
        for name in STEP_PROVIDERS:
            importlib.import_module(name)
        _providers_loaded = True  # not before: an interrupted import is tried again next time


def register_detector(detector: Detector) -> Detector:
    """Make ``detector`` usable by name in every effect (``convfx apply``, chains, batch).

    :mod:`convfx.edges` registers ``canny`` and ``marr_hildreth`` this way when it
    is imported (see :data:`STEP_PROVIDERS`).  Registering a name again replaces the detector.

    Parameters
    ----------
    detector : Detector

    Returns
    -------
    Detector
        ``detector`` itself.

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
    """The registered detector called ``name``; :class:`UnknownFilterError` if none.

    Parameters
    ----------
    name : str

    Returns
    -------
    Detector
    """
    _load_providers()
    if name not in _DETECTORS:
        raise UnknownFilterError(
            f"effect: unknown detector {quoted(name)}; {banks.closest_names(name, _DETECTORS, listed_by='convfx.steps.list_detectors()')}"
        )
    return _DETECTORS[name]


def list_detectors(family: str | None = None) -> list[Detector]:
    """The registered detectors sorted by family then name (only ``family``'s if given).

    Parameters
    ----------
    family : str, optional

    Returns
    -------
    list of Detector
    """
    _load_providers()
    detectors = sorted(_DETECTORS.values(), key=lambda d: (d.family, d.name))
    return [d for d in detectors if family is None or d.family == family]


def is_detector(name: str) -> bool:
    """Whether a detector is registered under ``name``.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    _load_providers()
    return name in _DETECTORS


# --------------------------------------------------------------------------- steps by prefix

_PREFIXES: dict[str, Callable[[str], Detector]] = {}


def register_prefix(prefix: str, build: Callable[[str], Detector]) -> None:
    """Resolve every effect step that starts with ``prefix`` (``"learned:"``) by ``build(step)``.

    ``build`` receives the whole step as written (``"learned:digits#3"``, without
    its ``:key=value`` parameters) and returns the :class:`Detector` to run;
    registering a prefix again replaces its builder.

    Parameters
    ----------
    prefix : str
    build : callable
        ``build(step) -> Detector``.
    """
    _PREFIXES[prefix] = build


def prefixed_step(target: str) -> Detector | None:
    """The step built for ``target`` by the builder of its prefix, or None if no prefix matches.

    Parameters
    ----------
    target : str
        An effect step as written, without its ``:key=value`` parameters.

    Returns
    -------
    Detector or None
    """
    _load_providers()
    for prefix, build in _PREFIXES.items():
        if target.startswith(prefix):
            return build(target)
    return None
