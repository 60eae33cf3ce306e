"""A non-editable install ships every filter bank: list and apply them all.

Slow-ish (it builds and installs the package), so it runs only when
``CONVFX_TEST_INSTALL=1`` (``.ci/run`` sets it).  The package is installed with
``pip install --no-deps --target DIR`` and imported from there by the running
interpreter, which already has the dependencies: a real wheel install of the
files, without downloading anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("CONVFX_TEST_INSTALL") != "1", reason="set CONVFX_TEST_INSTALL=1 to test a non-editable install"
)

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


def test_non_editable_install_lists_and_applies_every_bank(tmp_path):
    expected = sum(
        line.startswith("[") and not line.startswith("[[")
        for toml in (REPO / "filters").glob("*.toml")
        for line in toml.read_text().splitlines()
    )
    target = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-input", "--quiet", "--target", str(target)]
    # Build isolation (pip's default) fetches the build backend that pyproject.toml
    # names, exactly as `pip install .` does for a user; a venv's own setuptools may
    # be too old or lack bdist_wheel.
    # Build from a copy, so that setuptools' build/ and egg-info stay out of the work tree.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "samples", "tests", "__pycache__"))
    subprocess.run(command + [str(source)], check=True, cwd=tmp_path, timeout=300)
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
