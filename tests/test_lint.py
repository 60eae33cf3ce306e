"""The repository follows its lint rules and its format: ruff, with the settings of ``pyproject.toml``.

``ruff check`` catches unused imports, undefined names, import order, likely bugs
(bugbear) and old idioms; ``ruff format --check`` fails on any file the formatter
would change.  The same commands run as pre-commit hooks
(``.pre-commit-config.yaml``), so a contributor sees the failure before CI does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["convfx", "tests", "tools", "benchmarks", "docs"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("ruff")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "the ruff command is not on PATH (it comes with the test extra)"
    return subprocess.run([ruff, *args, *CHECKED], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    done = _ruff("check", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_file_is_formatted():
    done = _ruff("format", "--check", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
