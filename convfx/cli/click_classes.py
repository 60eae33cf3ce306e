"""The click classes under every ``convfx`` command: plain help words and one-line usage errors.

typer builds each command's parameters itself and shows their Python types in
``--help`` (``<str>``, ``<list[Path]>``, ``<int range> [x>=1]``).  convfx's commands
are made with :class:`Command` (and groups with :class:`Group`), which show a plain
word instead: the parameter's metavar (``EFFECT``, ``SIZE``, ``OUTDIR``), its choices
(``max|avg``), ``N`` for a whole number, ``NUMBER`` for any number and nothing for a
flag.  A value out of range or not among the choices is refused with a message that
says what was expected and what was found.

The help re-flows the prose of a docstring to the terminal's width (its hard line
breaks go; indented lines, the examples, stay as written), and below
:data:`NARROW_HELP` columns it is click's plain layout, a term over its
description, rather than rich's table, whose columns would be a few letters wide.

:class:`Group` also turns every usage error of the parser (a missing argument, an
unknown option, a bad choice) into the one line every other convfx error is:
``convfx: error: --range: invalid value 'foo'; expected one of abs, clip, ...``, exit code 2.
:func:`printable` is how every line names a file whose name is not valid UTF-8.

This module must not import the library: it shapes the command line, nothing else.
It reaches into typer's parameter classes (``typer.core``), the one place that does.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from typer import Abort, rich_utils

# typer runs on its own bundled copy of click (click itself need not be installed).
from typer._click import core as click_core
from typer._click import exceptions, formatting
from typer._click.globals import get_current_context
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption, _TyperParameter

from .coercion import quick_runtime_param

__all__ = [
    "Command",
    "Group",
    "NARROW_HELP",
    "exceptions",
    "get_current_context",
    "one_of",
    "option_spelling",
    "printable",
    "reflowed",
    "usage_error_line",
]

#: Below this many columns --help is click's plain layout: rich's table would leave its
#: description column a word or two wide.
NARROW_HELP = 80

#: What a parameter without a metavar of its own shows, by its Python type.
_WORDS = {int: "N", float: "NUMBER"}
#: What an out-of-range or unparsable value was expected to be, by Python type.
_EXPECTED = {int: "an int", float: "a number"}


def option_spelling(param: Any) -> str:
    """How the command line spells ``param``: ``--memory-budget`` for an option, ``INPUT`` for an argument."""
    if getattr(param, "param_type_name", "") == "argument":
        return _argument_word(param)
    long = [name for name in param.opts if name.startswith("--")]
    return (long or list(param.opts))[0]


def _argument_word(param: Any) -> str:
    """``INPUTS`` for the argument whose metavar is ``INPUTS...`` or ``[INPUTS]``."""
    word = param.metavar or (param.name or "").upper()
    return word.strip("[]").rstrip(".")


def printable(text: str) -> str:
    r"""``text`` as a terminal can show it: the bytes of a name that is not UTF-8 written ``\xe9``.

    Python reads such a byte of a file name as a lone surrogate (``'bad\udce9.jpg'``),
    which a UTF-8 terminal cannot print; this shows the byte the file system holds,
    as ``ls -b`` does.  Any other lone surrogate is written ``\udXXX``.

    >>> printable("bad\udce9.jpg")
    'bad\\xe9.jpg'
    >>> printable("café.jpg")
    'café.jpg'
    """
    return _SURROGATE.sub(_escaped, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def one_of(choices: Sequence[str]) -> str:
    """``one of max, avg``: the choices a value must be among, in plain words.

    >>> one_of(["max", "avg"])
    'one of max, avg'
    """
    return "one of " + ", ".join(choices)


def reflowed(help_text: str) -> str:
    r"""``help_text`` with each prose paragraph on one line, for the help to wrap at the terminal's width.

    A paragraph whose lines are all indented (an example, a literal block) keeps its
    lines; so does one that starts with click's ``\b`` marker.

    >>> reflowed("One image in,\none out.\n\n    convfx apply sobel a.jpg\n    convfx filters")
    'One image in, one out.\n\n    convfx apply sobel a.jpg\n    convfx filters'
    """
    paragraphs = inspect.cleandoc(help_text).split("\n\n")
    return "\n\n".join(_reflowed_paragraph(paragraph) for paragraph in paragraphs)


def _reflowed_paragraph(paragraph: str) -> str:
    lines = paragraph.split("\n")
    if paragraph.startswith("\b") or all(line[:1].isspace() for line in lines if line):
        return paragraph
    return " ".join(line.strip() for line in lines if line.strip())


def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    # Optional[int] is int here; list[str] is str (one value per occurrence).
    arguments = [item for item in getattr(annotation, "__args__", ()) if item is not type(None)]
    return arguments[0] if len(arguments) == 1 else annotation


def _choices(param: Any) -> list[str] | None:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not choices:
        return None
    return [str(getattr(choice, "value", choice)) for choice in choices]


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) and not getattr(param, "count", False)


def _non_finite(value: Any) -> bool:
    """Whether ``value`` (or an item of it) is, or reads as, an infinite or NaN number."""
    for item in value if isinstance(value, (list, tuple)) else [value]:
        try:
            number = float(item)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            return True
    return False


#: What a parameter that names a file, a folder, a model or a data set expects, by its metavar.
_PATH_WORDS = {
    "FILE": "a file name",
    "IMAGE": "a file name",
    "INPUT": "a file name",
    "INPUTS": "a file or folder name",
    "OUTDIR": "a folder name",
    "MODEL": "a model file or a shipped model's name",
    "DATASET": "a data set's name or a folder",
}


def _names_a_path(param: Any) -> str | None:
    """What ``param`` expects if it names a file or folder (its type is a path or its metavar says so), else None."""
    word = (getattr(param, "metavar", None) or "").strip("[]").rstrip(".")
    if word in _PATH_WORDS:
        return _PATH_WORDS[word]
    return "a file name" if _annotation(param) is Path else None


def _expected(param: Any, *, finite: bool = False) -> str:
    """The words after "expected" for a bad value: ``an int >= 1``, ``one of max, avg``.

    ``finite``: say ``a finite number`` (the value was inf or nan).
    """
    choices = _choices(param)
    if choices is not None:
        return one_of(choices)
    kind = _annotation(param)
    words = "a finite number" if finite and kind is float else _EXPECTED.get(kind, "a valid value")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f"{words} in {low:g}..{high:g}"
    if low is not None:
        return f"{words} >= {low:g}"
    if high is not None:
        return f"{words} <= {high:g}"
    return words


def _choice_lines(choices: Sequence[str], width: int = 20) -> str:
    """``"constant|edge|reflect|\nsymmetric|wrap"``: the choices, broken after a ``|`` to lines of at most ``width``.

    rich would otherwise cut a long list in the middle of a word to fit its column.
    """
    lines = [choices[0]]
    for choice in choices[1:]:
        if len(lines[-1]) + 1 + len(choice) <= width:
            lines[-1] += "|" + choice
        else:
            lines[-1] += "|"
            lines.append(choice)
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, str) and _SURROGATE.search(value):
        return f"'{printable(value)}'"  # a name that is not UTF-8, as every other line shows it
    return repr(value)


class _PlainParameter(_TyperParameter):
    """What the plain argument and option add to typer's: a plain word in --help and an explained bad value."""

    # No new state, and typer's own parameter class as the base: an instance of
    # TyperArgument or TyperOption can become one of the subclasses below.
    __slots__ = ()

    def get_runtime_param(self) -> Any:
        # typer's conversion, without pydantic for plain values (convfx.cli.coercion): a quicker start-up.
        if self._runtime_param is None:
            self._runtime_param = quick_runtime_param(self.type_descriptor)
        return self._runtime_param

    def display_type_rich(self, ctx: Any) -> str | None:
        """The word in the help's type column: the metavar, the choices, N or NUMBER; nothing for a flag."""
        param: Any = self
        if param.param_type_name == "argument":
            return None  # the argument's name column already says it
        if param.metavar is not None:
            return param.metavar
        if _is_flag(param):
            return None
        choices = _choices(param)
        if choices is not None:
            return _choice_lines(choices)
        return _WORDS.get(_annotation(param), "TEXT")

    def _get_number_range_help_str(self) -> str | None:
        # The range is said by the option's help, in words; a bad value's message gives it too.
        return None

    def process_value(self, ctx: Any, value: Any) -> Any:
        named = _names_a_path(self)
        if named is not None and any(item == "" for item in (value if isinstance(value, (list, tuple)) else [value])):
            # An empty name would be read as the current folder ('.').
            raise exceptions.BadParameter(f"expected {named}, found ''", ctx=ctx, param=self)
        try:
            processed = super().process_value(ctx, value)
        except exceptions.MissingParameter:
            raise
        except exceptions.BadParameter as error:
            if error.param is not self:
                raise
            choices = _choices(self)
            found = value if isinstance(value, str) and _non_finite(value) else _shown(value)  # inf as typed
            message = (
                f"invalid value {found}; expected {_expected(self)}"
                if choices is not None
                else f"expected {_expected(self, finite=_non_finite(value))}, found {found}"
            )
            raise exceptions.BadParameter(message, ctx=ctx, param=self) from None
        # click's float type takes 'inf' and 'nan', and no convfx option means either.
        if _annotation(self) is float and _non_finite(processed):
            found = value if isinstance(value, str) else _shown(value)  # a number, shown as typed: inf, 1e999
            raise exceptions.BadParameter(f"expected {_expected(self, finite=True)}, found {found}", ctx=ctx, param=self)
        return processed


