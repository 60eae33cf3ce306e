"""convfx imports only what pyproject.toml declares.

A module that is installed here only as some other package's dependency (click
comes with dask; torch with nobody) would work in the test environment and fail for
a user who ran the Quick start's plain `pip install .`.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

# Each test starts fresh interpreters or parses every module of the package.
pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parent.parent / "convfx"

# import name -> declared in pyproject.toml (runtime dependencies, or the dask extra)
DECLARED = {
    "numpy",
    "scipy",
    "skimage",
    "cv2",
    "typer",
    "rich",
    "PIL",
    "matplotlib",
    "sklearn",
    "safetensors",
    "threadpoolctl",
    "numba",
    "tomli",
    "dask",
    "distributed",  # the optional [dask] extra, imported only when asked for
    "starlette",
    "uvicorn",  # the optional [studio] extra, imported only by `convfx studio`
}


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_import_is_stdlib_convfx_or_declared():
    undeclared = {}
    for path in PACKAGE.rglob("*.py"):
        for name in imported_top_level_names(path) - set(sys.stdlib_module_names) - DECLARED - {"convfx"}:
            undeclared.setdefault(name, []).append(str(path.relative_to(PACKAGE.parent)))
    # click is allowed only as the fallback for typer versions that depend on it.
    if undeclared.get("click") == ["convfx/cli/__init__.py"]:
        del undeclared["click"]
    assert not undeclared, f"imports not declared in pyproject.toml: {undeclared}"


def run_without_click(*arguments: str) -> subprocess.CompletedProcess:
    # typer >= 0.2x bundles its own click; `click` itself is not a dependency.
    code = "import sys; sys.modules['click'] = None; from convfx.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=120)


def test_command_line_runs_without_click_installed(tmp_path):
    done = run_without_click("--help")
    assert done.returncode == 0, done.stderr
    assert "apply" in done.stdout
    missing = run_without_click("apply", "sobel", str(tmp_path / "none.jpg"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    usage = run_without_click("apply", "sobel")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def modules_loaded_by(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_filtering_commands_start_without_the_network_or_matplotlib():
    """`convfx apply` / `convfx batch` pay only for what they use (start-up is most of a small run)."""
    loaded = modules_loaded_by("from convfx.cli import app")
    assert "convfx.cli.batch_commands" in loaded and "convfx.cli.nn_commands" in loaded  # every command registered
    heavy = {"convfx.nn.layers", "convfx.nn.training", "convfx.nn.data", "convfx.compare", "matplotlib", "scipy", "skimage"}
    assert not heavy & loaded, f"imported at start-up: {sorted(heavy & loaded)}"
    assert "numba" not in loaded


def test_numba_loads_only_once_canny_has_run_on_enough_pixels():
    """numba takes most of a second to load: filters and a first Canny never pay for it."""
    setup = "import numpy as np, convfx\nimage = np.random.default_rng(0).random((40, 50))\n"
    first = "convfx.apply(image, 'sobel'); convfx.marr_hildreth(image); convfx.canny(image)"
    assert "numba" not in modules_loaded_by(setup + first)
    later = "from convfx.edges import engines\nengines.COMPILE_AFTER_PIXELS = 2000\n" + "convfx.canny(image)\n" * 2
    assert "numba" in modules_loaded_by(setup + later)


def test_filtering_commands_run_without_pydantic_the_network_or_matplotlib(tmp_path):
    """A run of `convfx apply` / `convfx batch` converts its options without typer's pydantic validators."""
    empty = tmp_path / "empty"
    empty.mkdir()
    image = tmp_path / "small.png"
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert cv2.imwrite(str(image), pixels)
    run = "from convfx.cli import main\ntry:\n    main({arguments!r})\nexcept SystemExit:\n    pass"
    heavy = {"pydantic", "convfx.nn.layers", "convfx.nn.training", "convfx.compare", "matplotlib", "scipy", "skimage"}
    for arguments in (
        ["batch", "sobel", str(empty), "-o", str(tmp_path / "out"), "--workers", "2", "--quiet", "--boundary", "wrap"],
        ["apply", "gaussian_blur:sigma=1.5,sobel", str(image), "-o", str(tmp_path / "edges.png"), "--range", "abs"],
    ):
        loaded = modules_loaded_by(run.format(arguments=arguments))
        assert not heavy & loaded, f"{arguments[0]} imported {sorted(heavy & loaded)}"
    assert (tmp_path / "edges.png").is_file()


def test_import_convfx_and_the_entry_point_load_nothing_heavy():
    """The entry point installs its signal handling before numpy, OpenCV or typer load."""
    for code in ("import convfx", "import convfx.__main__"):
        loaded = modules_loaded_by(code)
        convfx_modules = {name for name in loaded if name.startswith("convfx")}
        assert convfx_modules <= {"convfx", "convfx.__main__"}, sorted(convfx_modules)
        assert not {"numpy", "cv2", "typer", "rich", "PIL"} & loaded


def test_public_names_and_registered_steps_load_on_first_use():
    code = (
        "import convfx\n"
        "from convfx.effects import parse_effect\n"  # the steps are found without naming their modules
        "print(parse_effect('gaussian_blur,canny').steps[-1].name, parse_effect('learned:digits#0').steps[0].name)\n"
        "print(convfx.apply.__module__, convfx.render.__name__, convfx.ParameterError.__module__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["canny", "learned:digits#0", "convfx.effects", "convfx.render", "convfx.errors"]
    missing = subprocess.run([sys.executable, "-c", "import convfx; convfx.not_a_name"], capture_output=True, text=True)
    assert "module 'convfx' has no attribute 'not_a_name'" in missing.stderr


def test_show_imports_matplotlib_only_to_draw(tmp_path):
    run = "from convfx.cli import main\ntry:\n    main({arguments!r})\nexcept SystemExit:\n    pass"
    assert "matplotlib" not in modules_loaded_by(run.format(arguments=["show", "sobel"]))
    drawn = modules_loaded_by(run.format(arguments=["show", "sobel", "--plot", str(tmp_path / "k.png")]))
    assert "matplotlib" in drawn and (tmp_path / "k.png").is_file()


def test_every_public_name_of_convfx_nn_resolves_lazily():
    import convfx.nn as nn

    for name in nn.__all__:
        value = getattr(nn, name)
        assert getattr(value, "__name__", name) == name, name
        assert not isinstance(value, type(nn)), f"convfx.nn.{name} is a module"
    # The training loop's module is convfx.nn.training; convfx.nn.train stays the function.
    importlib.import_module("convfx.nn.training")

    assert callable(nn.train) and nn.train.__module__ == "convfx.nn.training"
    # In a fresh process, where nothing has imported them yet: submodules are attributes too.
    code = "import convfx.nn as nn; print(*(getattr(nn, m).__name__ for m in ('layers', 'lenet', 'optim', 'data', 'config', 'training', 'inspect')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        f"convfx.nn.{m}" for m in ("layers", "lenet", "optim", "data", "config", "training", "inspect")
    ]
    assert "train" in dir(nn) and "LeNet" in dir(nn)
    try:
        _ = nn.not_a_name
    except AttributeError as error:
        assert "not_a_name" in str(error)
    else:
        raise AssertionError("convfx.nn.not_a_name resolved")
