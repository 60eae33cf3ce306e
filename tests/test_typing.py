"""The package's type hints hold: mypy checks ``convfx`` with the settings of ``pyproject.toml``.

The wheel ships ``py.typed``, which tells every user's type checker to trust the
annotations; this test is what makes that promise true.  The settings (which
files, how strict, which libraries have no types) are ``[tool.mypy]`` in
``pyproject.toml``, so that ``mypy`` run by hand, by the pre-commit hook and here
check the same thing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_package_type_checks():
    pytest.importorskip("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