class _PlainArgument(_PlainParameter, TyperArgument):
    __slots__ = ()

    def _usage_display_name(self) -> str:
        """``EFFECT`` required, ``[MODEL]`` optional, ``INPUTS...`` for several."""
        word = _argument_word(self)
        if self.nargs != 1:
            word += "..."
        return word if self.required else f"[{word}]"


class _PlainOption(_PlainParameter, TyperOption):
    __slots__ = ()


def _plain(param: Any) -> Any:
    """``param`` shown in plain words (its class becomes the plain subclass of its own; nothing else changes)."""
    if isinstance(param, TyperArgument) and not isinstance(param, _PlainArgument):
        param.__class__ = _PlainArgument
    elif isinstance(param, TyperOption) and not isinstance(param, _PlainOption):
        param.__class__ = _PlainOption
    return param


class _NarrowFormatter(formatting.HelpFormatter):
    """click's help formatter for a narrow terminal: each option on its own line, its description below it.

    Side by side, the description would be left what the longest option does not
    take (``--memory-budget SIZE`` of 40 columns), a word a line.
    """

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        indent = " " * self.current_indent
        for term, description in rows:
            for line in _term_lines(term.replace("\n", ""), self.width - self.current_indent):
                self.write(f"{indent}{line}\n")
            if description:
                text = formatting.wrap_text(description, max(self.width - self.current_indent - 4, 10), preserve_paragraphs=True)
                for line in text.splitlines():
                    self.write(f"{indent}    {line}\n" if line else "\n")


