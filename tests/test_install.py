"""The built wheel holds exactly the package, and a non-editable install ships every filter bank.

Slow (it builds and installs the package), so it runs only when
``CONVFX_TEST_INSTALL=1`` (``.ci/run`` sets it).  The wheel is built with
``pip wheel --no-deps``, its file list checked, then installed with
``pip install --no-deps --target DIR`` and imported from there by the running
interpreter, which already has the dependencies: a real wheel install of the
files, without downloading anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CONVFX_TEST_INSTALL") != "1", reason="set CONVFX_TEST_INSTALL=1 to test a non-editable install"
    ),
]

REPO = Path(__file__).resolve().parent.parent

CHECK = r"""
import sys
from pathlib import Path

import numpy as np

import convfx
from convfx import banks

target = Path(sys.argv[1]).resolve()
assert Path(convfx.__file__).resolve().is_relative_to(target), convfx.__file__
assert banks.bank_directory().resolve().is_relative_to(target), banks.bank_directory()
names = sorted(f.name for f in convfx.list_filters())
assert len(names) == int(sys.argv[2]), (len(names), sys.argv[2])
image = np.random.default_rng(0).integers(0, 256, (24, 32, 3)).astype(np.uint8)
for name in names:
    response = convfx.apply(image, name)
    assert np.all(np.isfinite(response)), name
    convfx.map_range(response, convfx.get_filter(name).output_range)
print(len(names))
"""


# What the wheel may hold: the package's modules, its type marker, the filter banks and
# the shipped models' weights and records, and the wheel's own metadata.  Anything
# else (a developer tool, a README with a machine's path, a test, a stray data file)
# fails the test until it is either removed or added here on purpose.
ALLOWED_IN_WHEEL = [
    r"convfx/(.+/)?[A-Za-z_][A-Za-z0-9_]*\.py",
    r"convfx/py\.typed",
    r"convfx/filters/[a-z_]+\.toml",
    r"convfx/models/[a-z0-9_]+\.(npz|json)",
    r"convfx/studio/static/[a-z0-9_]+\.(html|js|css)",
    r"convfx-[^/]+\.dist-info/[^/]+",
]


def unexpected_in_wheel(names: list[str]) -> list[str]:
    """The names of a wheel's files that :data:`ALLOWED_IN_WHEEL` does not allow."""
    return [name for name in names if not any(re.fullmatch(pattern, name) for pattern in ALLOWED_IN_WHEEL)]


def test_the_allowed_wheel_contents_refuse_what_must_not_ship():
    # The rule itself, on names a careless packaging change would let in.
    bad = [
        "convfx/models/README.md",
        "tools/make_figures.py",
        "convfx/models/__pycache__/x.cpython-312.pyc",
        "tests/test_conv.py",
        "samples/chelsea.jpg",
        "convfx/filters/notes.txt",
        "convfx/studio/static/screenshot.png",
    ]
    good = [
        "convfx/batch/run.py",
        "convfx/filters/edges.toml",
        "convfx/models/lenet_digits.npz",
        "convfx/studio/static/app.js",
        "convfx-0.1.0.dist-info/RECORD",
    ]
    assert unexpected_in_wheel(bad + good) == bad


def test_non_editable_install_lists_and_applies_every_bank(tmp_path):
    expected = sum(
        line.startswith("[") and not line.startswith("[[")
        for toml in (REPO / "filters").glob("*.toml")
        for line in toml.read_text().splitlines()
    )
    # Build isolation (pip's default) fetches the build backend that pyproject.toml
    # names, exactly as `pip install .` does for a user; a venv's own setuptools may
    # be too old or lack bdist_wheel.
    # Build from a copy, so that setuptools' build/ and egg-info stay out of the work tree.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "samples", "tests", "__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        pip + ["wheel", "--no-deps", "--no-input", "--quiet", "-w", str(wheels), str(source)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    [wheel] = wheels.glob("convfx-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
    assert unexpected_in_wheel(names) == []
    shipped = {PurePosixPath(name) for name in names}
    # Every module of the source tree ships, subpackages included, and every data file.
    modules = {PurePosixPath(path.relative_to(REPO).as_posix()) for path in (REPO / "convfx").rglob("*.py")}
    assert modules <= shipped, sorted(map(str, modules - shipped))
    banks = {
        PurePosixPath("convfx/filters") / path.name for path in (REPO / "filters").iterdir() if path.suffix in (".toml", ".py")
    }
    assert {name for name in shipped if name.parent == PurePosixPath("convfx/filters")} == banks
    models = {
        PurePosixPath("convfx/models") / path.name
        for path in (REPO / "convfx" / "models").iterdir()
        if path.suffix in (".npz", ".json")
    }
    assert models and models <= shipped

    target = tmp_path / "site"
    subprocess.run(
        pip + ["install", "--no-deps", "--no-input", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert sorted(p.name for p in (target / "convfx" / "filters").glob("*.toml")) == sorted(
        p.name for p in (REPO / "filters").glob("*.toml")
    )
    environment = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(target), str(expected)],
        cwd=tmp_path,  # not the repository: nothing may come from the source tree
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(expected)
    listing = subprocess.run(
        [sys.executable, "-m", "convfx", "filters"], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0 and "sobel" in listing.stdout
