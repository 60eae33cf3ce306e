"""The resource limits: one module of constants, stated in the guide's "Resource limits" table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import convfx.limits as limits

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "limits.md"
SOURCE = Path(limits.__file__)


def _table() -> dict[str, str]:
    """``constant -> value cell`` of the guide's Limits table."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## Resource limits\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE)
    assert rows, "the Limits table was not found"
    return {name: value.strip() for name, value in rows}


def test_every_limit_is_in_the_readme_with_its_value():
    table = _table()
    for name in limits.__all__:
        value = getattr(limits, name)
        assert name in table, f"{name} is missing from the guide's Limits table"
        # The value as written in the table's first words, with thousands separators.
        assert table[name].split(" ")[0] == f"{value:,}", f"{name}: the guide says {table[name]!r}, limits.py {value:,}"


def test_the_readme_lists_no_limit_that_does_not_exist():
    assert set(_table()) <= set(limits.__all__), sorted(set(_table()) - set(limits.__all__))


def test_every_public_constant_is_exported_and_documented():
    """Each upper-case constant is in ``__all__`` and has a ``#:`` comment above it."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    constants = [
        node.targets[0].id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()
    ]
    assert sorted(constants) == sorted(limits.__all__)
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in limits.__all__:
            name = node.targets[0].id
            assert lines[node.lineno - 2].startswith("#:"), f"{name} has no #: comment"
            assert isinstance(getattr(limits, name), int) and getattr(limits, name) > 0, name


def test_limits_imports_nothing():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    imported = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [node.module for node in imported if isinstance(node, ast.ImportFrom)] == ["__future__"]