def _term_lines(term: str, width: int) -> list[str]:
    """``--boundary constant|edge|reflect|symmetric|wrap`` in lines of at most ``width``, broken after a space or a ``|``."""
    lines = [""]
    for piece in re.findall(r"[^|\s]+\|?|\|", term):
        joined = lines[-1] + ("" if not lines[-1] or lines[-1].endswith("|") else " ") + piece
        if len(joined) > width and lines[-1]:
            lines.append("  " + piece)  # a continuation, indented under the option
        else:
            lines[-1] = joined
    return lines


class _PlainHelp:
    """Mixed into a command class: its parameters, --help included, shown in plain words."""

    params: list[Any]
    help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [_plain(param) for param in self.params]
        if self.help:
            self.help = reflowed(self.help)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """rich's help (typer's); click's plain layout below :data:`NARROW_HELP` columns."""
        width = rich_utils._get_rich_console().width
        if width >= NARROW_HELP:
            super().format_help(ctx, formatter)  # type: ignore[misc]
            return
        plain = _NarrowFormatter(width=max(width - 1, 20))
        click_core.Command.format_help(self, ctx, plain)  # type: ignore[arg-type]
        # The help is written for rich, which reads "\[" as a "[".
        formatter.write(plain.getvalue().replace("\\[", "["))

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        return None if option is None else _plain(option)


