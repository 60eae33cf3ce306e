"""Typer's conversion of command-line values, without building a pydantic validator for the plain ones.

typer converts each parameter's value with a pydantic ``TypeAdapter`` built on
first use; importing pydantic and building the adapters is a tenth of a second or
more of every command's start-up.  :class:`QuickRuntimeParam` gives the result
pydantic would give for the values a command line gives most (a word for a text
parameter, digits for a number, a file name for a path, a choice's name, a
default already of its type) and hands every other value to typer's own
conversion, unchanged: so a value that may be refused always meets typer's
checks and error messages, and nothing is refused here that typer accepts.

Path parameters keep typer's own checks (``coerce_cli_path``: exists, readable,
file or folder...); only the text is made a :class:`~pathlib.Path` first, as
pydantic would.  ``tests/test_cli_coercion.py`` holds each rule to typer's
conversion.

This module must not import the library, pydantic or rich: it converts values,
nothing else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import exceptions
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path

__all__ = ["QuickRuntimeParam", "quick_runtime_param"]

# What pydantic reads as int(text) and float(text) for sure; anything else (spaces,
# '1_000', '1e3', '+4', '5.0' for an int, huge numbers) goes to typer's conversion.
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


class _Unknown:
    """The value is not one of the plain cases: typer converts it."""


_UNKNOWN = _Unknown()


@dataclass(frozen=True)
class QuickRuntimeParam(RuntimeParam):
    """typer's conversion of one parameter, with the plain values converted without pydantic.

    ``descriptor``: the parameter's resolved type (typer's own), from which its
    full conversion is built when a value needs it.
    """

    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        item_type = _list_item(self.annotation)
        if item_type is not None and isinstance(value, (list, tuple)):
            items = [self._plain(item_type, item, param, ctx) for item in value]
            if not any(item is _UNKNOWN for item in items):
                return items
        else:
            result = self._plain(self.annotation, value, param, ctx)
            if result is not _UNKNOWN:
                return result
        return self._full._coerce_value(value, param=param, ctx=ctx)

    @functools.cached_property
    def _full(self) -> RuntimeParam:
        """typer's own conversion, built on the first value that needs it."""
        return build_runtime_param(self.descriptor)

    def _plain(self, annotation: Any, value: Any, param: Any, ctx: Any) -> Any:
        """What pydantic makes of ``value`` for ``annotation``, if it is a plain case; else ``_UNKNOWN``."""
        info = self.parameter_info
        if annotation is str:
            return value if type(value) is str else _UNKNOWN
        if annotation is bool:
            return value if type(value) is bool else _UNKNOWN
        if annotation is int or annotation is float:
            return self._number(annotation, value)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            try:
                return coerce_cli_choice(value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
            except ValueError:
                return _UNKNOWN  # not a choice: typer says so
        if annotation is Path and info.path_type is None:
            if type(value) is str and "\x00" not in value:
                path = Path(value)  # what pydantic makes of the text
            elif isinstance(value, Path):
                path = value
            else:
                return _UNKNOWN
            try:  # typer's own checks of the file or folder, as its validator runs them
                return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
            except exceptions.BadParameter:
                return _UNKNOWN  # refused: typer refuses it again, naming the file as it was typed
        return _UNKNOWN

    def _number(self, annotation: type, value: Any) -> Any:
        info = self.parameter_info
        if info.clamp:
            return _UNKNOWN
        if type(value) is str:
            pattern = _INTEGER if annotation is int else _DECIMAL
            if pattern.fullmatch(value) is None:
                return _UNKNOWN
            number = annotation(value)
        elif type(value) is annotation:
            number = value
        else:
            return _UNKNOWN
        if (info.min is not None and not number >= info.min) or (info.max is not None and not number <= info.max):
            return _UNKNOWN  # out of range: typer refuses it with its message
        return number


def _list_item(annotation: Any) -> Any:
    """``Path`` for ``list[Path]``; None for any other annotation."""
    origin: Any = get_origin(annotation)
    arguments = get_args(annotation)
    return arguments[0] if origin is list and len(arguments) == 1 else None


def quick_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    """The conversion of a parameter of type ``descriptor``: quick for the plain types, typer's for the rest.

    Typer's own for a parameter that opens files, has a parser of its own, or
    whose type is none of str, bool, int, float, an Enum, Path or a list of one.
    """
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    item = _list_item(annotation) or annotation
    plain = item in (str, bool, int, float, Path) or (isinstance(item, type) and issubclass(item, Enum))
    if descriptor.file_annotation is not None or info.parser is not None or not plain:
        return build_runtime_param(descriptor)
    return QuickRuntimeParam(parameter_info=info, annotation=annotation, descriptor=descriptor)
