"""The command line's quick conversion of values gives what typer's pydantic conversion gives, or hands over to it."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer._click import Context, exceptions
from typer._coercion import build_runtime_param, resolve_type_descriptor
from typer.core import _TyperParameter
from typer.models import OptionInfo

from convfx.cli import app
from convfx.cli.coercion import QuickRuntimeParam, quick_runtime_param

TEXTS = ["", "0", "7", "007", "-3", "12", "65535", "65536", "1_0", " 5", "5 ", "5.0", "+4", "1e3", "0.5", "-0.0",
         "0.0005", ".5", "5.", "nan", "inf", "-inf", "99999999999999999999999", "abc", "max", "MAX", "avg",
         "reflect", "Reflect", "true", "no", "x/y", "./a//b", "a\x00b", "-", "é"]  # fmt: skip
OTHERS: list[object] = [True, False, 0, 3, -1, 2.5, 0.0001, float("inf"), 1, Path("p"), Path("a//b"), b"bytes"]


def every_parameter() -> list[tuple[str, _TyperParameter, Context]]:
    group = typer.main.get_command(app)
    found = []

    def walk(command, path):
        context = Context(command, info_name=path)
        for param in command.params:
            if isinstance(param, _TyperParameter):
                found.append((f"{path} {param.name}", param, context))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "convfx")
    return found


PARAMETERS = every_parameter()


def outcome(runtime, value, param, context):
    try:
        result = runtime.coerce(value, param=param, ctx=context)
    except exceptions.BadParameter as error:
        return ("refused", error.format_message())
    return ("value", type(result), repr(result))  # repr: nan equals nan


def values_for(param: _TyperParameter, folder: Path) -> list[object]:
    annotation = param.type_descriptor.annotation
    arguments = getattr(annotation, "__args__", ())
    item = arguments[0] if arguments else annotation
    members: list[object] = []
    if isinstance(item, type) and issubclass(item, enum.Enum):
        members = [*item, *(member.value for member in item), *(str(member.value).upper() for member in item)]
    existing = [str(folder / "file.txt"), str(folder), str(folder / "missing.png"), folder / "file.txt"]
    singles = [*TEXTS, *OTHERS, *members, *existing]
    if param.multiple or param.nargs == -1:
        return [[value] for value in singles] + [singles[:3], ["x", "y"], ("a", Path("b")), ["1", "nan"], "x"]
    return singles


@pytest.mark.parametrize(("where", "param", "context"), PARAMETERS, ids=[where for where, _, _ in PARAMETERS])
def test_quick_conversion_agrees_with_typers(where, param, context, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    quick = quick_runtime_param(param.type_descriptor)
    full = build_runtime_param(param.type_descriptor)
    for value in values_for(param, tmp_path):
        assert outcome(quick, value, param, context) == outcome(full, value, param, context), (where, value)


def test_plain_parameters_convert_without_pydantic_and_the_rest_with_typers_own():
    kinds = {type(quick_runtime_param(param.type_descriptor)) for _, param, _ in PARAMETERS}
    assert QuickRuntimeParam in kinds  # every convfx parameter is plain today
    custom = PARAMETERS[0][1].type_descriptor
    with_parser = type(custom)(annotation=int, parameter_info=type(custom.parameter_info)(parser=int), file_annotation=None)
    assert not isinstance(quick_runtime_param(with_parser), QuickRuntimeParam)


def test_a_path_refused_by_typers_checks_is_refused_with_typers_message(tmp_path):
    # No convfx parameter refuses a folder today; typer's check does for one that says dir_okay=False.
    where, param, context = next(item for item in PARAMETERS if item[1].type_descriptor.annotation is Path)
    descriptor = resolve_type_descriptor(Path, OptionInfo(dir_okay=False))
    typed = f"{tmp_path}//."  # refused with the name as typed, not as pathlib spells it
    quick = outcome(quick_runtime_param(descriptor), typed, param, context)
    assert quick == outcome(build_runtime_param(descriptor), typed, param, context), where
    assert quick[0] == "refused" and "//." in quick[1]


def test_batch_starts_without_pydantic(tmp_path):
    """Typer's pydantic validators are built only for a value that needs them."""
    empty = tmp_path / "empty"
    empty.mkdir()
    code = (
        "import sys\nfrom convfx.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    arguments = ["batch", "sobel", str(empty), "-o", str(tmp_path / "out"), "--workers", "2", "--quiet", "--boundary", "wrap"]
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=120)
    assert "found no images" in done.stderr
    assert "pydantic" not in done.stderr.split()