class Command(_PlainHelp, TyperCommand):
    """A typer command whose help shows plain words (pass ``cls=Command`` to ``app.command``)."""


def usage_error_line(error: Any) -> str:
    """The one line of a usage error, without ``convfx: error:``.

    ``--range: invalid value 'foo'; expected one of abs, clip, ...``, ``INPUT: missing; usage:
    convfx apply [OPTIONS] EFFECT INPUT``, ``--nope: no such option; see 'convfx apply --help'``.
    """
    context = getattr(error, "ctx", None)
    see = f"; see '{context.command_path} --help'" if context is not None else ""
    usage = ""
    if context is not None:
        usage = f"; usage: {context.command_path} {' '.join(context.command.collect_usage_pieces(context))}"
    param = getattr(error, "param", None)
    if isinstance(error, exceptions.MissingParameter) and param is not None:
        return f"{option_spelling(param)}: missing{usage}"
    if isinstance(error, exceptions.BadParameter) and param is not None:
        return f"{option_spelling(param)}: {error.message}"
    if isinstance(error, exceptions.NoSuchOption):
        close = sorted(error.possibilities or ())
        guess = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{error.option_name}: no such option{guess}{see}"
    if isinstance(error, exceptions.BadOptionUsage):
        text = _sentence(error.message)
        text = text.removeprefix(f"option '{error.option_name}' ")  # said once, in front
        return f"{error.option_name}: {text}{see}"
    if "argument" in error.message:  # extra arguments: the usage line says how many it takes
        return f"{_sentence(error.format_message())}{usage}"
    return f"{_sentence(error.format_message())}{see}"


def _sentence(text: str) -> str:
    """``"No such command 'x'."`` -> ``"no such command 'x'"``: one clause of a line."""
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]


class Group(_PlainHelp, TyperGroup):
    """The ``convfx`` group (and its sub-groups): plain help words, and usage errors in one line.

    Its :meth:`main` runs in click's non-standalone mode and reports what the
    parser refuses as ``convfx: error: ...`` on stderr with exit code 2, so the
    console script and :class:`typer.testing.CliRunner` see the same line.
    """

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands and their first sentence; in a narrow terminal the sentence is whole, below the name."""
        if not isinstance(formatter, _NarrowFormatter):
            super().format_commands(ctx, formatter)
            return
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name, complete_var, standalone_mode=False, windows_expand_args=windows_expand_args, **extra
            )
        except exceptions.NoArgsIsHelpError as error:
            # Nothing given asks for the help, as --help does: on stdout, exit code 0, not a usage error.
            # (click's error.show() would also end stderr with an empty line: typer's rich help
            # prints itself and returns "".)
            text = error.ctx.get_help() if error.ctx is not None else ""
            if text:
                sys.stdout.write(text + "\n")
            code = 0
        except exceptions.UsageError as error:
            sys.stderr.write(f"convfx: error: {printable(usage_error_line(error))}\n")
            code = error.exit_code
        except Abort:
            if not standalone_mode:
                raise
            sys.stderr.write("convfx: interrupted\n")
            code = 130
        else:
            if not standalone_mode:
                return result
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)
