"""The package's structure: no module uses another module's private names, and the layers hold.

A leading underscore says "only this module relies on it", so that it can change
without looking further.  ``from ..conv import _int_pair`` or ``banks._closest``
breaks that promise silently; a name other modules need gets a public name in the
module where it belongs.  The layers (which module may import which) are the
``[tool.importlinter]`` contracts in ``pyproject.toml``, checked here with
import-linter when it is installed (the ``test`` extra installs it).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "convfx"

# Uses in modules that are being restructured on another branch; each entry is
# removed with the use.  An entry whose use is gone fails the test, so none is forgotten.
PENDING: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` (``convfx.banks.model``) is a module or package of the source tree."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module an ``import from`` statement reads from."""
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_uses(path: Path) -> set[str]:
    """``module.name`` for every private name of another convfx module that ``path`` imports or reads."""
    current = module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    uses: set[str] = set()
    modules: dict[str, str] = {}  # local name -> the convfx module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(node, current, is_package)
            if not source.startswith("convfx"):
                continue
            for alias in node.names:
                if is_module(f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif is_private(alias.name) and source != current:
                    uses.add(f"{source}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("convfx"):
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        modules["convfx"] = "convfx"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in modules:
            owner = ".".join([modules[value.id], *reversed(chain)])
            if is_module(owner) and owner != current:
                uses.add(f"{owner}.{node.attr}")
    return uses


def test_the_checker_sees_both_kinds_of_private_use(tmp_path, monkeypatch):
    probe = PACKAGE / "effects.py"
    text = "from .conv import _pad\nfrom . import banks\nbanks.model._x\nimport convfx.conv as c\nc._y\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: text)
    assert private_uses(probe) == {"convfx.conv._pad", "convfx.banks.model._x", "convfx.conv._y"}


def test_no_module_uses_another_modules_private_names():
    found = {(path.relative_to(ROOT).as_posix(), use) for path in sorted(PACKAGE.rglob("*.py")) for use in private_uses(path)}
    assert found - PENDING == set(), "give these names a public name in their module"
    assert PENDING - found == set(), "these uses are gone: remove them from PENDING"


def test_import_layers_hold():
    """``lint-imports`` checks the contracts of pyproject.toml (layers, independence, forbidden imports)."""
    pytest.importorskip("importlinter")
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command, "import-linter is installed but its lint-imports command is not on PATH"
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
