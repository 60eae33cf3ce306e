"""The filters by name: the shipped ones listed and looked up, and rebuilt with parameters.

:func:`get_filter` is what an effect name resolves to; :func:`with_parameters`
rebuilds a filter whose bank entry names a kernel factory
(``gaussian_blur:sigma=2``) through :data:`convfx.kernels.FACTORIES`.

This module must not read files itself (:mod:`.files` loads the banks) or
filter images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..checks import choice
from ..errors import ParameterError
from ..kernels import FACTORIES, format_number
from .files import builtin_filters
from .model import Filter, Kernel, UnknownFilterError, checked_matrix, closest_names, frozen_copy

__all__ = ["list_filters", "get_filter", "with_parameters", "factory_parameters"]


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
    choice(family, "family", sorted({f.family for f in filters}))
    return [f for f in filters if f.family == family]


def get_filter(name: str) -> Filter:
    """The shipped filter called ``name``.

    Parameters
    ----------
    name : str
        A shipped filter's name, as :func:`list_filters` lists them.

    Returns
    -------
    Filter
        The bank entry (its kernels, default output range, description...).

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
    # The bank alone: convfx.list_filters() lists these (`convfx filters` adds the detectors).
    raise UnknownFilterError(
        f"effect: unknown filter {name!r}; {closest_names(name, filters, listed_by='convfx.list_filters()')}"
    )


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
    factory = FACTORIES[filter.factory]
    unknown = sorted(set(parameters) - set(factory.parameters))
    if unknown:
        raise ParameterError(
            f"effect {filter.name!r}: unknown parameter(s) {', '.join(unknown)}; expected some of {', '.join(factory.parameters)}"
        )
    built = factory.build(**parameters)
    matrices = built if isinstance(built, dict) else {filter.name: built}
    kernels = tuple(
        Kernel(name=name, values=frozen_copy(checked_matrix(values, f"effect {filter.name!r}")))
        for name, values in matrices.items()
    )
    # The bank's description names the default kernel ("5x5 ..."); say what this one is.
    settings = ", ".join(f"{k}={format_number(v)}" for k, v in parameters.items())
    description = f"{filter.name} rebuilt by the {filter.factory!r} factory with {settings}"
    return replace(filter, description=description, kernels=kernels, parameters=dict(parameters))


def factory_parameters(filter: Filter) -> tuple[str, ...]:
    """The parameter names ``filter`` accepts (empty when it has no factory).

    Parameters
    ----------
    filter : Filter

    Returns
    -------
    tuple of str
    """
    return FACTORIES[filter.factory].parameters if filter.factory else ()
